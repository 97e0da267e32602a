"""Feast's ``get_historical_features`` for the row views of a ``features_e2e.py`` case, in Feast's own venv.

    /work/feast-venv/bin/python _e2e_feast.py FOLDER OUT [--offline-store file]

Imports Feast first (untimed), then times: the repo (entity, one FileSource + FeatureView per row view of
``FOLDER/case.json``, TTL as declared) applied to a fresh registry, the labels read into pandas as the
entity dataframe, ``get_historical_features(...).to_df()`` and the result written to ``OUT`` (parquet).
Prints one JSON line as ``_e2e_children.py`` does. Aggregation views are left out: Feast has no
point-in-time window aggregations over a batch source.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import peak_rss_bytes


def main(folder: Path, out: Path, offline_store: str) -> dict:
    import pandas as pd
    from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
    from feast.repo_config import RepoConfig
    from feast.types import Float64, Int64, String

    case = json.loads((folder / "case.json").read_text())
    labels = case["labels"]
    work_dir = out.parent / (out.stem + "-feast")
    work_dir.mkdir(parents=True, exist_ok=True)
    types = {"string": (String, ValueType.STRING), "int64": (Int64, ValueType.INT64), "float64": (Float64, ValueType.DOUBLE)}
    key_types = pd.read_parquet(folder / labels["path"], columns=labels["keys"]).dtypes

    gc.collect()
    baseline = peak_rss_bytes()
    start, cpu = time.perf_counter(), time.process_time()
    config = RepoConfig(
        project="bench",
        provider="local",
        registry=str(work_dir / "registry.db"),
        offline_store={"type": offline_store},
        online_store={"type": "sqlite", "path": str(work_dir / "online.db")},
        entity_key_serialization_version=3,
    )
    store = FeatureStore(config=config)
    key_type = ValueType.INT64 if pd.api.types.is_integer_dtype(key_types.iloc[0]) else ValueType.STRING
    entity = Entity(name=case["entity"], join_keys=labels["keys"], value_type=key_type)
    views, refs = [], []
    for view in case["views"]:
        if "features" not in view:
            continue
        source = FileSource(
            name=f"{view['name']}_source",
            path=str(folder / view["path"]),
            timestamp_field=view["timestamp"],
            created_timestamp_column=view.get("created") or "",
        )
        ttl = dt.timedelta(seconds=view["ttl_s"]) if view.get("ttl_s") is not None else dt.timedelta(0)  # 0: no TTL
        schema = [Field(name=n, dtype=types[t][0]) for n, t in view["features"].items()]
        views.append(FeatureView(name=view["name"], entities=[entity], ttl=ttl, schema=schema, source=source))
        refs += [f"{view['name']}:{n}" for n in view["features"]]
    store.apply([entity, *views])
    entity_df = pd.read_parquet(folder / labels["path"], columns=[*labels["keys"], labels["timestamp"], labels["target"]])
    frame = store.get_historical_features(entity_df=entity_df, features=refs).to_df()
    frame.to_parquet(out, index=False)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"work_s": elapsed, "cpu_s": cpu, "baseline_rss": baseline, "peak_rss": peak_rss_bytes(), "rows": len(frame)}


if __name__ == "__main__":
    store = sys.argv[sys.argv.index("--offline-store") + 1] if "--offline-store" in sys.argv else "file"
    print(json.dumps(main(Path(sys.argv[1]), Path(sys.argv[2]), store)))

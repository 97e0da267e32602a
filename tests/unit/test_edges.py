"""The edges of the package, checked on its source: process-wide MLflow state, Hydra's DictConfig and the
``HYDRAOPS_*`` environment are touched only at the CLI edge (and the config where it becomes specs); every
tag hydraops writes is named in ``tracking/tags.py`` alone."""

from __future__ import annotations

import ast
import os
import re
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "hydraops"


def sources(*outside: str) -> dict[str, str]:
    """Every module of the package (relative path → text), except those under the ``outside`` folders/files."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if not relative.startswith(outside):
            found[relative] = path.read_text()
    return found


def offenders(pattern: str, *outside: str) -> list[str]:
    regex = re.compile(pattern)
    return [f"{name}:{number}: {line.strip()}" for name, text in sources(*outside).items()
            for number, line in enumerate(text.splitlines(), 1) if regex.search(line)]  # fmt: skip


def test_the_package_is_where_the_checks_look() -> None:
    assert {"cli/context.py", "tracking/tags.py", "training/run.py"} <= set(sources())


def test_no_process_wide_mlflow_uri_below_the_cli() -> None:
    assert offenders(r"\bset_(tracking|registry)_uri\(", "cli/") == []


def test_no_mlflow_client_without_uris() -> None:
    assert offenders(r"MlflowClient\(\s*\)") == []


def test_no_fluent_mlflow_calls_below_the_cli() -> None:
    """The fluent API runs against the process-wide URI and active run: everything goes through a client."""
    fluent = r"\bmlflow\.(start_run|end_run|active_run|log_\w+|set_tags?|register_model|\w+\.log_model)\(|mlflow\.artifacts\.download_artifacts\((?![^)]*tracking_uri|artifact_uri=model_uri, dst_path=destination\))"
    assert offenders(fluent, "cli/") == []


def test_no_dictconfig_outside_the_cli_and_the_config() -> None:
    """No code names it (imports, annotations, isinstance checks); prose may."""
    found = []
    for module, text in sources("cli/", "config/").items():
        for node in ast.walk(ast.parse(text)):
            names = [alias.name for alias in node.names] if isinstance(node, ast.ImportFrom) else []
            names += [node.id] if isinstance(node, ast.Name) else [node.attr] if isinstance(node, ast.Attribute) else []
            if "DictConfig" in names:
                found.append(f"{module}:{node.lineno}")
    assert found == []


#: The edges that may read the environment: the CLI, and the service (started by ``bentoml serve``, it reads
#: the online store's connection, ``HYDRAOPS_ONLINE_URL``, once at start).
ENVIRONMENT_EDGES = ("cli/", "serving/service.py")


def test_no_hydraops_environment_read_outside_the_cli() -> None:
    assert offenders(r"environ(\.get)?[\[(]\s*[\"']HYDRAOPS_|getenv\(\s*[\"']HYDRAOPS_", *ENVIRONMENT_EDGES) == []
    assert offenders(r"[\"']HYDRAOPS_\w+[\"']", *ENVIRONMENT_EDGES) == [], "an environment variable's name below the CLI"


def _tag_values() -> list[str]:
    from hydraops.tracking import tags

    return [value for name, value in vars(tags).items() if name.isupper() and isinstance(value, str)]


@pytest.mark.parametrize("module", sorted(set(sources()) - {"tracking/tags.py"}))
def test_every_tag_is_named_in_the_vocabulary_only(module: str) -> None:
    """No string literal (docstrings aside) outside tags.py starts with a tag name or prefix of the vocabulary,
    or looks like one (``hydraops.<word>`` that is not a module, ``git.``, ``mlflow.source``)."""
    tree = ast.parse((PACKAGE / module).read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}  # fmt: skip
    vocabulary = tuple(v for v in _tag_values() if v.startswith(("hydraops.", "mlflow.", "git.")))  # not config-like prefixes
    modules = {p.relative_to(PACKAGE.parent).with_suffix("").as_posix().replace("/", ".") for p in PACKAGE.rglob("*.py")}
    modules |= {m.rsplit(".", 1)[0] for m in modules}
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)) or id(node) in docstrings:
            continue
        text = node.value
        dotted = re.match(r"hydraops\.[\w.]+", text)
        if dotted and not any(dotted.group().startswith(m) for m in modules if m != "hydraops"):
            looks_like_a_tag = not text.startswith(("hydraops.yaml", "hydraops.pid"))
        else:
            looks_like_a_tag = text.startswith(("git.", "mlflow.source", "mlflow.parentRunId", "mlflow.runName", "mlflow.user"))
        if looks_like_a_tag or (text.startswith(vocabulary) and "." in text and " " not in text[:40]):
            found.append(text)
    assert found == [], f"{module} spells tags; import them from hydraops.tracking.tags"


def test_the_vocabulary_reads_back_what_it_names() -> None:
    from hydraops.tracking import tags
    from hydraops.tracking.readers import data_lineage_of_tags

    written = {tags.feature_view_version("customer_profile"): "v3", tags.data_file_sha256("labels.parquet"): "ab",
               tags.TRAINING_TABLE_SHA256: "cd", tags.package_version("mlflow"): "3.1", "features.x": "not a view"}  # fmt: skip
    assert sorted(filter(tags.is_data_lineage, written)) == sorted(["features.customer_profile.version", "data.labels.parquet.sha256",
                                                                    "hydraops.training_table_sha256"])  # fmt: skip
    lineage = data_lineage_of_tags(written)
    assert (lineage.training_table_sha256, lineage.data_sha256, lineage.view_versions) == ("cd", {"labels.parquet": "ab"},
                                                                                           {"customer_profile": "v3"})  # fmt: skip


def test_the_planners_import_no_mlflow() -> None:
    """``plan`` stays fast: the planners, the registry's decision logic and the tracking handle import no MLflow
    (nor SQLAlchemy) when imported; they read an embedded store through ``Tracking.reader``."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from hydraops.plan.planner import stages\n"
        "import hydraops.cli, hydraops.registry.promote, hydraops.registry.facts, hydraops.registry.audit\n"
        "import hydraops.tracking.handle, hydraops.tracking.reading, hydraops.tracking.sqlite_reader\n"
        "stages()\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'mlflow', 'sqlalchemy', 'alembic'}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


def test_the_cli_turns_mlflow_telemetry_off_unless_told_otherwise(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """Nothing reaches the internet: MLflow 3 reports usage to its servers unless MLFLOW_DISABLE_TELEMETRY is set."""
    import hydraops.cli as cli

    monkeypatch.setattr(cli.signal, "signal", lambda *args: None)
    monkeypatch.setattr(sys, "argv", ["hydraops", "--version"])
    for given, expected in ((None, "true"), ("false", "false")):
        if given is None:
            monkeypatch.delenv("MLFLOW_DISABLE_TELEMETRY", raising=False)
        else:
            monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", given)
        with pytest.raises(SystemExit):
            cli.main()
        assert os.environ["MLFLOW_DISABLE_TELEMETRY"] == expected
    assert "hydraops" in capsys.readouterr().out

"""The feature store: declared views → timelines on DuckDB (offline) → latest values (online).

repo = FeatureRepo.from_spec(spec)
materialize(repo, online=store)
get_historical_features(repo, entity_df, timestamp_column="event_time").frame
get_online_features(spec.features, store, [{"customer_id": 42}])
"""

from hydraops.features.historical import HistoricalFeatures, ViewJoinReport, get_historical_features
from hydraops.features.materialize import MaterializeReport, ViewResult, materialize
from hydraops.features.repo import FeatureRepo

__all__ = [
    "FeatureRepo",
    "HistoricalFeatures",
    "MaterializeReport",
    "ViewJoinReport",
    "ViewResult",
    "get_historical_features",
    "materialize",
]

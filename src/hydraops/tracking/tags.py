"""Every tag hydraops writes on MLflow runs, model versions and registered models: the lineage contract
that ``registry``, ``reproduce``, serving and monitoring read. Writers and readers import the names from
here; no other module spells a tag (``tests/unit/test_edges.py`` checks it).
"""

from __future__ import annotations

# --- runs: how a training run was started ------------------------------------------------------------
#: The command as typed, secrets redacted (``hydraops train model=lightgbm``).
COMMAND = "hydraops.command"
#: sha256 of the resolved, redacted config a run logs (also on versions and registry decisions).
CONFIG_DIGEST = "hydraops.config_digest"
#: sha256 of ``config/overrides.json``, the overrides ``reproduce`` replays (verified before replaying).
OVERRIDES_DIGEST = "hydraops.overrides_digest"
#: The model option trained (``lightgbm``, ``logistic_regression``...).
MODEL = "hydraops.model"
#: The run a ``hydraops reproduce`` run reproduces.
REPRODUCES = "hydraops.reproduces"
#: ``true`` when the working tree had uncommitted changes (MLflow has no tag for it).
GIT_DIRTY = "git.dirty"

# --- runs: MLflow's own source tags (the MLflow UI's source and commit columns) ----------------------
#: The git commit of the project's checkout.
SOURCE_GIT_COMMIT = "mlflow.source.git.commit"
#: What started the run: ``hydraops train``, ``hydraops reproduce``, ``hydraops sweep``.
SOURCE_NAME = "mlflow.source.name"
#: MLflow's kind of source: always ``LOCAL`` (a process on this machine).
SOURCE_TYPE = "mlflow.source.type"
#: Who started the run (the operating system user, as MLflow's fluent API records it).
USER = "mlflow.user"
#: The run's display name.
RUN_NAME = "mlflow.runName"
#: A sweep job's parent run (MLflow's own nesting tag).
PARENT_RUN = "mlflow.parentRunId"

# --- runs: the data a model was trained on -----------------------------------------------------------
#: sha256 of the training table (point-in-time join of labels and feature views).
TRAINING_TABLE_SHA256 = "hydraops.training_table_sha256"
#: sha256 of what a run was trained from: config digest, view versions, label files (``training.stage``).
INPUTS_DIGEST = "hydraops.inputs_digest"
#: ``passed``, or ``failed: N warnings at materialize`` when feature checks warned (validation=warn).
DATA_CHECKS = "hydraops.data_checks"
#: Prefix of ``features.<view>.version``: the offline store version of each feature view read.
FEATURE_VIEW_PREFIX = "features."
#: Prefix of ``data.<file>.sha256``: the sha256 of each source file read.
DATA_FILE_PREFIX = "data."
#: Prefix of ``version.<package>``: the versions of the key packages.
PACKAGE_PREFIX = "version."

# --- runs: the model and how the run ended -------------------------------------------------------------
#: sha256 of the logged model's files (``tracking.models``); on the run and on its version.
MODEL_SHA256 = "hydraops.model_sha256"
#: The flavor the model was logged with (``lightgbm`` or ``sklearn``); on the run and on its version.
FLAVOR = "hydraops.flavor"
#: Why a run ended FAILED or KILLED.
ERROR = "hydraops.error"
#: The host, pid and process start time of the process that owns a run (``tracking.owners``).
OWNER_HOST = "hydraops.owner.host"
OWNER_PID = "hydraops.owner.pid"
OWNER_STARTED = "hydraops.owner.started"

# --- runs: sweeps --------------------------------------------------------------------------------------
#: ``true`` on a sweep's parent run.
SWEEP = "hydraops.sweep"
#: On a sweep's parent run: the id of its best finished child.
BEST_CHILD = "hydraops.best_child"

# --- model versions ------------------------------------------------------------------------------------
#: ``true`` approves a version for the ``manual_approval`` gate (set in the MLflow UI or with the client).
APPROVED = "hydraops.approved"
#: Prefix of the latest promotion decision about a version: ``state``, ``passed``, ``gates``, ``by``...
PROMOTION_PREFIX = "hydraops.promotion."

# --- registered models and the audit run -------------------------------------------------------------
#: Prefix of the audit history on a registered model: ``hydraops.audit.00001``...
AUDIT_PREFIX = "hydraops.audit."
#: On a registered model: the run holding its full audit log.
AUDIT_RUN = "hydraops.audit_run"
#: On an audit run: the registered model it audits.
AUDIT_OF = "hydraops.audit_of"
#: On a lock (registered model ``hydraops-lock.<model>``): its holder and lease.
LOCK_TOKEN = "hydraops.lock.token"
LOCK_WHO = "hydraops.lock.who"
LOCK_HOST = "hydraops.lock.host"
LOCK_PID = "hydraops.lock.pid"
LOCK_EXPIRES_AT = "hydraops.lock.expires_at"

# Monitoring and retraining (runs in experiment ``<project>-monitoring``; retrain runs, versions, decisions).
#: On a monitoring run: the registered model and version it judged.
MONITORED_MODEL = "hydraops.monitoring.model"
MONITORED_VERSION = "hydraops.monitoring.version"
#: On a monitoring run: "true"/"false"; and the ids of its breached checks, comma-separated.
BREACHED = "hydraops.monitoring.breached"
BREACH_IDS = "hydraops.breach_ids"
#: On a retrain's training run, its model version and its registry decision: the monitoring run that triggered it
#: (with BREACH_IDS naming the breaches).
TRIGGERED_BY = "hydraops.retrain.monitoring_run"


def feature_view_version(view: str) -> str:
    """``features.<view>.version``."""
    return f"{FEATURE_VIEW_PREFIX}{view}.version"


def data_file_sha256(file_name: str) -> str:
    """``data.<file>.sha256``."""
    return f"{DATA_FILE_PREFIX}{file_name}.sha256"


def package_version(package: str) -> str:
    """``version.<package>``."""
    return f"{PACKAGE_PREFIX}{package}"


def is_data_lineage(key: str) -> bool:
    """Whether a run tag records the data a model was trained on (training table, views, source files)."""
    return key == TRAINING_TABLE_SHA256 or feature_view_of(key) is not None or data_file_of(key) is not None


def feature_view_of(key: str) -> str | None:
    """The view of a ``features.<view>.version`` tag; None for any other tag."""
    if key.startswith(FEATURE_VIEW_PREFIX) and key.endswith(".version"):
        return key[len(FEATURE_VIEW_PREFIX) : -len(".version")] or None
    return None


def data_file_of(key: str) -> str | None:
    """The file name of a ``data.<file>.sha256`` tag; None for any other tag."""
    if key.startswith(DATA_FILE_PREFIX) and key.endswith(".sha256"):
        return key[len(DATA_FILE_PREFIX) : -len(".sha256")] or None
    return None

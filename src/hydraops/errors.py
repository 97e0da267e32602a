"""The one exception hierarchy of hydraops.

Every error names what is wrong (a config key, a file, a column) and what was expected, so the CLI can
print it as one readable message::

    HydraopsError            base class; ``exit_code`` is what the CLI exits with
     ├── ConfigError         the composed config is invalid: a list of Problems (key, file, expected)
     ├── ProjectError        no project here, or a project/template on disk is not usable
     ├── TemplateError       ``hydraops init`` could not create the project
     ├── FeatureStoreError   the feature store cannot do what was asked (no such feature, store down...)
     │    └── DataError      data on disk is not what the config declares (file, column, dtype, check)
     ├── TrainingError       a model cannot be trained as configured (split, parameter, estimator)
     ├── EvaluationError     a model cannot be evaluated as asked (unknown metric, missing column)
     ├── TrackingError       the tracking server is unreachable or refuses a request
     ├── ModelIntegrityError a model's files do not match their recorded sha256
     └── RegistryError       the registry spec cannot be carried out as declared
          ├── PromotionRejected  a gate failed; nothing moved (exit 1)
          └── RegistryConflict   the aliases moved since the decision, or the model is locked (exit 3)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ConfigError", "DataError", "EvaluationError", "FeatureStoreError", "HydraopsError", "ModelIntegrityError",
    "Problem", "ProjectError", "PromotionRejected", "RegistryConflict", "RegistryError", "TemplateError", "TrackingError", "TrainingError",
]  # fmt: skip


class HydraopsError(Exception):
    """Base of every error hydraops raises on purpose."""

    exit_code = 1


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a config: the dotted key path, the file it came from, and the message."""

    key: str
    source: str
    message: str

    def __str__(self) -> str:
        return f"{self.key or '<config>'} ({self.source}): {self.message}"


class ConfigError(HydraopsError):
    """The composed config is invalid; carries every problem found, not just the first."""

    exit_code = 2

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        lines = [f"invalid config: {count} problem{'s' if count != 1 else ''}"]
        lines += [f"  {problem}" for problem in self.problems]
        super().__init__("\n".join(lines))

    def __reduce__(self) -> tuple[type, tuple[list[Problem]]]:
        return type(self), (self.problems,)  # a launcher's worker process sends it back pickled


class ProjectError(HydraopsError):
    """No project where one was expected, or a project on disk that cannot be used."""

    exit_code = 2


class TemplateError(HydraopsError):
    """``hydraops init`` could not create the project (unknown template, destination not empty...)."""

    exit_code = 2


class FeatureStoreError(HydraopsError):
    """The feature store cannot do what was asked: an unknown feature, a store that is down, no timeline yet."""

    exit_code = 2


class DataError(FeatureStoreError):
    """Data on disk is not what the config declares: a missing file or column, a wrong dtype, a failed check."""


class TrainingError(HydraopsError):
    """A model cannot be trained as configured: a bad split, an unknown parameter, a refused estimator."""

    exit_code = 2


class EvaluationError(HydraopsError):
    """The model, the data or the evaluate spec cannot be evaluated as asked (unknown metric, missing column...)."""

    exit_code = 2


class TrackingError(HydraopsError):
    """The tracking server cannot be reached or refuses what hydraops asked of it."""

    exit_code = 2


class ModelIntegrityError(HydraopsError):
    """A model's files do not match the sha256 recorded when it was logged."""

    exit_code = 2


class RegistryError(HydraopsError):
    """The registry spec cannot be carried out as declared (a gate missing a field it needs...)."""

    exit_code = 2


class PromotionRejected(RegistryError):
    """A gate failed: nothing moved (the gate table says which and why)."""

    exit_code = 1


class RegistryConflict(RegistryError):
    """The aliases changed since the decision was taken, or another promoter holds the model's lock."""

    exit_code = 3

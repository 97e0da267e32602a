"""The one exception hierarchy of hydraops.

Every error names what is wrong (a config key, a file, a column) and what was expected, so the CLI can
print it as one readable message. The context is also carried as fields, for code that handles the error:
``key`` (a config key or command-line parameter), ``path`` (a file or folder), ``column``, and ``hint``
(what to do about it; shown as the message's last line)::

    HydraopsError            base class; ``exit_code`` is what the CLI exits with; key, path, column, hint
     ├── ConfigError         the composed config is invalid: a list of Problems (key, file, expected)
     ├── UsageError          a verb's parameters are not what it takes (``version=abc``): every bad one (exit 2)
     ├── ProjectError        no project here, or a project/template on disk is not usable
     ├── TemplateError       ``hydraops init`` could not create the project
     ├── FeatureStoreError   the feature store cannot do what was asked (no such feature, store down...)
     │    └── DataError      data on disk is not what the config declares (file, column, dtype, check)
     ├── TrainingError       a model cannot be trained as configured (split, parameter, estimator)
     ├── EvaluationError     a model cannot be evaluated as asked (unknown metric, missing column)
     ├── TrackingError       the tracking server is unreachable or refuses a request
     ├── ModelIntegrityError a model's files do not match their recorded sha256
     ├── MonitoringError     a reference profile is missing or unreadable, or data cannot be compared with it
     │    └── MonitoringBreach  ``hydraops monitor``: a check breached its threshold (exit 3)
     ├── NotReproduced       ``hydraops reproduce``: the new model or metrics differ from the run's (exit 1)
     └── RegistryError       the registry spec cannot be carried out as declared
          ├── PromotionRejected  a gate failed; nothing moved (exit 1)
          └── RegistryConflict   the aliases moved since the decision, or the model is locked (exit 3)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ConfigError", "DataError", "EvaluationError", "FeatureStoreError", "HydraopsError", "ModelIntegrityError", "MonitoringBreach", "MonitoringError", "NotReproduced",
    "Problem", "ProjectError", "PromotionRejected", "RegistryConflict", "RegistryError", "TemplateError", "TrackingError",
    "Refusal", "ServingError", "TrainingError", "UsageError",
]  # fmt: skip


class HydraopsError(Exception):
    """Base of every error hydraops raises on purpose, with what it is about as optional fields."""

    exit_code = 1
    key: str | None = None  #: the config key (``data.sources.x.path``) or command-line parameter (``version``)
    path: str | None = None  #: the file or folder
    column: str | None = None  #: the data column
    hint: str | None = None  #: what to do about it, shown as the message's last line

    def __init__(self, message: str = "", *, key: str | None = None, path: str | None = None, column: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.key, self.path, self.column, self.hint = key, path, column, hint

    def __str__(self) -> str:
        message = super().__str__()
        return f"{message}\nhint: {self.hint}" if self.hint else message


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


class UsageError(HydraopsError):
    """A verb was given parameters it does not take as written (``at=yesterday``); names each bad one."""

    exit_code = 2


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


class MonitoringError(HydraopsError):
    """A model version has no readable reference profile, or current data cannot be compared with it."""

    exit_code = 2


class MonitoringBreach(MonitoringError):
    """A monitoring check breached its threshold: violations.json lists each one."""

    exit_code = 3


class ServingError(HydraopsError):
    """A bundle cannot be built, served or used for scoring as declared (no such alias, not explainable...)."""

    exit_code = 2


class Refusal(HydraopsError):
    """A served request refused, as an RFC 9457 problem (``hydraops.serving.problems`` writes it): the HTTP
    status, the problem's kind (the last segment of its ``type``), its title and detail, and the failing fields."""

    exit_code = 2

    def __init__(self, status: int, kind: str, title: str, detail: str, errors: list | None = None) -> None:
        super().__init__(detail)
        self.status, self.kind, self.title, self.detail, self.errors = status, kind, title, detail, list(errors or [])


class NotReproduced(HydraopsError):
    """``hydraops reproduce``: the reproduction's model or metrics differ from the original's."""

    exit_code = 1


class RegistryError(HydraopsError):
    """The registry spec cannot be carried out as declared (a gate missing a field it needs...)."""

    exit_code = 2


class PromotionRejected(RegistryError):
    """A gate failed: nothing moved (the gate table says which and why)."""

    exit_code = 1


class RegistryConflict(RegistryError):
    """The aliases changed since the decision was taken, or another promoter holds the model's lock."""

    exit_code = 3


def raise_interrupt_within(error: BaseException) -> None:
    """Raise the KeyboardInterrupt (Ctrl-C, SIGTERM) that ``error`` was raised while handling, if any: a library's
    clean-up (OmegaConf, Hydra) can turn an interrupt into an error of its own, and an interrupt is not a config problem."""
    interrupt = interrupt_within(error)
    if interrupt is not None:
        raise interrupt


def interrupt_within(error: BaseException) -> KeyboardInterrupt | None:
    """The KeyboardInterrupt ``error`` is, or was raised (directly or not) while handling; None if none."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None

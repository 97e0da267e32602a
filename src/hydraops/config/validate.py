"""``validate``: every problem of a composed config at once, each naming its key and file.

It resolves every value, lists each ``???`` still missing and each broken interpolation, refuses a
``_target_`` that does not name an estimator class (and ``_args_``/``_partial_`` beside it), converts to the typed spec and checks cross-references. It imports
nothing heavy and writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import InterpolationToMissingValueError, MissingMandatoryValue, OmegaConfBaseException

from hydraops.config.checks import cross_reference_findings
from hydraops.config.compose import to_spec
from hydraops.config.names import INSTANTIATE_KEYS, target_problem
from hydraops.config.origins import Origins
from hydraops.config.schemas import ProjectSpec, expected
from hydraops.errors import ConfigError, Problem, raise_interrupt_within

Finding = tuple[str, str]


def validate_config(cfg: DictConfig, origins: Origins) -> ProjectSpec:
    """The typed spec of ``cfg``, or a ConfigError listing every problem found."""
    findings = list(_value_findings(cfg, ""))
    if not findings:
        try:
            spec = to_spec(cfg)
        except OmegaConfBaseException as error:
            raise_interrupt_within(error)
            findings.append((error.full_key or "", _first_line(error)))
        else:
            findings += cross_reference_findings(spec)
    if findings:
        raise ConfigError([Problem(key, origins.of(key), message) for key, message in findings])
    return spec


def _value_findings(node: DictConfig | ListConfig, prefix: str) -> Iterator[Finding]:
    keys = node.keys() if isinstance(node, DictConfig) else range(len(node))
    for key in keys:
        path = _join(prefix, key)
        if key == "hydra" and not prefix:
            continue
        if OmegaConf.is_missing(node, key):
            what = expected(node._metadata.object_type, key) if isinstance(node, DictConfig) else None
            yield path, f"missing value '???': {f'expected {what}; ' if what else ''}give it a value in the config or on the command line (key=VALUE)"
            continue
        if key == "_target_":
            yield from _target_findings(node, path)
        try:
            value = node[key]
        except (InterpolationToMissingValueError, MissingMandatoryValue):
            continue  # reported once, at the missing key itself
        except OmegaConfBaseException as error:
            raise_interrupt_within(error)
            yield path, f"cannot resolve '{node._get_node(key)._value()}': {_first_line(error)}"
            continue
        if isinstance(value, (DictConfig, ListConfig)) and not OmegaConf.is_interpolation(node, key):
            yield from _value_findings(value, path)


def _target_findings(node: DictConfig | ListConfig, path: str) -> Iterator[Finding]:
    """A ``_target_`` must name an estimator class (by name: nothing is imported), built from keyword arguments."""
    problem = target_problem(node._get_node("_target_")._value())
    if problem:
        yield path, f"_target_ {problem}"
    for key in INSTANTIATE_KEYS:
        if key in node:
            yield _join(path.rpartition(".")[0], key), f"{key} is not allowed: an estimator is built from keyword arguments only"


def _join(prefix: str, key: object) -> str:
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    return f"{prefix}.{key}" if prefix else str(key)


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__

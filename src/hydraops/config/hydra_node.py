"""The ``hydra`` node of a composed config: what Hydra itself would build from it, checked against allow-lists.

Before a verb's task runs, Hydra instantiates ``hydra.callbacks``, the launcher and the sweeper from their
``_target_`` (recursively: any nested ``_target_`` too), builds logging handlers, formatters and filters with
``logging.config.dictConfig`` (``class``, ``()`` factories, ``ext://`` imports) and exports ``hydra.job.env_set``.
Each of these is checked here, as written in the config, against an exact allow-list:

* callbacks: hydraops' own sweep callback; launchers: Hydra's basic and joblib; sweepers: Hydra's basic and
  Optuna (its samplers by exact class name, no ``custom_search_space``); no other nested ``_target_``,
  no ``_args_``;
* logging: ``logging.StreamHandler`` on ``ext://sys.stdout``/``ext://sys.stderr``, ``logging.FileHandler``
  only for a file under ``${hydra.runtime.output_dir}``, ``logging.Formatter``; no ``()`` factory but
  colorlog's formatter (Hydra's colorlog plugin), no ``.`` properties, no other ``ext://`` reference;
* ``hydra.job.env_set``: thread-count variables and ``CUDA_VISIBLE_DEVICES`` only; ``hydra.searchpath``: no
  ``pkg://`` entry (it imports a package); ``hydra.output_subdir``: a relative path inside the output dir.

Pure functions of the composed config, returning ``(key, message)`` findings; nothing is imported or built.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from pathlib import PurePosixPath
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict, read_write

Finding = tuple[str, str]

CALLBACKS = frozenset({"hydraops.tracking.sweep.MlflowSweepCallback"})
LAUNCHERS = frozenset({
    "hydra._internal.core_plugins.basic_launcher.BasicLauncher",
    "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher",
})  # fmt: skip
SWEEPERS = frozenset({
    "hydra._internal.core_plugins.basic_sweeper.BasicSweeper",
    "hydra_plugins.hydra_optuna_sweeper.optuna_sweeper.OptunaSweeper",
})  # fmt: skip
SAMPLERS = frozenset(
    f"optuna.samplers.{name}"
    for name in ("TPESampler", "RandomSampler", "GridSampler", "CmaEsSampler", "NSGAIISampler", "MOTPESampler", "QMCSampler")
)
HANDLERS: dict[str, frozenset[str]] = {
    "logging.StreamHandler": frozenset({"stream"}),
    "logging.FileHandler": frozenset({"filename", "mode", "encoding", "delay", "errors"}),
}
FORMATTER_FACTORIES = frozenset({"colorlog.ColoredFormatter"})
STREAMS = frozenset({"ext://sys.stdout", "ext://sys.stderr"})
ENV_NAMES = re.compile(r"(OMP|MKL|OPENBLAS|NUMEXPR|VECLIB_MAXIMUM)_NUM_THREADS|CUDA_VISIBLE_DEVICES")

_LOGGING_KEYS = frozenset({"version", "formatters", "filters", "handlers", "loggers", "root", "disable_existing_loggers", "incremental"})
_FORMATTER_KEYS = frozenset({"format", "datefmt", "style", "validate", "defaults", "class"})
_HANDLER_KEYS = frozenset({"class", "level", "formatter", "filters"})
_LOGGER_KEYS = frozenset({"level", "handlers", "propagate", "filters"})
#: Stands for the job's output directory while a FileHandler's path is resolved (Hydra sets it later).
_OUTPUT_DIR = "/hydraops-output-dir"


def hydra_findings(cfg: DictConfig) -> list[Finding]:
    """Every problem of ``cfg.hydra``: what is not allow-listed, each with its dotted key."""
    hydra = cfg.hydra
    findings = list(_plugin_findings(_plain(hydra, "callbacks") or {}, "hydra.callbacks", _callback_rule))
    findings += _plugin_findings({"launcher": _plain(hydra, "launcher")}, "hydra", _launcher_rule)
    findings += _plugin_findings({"sweeper": _plain(hydra, "sweeper")}, "hydra", _sweeper_rule)
    findings += _sweeper_field_findings(_plain(hydra, "sweeper") or {})
    for name in ("hydra_logging", "job_logging"):
        findings += _logging_findings(cfg, dict(_items(_plain(hydra, name))), f"hydra.{name}")
    findings += _env_findings(hydra)
    findings += searchpath_findings(_plain(hydra, "searchpath") or [], "hydra.searchpath")
    findings += _output_subdir_findings(hydra)
    return findings


def searchpath_findings(entries: Any, key: str) -> Iterator[Finding]:
    """``pkg://`` search path entries import a package while Hydra composes: refused."""
    for i, entry in enumerate(entries if isinstance(entries, list) else [entries]):
        if not isinstance(entry, str) or entry.startswith(("pkg://", "structured://")):
            yield f"{key}[{i}]", f"'{entry}' is not allowed: search path entries are folders (file://PATH or PATH)"


def _plain(node: DictConfig, key: str) -> Any:
    """A child of the hydra node as plain containers, interpolations left as written."""
    value = node._get_node(key) if key in node else None
    if value is None:
        return None
    return OmegaConf.to_container(value, resolve=False) if OmegaConf.is_config(value) else value._value()


def _callback_rule(key: str) -> frozenset[str] | None:
    return CALLBACKS if key.count(".") == 2 else None  # hydra.callbacks.NAME


def _launcher_rule(key: str) -> frozenset[str] | None:
    return LAUNCHERS if key == "hydra.launcher" else None


def _sweeper_rule(key: str) -> frozenset[str] | None:
    return {"hydra.sweeper": SWEEPERS, "hydra.sweeper.sampler": SAMPLERS}.get(key)


def _plugin_findings(node: Any, key: str, allowed_at: Any) -> Iterator[Finding]:
    """Every ``_target_`` under ``node`` must be one ``allowed_at(key)`` names; ``None`` there: none allowed."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            yield from _plugin_findings(item, f"{key}[{i}]", allowed_at)
        return
    if not isinstance(node, Mapping):
        return
    for name, value in node.items():
        child = f"{key}.{name}"
        if name == "_target_":
            allowed = allowed_at(key) or frozenset()
            if value not in allowed:
                known = ", ".join(sorted(allowed)) or "nothing may be instantiated here"
                yield child, f"_target_ '{value}' is not allowed here; allowed: {known}"
        elif name == "_args_":
            yield child, "_args_ is not allowed: Hydra's plugins take keyword arguments only"
        elif name == "_partial_" and value and allowed_at(key) is not SAMPLERS:
            yield child, "_partial_ is not allowed here (only an Optuna sampler takes it)"
        else:
            yield from _plugin_findings(value, child, allowed_at)


def _sweeper_field_findings(sweeper: Mapping[str, Any]) -> Iterator[Finding]:
    if sweeper.get("custom_search_space") is not None:
        yield "hydra.sweeper.custom_search_space", "not allowed: it names a function the sweeper would import and call"
    for name in sweeper.get("params") or {}:
        if _is_hydra_key(str(name)):
            yield "hydra.sweeper.params", f"'{name}': a sweep may not vary Hydra's own settings (hydra.*)"


def _is_hydra_key(name: str) -> bool:
    name = name.lstrip("+~").lstrip("/")
    return name == "hydra" or name.startswith(("hydra.", "hydra/"))


def _logging_findings(cfg: DictConfig, logging: Mapping[str, Any], key: str) -> Iterator[Finding]:
    """``logging.config.dictConfig`` imports and calls ``class`` and ``()``, and imports ``ext://`` values."""
    for name, _ in _items(logging):
        if name not in _LOGGING_KEYS:
            yield f"{key}.{name}", f"unknown logging key '{name}'; expected one of: {', '.join(sorted(_LOGGING_KEYS))}"
    for name, formatter in _items(logging.get("formatters")):
        yield from _formatter_findings(dict(_items(formatter)), f"{key}.formatters.{name}")
    for name, spec in _items(logging.get("filters")):
        if {field for field, _ in _items(spec)} - {"name"}:
            yield f"{key}.filters.{name}", "a logging filter takes only 'name' (no '()' factory)"
    for name, handler in _items(logging.get("handlers")):
        yield from _handler_findings(cfg, dict(_items(handler)), f"{key}.handlers.{name}")
    loggers = {f"loggers.{name}": spec for name, spec in _items(logging.get("loggers"))}
    for name, spec in {**loggers, "root": logging.get("root")}.items():
        for field in {field for field, _ in _items(spec)} - _LOGGER_KEYS:
            yield f"{key}.{name}.{field}", f"not allowed in a logger; expected: {', '.join(sorted(_LOGGER_KEYS))}"


def _items(node: Any) -> list[tuple[Any, Any]]:
    return list(node.items()) if isinstance(node, Mapping) else []


def _formatter_findings(formatter: Mapping[str, Any], key: str) -> Iterator[Finding]:
    if "()" in formatter:
        if formatter["()"] not in FORMATTER_FACTORIES:
            yield f"{key}.()", f"'()' factory '{formatter['()']}' is not allowed; allowed: {', '.join(sorted(FORMATTER_FACTORIES))}"
        return
    for field in set(formatter) - _FORMATTER_KEYS:
        yield f"{key}.{field}", f"not allowed in a formatter; expected: {', '.join(sorted(_FORMATTER_KEYS))}"
    if formatter.get("class", "logging.Formatter") != "logging.Formatter":
        yield f"{key}.class", f"formatter class '{formatter['class']}' is not allowed; allowed: logging.Formatter"


def _handler_findings(cfg: DictConfig, handler: Mapping[str, Any], key: str) -> Iterator[Finding]:
    cls = handler.get("class")
    if "()" in handler:
        yield f"{key}.()", f"'()' factories are not allowed in a handler; give 'class', one of: {', '.join(sorted(HANDLERS))}"
        return
    if cls not in HANDLERS:
        yield f"{key}.class", f"handler class '{cls}' is not allowed; allowed: {', '.join(sorted(HANDLERS))}"
        return
    allowed = _HANDLER_KEYS | HANDLERS[cls]
    for field in set(handler) - allowed:
        yield f"{key}.{field}", f"not allowed in a {cls}; expected: {', '.join(sorted(allowed))}"
    if "stream" in handler and handler["stream"] not in STREAMS:
        yield f"{key}.stream", f"stream '{handler['stream']}' is not allowed; allowed: {', '.join(sorted(STREAMS))}"
    if cls == "logging.FileHandler":
        yield from _log_file_findings(cfg, f"{key}.filename")
    for field, value in handler.items():
        if field != "stream" and isinstance(value, str) and value.startswith(("ext://", "cfg://")):
            yield f"{key}.{field}", f"'{value}' is not allowed: ext:// and cfg:// references import or look up objects"


def _log_file_findings(cfg: DictConfig, key: str) -> Iterator[Finding]:
    """A log file must resolve to a path inside the job's output directory (``${hydra.runtime.output_dir}``)."""
    runtime = cfg.hydra.runtime
    saved = runtime._get_node("output_dir")._value()
    with read_write(runtime), open_dict(runtime):
        runtime.output_dir = _OUTPUT_DIR
        try:
            path = OmegaConf.select(cfg, key, throw_on_resolution_failure=True, throw_on_missing=True)
        except Exception as error:  # an interpolation that does not resolve before the job starts
            path = error
        finally:
            runtime.output_dir = saved
    expected = "a file under ${hydra.runtime.output_dir} (the job's output directory)"
    if isinstance(path, Exception):
        yield key, f"cannot resolve the log file's path ({str(path).splitlines()[0]}); expected {expected}"
    elif not isinstance(path, str) or not os.path.normpath(path).startswith(_OUTPUT_DIR + "/"):
        shown = str(path).replace(_OUTPUT_DIR, "${hydra.runtime.output_dir}")
        yield key, f"log file '{shown}' is not allowed; expected {expected}"


def _env_findings(hydra: DictConfig) -> Iterator[Finding]:
    copied = set(_plain(hydra.job, "env_copy") or [])
    for name in _plain(hydra.job, "env_set") or {}:
        if name not in copied and not ENV_NAMES.fullmatch(str(name)):
            yield f"hydra.job.env_set.{name}", (
                f"setting '{name}' is not allowed; allowed: *_NUM_THREADS (OMP, MKL, OPENBLAS, NUMEXPR, VECLIB_MAXIMUM), CUDA_VISIBLE_DEVICES"
            )


def _output_subdir_findings(hydra: DictConfig) -> Iterator[Finding]:
    subdir = _plain(hydra, "output_subdir")
    if subdir is None:
        return
    try:
        value = str(OmegaConf.select(hydra, "output_subdir", throw_on_resolution_failure=True))
    except Exception:
        value = str(subdir)
    path = PurePosixPath(value)
    if path.is_absolute() or ".." in path.parts or not value.strip():
        yield "hydra.output_subdir", f"'{value}' is not allowed: a relative folder inside the output directory (default .hydra)"

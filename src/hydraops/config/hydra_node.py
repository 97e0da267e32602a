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

import re
from collections.abc import Iterator, Mapping
from pathlib import PurePosixPath
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

Finding = tuple[str, str]

CALLBACKS = frozenset({"hydraops.cli.sweep.MlflowSweepCallback"})
LAUNCHERS = frozenset({
    "hydra._internal.core_plugins.basic_launcher.BasicLauncher",
    "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher",
})  # fmt: skip
SWEEPERS = frozenset({
    "hydra._internal.core_plugins.basic_sweeper.BasicSweeper",
    "hydra_plugins.hydra_optuna_sweeper.optuna_sweeper.OptunaSweeper",
})  # fmt: skip
SAMPLERS = frozenset(
    f"optuna.samplers.{name}" for name in ("TPESampler", "RandomSampler", "GridSampler", "CmaEsSampler", "NSGAIISampler", "MOTPESampler", "QMCSampler")
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
#: What a log file's path may interpolate besides ``${hydra.runtime.output_dir}``: names Hydra sets itself.
_LOG_FILE_NAMES = re.compile(r"\$\{hydra\.job\.(?:name|id|num)\}")
_JOB_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def hydra_findings(cfg: DictConfig) -> list[Finding]:
    """Every problem of ``cfg.hydra``: what is not allow-listed, each with its dotted key.

    Each part is checked as Hydra will use it: interpolations resolved now (a value that cannot be resolved
    yet is refused, as it could resolve to anything later), but for a log file's path, which is checked as
    written (it names the job's output directory, known only when the job starts)."""
    findings: list[Finding] = []
    hydra = cfg.hydra
    part = {name: _resolved(hydra, name, f"hydra.{name}", findings) for name in _PARTS}
    part["job_logging"] = _resolved(hydra, "job_logging", "hydra.job_logging", findings, raw="filename")
    part["hydra_logging"] = _resolved(hydra, "hydra_logging", "hydra.hydra_logging", findings, raw="filename")
    findings += _plugin_findings(part["callbacks"] or {}, "hydra.callbacks", _callback_rule)
    findings += _plugin_findings({"launcher": part["launcher"]}, "hydra", _launcher_rule)
    findings += _plugin_findings({"sweeper": part["sweeper"]}, "hydra", _sweeper_rule)
    findings += _sweeper_field_findings(dict(_items(part["sweeper"])))
    for name in ("hydra_logging", "job_logging"):
        findings += _logging_findings(dict(_items(part[name])), f"hydra.{name}")
    findings += _env_findings(dict(_items(part["job"])))
    findings += searchpath_findings(part["searchpath"] or [], "hydra.searchpath")
    findings += _output_subdir_findings(part["output_subdir"])
    return findings


_PARTS = ("callbacks", "launcher", "sweeper", "job", "searchpath", "output_subdir")


def searchpath_findings(entries: Any, key: str) -> Iterator[Finding]:
    """``pkg://`` search path entries import a package while Hydra composes: refused."""
    for i, entry in enumerate(entries if isinstance(entries, list) else [entries]):
        if not isinstance(entry, str) or entry.startswith(("pkg://", "structured://")):
            yield f"{key}[{i}]", f"'{entry}' is not allowed: search path entries are folders (file://PATH or PATH)"


def _resolved(node: DictConfig | ListConfig, key: Any, path: str, findings: list[Finding], raw: str = "") -> Any:
    """``node[key]`` as plain containers, every interpolation resolved (``???`` left as is); a value that does
    not resolve yet is a finding. Leaves named ``raw`` are kept as written."""
    if isinstance(node, DictConfig) and key not in node:
        return None
    if OmegaConf.is_missing(node, key) or (key == raw and not OmegaConf.is_config(node._get_node(key))):
        return node._get_node(key)._value()
    try:
        value = node[key]
    except Exception as error:  # noqa: BLE001 - it depends on what Hydra sets later, or does not resolve at all
        written = node._get_node(key)._value()
        findings.append((path, f"'{written}' must resolve when the config is composed ({str(error).splitlines()[0]})"))
        return None
    if isinstance(value, DictConfig):
        return {k: _resolved(value, k, f"{path}.{k}", findings, raw) for k in value.keys()}
    if isinstance(value, ListConfig):
        return [_resolved(value, i, f"{path}[{i}]", findings, raw) for i in range(len(value))]
    return value


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


def _logging_findings(logging: Mapping[str, Any], key: str) -> Iterator[Finding]:
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
        yield from _handler_findings(dict(_items(handler)), f"{key}.handlers.{name}")
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


def _handler_findings(handler: Mapping[str, Any], key: str) -> Iterator[Finding]:
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
        yield from _log_file_findings(handler.get("filename"), f"{key}.filename")
    for field, value in handler.items():
        if field != "stream" and isinstance(value, str) and value.startswith(("ext://", "cfg://")):
            yield f"{key}.{field}", f"'{value}' is not allowed: ext:// and cfg:// references import or look up objects"


def _log_file_findings(filename: Any, key: str) -> Iterator[Finding]:
    """A log file is ``${hydra.runtime.output_dir}/NAME``: NAME relative, without ``..``, interpolating at most the
    job's name, id and number (Hydra sets the output directory only when the job starts)."""
    prefix = "${hydra.runtime.output_dir}/"
    rest = _LOG_FILE_NAMES.sub("x", filename[len(prefix) :]) if isinstance(filename, str) and filename.startswith(prefix) else None
    if rest is None or not rest or "${" in rest or ".." in PurePosixPath(rest).parts or rest.startswith("/"):
        yield (
            key,
            (
                f"log file '{filename}' is not allowed; expected {prefix}NAME (a file in the job's output directory; "
                "NAME may use ${hydra.job.name}, ${hydra.job.id}, ${hydra.job.num}, no '..')"
            ),
        )


def _env_findings(job: Mapping[str, Any]) -> Iterator[Finding]:
    copied = set(job.get("env_copy") or [])
    for name, _ in _items(job.get("env_set")):
        if name not in copied and not ENV_NAMES.fullmatch(str(name)):
            yield (
                f"hydra.job.env_set.{name}",
                (f"setting '{name}' is not allowed; allowed: *_NUM_THREADS (OMP, MKL, OPENBLAS, NUMEXPR, VECLIB_MAXIMUM), CUDA_VISIBLE_DEVICES"),
            )
    if not _JOB_NAME.fullmatch(str(job.get("name"))):
        yield "hydra.job.name", f"'{job.get('name')}' is not allowed: letters, digits, '_', '-' and '.' (it names the log file)"


def _output_subdir_findings(subdir: Any) -> Iterator[Finding]:
    if subdir is None:
        return
    path = PurePosixPath(str(subdir))
    if path.is_absolute() or ".." in path.parts or not str(subdir).strip():
        yield "hydra.output_subdir", f"'{subdir}' is not allowed: a relative folder inside the output directory (default .hydra)"

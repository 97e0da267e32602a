"""What never reaches an MLflow run, a log or the terminal: secrets in the config.

A secret is the password of any URL (``redis://:PASSWORD@host``, ``postgresql://user:PASSWORD@host``), any
value that came from the environment through ``${oc.env:NAME}`` (it is shown as that interpolation, so the run
says where the value came from), and the value of a key the config names as secret (``password``, ``token``,
``secret``, ``api_key``, ``access_key``, ``private_key``, or ending in ``_password``, ``_token``...). A
value read from such a key, when it appears inside another value (``url: redis://:${oc.env:PW}@host``, or a
key interpolating it), is replaced there too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

REDACTED = "***"
_URL_PASSWORD = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)[^@/\s]+(?=@)")
SECRET_KEY = re.compile(r"(?i)(?:^|_)(?:password|passwd|secret|token|api_key|access_key|private_key)$")
#: Shorter environment values are not looked for inside other values (they would match by chance).
_MIN_EMBEDDED = 8


def redacted_config(config: Any, environment: Mapping[str, str] | None = None) -> tuple[dict[str, Any], Redactor]:
    """A composed config (or a typed spec) resolved as plain containers with every secret replaced, and the
    Redactor that knows those secrets (for the command line and Hydra's files)."""
    cfg = config if isinstance(config, DictConfig) else OmegaConf.structured(config)
    redactor = Redactor.of(cfg, environment)
    return redactor.config(cfg), redactor


def redact_url(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``."""
    return _URL_PASSWORD.sub(lambda m: m.group("head") + REDACTED, text)


@dataclass(frozen=True)
class Redactor:
    """Knows a composed config's secret values and what to show instead of each."""

    shown: dict[str, str] = field(default_factory=dict)  # secret value → what is shown instead
    by_key: dict[str, str] = field(default_factory=dict)  # dotted key → what is shown instead of its value

    @classmethod
    def of(cls, cfg: DictConfig, environment: Mapping[str, str] | None = None) -> Redactor:
        """The secrets of ``cfg`` (its ``hydra`` node left out) and of ``environment`` (variables copied into the
        job's, ``hydra.job.env_copy``), read from the config as written: an interpolation is not resolved twice."""
        redactor = cls()
        redactor._collect(cfg, "")
        for name, value in (environment or {}).items():
            redactor._remember(str(value), f"${{oc.env:{name}}}")
        return redactor

    def text(self, text: str) -> str:
        """``text`` without a secret: each known value replaced, then every URL password."""
        if text in self.shown:
            return self.shown[text]
        for value in sorted(self.shown, key=len, reverse=True):
            if len(value) >= _MIN_EMBEDDED and value in text:
                text = text.replace(value, self.shown[value])
        return redact_url(text)

    def override(self, override: str) -> str:
        """A command-line word without a secret: ``db.password=X`` → ``db.password=***``, URLs redacted."""
        name, sep, _ = override.partition("=")
        if sep and SECRET_KEY.search(name.split(".")[-1]):
            return f"{name}={REDACTED}"
        return self.text(override)

    def command(self, words: Iterable[str]) -> list[str]:
        return [self.override(word) for word in words]

    def config(self, cfg: DictConfig) -> dict[str, Any]:
        """``cfg`` resolved (its ``hydra`` node left out), as plain containers, with every secret replaced."""
        resolved = {}
        for key in cfg:
            if key != "hydra":
                value = cfg[key]
                resolved[key] = OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value
        return self._clean(resolved, "")

    def _clean(self, value: Any, key: str) -> Any:
        if key in self.by_key:
            return self.by_key[key]
        if isinstance(value, dict):
            return {k: self._clean(v, _join(key, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self._clean(v, f"{key}[{i}]") for i, v in enumerate(value)]
        return self.text(value) if isinstance(value, str) else value

    def _collect(self, node: DictConfig | ListConfig, prefix: str) -> None:
        for key in _keys(node):
            path = _join(prefix, key)
            if path == "hydra":
                continue
            child = node._get_node(key)
            raw = child._value()
            container = isinstance(child, (DictConfig, ListConfig))
            if isinstance(raw, str) and OmegaConf.is_interpolation(node, key) and "oc.env:" in raw:
                self.by_key[path] = redact_url(raw)
                self._remember(_resolved(node, key), self.by_key[path])
            elif isinstance(key, str) and SECRET_KEY.search(key) and not container and raw not in (None, ""):
                self.by_key[path] = REDACTED
                self._remember(_resolved(node, key), REDACTED)
            elif container and not OmegaConf.is_interpolation(node, key) and not OmegaConf.is_missing(node, key):
                self._collect(child, path)

    def _remember(self, value: str | None, shown: str) -> None:
        if value:
            self.shown.setdefault(value, shown)


def _resolved(node: DictConfig | ListConfig, key: Any) -> str | None:
    try:
        value = node[key]
    except Exception:  # noqa: BLE001 - an unset variable: nothing to hide
        return None
    return value if isinstance(value, str) else None


def _keys(node: DictConfig | ListConfig) -> Iterable[Any]:
    return node.keys() if isinstance(node, DictConfig) else range(len(node))


def _join(prefix: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    return f"{prefix}.{key}" if prefix else str(key)

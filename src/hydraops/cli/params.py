"""A verb's own parameters (``start=2025-01-01``, ``version=3``): declared once, parsed once at the edge.

A verb declares a tuple of :class:`Param`; :func:`parse_params` turns the ``name=value`` words it was given
into typed values (defaults filled in) or raises one :class:`~hydraops.errors.UsageError` naming every bad
parameter, the value given and what was expected. :func:`verb_help` renders them for ``--help``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from hydraops.errors import UsageError


class Kind(Enum):
    """What a parameter's value is; the enum's value is how ``--help`` names it."""

    INT = "integer"
    BOOL = "true|false"
    MOMENT = "date|timestamp"
    TEXT = "text"
    PATH = "path"


@dataclass(frozen=True)
class Param:
    """One ``name=value`` parameter of a verb: its kind, a one-line help, and its default (None: absent).

    ``expected`` replaces the kind's wording in error messages (``a version number, e.g. version=3``);
    ``minimum`` bounds an integer from below; a ``required`` parameter must be given.
    """

    name: str
    kind: Kind
    help: str
    default: Any = None
    expected: str | None = None
    minimum: int | None = None
    required: bool = False

    def parse(self, text: str) -> Any:
        """The typed value of ``text``; ValueError when it is not one."""
        return _PARSERS[self.kind](text, self)

    def expectation(self) -> str:
        """What a value must look like, as the error message says it."""
        if self.expected:
            return self.expected
        if self.kind is Kind.INT:
            at_least = f" of at least {self.minimum}" if self.minimum is not None else ""
            return f"a whole number{at_least}, e.g. {self.name}={self.default if self.default is not None else max(self.minimum or 0, 1)}"
        return {
            Kind.BOOL: "true or false",
            Kind.MOMENT: "a date (YYYY-MM-DD) or an ISO timestamp",
            Kind.TEXT: "a value after '='",
            Kind.PATH: "a path after '='",
        }[self.kind]


def version_param(help: str) -> Param:
    """The ``version=N`` parameter of the verbs that take a registered version."""
    return Param("version", Kind.INT, help, expected="a version number, e.g. version=3", minimum=1)


def parse_params(params: tuple[Param, ...], given: Mapping[str, str], command: str) -> dict[str, Any]:
    """The typed value of every parameter given, and the default of each one not given (unless None).

    Every bad value is reported in one UsageError (``key``: the first bad parameter's name).
    """
    values: dict[str, Any] = {param.name: param.default for param in params if param.default is not None}
    problems: list[tuple[str, str]] = []
    for param in params:
        if param.name not in given:
            if param.required:
                problems.append((param.name, f"{param.name}=… is required: {param.expectation()}"))
            continue
        try:
            values[param.name] = param.parse(given[param.name])
        except ValueError:
            problems.append((param.name, f"{param.name}={given[param.name]}: expected {param.expectation()}"))
    if not problems:
        return values
    hint = f"`{command} --help` lists its parameters"
    if len(problems) == 1:
        raise UsageError(problems[0][1], key=problems[0][0], hint=hint)
    lines = [f"{len(problems)} bad parameters:", *(f"  {message}" for _, message in problems)]
    raise UsageError("\n".join(lines), key=problems[0][0], hint=hint)


def verb_help(command: str, summary: str, params: tuple[Param, ...], flags: tuple[str, ...] = ()) -> str:
    """``--help``'s first part: the verb's one-line description, then its parameters and flags."""
    lines = [f"{command}: {summary}", ""]
    if not params and not flags:
        return "\n".join([*lines, "parameters: none besides Hydra's overrides", ""])
    rows = [(f"{p.name}=", p.kind.value, "required" if p.required else _shown(p.default), p.help) for p in params]
    rows += [(flag, "flag", "off", "") for flag in flags]
    widths = [max(len(row[i]) for row in [("name", "type", "default", ""), *rows]) for i in range(3)]
    lines.append("parameters (besides Hydra's overrides):")
    for row in [("name", "type", "default", "help"), *rows]:
        lines.append("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[3])
    return "\n".join([*(line.rstrip() for line in lines), ""])


def _shown(value: Any) -> str:
    return "-" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def _integer(text: str, param: Param) -> int:
    value = int(text.strip())
    if param.minimum is not None and value < param.minimum:
        raise ValueError(text)
    return value


def _boolean(text: str, param: Param) -> bool:
    word = text.strip().lower()
    if word not in ("true", "false", "1", "0", "yes", "no"):
        raise ValueError(text)
    return word in ("true", "1", "yes")


def _moment(text: str, param: Param) -> datetime:
    """An ISO date or timestamp; a naive one is read as UTC."""
    moment = datetime.fromisoformat(text.strip())
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _text(text: str, param: Param) -> str:
    if not text.strip():
        raise ValueError(text)
    return text


def _path(text: str, param: Param) -> Path:
    return Path(_text(text, param))


_PARSERS: dict[Kind, Callable[[str, Param], Any]] = {
    Kind.INT: _integer, Kind.BOOL: _boolean, Kind.MOMENT: _moment, Kind.TEXT: _text, Kind.PATH: _path,
}  # fmt: skip

"""What a config check returns: findings, ``(key path, message)`` pairs; and the one way to say a name is unknown."""

from __future__ import annotations

Finding = tuple[str, str]


def one_of(value: object, allowed: list[str] | tuple[str, ...] | set[str], what: str) -> str:
    known = ", ".join(sorted(allowed)) or "(none declared)"
    return f"unknown {what} '{value}'; expected one of: {known}"

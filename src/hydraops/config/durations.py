"""Durations in config: ``30s``, ``15m``, ``12h``, ``7d``, ``2w``."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_PATTERN = re.compile(r"^(\d+)([smhdw])$")


def parse_duration(text: str) -> timedelta:
    """``"30d"`` → ``timedelta(days=30)``; ValueError naming the accepted forms otherwise."""
    match = _PATTERN.match(str(text).strip())
    if not match:
        raise ValueError(f"'{text}' is not a duration: expected a whole number and a unit, e.g. 30s, 15m, 12h, 7d, 2w")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})

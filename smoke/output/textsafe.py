"""Make text that came from outside (error bodies, model output) safe to show as data."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")
_SPACES = re.compile(r"\s+")


def one_line(text: str, limit: int = 300) -> str:
    """Collapse white space and control characters; cut to ``limit`` characters."""
    text = _SPACES.sub(" ", _CONTROL.sub(" ", text)).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def decode(body: bytes, limit: int = 2000) -> str:
    return body[: limit * 4].decode("utf-8", errors="replace")[:limit]


def count(n: int, noun: str, many: str | None = None) -> str:
    """``1 check``, ``2 checks``: a number with its noun, never ``check(s)``."""
    return f"{n} {noun if n == 1 else many or noun + 's'}"


def shown(value: object) -> str:
    """A setting's value as YAML and the flags spell it: ``true``/``false``, ``null``,
    lists comma separated; never Python's ``True``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, list | tuple):
        return ", ".join(shown(item) for item in value)
    return str(value)

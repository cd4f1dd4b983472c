"""Latency objectives (``latency: {ttfb_ms: {warn, fail}, ...}``): the shape is the schema's;
what it cannot say is checked here, for the global setting and for a model's own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from smoke.errors import ConfigError

# Measure -> what it times, in the words of messages.
LATENCY = {
    "ttfb_ms": "time to first byte",
    "total_ms": "total time",
    "first_token_ms": "time to first token",
}
_ORDER = (
    "{where}: latency.{name}: warn {warn} ms is over fail {fail} ms; the warn bound must "
    "be the lower one (latency: {{{name}: {{warn: {fail}, fail: {warn}}}}}?)"
)


def check(latency: Mapping[str, Any] | None, where: str) -> None:
    """Raise ConfigError when a warn bound is over its fail bound."""
    for name, bounds in (latency or {}).items():
        warn, fail = bounds.get("warn"), bounds.get("fail")
        if warn is not None and fail is not None and warn > fail:
            raise ConfigError(_ORDER.format(where=where, name=name, warn=warn, fail=fail))

"""Latency objectives (``latency: {ttfb_ms: {warn, fail}, ...}``): the shape is the schema's;
what it cannot say is checked here, for the global setting and for a model's own."""

from __future__ import annotations

from smoke.errors import ConfigError
from smoke.jsonvalue import as_object

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


def parse(latency: object, where: str) -> dict[str, dict[str, int]]:
    """The objectives (already validated against the schema: {measure: {warn, fail}},
    integers); ConfigError when a warn bound is over its fail bound."""
    found: dict[str, dict[str, int]] = {}
    for name, given in (as_object(latency) or {}).items():
        bounds = {k: v for k, v in (as_object(given) or {}).items() if isinstance(v, int)}
        warn, fail = bounds.get("warn"), bounds.get("fail")
        if warn is not None and fail is not None and warn > fail:
            raise ConfigError(_ORDER.format(where=where, name=name, warn=warn, fail=fail))
        found[name] = bounds
    return found


def check(latency: object, where: str) -> None:
    """Raise ConfigError when a warn bound is over its fail bound."""
    parse(latency, where)

"""Operational signals in an answer's headers: rate limits and retirement.

- Rate limits: ``x-ratelimit-{limit,remaining,reset}-{requests,tokens,...}`` (OpenAI's
  names; the reset is a duration such as ``6m0s``, ``20ms`` or plain seconds), plus
  ``Retry-After`` / ``retry-after-ms``.
- Retirement: ``Deprecation`` (RFC 9745: a structured-field date, ``@1735689599``; drafts
  before it sent ``true`` or an HTTP date) and ``Sunset`` (RFC 8594: an HTTP date), and
  the ``Link`` relations ``deprecation`` and ``sunset`` that point at the notice.

Plain parsing of what the server sent; what to make of it (warnings, failures) is decided
by the check (``smoke.checks.signals``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cache

from smoke.details import RateLimit, RateLimits, Retirement
from smoke.http import retry

# Patterns, compiled on first use: most answers carry none of these headers, and every run
# pays for what is compiled at import.
_LIMIT = r"x-ratelimit-(limit|remaining|reset)(?:-([a-z0-9-]{1,40}))?"
_DURATION = r"(\d+(?:\.\d+)?)(ms|h|m|s)"
_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_LINK = r'<([^>]{1,500})>\s*;[^,]*\brel="?(deprecation|sunset)"?'
MAX_TEXT = 80  # a header value kept in the report


@cache
def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(text, re.IGNORECASE)


def duration_s(text: str) -> float | None:
    """``6m0s`` -> 360.0, ``20ms`` -> 0.02, ``1.5`` -> 1.5; None when it is neither."""
    raw = text.strip().lower()
    try:
        return float(raw) if raw else None
    except ValueError:
        pass
    parts = _pattern(_DURATION).findall(raw)
    if not parts or "".join(n + u for n, u in parts) != raw:
        return None
    return round(sum(float(n) * _UNITS[u] for n, u in parts), 3)


def _number(text: str) -> int | float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return int(value) if value.is_integer() else value


def ratelimit(headers: Mapping[str, str]) -> RateLimits | None:
    """``{"requests": {"limit": 500, "remaining": 3, "reset": "6m0s", "reset_s": 360.0},
    ..., "retry_after_s": 1.0}``, or None when the answer carries none of these headers.
    ``headers`` has lower-case names."""
    found: RateLimits = {}
    limits: dict[str, RateLimit] = {}
    for name, value in headers.items():
        if not name.startswith("x-ratelimit-"):
            continue
        match = _pattern(_LIMIT).fullmatch(name)
        if match is None:
            continue
        field, resource = match.group(1), match.group(2) or "any"
        entry = limits.get(resource)
        if entry is None:
            entry = limits[resource] = found[resource] = RateLimit()
        if field == "reset":
            entry["reset"] = value.strip()[:MAX_TEXT]
            entry["reset_s"] = duration_s(value)
        elif field == "limit":
            entry["limit"] = _number(value)
        else:
            entry["remaining"] = _number(value)
    wait = retry.server_wait(headers)
    if wait is not None:
        found["retry_after_s"] = round(wait, 3)
    return found or None


def share_left(entry: RateLimit) -> float | None:
    """remaining / limit for one resource, when both are known and the limit is positive."""
    limit, remaining = entry.get("limit"), entry.get("remaining")
    if isinstance(limit, int | float) and isinstance(remaining, int | float) and limit > 0:
        return float(remaining) / float(limit)
    return None


def _date(text: str) -> datetime | None:
    raw = text.strip()
    if raw.startswith("@"):  # RFC 9745: an sf-date, seconds since the epoch
        try:
            return datetime.fromtimestamp(int(raw[1:]), UTC)
        except (ValueError, OverflowError, OSError):
            return None
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def retirement(headers: Mapping[str, str], now: datetime | None = None) -> Retirement | None:
    """``{"deprecation": "2026-06-30T00:00:00Z" | true, "sunset": "...", "sunset_days": 40.5,
    "links": {...}}``, or None when the answer announces nothing."""
    now = now or datetime.now(UTC)
    found = Retirement()
    deprecation = headers.get("deprecation")
    if deprecation is not None:
        when = _date(deprecation)
        if when is not None:
            found["deprecation"] = _iso(when)
        elif deprecation.strip().lower() in ("true", "?1"):
            found["deprecation"] = True
        else:
            found["deprecation_unparsed"] = deprecation.strip()[:MAX_TEXT]
    sunset = headers.get("sunset")
    if sunset is not None:
        when = _date(sunset)
        if when is not None:
            found["sunset"] = _iso(when)
            found["sunset_days"] = round((when - now).total_seconds() / 86400, 2)
        else:
            found["sunset_unparsed"] = sunset.strip()[:MAX_TEXT]
    if not found:
        return None
    links = {rel.lower(): url for url, rel in _pattern(_LINK).findall(headers.get("link", ""))}
    if links:
        found["links"] = links
    return found or None


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")

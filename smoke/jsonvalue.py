"""JSON that came from outside: a response body, a report file, a YAML document.

Every value is ``object`` until it is narrowed here, so code that reads a field states
what it expects, and a field of the wrong type reads as ``None`` (never an exception, and
never an ``Any`` that hides the question from mypy). Our own documents, whose shape we
write, are TypedDicts next to their writer instead.
"""

from __future__ import annotations

from collections.abc import Mapping

# A JSON object as parsed: str keys, values not yet narrowed.
JSONObject = dict[str, object]


def as_object(value: object) -> JSONObject | None:
    """``value`` if it is a JSON object (a dict with str keys), else None."""
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return value
    return None


def as_list(value: object) -> list[object] | None:
    """``value`` if it is a JSON array, else None."""
    return value if isinstance(value, list) else None


def child(data: Mapping[str, object], key: str) -> JSONObject | None:
    """The object at ``data[key]``, or None if missing or not an object."""
    return as_object(data.get(key))


def items(data: Mapping[str, object], key: str) -> list[object] | None:
    """The array at ``data[key]``, or None if missing or not an array."""
    return as_list(data.get(key))


def text(data: Mapping[str, object], key: str) -> str | None:
    """The string at ``data[key]``, or None if missing or not a string."""
    value = data.get(key)
    return value if isinstance(value, str) else None


def integer(data: Mapping[str, object], key: str) -> int | None:
    """The integer at ``data[key]`` (a bool is not one), or None."""
    value = data.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def number(data: Mapping[str, object], key: str) -> float | None:
    """The number at ``data[key]`` as a float (a bool is not one), or None."""
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def flag(data: Mapping[str, object], key: str) -> bool | None:
    """The boolean at ``data[key]``, or None."""
    value = data.get(key)
    return value if isinstance(value, bool) else None


def objects(data: Mapping[str, object], key: str) -> list[JSONObject]:
    """The objects in the array at ``data[key]``; anything else in it is skipped."""
    return [o for o in (as_object(v) for v in items(data, key) or []) if o is not None]

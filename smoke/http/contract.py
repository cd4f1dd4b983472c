"""The Chat Completions response contract, checked on every answer and every stream chunk.

The rules are chat-smoke's own schema (``smoke/schema/chat-completion.contract.json``),
written from the documented response fields. Each rule is one that OpenAI's published
specification also holds, so every deviation found here is one the specification rejects
(``tests/test_contract.py`` cross-checks both ways); fields the schema does not name are
allowed, as the specification allows them.

A deviation names the JSON path (``choices[0].finish_reason``), the rule broken
(``required``, ``type``, ``enum``) and what was found. The schema is read on the first
answer, not at start-up; the walk below knows only the keywords the schema uses
(``type``, ``enum``, ``const``, ``required``, ``properties``, ``additionalProperties``,
``items``, ``anyOf``, ``if``/``then``/``else`` and local ``$ref``), which is why it needs
no JSON Schema library at run time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

SCHEMA_FILE = "schema/chat-completion.contract.json"
MODES = ("warn", "strict", "off")
MAX_DEVIATIONS = 20  # per answer or chunk: enough to act on, bounded for a hostile body

Path = tuple[str | int, ...]
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,59}")
_JSON_TYPES = (("null", type(None)), ("boolean", bool), ("integer", int), ("number", float),
               ("string", str), ("array", list), ("object", dict))


@dataclass(frozen=True)
class Deviation:
    """One broken rule: where (``parts``, shown as ``path``), which rule, what was found."""

    parts: Path
    rule: str
    found: str

    @property
    def path(self) -> str:
        return format_path(self.parts)

    def __str__(self) -> str:
        return f"{self.path or '(the answer)'}: {self.found} (rule: {self.rule})"

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "rule": self.rule, "found": self.found}


def format_path(parts: Path) -> str:
    """``("choices", 0, "message")`` -> ``choices[0].message``; an odd key is quoted."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _PLAIN.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part[:40])}]"
    return text


@cache
def schema() -> dict[str, Any]:
    text = resources.files("smoke").joinpath(SCHEMA_FILE).read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def answer(data: Any) -> list[Deviation]:
    """The deviations of a decoded ``chat.completion`` body (at most MAX_DEVIATIONS)."""
    return _validate(data, "completion")


def chunk(data: Any) -> list[Deviation]:
    """The deviations of one decoded ``chat.completion.chunk`` event."""
    return _validate(data, "chunk")


def _validate(data: Any, entry: str) -> list[Deviation]:
    defs: dict[str, Any] = schema()["$defs"]
    found: list[Deviation] = []
    for deviation in _walk(data, defs[entry], (), defs):
        found.append(deviation)
        if len(found) >= MAX_DEVIATIONS:
            break
    return found


def _kind(value: Any) -> str:
    for name, python in _JSON_TYPES:
        if type(value) is python:
            return name
    return type(value).__name__


def _is(value: Any, name: str) -> bool:
    kind = _kind(value)
    return (kind == name or (name == "number" and kind == "integer")
            or (name == "integer" and kind == "number" and float(value).is_integer()))


def _equal(a: Any, b: Any) -> bool:
    """JSON's equality for scalars: 1 equals 1.0, true is not 1."""
    numbers = ("integer", "number")
    if _kind(a) in numbers and _kind(b) in numbers:
        return bool(a == b)
    return _kind(a) == _kind(b) and bool(a == b)


def _shown(value: Any) -> str:
    """A short, safe picture of a scalar found where another was expected."""
    if value is None or isinstance(value, dict | list):
        return _kind(value)
    text = json.dumps(value)
    return f"{_kind(value)} {text if len(text) <= 40 else text[:37] + '...'}"


def _walk(value: Any, node: dict[str, Any], at: Path, defs: dict[str, Any]
          ) -> Iterator[Deviation]:
    ref = node.get("$ref")
    if ref is not None:
        node = defs[ref.rpartition("/")[2]]
    types = node.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else types
        if not any(_is(value, name) for name in names):
            yield Deviation(at, "type", f"expected {' or '.join(names)}, got {_shown(value)}")
            return
    if "const" in node and not _equal(value, node["const"]):
        yield Deviation(at, "const", f"{_shown(value)} is not {json.dumps(node['const'])}")
    if "enum" in node and not any(_equal(value, v) for v in node["enum"]):
        allowed = ", ".join("null" if v is None else str(v) for v in node["enum"])
        yield Deviation(at, "enum", f"{_shown(value)} is not one of {allowed}")
    if "anyOf" in node:
        yield from _any(value, node["anyOf"], at, defs)
    if "if" in node:
        branch = node.get("then") if not any(_walk(value, node["if"], at, defs)) \
            else node.get("else")
        if branch is not None:
            yield from _walk(value, branch, at, defs)
    if isinstance(value, dict):
        for name in node.get("required", ()):
            if name not in value:
                yield Deviation((*at, name), "required", "absent")
        props: dict[str, Any] = node.get("properties", {})
        extra = node.get("additionalProperties")
        for name, item in value.items():
            sub = props.get(name, extra)
            if isinstance(sub, dict):
                yield from _walk(item, sub, (*at, name), defs)
    elif isinstance(value, list) and "items" in node:
        for i, item in enumerate(value):
            yield from _walk(item, node["items"], (*at, i), defs)


def _any(value: Any, branches: list[dict[str, Any]], at: Path, defs: dict[str, Any]
         ) -> Iterator[Deviation]:
    """Valid when one branch is; else the deviations of the branch of the value's type."""
    found = [list(_walk(value, branch, at, defs)) for branch in branches]
    if any(not deviations for deviations in found):
        return
    for deviations in found:
        if deviations[0].rule != "type" or deviations[0].parts != at:
            yield from deviations
            return
    yield found[0][0]

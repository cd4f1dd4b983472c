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
import math
import re
from collections.abc import Callable, Mapping
from functools import cache
from importlib import resources

from smoke.jsonvalue import JSONObject, as_list, as_object, child, objects, text

SCHEMA_FILE = "schema/chat-completion.contract.json"
MAX_DEVIATIONS = 20  # per answer or chunk: enough to act on, bounded for a hostile body

Path = tuple[str | int, ...]
Node = Mapping[str, object]  # a node of the schema (ours, narrowed where it is read)
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,59}")


class Deviation:
    """One broken rule: where (``parts``, shown as ``path``), which rule, what was found.

    A plain class, not a dataclass: generating a dataclass's methods costs more than
    everything else this module does on a run's first answer."""

    __slots__ = ("parts", "rule", "found")

    def __init__(self, parts: Path, rule: str, found: str) -> None:
        self.parts, self.rule, self.found = parts, rule, found

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Deviation) and (self.parts, self.rule, self.found) == (
            other.parts, other.rule, other.found)

    def __hash__(self) -> int:
        return hash((self.parts, self.rule, self.found))

    def __repr__(self) -> str:
        return f"Deviation({self.parts!r}, {self.rule!r}, {self.found!r})"

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
def schema() -> JSONObject:
    raw = resources.files("smoke").joinpath(SCHEMA_FILE).read_text("utf-8")
    return as_object(json.loads(raw)) or {}


def answer(data: object) -> list[Deviation]:
    """The deviations of a decoded ``chat.completion`` body (at most MAX_DEVIATIONS)."""
    return _validate(data, "completion")


def chunk(data: object) -> list[Deviation]:
    """The deviations of one decoded ``chat.completion.chunk`` event."""
    return _validate(data, "chunk")


class _Full(Exception):
    """Enough deviations found: stop walking."""


Checker = Callable[[object, Path, list[Deviation]], None]
# A compiled child: a property by its name, the others by a tuple ("anyOf", 0), ("items",).
Key = str | tuple[str | int, ...]


def _validate(data: object, entry: str) -> list[Deviation]:
    found: list[Deviation] = []
    try:
        _compiled(entry)(data, (), found)
    except _Full:
        pass
    return found


@cache
def _compiled(entry: str) -> Checker:
    defs = child(schema(), "$defs") or {}
    return _Compiler(defs).node(child(defs, entry) or {})


_KINDS: dict[type, str] = {type(None): "null", bool: "boolean", int: "integer",
                           float: "number", str: "string", list: "array", dict: "object"}


def _kind(value: object) -> str:
    return _KINDS.get(type(value)) or type(value).__name__


def _is(value: object, kind: str, names: tuple[str, ...]) -> bool:
    """Whether ``value`` (of JSON type ``kind``) is one of the types ``names``."""
    if kind in names:
        return True
    if kind == "integer":
        return "number" in names
    return (kind == "number" and "integer" in names and isinstance(value, float)
            and value.is_integer())


def _equal(a: object, b: object) -> bool:
    """JSON's equality for scalars: 1 equals 1.0, true is not 1."""
    numbers = ("integer", "number")
    if _kind(a) in numbers and _kind(b) in numbers:
        return bool(a == b)
    return _kind(a) == _kind(b) and bool(a == b)


def _shown(value: object) -> str:
    """A short, safe picture of a scalar found where another was expected."""
    if value is None or isinstance(value, dict | list):
        return _kind(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "a number that is not finite"  # NaN or infinity: not JSON, never in a report
    text = json.dumps(value)
    return f"{_kind(value)} {text if len(text) <= 40 else text[:37] + '...'}"


def _add(found: list[Deviation], deviation: Deviation) -> None:
    found.append(deviation)
    if len(found) >= MAX_DEVIATIONS:
        raise _Full


def _trial(check: Checker, value: object, at: Path) -> list[Deviation]:
    tried: list[Deviation] = []
    try:
        check(value, at, tried)
    except _Full:
        pass
    return tried


def _leaf(node: Node | None) -> str | None:
    """The JSON type of a node that says nothing but ``{"type": "string"}``."""
    return text(node, "type") if node is not None and len(node) == 1 else None


class _Compiler:
    """Each schema node becomes one function (its keywords read once, here): checking an
    answer is then a plain recursion over the answer, a few microseconds per object. A
    node's children are compiled when an answer first reaches them, so a run pays only for
    the parts of the contract its answers use (most never carry logprobs or audio)."""

    def __init__(self, defs: Node) -> None:
        self.defs = defs
        self.refs: dict[str, Checker] = {}

    def node(self, node: Node) -> Checker:
        ref = text(node, "$ref")
        if ref is not None:
            name = ref.rpartition("/")[2]
            if name not in self.refs:
                self.refs[name] = self.node(child(self.defs, name) or {})
            return self.refs[name]
        compile_ = self.node
        types = node.get("type")
        names = (None if types is None else (types,) if isinstance(types, str)
                 else tuple(str(t) for t in as_list(types) or ()))
        has_const, const = "const" in node, node.get("const")
        enum = as_list(node.get("enum"))
        any_of = objects(node, "anyOf") if "anyOf" in node else None
        cond = child(node, "if")
        required = tuple(str(r) for r in as_list(node.get("required")) or ())
        raw_props = child(node, "properties") or {}
        leaves = {k: kind for k, v in raw_props.items()
                  if (kind := _leaf(as_object(v))) is not None}
        extra_raw = child(node, "additionalProperties")
        walks = bool(raw_props) or extra_raw is not None
        items_raw = child(node, "items")
        item_leaf = _leaf(items_raw)
        # Children compiled so far: a property by its name, the others by a tuple key.
        done: dict[Key, Checker] = {}

        def compiled(key: Key, raw: Node) -> Checker:
            found = done.get(key)
            if found is None:
                found = done[key] = compile_(raw)
            return found

        def check(value: object, at: Path, found: list[Deviation]) -> None:
            kind = _KINDS.get(type(value)) or "unknown"
            if names is not None and not _is(value, kind, names):
                _add(found, Deviation(at, "type",
                                      f"expected {' or '.join(names)}, got {_shown(value)}"))
                return
            if has_const and not _equal(value, const):
                _add(found, Deviation(at, "const",
                                      f"{_shown(value)} is not {json.dumps(const)}"))
            if enum is not None and not any(_equal(value, v) for v in enum):
                allowed = ", ".join("null" if v is None else str(v) for v in enum)
                _add(found, Deviation(at, "enum", f"{_shown(value)} is not one of {allowed}"))
            if any_of is not None:
                _any([compiled(("anyOf", i), b) for i, b in enumerate(any_of)], value, at,
                     found)
            if cond is not None:
                holds = not _trial(compiled(("if",), cond), value, at)
                branch = child(node, "then" if holds else "else")
                if branch is not None:
                    compiled(("then",) if holds else ("else",), branch)(value, at, found)
            if kind == "object" and isinstance(value, dict):
                for name in required:
                    if name not in value:
                        _add(found, Deviation((*at, name), "required", "absent"))
                if walks:
                    for name, item in value.items():
                        leaf = leaves.get(name)
                        if leaf is not None and _KINDS.get(type(item)) == leaf:
                            continue
                        sub = done.get(name)
                        if sub is None:
                            raw = as_object(raw_props.get(name))
                            if raw is not None:
                                sub = compiled(name, raw)
                            elif extra_raw is not None:
                                sub = compiled(("extra",), extra_raw)
                            else:
                                continue
                        sub(item, (*at, name), found)
            elif kind == "array" and isinstance(value, list) and items_raw is not None:
                each = done.get(("items",)) or compiled(("items",), items_raw)
                for i, item in enumerate(value):
                    if item_leaf is None or _KINDS.get(type(item)) != item_leaf:
                        each(item, (*at, i), found)

        return check


def _any(branches: list[Checker], value: object, at: Path, found: list[Deviation]) -> None:
    """Valid when one branch is; else the deviations of the branch of the value's type."""
    tried: list[list[Deviation]] = []
    for branch in branches:
        trial = _trial(branch, value, at)
        if not trial:
            return
        tried.append(trial)
    for trial in tried:
        if trial[0].rule != "type" or trial[0].parts != at:
            for deviation in trial:
                _add(found, deviation)
            return
    _add(found, tried[0][0])

"""A small validator for the subset of JSON Schema that chat-smoke's schema uses.

The published schema (``smoke/schema/chat-smoke.schema.json``) is what editors use;
the program validates against the same file. A full JSON Schema library would add
several compiled dependencies to every run for the dozen keywords used here; the
test suite cross-checks this validator against ``jsonschema`` on the same inputs.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Mapping
from functools import cache
from importlib import resources

from smoke.config import nearmiss
from smoke.jsonvalue import JSONObject, integer, items, text
from smoke.output.textsafe import count, shown

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
}


@cache
def schema(name: str = "chat-smoke") -> JSONObject:
    """A published schema: ``chat-smoke`` (the config file) or ``report`` (report.json)."""
    data = resources.files("smoke").joinpath(f"schema/{name}.schema.json").read_text("utf-8")
    loaded = _json_object(json.loads(data))
    if loaded is None:  # our own file: a broken build, never a user's input
        raise ValueError(f"schema/{name}.schema.json is not a JSON object")
    return loaded


def _json_object(value: object) -> JSONObject | None:
    """A schema node: ``value`` if it is an object. A schema is parsed JSON, whose keys are
    always str (smoke.jsonvalue.as_object checks each key: a node is read on every value
    validated, and that check would double the cost of loading a configuration)."""
    return value if isinstance(value, dict) else None


def node_at(data: JSONObject, *path: str) -> JSONObject:
    """The schema node at ``path`` below ``data`` (a missing one raises KeyError)."""
    found = data
    for part in path:
        below = _json_object(found.get(part))
        if below is None:
            raise KeyError(part)
        found = below
    return found


@cache
def _pattern(pattern: str) -> re.Pattern[str]:
    """A schema's ``pattern`` as JSON Schema means it (ECMA-262): ``$`` outside a
    character class is the end of the text. Python's ``$`` also matches before a final
    line break, so "STAGING_\\n" would pass ``^[A-Z_]+$`` (issue 26): it becomes ``\\Z``."""
    out: list[str] = []
    in_class = escaped = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "$":
            out.append(r"\Z")
            continue
        out.append(char)
    return re.compile("".join(out))


def _is_type(value: object, name: str) -> bool:
    if isinstance(value, bool) and name in ("number", "integer"):
        return False
    if name == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES[name])


def _describe(value: object) -> str:
    # YAML's spelling of a boolean and of null, never Python's True and None.
    text = shown(value) if isinstance(value, bool) or value is None else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def suggest(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=5, cutoff=0.6)
    if not close:
        return ""
    # The fewest edits wins (a swapped pair counts one: modle -> model, not modules).
    best = min(close, key=lambda word: (_edits(name, word), close.index(word)))
    return f" (did you mean '{best}'?)"


def _edits(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions and
    swaps of neighbours, one each."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1,
                         rows[-1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


# Bounds the schema does not spell out, for every value from outside (issue 11): a
# configuration value is a few words or a URL; these stop a hostile or broken file.
_PLAIN_KEY = re.compile(r"\A[A-Za-z0-9_.-]{1,60}\Z")  # shown as is; any other key as repr()
MAX_STRING = 64 * 1024
MAX_ITEMS = 10_000
MAX_OBJECT_BYTES = 64 * 1024  # extra_body and expect, serialized


def _bounds(value: object, path: str, limits: bool = True) -> list[str]:
    if isinstance(value, float) and not math.isfinite(value):
        return [f"{path}: must be a finite number, got {value}"]
    if not limits:
        return []
    if isinstance(value, str) and len(value) > MAX_STRING:
        return [f"{path}: {len(value)} characters, more than the {MAX_STRING} allowed"]
    if isinstance(value, str) and "\x00" in value:
        return [f"{path}: contains a NUL character (\\0), which no setting can hold"]
    if isinstance(value, list) and len(value) > MAX_ITEMS:
        return [f"{path}: {len(value)} items, more than the {MAX_ITEMS} allowed"]
    if isinstance(value, dict) and path:
        try:
            size = len(json.dumps(value, allow_nan=False).encode("utf-8", "surrogatepass"))
        except ValueError:
            return [f"{path}: holds a number that is not finite (NaN or infinity)"]
        except (TypeError, RecursionError):
            return [f"{path}: holds a value that is not JSON (nested too deeply?)"]
        if size > MAX_OBJECT_BYTES:
            return [f"{path}: {size} bytes as JSON, more than the {MAX_OBJECT_BYTES} allowed"]
    return []


def resolve(node: JSONObject, root: JSONObject | None = None) -> JSONObject:
    """``node``, or the node its local ``$ref`` (``#/properties/x``, ``#/$defs/x``) names
    in ``root`` (default: the config file's schema): a model entry's overrides refer to the
    top-level keys, so the two never disagree; the report schema's checks to ``$defs``."""
    ref = node.get("$ref")
    if not isinstance(ref, str):
        return node
    found = node_at(schema() if root is None else root, *ref.removeprefix("#/").split("/"))
    return resolve(found, root)


def _limit(node: Mapping[str, object], key: str) -> int | float | None:
    """A numeric keyword of ``node`` as written (an integer stays one in messages)."""
    value = node.get(key)
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def errors(value: object, node: JSONObject, path: str, *,
           root: JSONObject | None = None, limits: bool = True) -> list[str]:
    """Return readable problems with ``value`` against schema ``node``; empty if valid.
    ``root``: the schema a ``$ref`` points into (default: the config file's). ``limits``:
    the size bounds of a configuration value (off for a report)."""

    def sub(item: object, below: object, where: str) -> list[str]:
        return errors(item, _json_object(below) or {}, where, root=root, limits=limits)

    bounded = _bounds(value, path, limits)
    if bounded:
        return bounded
    node = resolve(node, root)
    any_of = items(node, "anyOf")
    if any_of is not None:
        subs = [resolve(_json_object(branch) or {}, root) for branch in any_of]
        branches = [sub(value, branch, path) for branch in subs]
        if any(not b for b in branches):
            return []
        # Report the branch whose type matches, else a summary of what is accepted.
        for branch, found in zip(subs, branches, strict=True):
            kind = text(branch, "type")
            if kind is not None and _is_type(value, kind):
                return found
        kinds = " or ".join(str(branch.get("type")) for branch in subs)
        return [f"{path}: expected {kinds}, got {_describe(value)}"]
    types = node.get("type")
    if types is not None:
        names = [str(n) for n in types] if isinstance(types, list) else [str(types)]
        if not any(_is_type(value, n) for n in names):
            return [f"{path}: expected {' or '.join(names)}, got {_describe(value)}"]
    problems: list[str] = []
    enum = items(node, "enum")
    if enum is not None and value not in enum:
        allowed = ", ".join("null" if v is None else str(v) for v in enum)
        problems.append(f"{path}: {_describe(value)} is not one of {allowed}"
                        f"{nearmiss.hint(str(value), [str(v) for v in enum])}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        low, high, above = (_limit(node, "minimum"), _limit(node, "maximum"),
                            _limit(node, "exclusiveMinimum"))
        if low is not None and value < low:
            problems.append(f"{path}: must be at least {low}, got {value}")
        if high is not None and value > high:
            problems.append(f"{path}: must be at most {high}, got {value}")
        if above is not None and value <= above:
            problems.append(f"{path}: must be greater than {above}, got {value}")
    if isinstance(value, str):
        if len(value) < (integer(node, "minLength") or 0):
            problems.append(f"{path}: must not be empty")
        pattern = text(node, "pattern")
        if pattern is not None and not _pattern(pattern).search(value):
            problems.append(f"{path}: {_describe(value)} does not match {pattern}")
    if isinstance(value, list):
        least = integer(node, "minItems") or 0
        if len(value) < least:
            problems.append(f"{path}: needs at least {count(least, 'item')}")
        for i, item in enumerate(value):
            problems += sub(item, node.get("items"), f"{path}[{i}]")
    if isinstance(value, dict):
        props = _json_object(node.get("properties")) or {}
        for name in items(node, "required") or ():
            if name not in value:
                problems.append(f"{f'{path}.{name}' if path else name}: missing (required)")
        for key, item in value.items():
            name = str(key) if _PLAIN_KEY.fullmatch(str(key)) else _describe(key)
            where = f"{path}.{name}" if path else name
            if key in props:
                problems += sub(item, props[key], where)
            elif node.get("additionalProperties", True) is False:
                problems.append(f"{where}: unknown key{suggest(str(key), list(props))}")
            elif isinstance(node.get("additionalProperties"), dict):
                problems += sub(item, node.get("additionalProperties"), where)
    return problems

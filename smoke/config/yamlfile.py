"""Reading chat-smoke.yml as untrusted input (issue 11, item 5).

The file may come from a pull request, so it is bounded before it is parsed: a size cap
read before any parsing, no NUL bytes, no tabs as indentation (YAML forbids them, and
PyYAML's own message does not say so), one document that is a mapping, no duplicate keys
(YAML 1.2 and the schema-aware editors refuse them; PyYAML keeps the last one silently),
and aliases bounded: a "billion laughs" file, a few hundred bytes of anchors that expand
to billions of nodes, is refused by counting the expanded size of the node graph, which
costs time and memory linear in the file.
"""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path
from typing import TYPE_CHECKING

from smoke.errors import ConfigError

MAX_BYTES = 1024 * 1024
MAX_NODES = 100_000  # nodes after alias expansion: a config has a few hundred
MAX_ALIASES = 1_000
_SCHEMA_NAME = "smoke/schema/chat-smoke.schema.json"

if TYPE_CHECKING:
    from yaml import MappingNode, Node


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def _read(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"config file {path}: cannot be read ({exc.strerror})") from None
    if len(data) > MAX_BYTES:
        raise ConfigError(
            f"config file {path}: larger than {MAX_BYTES // 1024} KiB, far more than a "
            f"configuration needs: is it the right file?"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"config file {path}: line {line}: not UTF-8 (byte 0x{data[exc.start]:02x}); "
            f"save the file as UTF-8"
        ) from None


def _prescan(path: Path, text: str) -> None:
    nul = text.find("\0")
    if nul >= 0:
        raise ConfigError(
            f"config file {path}: line {_line_of(text, nul)}: contains a NUL byte; "
            f"a YAML file is text: save it again as UTF-8 text"
        )
    for number, line in enumerate(text.splitlines(), 1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent and line.strip() and not line.lstrip().startswith("#"):
            raise ConfigError(
                f"config file {path}: line {number}: a tab character is used for "
                f"indentation; YAML indents with spaces only: replace the tab with spaces"
            )


def load(path: Path, shown: str | None = None) -> tuple[object, int]:
    """:func:`_load`, its messages naming the file as ``shown`` (as the user gave it)."""
    try:
        return _load(path)
    except ConfigError as exc:
        if shown is None or shown == str(path):
            raise
        raise ConfigError(str(exc).replace(f"config file {path}:", f"config file {shown}:",
                                           1)) from None


def _load(path: Path) -> tuple[object, int]:
    """The file's one document (None when empty) and the line it starts on."""
    import yaml  # only the runs that have a config file pay for PyYAML

    text = _read(path)
    _prescan(path, text)

    class Loader(yaml.SafeLoader):
        aliases = 0

        def compose_node(self, parent: Node | None, index: int) -> Node | None:
            if self.check_event(yaml.AliasEvent):
                Loader.aliases += 1
                if Loader.aliases > MAX_ALIASES:
                    raise ConfigError(
                        f"config file {path}: more than {MAX_ALIASES} aliases (*name); "
                        f"write the values out"
                    )
            return super().compose_node(parent, index)

        def construct_mapping(self, node: MappingNode,
                              deep: bool = False) -> dict[Hashable, object]:
            seen: dict[Hashable, int] = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    hash(key)
                except TypeError:
                    continue  # the base constructor reports an unhashable key
                line = key_node.start_mark.line + 1
                if key in seen:
                    raise ConfigError(
                        f"config file {path}: line {line}: duplicate key {str(key)[:60]!r} "
                        f"(first at line {seen[key]}); keep one"
                    )
                seen[key] = line
            return super().construct_mapping(node, deep=deep)

    try:
        loader = Loader(text)  # the reader checks the characters here already
        try:
            node = loader.get_single_node()
            if node is None:
                return None, 1
            _bound(path, node)
            return loader.construct_document(node), node.start_mark.line + 1
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise ConfigError(_yaml_problem(path, text, exc)) from None
    except RecursionError:
        raise ConfigError(
            f"config file {path}: nested too deeply (hundreds of levels); a configuration "
            f"is a few levels deep"
        ) from None


def _bound(path: Path, root: Node) -> None:
    """Refuse a node graph whose expansion (aliases followed) exceeds MAX_NODES, without
    expanding it: each distinct node's expanded size is computed once."""
    import yaml

    sizes: dict[int, int] = {}
    visiting: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in sizes:
            continue
        if not done and id(node) in visiting:
            raise ConfigError(
                f"config file {path}: line {node.start_mark.line + 1}: an alias refers to "
                f"the value that contains it; write the values out"
            )
        children: list[Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        if done or not children:
            total = 1 + sum(sizes.get(id(child), 0) for child in children)
            sizes[id(node)] = total
            if total > MAX_NODES:
                line = node.start_mark.line + 1
                raise ConfigError(
                    f"config file {path}: line {line}: expands to more than {MAX_NODES} "
                    f"values through aliases (an alias-expansion bomb?); write the values out"
                )
            continue
        visiting.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)


def _yaml_problem(path: Path, text: str, exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    position = getattr(exc, "position", None)  # a ReaderError: an unacceptable character
    if mark is not None:
        where = f" at line {mark.line + 1}, column {mark.column + 1}"
    elif isinstance(position, int):
        where = f" at line {_line_of(text, position)}"
    else:
        where = ""
    problem = getattr(exc, "problem", None) or getattr(exc, "reason", None) or "not valid YAML"
    character = getattr(exc, "character", None)  # a ReaderError's unacceptable character
    if isinstance(character, int):
        problem = f"a character YAML does not allow (U+{character:04X}): remove it"
    return (f"config file {path}: invalid YAML{where}: {problem}. Fix the syntax; "
            f"the keys are listed in {_SCHEMA_NAME}")

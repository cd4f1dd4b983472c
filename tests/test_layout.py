"""The layering holds: ``lint-imports`` keeps every contract of pyproject.toml, and no
import cycle exists among the ``smoke`` modules, counting every kind of import edge."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The same interpreter's import-linter (the test extra installs it): `lint-imports`.
LINT_IMPORTS = ("-c", "import sys; from importlinter.cli import lint_imports_command; "
                      "sys.exit(lint_imports_command())", "--no-cache")
_MODULE_NAME = re.compile(r"^smoke(\.[A-Za-z_][A-Za-z0-9_]*)+$")


# -- the import graph, as the source says it -------------------------------------------
def find_modules(root: Path, package: str = "smoke") -> dict[str, Path]:
    """Every module of ``package`` under ``root``, by dotted name."""
    found: dict[str, Path] = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _resolve(name: str, known: Iterable[str]) -> str | None:
    """The module ``name`` denotes: itself, or the longest known module it starts with
    (``smoke.config.Settings`` is ``smoke.config``)."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def import_edges(name: str, path: Path, known: set[str], strings: bool = True) -> set[str]:
    """The ``smoke`` modules ``name`` imports: every ``import`` and ``from ... import``
    wherever it sits (in a function, under ``TYPE_CHECKING``), relative ones included, and
    every string that is exactly a module's dotted name (the registry and the package's
    lazy exports import by name). Importing ``a.b.c`` also runs the ``__init__`` of ``a``
    and ``a.b``; like import-linter, those implicit parent edges are not counted.
    ``strings=False``: real imports only."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    edges: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            # `from a import b`: the module a.b if there is one, else the name b of a.
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                       for alias in node.names]
        elif strings and isinstance(node, ast.Constant) and isinstance(node.value, str):
            if _MODULE_NAME.match(node.value):
                targets = [node.value]
        for target in targets:
            resolved = _resolve(target, known)
            if resolved is not None and resolved != name:
                edges.add(resolved)
    return edges


def import_graph(root: Path, package: str = "smoke", strings: bool = True
                 ) -> dict[str, set[str]]:
    modules = find_modules(root, package)
    known = set(modules)
    return {name: import_edges(name, path, known, strings) for name, path in modules.items()}


def find_cycle(graph: Mapping[str, Iterable[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path that ends where it starts, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in sorted(graph):
        if state.get(start):
            continue
        path = [start]
        stack = [iter(sorted(graph.get(start, ())))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph.get(nxt, ()))))
    return None


# -- the finder works --------------------------------------------------------------------
@pytest.mark.parametrize(("graph", "cycle"), [
    ({"a": {"b"}, "b": {"c"}, "c": set()}, None),
    ({"a": {"b", "c"}, "b": {"d"}, "c": {"d"}, "d": set()}, None),  # a diamond is no cycle
    ({"a": {"b"}, "b": {"a"}}, ["a", "b", "a"]),
    ({"a": {"b"}, "b": {"c"}, "c": {"d"}, "d": {"b"}}, ["b", "c", "d", "b"]),
    ({"x": set(), "a": {"a"}}, ["a", "a"]),
])
def test_the_cycle_finder(graph: dict[str, set[str]], cycle: list[str] | None) -> None:
    assert find_cycle(graph) == cycle


def test_hidden_imports_are_edges(tmp_path: Path) -> None:
    """A function-level import, a TYPE_CHECKING one, a relative one and a module named in
    a string each make an edge; together they close a cycle the finder reports."""
    package = tmp_path / "smoke"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text('LAZY = {"thing": "smoke.sub.c"}\n')
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from smoke.sub import b\n    return b\n")
    (package / "sub" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .c import Thing\n")
    (package / "sub" / "c.py").write_text(
        'import importlib\nMOD = importlib.import_module("smoke.a")\n'
        '"""A docstring naming smoke.a in a sentence is not an edge."""\n')
    graph = import_graph(tmp_path)
    assert graph == {"smoke": {"smoke.sub.c"}, "smoke.sub": set(), "smoke.a": {"smoke.sub.b"},
                     "smoke.sub.b": {"smoke.sub.c"}, "smoke.sub.c": {"smoke.a"}}
    cycle = find_cycle(graph)
    assert cycle == ["smoke.sub.c", "smoke.a", "smoke.sub.b", "smoke.sub.c"]


# -- the real tree -----------------------------------------------------------------------
def test_no_import_cycle_among_smoke_modules() -> None:
    graph = import_graph(ROOT)
    assert len(graph) > 50
    # The edges only a careful reader sees are in the graph: the registry's kinds, the
    # package's lazy exports, function-level imports.
    assert {"smoke.checks.positive", "smoke.checks.sdk_parity",
            "smoke.checks.preflights.wire"} <= graph["smoke.checks.registry"]
    assert {"smoke.api", "smoke.results", "smoke.categories"} <= graph["smoke"]
    assert "smoke.pipeline" in graph["smoke.cli"]
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_every_module_named_in_a_string_exists() -> None:
    """A registry entry (or lazy export) naming a module that is not there fails here,
    not on the run that first turns it on."""
    modules = find_modules(ROOT)
    named = {node.value for path in modules.values()
             for node in ast.walk(ast.parse(path.read_text("utf-8")))
             if isinstance(node, ast.Constant) and isinstance(node.value, str)
             and _MODULE_NAME.match(node.value)}
    assert named, "the registry names its kinds by module: none found"
    assert sorted(named - set(modules)) == []


def test_nothing_imports_the_package_root() -> None:
    """``smoke/__init__.py`` names the whole public API: a module importing ``smoke``
    itself (``from smoke import __version__``) would close a cycle through it."""
    graph = import_graph(ROOT)
    assert sorted(name for name, edges in graph.items() if "smoke" in edges) == []


def test_lint_imports_keeps_every_contract() -> None:
    proc = subprocess.run([sys.executable, *LINT_IMPORTS], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    kept = re.search(r"Contracts: (\d+) kept, 0 broken", proc.stdout)
    assert kept and int(kept.group(1)) >= 5, proc.stdout


def test_lint_imports_fails_on_an_import_that_goes_up(tmp_path: Path) -> None:
    """The contracts bite: a copy of the tree where http imports the gate breaks one."""
    shutil.copytree(ROOT / "smoke", tmp_path / "smoke",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    deadline = tmp_path / "smoke" / "http" / "deadline.py"
    deadline.write_text(deadline.read_text() + "\n\ndef _up() -> None:\n    import smoke.gate\n")
    proc = subprocess.run([sys.executable, *LINT_IMPORTS], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env={"PYTHONPATH": str(tmp_path),
                                                       "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "BROKEN" in proc.stdout
    assert "smoke.http.deadline -> smoke.gate" in proc.stdout


# -- the check kinds: their import rules follow from the registry ------------------------
# The machinery of checks/; every other module of it is a kind, a preflight or a
# postflight that smoke/checks/registry.py names (a package counts as one unit).
MACHINERY = ("smoke.checks", "smoke.checks.registry", "smoke.checks.application",
             "smoke.checks.pool", "smoke.checks.send", "smoke.checks.signals",
             "smoke.checks.task")


def _unit(module: str) -> str:
    """``smoke.checks.preflights.spend`` -> ``smoke.checks.preflights``."""
    return ".".join(module.split(".")[:3])


def kind_problems(root: Path) -> list[str]:
    """What breaks the kinds' rules in the tree under ``root``: a module of checks/ that is
    neither machinery nor named by the registry, a kind importing another kind, the gate or
    the machinery importing a kind (a kind that is off must cost no import). Imports by
    name (the registry's strings) are how kinds are loaded, so only real imports count."""
    modules = find_modules(root)
    registry = ast.parse(modules["smoke.checks.registry"].read_text("utf-8"))
    units = {_unit(node.value) for node in ast.walk(registry)
             if isinstance(node, ast.Constant) and isinstance(node.value, str)
             and _MODULE_NAME.match(node.value) and node.value.startswith("smoke.checks.")}
    graph = import_graph(root, strings=False)
    problems = [f"{name}: neither machinery ({', '.join(MACHINERY)}) nor named by an Entry "
                "of smoke/checks/registry.py"
                for name in graph if name.startswith("smoke.checks")
                and name not in MACHINERY and _unit(name) not in units]
    for name, edges in graph.items():
        if _unit(name) in units:
            problems += [f"{name} -> {edge}: a kind imports another kind (shared code goes "
                         "in send.py or task.py)" for edge in sorted(edges)
                         if _unit(edge) in units and _unit(edge) != _unit(name)]
    for source in ("smoke.gate", *MACHINERY[1:]):
        seen, todo = {source}, [source]
        while todo:
            for edge in graph.get(todo.pop(), set()):
                if edge not in seen:
                    seen.add(edge)
                    todo.append(edge)
        problems += [f"{source} imports {name}: name it in an Entry of the registry instead"
                     for name in sorted(seen) if _unit(name) in units]
    return problems


def test_the_kinds_keep_their_rules() -> None:
    assert kind_problems(ROOT) == []


@pytest.mark.parametrize(("module", "added", "problem"), [
    ("checks/pool.py", "import smoke.checks.positive", "smoke.checks.pool imports "
     "smoke.checks.positive"),
    ("checks/negative.py", "from smoke.checks import streaming", "smoke.checks.negative -> "
     "smoke.checks.streaming: a kind imports another kind"),
    ("checks/orphan.py", "X = 1", "smoke.checks.orphan: neither machinery"),
])
def test_the_kinds_rules_bite(tmp_path: Path, module: str, added: str, problem: str) -> None:
    shutil.copytree(ROOT / "smoke", tmp_path / "smoke",
                    ignore=shutil.ignore_patterns("__pycache__"))
    path = tmp_path / "smoke" / module
    path.write_text((path.read_text() if path.exists() else "") + f"\n{added}\n")
    problems = kind_problems(tmp_path)
    assert any(p.startswith(problem) for p in problems), problems
    # A kind named by the registry is placed by that alone: no contract to edit.
    registry = tmp_path / "smoke" / "checks" / "registry.py"
    registry.write_text(registry.read_text().replace(
        'Entry("positive", "smoke.checks.positive", "plan"),',
        'Entry("positive", "smoke.checks.positive", "plan"),\n'
        '    Entry("orphan", "smoke.checks.orphan", "plan", "orphan"),'))
    if module == "checks/orphan.py":
        assert kind_problems(tmp_path) == []

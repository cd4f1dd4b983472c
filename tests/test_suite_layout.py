"""The suite's own layout (issue 27): shared helpers live in the tests/support/ package.
No module imports a test module (``test_*``) or a ``conftest``, whether at the top or inside
a function; conftest.py files hold fixtures and pytest hooks only; and every module of tests/
that is not a test module, a conftest or a package's ``__init__`` is in tests/support/.
Imports are read with ``ast``, so a relative import or ``from tests import test_x`` counts."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TESTS = REPO / "tests"
SUPPORT = TESTS / "support"
# Every place that may import the suite's code: the suite, the benchmarks, the docs' scripts.
SCANNED = (TESTS, REPO / "bench", REPO / "docs")


def _module(path: Path) -> str:
    return ".".join(path.relative_to(REPO).with_suffix("").parts)


def _forbidden(module: str) -> bool:
    """A test module or a conftest of this project (not a third-party name)."""
    parts = module.split(".")
    return parts[0] == "tests" and any(p.startswith("test_") or p == "conftest" for p in parts)


def imported(source: str, module: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, module) for every module ``source`` (the text of ``module``) imports,
    including each name of ``from X import name`` (it may be a module) and relative imports
    resolved against ``module``'s package."""
    found: list[tuple[int, str]] = []
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[:len(package) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def violations(source: str, module: str, is_package: bool = False) -> list[str]:
    return [f"{module}:{line} imports {name}"
            for line, name in imported(source, module, is_package) if _forbidden(name)]


def conftest_problems(source: str, name: str) -> list[str]:
    """Top-level functions of a conftest that are neither fixtures nor pytest hooks, and its
    classes: helpers, which belong in tests/support/."""
    problems = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.ClassDef):
            problems.append(f"{name}:{node.lineno} class {node.name}")
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            fixture = any("fixture" in ast.unparse(d) for d in node.decorator_list)
            if not fixture and not node.name.startswith("pytest_"):
                problems.append(f"{name}:{node.lineno} def {node.name}")
    return problems


def _python_files() -> list[Path]:
    """The project's own files: not a venv, node_modules or a hidden scratch folder (such as
    bench/.scratch, where bench/bench_suite.py unpacks an older commit's whole tree)."""
    return sorted(p for root in SCANNED if root.is_dir() for p in root.rglob("*.py")
                  if "node_modules" not in p.parts
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))


def test_no_module_imports_a_test_module_or_a_conftest() -> None:
    found = []
    for path in _python_files():
        found += violations(path.read_text("utf-8"), _module(path),
                            is_package=path.name == "__init__.py")
    assert not found, ("move what is shared into tests/support/:\n" + "\n".join(found))


def test_conftest_files_hold_fixtures_and_hooks_only() -> None:
    conftests = sorted(TESTS.rglob("conftest.py"))
    assert TESTS / "conftest.py" in conftests
    found = []
    for path in conftests:
        found += conftest_problems(path.read_text("utf-8"), str(path.relative_to(REPO)))
    assert not found, "helpers in a conftest (move them to tests/support/):\n" + "\n".join(found)


def test_helpers_live_in_tests_support() -> None:
    misplaced = [str(p.relative_to(REPO)) for p in sorted(TESTS.rglob("*.py"))
                 if SUPPORT not in p.parents
                 and not p.name.startswith("test_")
                 and p.name not in ("conftest.py", "__init__.py")]
    assert not misplaced, f"helper modules outside tests/support/: {misplaced}"
    collected = [str(p.relative_to(REPO)) for p in SUPPORT.rglob("test_*.py")]
    assert not collected, f"pytest would collect these as tests: {collected}"


@pytest.mark.parametrize(("source", "module", "expected"), [
    ("from tests.test_github import gate\n", "tests.test_signals",
     ["tests.test_signals:1 imports tests.test_github",
      "tests.test_signals:1 imports tests.test_github.gate"]),
    ("def f():\n    from tests import test_platforms\n", "tests.test_fleet_merge",
     ["tests.test_fleet_merge:2 imports tests.test_platforms"]),
    ("import tests.conftest\n", "tests.support.cli",
     ["tests.support.cli:1 imports tests.conftest"]),
    ("from .conftest import KEY\n", "tests.container.test_image",
     ["tests.container.test_image:1 imports tests.container.conftest",
      "tests.container.test_image:1 imports tests.container.conftest.KEY"]),
    ("from ..test_cli import x\n", "tests.container.test_image",
     ["tests.container.test_image:1 imports tests.test_cli",
      "tests.container.test_image:1 imports tests.test_cli.x"]),
    ("from . import conftest\n", "tests.test_x", ["tests.test_x:1 imports tests.conftest"]),
    ("from tests.support.cli import KEY, run_cli\nimport test_utils\n", "tests.test_x", []),
])
def test_the_checker_reads_every_form_of_import(source: str, module: str,
                                                 expected: list[str]) -> None:
    assert violations(source, module) == expected


def test_the_checker_resolves_a_package_init() -> None:
    assert violations("from . import conftest\n", "tests.engine", is_package=True) == [
        "tests.engine:1 imports tests.engine.conftest"]


def test_the_checker_finds_a_helper_in_a_conftest() -> None:
    source = ("import pytest\nX = 1\n\n@pytest.fixture\ndef stub(): ...\n\n"
              "@pytest.fixture(scope='session')\ndef ca(): ...\n\n"
              "def pytest_collection_modifyitems(items): ...\n\n"
              "def run_cli(): ...\n\nclass Run: ...\n")
    assert conftest_problems(source, "conftest.py") == ["conftest.py:12 def run_cli",
                                                        "conftest.py:14 class Run"]


# -- the one environment scrub (tests/support/env.py) ---------------------------------------
def own_scrubs(source: str, name: str) -> list[str]:
    """Comprehensions over ``os.environ.items()`` that filter names with ``startswith``: a
    prefix list of their own instead of tests/support/env.py's."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.DictComp | ast.ListComp | ast.SetComp | ast.GeneratorExp):
            continue
        for gen in node.generators:
            if ast.unparse(gen.iter).endswith("os.environ.items()") and any(
                    "startswith" in ast.unparse(test) for test in gen.ifs):
                found.append(f"{name}:{node.lineno}")
    return found


def test_no_module_scrubs_the_environment_with_a_list_of_its_own() -> None:
    found = []
    for path in _python_files():
        if path != SUPPORT / "env.py" and path.is_relative_to(TESTS):
            found += own_scrubs(path.read_text("utf-8"), str(path.relative_to(REPO)))
    assert not found, "use tests/support/env.py (scrubbed, or the clean_env fixture):\n" + \
        "\n".join(found)


def test_the_checker_finds_a_scrub_of_its_own() -> None:
    source = ("import os\nenv = {k: v for k, v in os.environ.items()\n"
              "       if not k.startswith(('GITHUB_', 'SMOKE_'))}\n"
              "ok = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}\n")
    assert own_scrubs(source, "t.py") == ["t.py:2"]


def test_the_scrub_takes_every_variable_the_gate_or_a_platform_reads() -> None:
    from smoke import ci
    from tests.support import env

    detection = [variable for variable, _, _ in ci.DETECTION]
    # What smoke.ci and the gate read by name (GitLab's CI_, Azure's agent folder aside).
    read = ["GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_TOKEN", "INPUT_API-KEY",
            "RUNNER_TEMP", "CI", "CI_JOB_URL", "GITLAB_USER_LOGIN", "BUILDKITE_BUILD_URL",
            "CIRCLE_BUILD_URL", "COMETAPI_API_KEY", "OPENAI_API_KEY", "SMOKE_CONFIG",
            "CHAT_SMOKE_DEBUG", "CHAT_SMOKE_IMAGE", "CHAT_SMOKE_ACTION_API_KEY", "https_proxy",
            "NO_PROXY", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "GIT_COMMIT"]
    assert [name for name in [*detection, *read] if not env.scrubbed_out(name)] == []
    assert [name for name in env.SUITE if env.scrubbed_out(name)] == []
    assert not env.scrubbed_out("PATH") and not env.scrubbed_out("HOME")
    source = {"PATH": "/bin", "GITHUB_ACTIONS": "true", "HTTPS_PROXY": "http://p:3128"}
    assert env.scrubbed(source, X="1") == {"PATH": "/bin", "X": "1"}
    assert env.scrubbed(source, keep=env.NETWORK) == {"PATH": "/bin",
                                                      "HTTPS_PROXY": "http://p:3128"}

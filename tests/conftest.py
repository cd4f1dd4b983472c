"""Shared fixtures: a clean environment, a real stub server on loopback, the report and
JUnit checks every test gets. Fixtures only: helpers live in tests/support/."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from smoke.output import redact
from smoke.reports import junit
from smoke.stub import StubServer
from tests.support import env as env_scrub
from tests.support import junit_schema
from tests.support.cli import KEY


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test reads the developer's (or CI's) environment (tests/support/env.py)."""
    env_scrub.scrub(monkeypatch)
    redact.clear()
    yield
    redact.clear()


@pytest.fixture(autouse=True)
def reports_match_their_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every report.json chat-smoke wrote under the temporary folders during the test is
    valid against smoke/schema/report.schema.json (tests/support/reportschema.py)."""
    from tests.support.reportschema import sweep

    since = time.time() - 0.01
    yield
    found = sweep(tmp_path_factory.getbasetemp(), since)
    assert not found, "reports that break smoke/schema/report.schema.json:\n" + "\n".join(
        found[:20])


@pytest.fixture(autouse=True)
def junit_is_valid(request: pytest.FixtureRequest,
                   monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every JUnit file a test produces passes xunit's junit-10.xsd (issue 21): what the
    renderer returns in this process, and any JUnit file a subprocess left in the test's
    tmp_path. Where ../shared is absent outside CI this checks nothing (and
    tests/test_junit_consumers.py skips, saying why); in CI it is there."""
    if not junit_schema.available():
        yield
        return
    produced: list[str] = []
    render = junit.render

    def validated(result: Any) -> str:
        text = render(result)
        produced.append(text)
        return text

    monkeypatch.setattr(junit, "render", validated)
    yield
    tmp: Path | None = request.node.funcargs.get("tmp_path")
    if tmp is not None and tmp.is_dir():
        for path in sorted(tmp.rglob("*.xml")):
            if not path.is_file() or path.stat().st_size > 64 << 20:  # a FIFO, a bomb
                continue
            try:
                text = path.read_text("utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            if junit_schema.is_junit(text):
                produced.append(text)
    for text in produced:
        problems = junit_schema.errors(text)
        assert not problems, f"JUnit rejected by junit-10.xsd: {problems}\n{text[:2000]}"


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    """A private CA, as a corporate one or a TLS-inspecting proxy has."""
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "corporate-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(scope="session")
def stub() -> Iterator[StubServer]:
    with StubServer(key=KEY) as server:
        yield server


# Parallel runs (pytest-xdist, `-n auto --dist loadgroup` in pyproject.toml). Every test
# marked here runs in ONE worker, one after another, because it is not safe beside itself:
# - tests/container: podman set up as root by setup.sh (apt, a built base image, image
#   builds into one shared store);
# - tests/browser: Chromium and fonts through apt, the stylesheet through npm;
# - tests/integration: LiteLLM's venv and Portkey's npm install into the shared cache, the
#   gateways as session fixtures (one process each per session, not per worker);
# - tests/engine: Prometheus, Alertmanager and the Pushgateway from apt (setup.sh);
# - tests/test_entrypoint.py: its session fixture pip-installs the image's venv;
# - the Node parser test: apt-get install nodejs in CI;
# - tests/test_packaging.py and tests/test_composite_action.py: both build the package from
#   the checkout (setuptools writes build/ and *.egg-info there) and pip-install venvs.
# They share ONE group, not one each: two workers running apt (or pip/npm into one cache)
# at once contend for the same locks, and a session fixture would otherwise be built once
# per worker. Everything else is safe to spread: free ports (bind port 0), its own tmp_path,
# signals only to its own child processes, environment through monkeypatch.
INSTALLS = "installs"
_SERIAL_PATHS = ("tests/container/", "tests/browser/", "tests/integration/", "tests/engine/",
                 "tests/test_entrypoint.py", "tests/test_packaging.py",
                 "tests/test_composite_action.py")
_SERIAL_TESTS = ("tests/test_application.py::test_a_node_parser_from_the_examples",)


# `-n auto` starts two workers per core, at most 8. The suite waits more than it computes
# (servers that hang on purpose, deadlines, subprocesses, podman and Chromium): with one
# worker per core the run used 128 % of this 2-core machine's 200 % (454 s of CPU in 352 s),
# with two per core 162 % and the run took 250 s instead of 351 s (bench/bench_suite.py
# measures it). PYTEST_XDIST_AUTO_NUM_WORKERS, or -n N, still chooses.
MAX_WORKERS = 8


@pytest.hookimpl(wrapper=True, optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> Iterator[int]:
    cores: int = yield
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return cores
    return max(1, min(MAX_WORKERS, 2 * cores))


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> Iterator[None]:
    # Marked before xdist's own hook reads the marks (a wrapper's first half runs before
    # every plain implementation).
    for item in items:
        nodeid = item.nodeid
        if nodeid.startswith(_SERIAL_PATHS) or nodeid.split("[")[0] in _SERIAL_TESTS:
            item.add_marker(pytest.mark.xdist_group(INSTALLS))
    yield


def pytest_xdist_node_collection_finished(node: object, ids: list[str]) -> None:
    """On the controller, from each worker's collection: xdist groups by an "@installs"
    suffix its hook adds to the node id, which pytest 9.2's structured node ids silently
    drop (pytest-dev/pytest-xdist#1386). The group would then spread over the workers and
    its apt, pip and podman steps race: stop with the reason instead."""
    lost = [i for i in ids if i.startswith(_SERIAL_PATHS) and not i.endswith("@" + INSTALLS)]
    if lost:
        pytest.exit(f"pytest-xdist's --dist loadgroup is not in effect with pytest "
                    f"{pytest.__version__}: {lost[0]} has no @{INSTALLS} suffix "
                    "(pytest-dev/pytest-xdist#1386). Reinstall the test extra, whose pin "
                    "avoids it: pip install -e '.[test]'", returncode=4)

"""Shared fixtures: a clean environment, a real stub server on loopback, a gate runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trustme

from smoke.output import redact
from smoke.reports import junit
from smoke.stub import StubServer
from tests import junit_schema
from tests.support import env as env_scrub

KEY = "sk-test-" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6"
_PREFIXES = env_scrub.PREFIXES
_NAMES = env_scrub.NAMES


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test reads the developer's (or CI's) environment."""
    for name in list(os.environ):
        if env_scrub.scrubbed_out(name):
            monkeypatch.delenv(name, raising=False)
    for name in _NAMES:
        monkeypatch.delenv(name.lower(), raising=False)
    redact.clear()
    yield
    redact.clear()


@pytest.fixture(autouse=True)
def reports_match_their_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every report.json chat-smoke wrote under the temporary folders during the test is
    valid against smoke/schema/report.schema.json (tests/reportschema.py)."""
    from tests.reportschema import sweep

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


@dataclass
class Run:
    """One ``chat-smoke`` process: exit code, output, and the JSON report."""

    code: int
    stdout: str
    stderr: str
    report: dict[str, Any] | None
    files: dict[str, str]

    @property
    def all_output(self) -> str:
        return self.stdout + self.stderr + "".join(self.files.values())

    def check(self, check_id: str) -> dict[str, Any]:
        assert self.report is not None
        for check in self.report["checks"]:
            if check["id"] == check_id:
                return dict(check)
        raise KeyError(f"{check_id} not in {[c['id'] for c in self.report['checks']]}")


def run_cli(
    tmp_path: Path,
    *args: str,
    env: dict[str, str] | None = None,
    key: str | None = KEY,
    timeout: float = 60,
    cwd: Path | None = None,
) -> Run:
    """Run ``python -m smoke run ...`` as a subprocess and collect what it wrote."""
    report = tmp_path / "report.json"
    full_env = env_scrub.scrubbed()
    if key is not None:
        full_env["COMETAPI_API_KEY"] = key
    full_env.update(env or {})
    argv = [sys.executable, "-m", "smoke", "run", "--report-json", str(report), *args]
    proc = subprocess.run(argv, capture_output=True, text=True, env=full_env, timeout=timeout,
                          cwd=cwd or tmp_path)
    files = {p.name: p.read_text(errors="replace") for p in tmp_path.iterdir() if p.is_file()}
    loaded = json.loads(report.read_text()) if report.exists() else None
    return Run(proc.returncode, proc.stdout, proc.stderr, loaded, files)


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


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        nodeid = item.nodeid
        if nodeid.startswith(_SERIAL_PATHS) or nodeid.split("[")[0] in _SERIAL_TESTS:
            item.add_marker(pytest.mark.xdist_group(INSTALLS))

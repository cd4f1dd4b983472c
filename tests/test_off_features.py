"""What is switched off costs nothing: a plain gate never imports the modules that only an
off feature needs (issue 16, item 4; the bench measures the time, this test the cause).

Each feature is checked both ways in a real ``chat-smoke run`` process against the stub:
off, its modules are not in ``sys.modules`` at exit; on, they are (so a renamed module
cannot make the test pass by accident).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from smoke.ci import PLATFORMS
from smoke.stub import StubServer
from tests.support.cli import KEY
from tests.support.env import scrubbed

# Writes the sorted names of the imported smoke modules (and jinja2) to $MODULES at exit.
PROBE = ("import atexit, os, sys\n"
         "def dump():\n"
         "    names = sorted(m for m in sys.modules if m.startswith(('smoke', 'jinja2')))\n"
         "    open(os.environ['MODULES'], 'w').write('\\n'.join(names))\n"
         "atexit.register(dump)\n"
         "from smoke.cli import main\n"
         "sys.argv[0] = 'chat-smoke'\n"
         "main()\n")

# feature -> (flags that turn it on, modules only it needs)
FEATURES: dict[str, tuple[list[str], tuple[str, ...]]] = {
    "negative": (["--negative", "invalid-model,missing-field,invalid-key"],
                 ("smoke.checks.negative",)),
    "stream": (["--stream"], ("smoke.checks.streaming", "smoke.http.sse")),
    "models": (["--check-models"], ("smoke.checks.preflights.models",)),
    "dotenv": (["--report-dotenv", "{out}/gate.env"], ("smoke.reports.dotenv",)),
    "prometheus": (["--report-prometheus", "{out}/gate.prom"], ("smoke.reports.prometheus",)),
    "baseline": (["--baseline", "{out}/baseline.json"], ("smoke.checks.drift",)),
    "summary": (["--summary", "{out}/summary.md"],
                ("smoke.reports.summary.markdown", "jinja2")),
    # The application's own request, parser and required fields (issue 22).
    "request_body": (["--request-body", "{out}/body.json"], ("smoke.config.body",)),
    "parser": (["--parser-command", "cat"],
               ("smoke.checks.application", "smoke.checks.preflights.parser")),
    "require_fields": (["--require-fields", "id,usage.total_tokens"],
                       ("smoke.checks.application",)),
}


def _modules(tmp_path: Path, argv: list[str], **extra: str) -> set[str]:
    listing = tmp_path / "modules.txt"
    env = scrubbed(COMETAPI_API_KEY=KEY, MODULES=str(listing), NO_PROXY="*", **extra)
    proc = subprocess.run([sys.executable, "-c", PROBE, "run", *argv], env=env,
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return set(listing.read_text().split())


@pytest.fixture
def baseline(stub: StubServer, tmp_path: Path) -> Path:
    path = tmp_path / "baseline.json"
    _modules(tmp_path, ["--base-url", stub.base_url, "--model", "stub-model",
                        "--report-json", str(path)])
    assert json.loads(path.read_text())["verdict"] == "pass"
    return path


def test_a_plain_gate_imports_no_module_of_an_off_feature(
        stub: StubServer, tmp_path: Path, baseline: Path) -> None:
    plain = ["--base-url", stub.base_url, "--model", "stub-model",
             "--report-json", str(tmp_path / "r.json"), "--report-junit", str(tmp_path / "j.xml")]
    loaded = _modules(tmp_path, plain)
    assert "smoke.checks.positive" in loaded  # the probe sees what a run imports
    for feature, (_, modules) in FEATURES.items():
        assert not loaded & set(modules), f"{feature} is off but {loaded & set(modules)} loaded"


@pytest.mark.parametrize("feature", sorted(FEATURES))
def test_a_feature_that_is_on_imports_its_modules(
        stub: StubServer, tmp_path: Path, baseline: Path, feature: str) -> None:
    flags, modules = FEATURES[feature]
    (tmp_path / "body.json").write_text('{"messages": [{"role": "user", "content": "ping"}]}')
    argv = ["--base-url", stub.base_url, "--model", "stub-model",
            *(flag.format(out=tmp_path) for flag in flags)]
    loaded = _modules(tmp_path, argv)
    assert set(modules) <= loaded, f"{feature}: {set(modules) - loaded} not loaded"


def test_only_the_ci_platform_in_use_is_imported(stub: StubServer, tmp_path: Path) -> None:
    plain = ["--base-url", stub.base_url, "--model", "stub-model"]
    others = {module for name, module in PLATFORMS.items() if name != "local"}
    local = _modules(tmp_path, plain)
    assert PLATFORMS["local"] in local
    assert not local & others, f"no CI, yet {local & others} loaded"
    assert "smoke.ci.github_comment" not in local
    gitlab = _modules(tmp_path, plain, GITLAB_CI="true")
    assert gitlab & others == {PLATFORMS["gitlab"]}


@pytest.mark.parametrize("before", ["on", "off"])
def test_the_start_up_leaves_the_collector_as_it_was(stub: StubServer, tmp_path: Path,
                                                     before: str) -> None:
    # smoke.cli imports the gate with the cyclic collector paused and freezes what it
    # imported (start-up cost); the collector must be back as it was for the run.
    code = ("import gc, sys\n"
            f"{'gc.disable()' if before == 'off' else ''}\n"
            "from smoke.cli import main\n"
            f"sys.argv = ['chat-smoke', 'run', '--base-url', {stub.base_url!r}, "
            "'--model', 'stub-model']\n"
            "try:\n"
            "    main()\n"
            "except SystemExit as exc:\n"
            "    print(exc.code, gc.isenabled(), gc.get_freeze_count() > 0, file=sys.stderr)\n")
    env = scrubbed(COMETAPI_API_KEY=KEY, NO_PROXY="*")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert proc.stderr.split()[-3:] == ["0", str(before == "on"), "True"], proc.stderr

"""The GitHub runner's side of a Docker container action, for the tests: its environment
(every input, the file commands, the GITHUB_* variables), one run of entrypoint.py, and the
root-only test marks. Shared by tests/test_entrypoint.py and the suites that run the action."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from smoke import action
from smoke.stub import StubServer
from tests.support.cli import KEY
from tests.support.runner_rules import parse_output_file

REPO = Path(__file__).resolve().parents[2]
ENTRYPOINT = REPO / "entrypoint.py"
ACTION = yaml.safe_load((REPO / "action.yml").read_text("utf-8"))
INPUTS: dict[str, Any] = ACTION["inputs"]
OUTPUT_NAMES = set(ACTION["outputs"])

# Read at import: the autouse clean_env fixture (tests/conftest.py) deletes CI from the
# environment before any test body runs, which once made the root-only tests below skip
# silently in CI.
IN_CI = bool(os.environ.get("CI"))
# Set by ci.yml on its main (unprivileged) test step: the root-only tests run in the next
# step, under sudo, so here they skip with a reason that says so.
ROOT_TESTS_IN_SUDO_STEP = os.environ.get("CHAT_SMOKE_ROOT_TESTS") == "sudo-step"
IS_ROOT = os.geteuid() == 0
HAS_SETPRIV = shutil.which("setpriv") is not None


@dataclass
class ActionRun:
    code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    output_pairs: list[tuple[str, str]]
    summary: str
    workspace: Path

    def report(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(
            (self.workspace / self.outputs["report-json"]).read_text("utf-8"))
        return loaded

    @property
    def everything(self) -> str:
        files = [p.read_text("utf-8", errors="replace")
                 for p in self.workspace.rglob("*") if p.is_file()]
        return "\n".join([self.stdout, self.stderr, self.summary, *files,
                          *(v for _, v in self.output_pairs)])


def runner_env(workspace: Path, files: Path, inputs: dict[str, str]) -> dict[str, str]:
    """The environment a Docker container action gets: every input (its default or ""),
    the file commands, and the usual GITHUB_* variables. Nothing of ours leaks in."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(files / "home"),
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_SHA": "4f1c2a9d0e8b7c6a5f4e3d2c1b0a9f8e7d6c5b4a",
        "GITHUB_REPOSITORY": "acme/shop",
        "GITHUB_RUN_ID": "1234",
        "RUNNER_OS": "Linux",
        "RUNNER_TEMP": str(files / "temp"),
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("output", "step_summary", "env", "path", "state"):
        path = files / f"{name}_file"
        path.touch()
        env[f"GITHUB_{name.upper()}"] = str(path)
    for name, spec in INPUTS.items():
        env[action.input_variable(name)] = str(spec.get("default", "") or "")
    for name, value in inputs.items():
        assert name in INPUTS, f"{name} is not an input of action.yml"
        env[action.input_variable(name)] = value
    return env


def run_action(tmp_path: Path, inputs: dict[str, str], *, python: str = sys.executable,
               entrypoint: Path = ENTRYPOINT, prefix: tuple[str, ...] = (),
               workspace: Path | None = None, timeout: float = 60) -> ActionRun:
    workspace = workspace or tmp_path / "workspace"
    workspace.mkdir(exist_ok=True)
    files = tmp_path / "file_commands"
    files.mkdir(exist_ok=True)
    for sub in ("home", "temp"):
        (files / sub).mkdir(exist_ok=True)
    env = runner_env(workspace, files, inputs)
    proc = subprocess.run([*prefix, python, str(entrypoint)], cwd=workspace, env=env,
                          capture_output=True, text=True, timeout=timeout)
    pairs = parse_output_file(Path(env["GITHUB_OUTPUT"]).read_bytes().decode("utf-8"))
    return ActionRun(proc.returncode, proc.stdout, proc.stderr, dict(pairs), pairs,
                     Path(env["GITHUB_STEP_SUMMARY"]).read_text("utf-8"), workspace)


def gate_inputs(stub: StubServer, scenario: str | None = None, **more: str) -> dict[str, str]:
    return {"api-key": KEY, "base-url": stub.url(scenario), "model": "stub-model",
            "environment": "staging", **more}


def skip_off_ci(ready: bool, reason: str) -> pytest.MarkDecorator:
    """The root-only tests (marked ``root_only``) are required in CI: .ci/run runs as root,
    and ci.yml runs them in a step of their own under sudo. Elsewhere, without root, they
    skip, and the skip says why (``-ra`` lists it). Collection-time, so the skipped test
    does not first build the image's venv."""
    if ready or (IN_CI and not ROOT_TESTS_IN_SUDO_STEP):
        return pytest.mark.root_only  # it runs (in CI without root, _require fails it)
    where = ("ci.yml runs it in its sudo step" if ROOT_TESTS_IN_SUDO_STEP
             else "not CI; .ci/run and ci.yml run it as root")
    return pytest.mark.skip(reason=f"{reason} ({where})")


def require(ready: bool, reason: str) -> None:
    """In CI a missing precondition is a failure, never a skip."""
    if not ready:
        pytest.fail(f"{reason} (CI is set: this check must run; see .github/workflows/ci.yml)")

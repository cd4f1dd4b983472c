"""A gate run and its publication on GitHub's runner, in this process: ``gate`` runs the
pipeline against the stub with a GitHub console on ``out``, ``publish`` publishes its result
through that same console, ``runner_files`` makes the runner's GITHUB_OUTPUT and
GITHUB_STEP_SUMMARY files."""

from __future__ import annotations

import io
from pathlib import Path

from smoke import pipeline
from smoke.ci import github
from smoke.ci.github import GitHubConsole
from smoke.ci.publish import Publisher
from smoke.results import GateResult
from smoke.stub import StubServer
from tests.support.cli import KEY

_CONSOLES: dict[int, GitHubConsole] = {}


def gate(stub: StubServer, scenario: str | None, out: io.StringIO, **flags: str) -> GateResult:
    console = _CONSOLES[id(out)] = GitHubConsole(out)
    result, _ = pipeline.check({"base_url": stub.url(scenario), "model": "stub-model",
                                "api_key_env": "K", "environment": "staging", "retries": "0",
                                **flags}, {"K": KEY}, console=console)
    return result


def publish(out: io.StringIO, result: GateResult, env: dict[str, str],
             targets: dict[str, str] | None = None, soft: bool = False) -> None:
    """Publish ``result`` as the pipeline does, through the console the gate printed on."""
    Publisher(github.PLATFORM, _CONSOLES.pop(id(out)), env, soft=soft,
              reports=targets).publish(result)


def runner_files(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(tmp_path), **extra}
    for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        if name in extra:
            continue
        path = tmp_path / name.lower()
        path.touch()
        env[name] = str(path)
    return env

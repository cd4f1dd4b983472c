"""Each CI platform as the gate meets it: the variables a platform sets (``platform_env``) and
a fake ``buildkite-agent`` on PATH that logs its calls (``fake_agent``, ``agent_calls``)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

FAKE_AGENT = """#!/bin/sh
# A stand-in for buildkite-agent: records each call's arguments and stdin.
n=$(ls "$FAKE_AGENT_LOG" | grep -c 'args$')
printf '%s\\n' "$@" > "$FAKE_AGENT_LOG/$n.args"
cat > "$FAKE_AGENT_LOG/$n.stdin"
"""


def fake_agent(tmp_path: Path, script: str = FAKE_AGENT) -> dict[str, str]:
    folder = tmp_path / "bin"
    folder.mkdir()
    log = tmp_path / "agent-calls"
    log.mkdir()
    path = folder / "buildkite-agent"
    path.write_text(script)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return {"PATH": f"{folder}{os.pathsep}{os.environ.get('PATH', '')}",
            "FAKE_AGENT_LOG": str(log)}


def agent_calls(tmp_path: Path) -> list[tuple[list[str], str]]:
    log = tmp_path / "agent-calls"
    calls = []
    for n in range(len(list(log.glob("*.args")))):
        calls.append(((log / f"{n}.args").read_text().split("\n")[:-1],
                      (log / f"{n}.stdin").read_text()))
    return calls


def platform_env(name: str, tmp_path: Path) -> dict[str, str]:
    if name == "github":
        for file in ("output", "summary"):
            (tmp_path / file).touch()
        return {"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(tmp_path / "output"),
                "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
                "GITHUB_WORKSPACE": str(tmp_path)}
    if name == "azure":
        (tmp_path / "agent-temp").mkdir()
        return {"TF_BUILD": "True", "AGENT_TEMPDIRECTORY": str(tmp_path / "agent-temp")}
    if name == "buildkite":
        return {"BUILDKITE": "true", **fake_agent(tmp_path)}
    return {
        "gitlab": {"GITLAB_CI": "true", "CI": "true"},
        "jenkins": {"JENKINS_URL": "https://jenkins.example/"},
        "circleci": {"CIRCLECI": "true", "CI": "true"},
        "bitbucket": {"BITBUCKET_BUILD_NUMBER": "12", "CI": "true"},
        "local": {},
    }[name]

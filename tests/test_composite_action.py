"""python/action.yml (the composite action) run the way the GitHub runner runs it.

The runner (actions/runner ``CompositeActionHandler``, ``ScriptHandler``) runs a composite
action's steps in order: each ``if:`` is evaluated first; each ``run:`` step is written to
a file and started as ``bash --noprofile --norc -eo pipefail FILE`` in the workspace, with
the job's environment, the step's ``env:`` (expressions evaluated), ``GITHUB_ACTION_PATH``
and a fresh ``GITHUB_OUTPUT`` file per step, which is read after the step; the first
failing step ends the action; the action's outputs are the ``value:`` expressions,
evaluated at the end. The evaluator here knows only the few expressions the steps use
(``inputs.*``, ``github.action_path``, ``github.token``, ``runner.*``,
``steps.<id>.outputs.<name>`` and ``== ''``); anything else fails the test, which keeps
the steps that simple.

The steps really run: the install step makes a venv and installs requirements.txt
(hash-checked) and the package from the checkout; the gate runs against the stub. Its
outputs must equal the Docker action's (tests/test_entrypoint.py runs entrypoint.py as
the image does) for the same inputs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from smoke.stub import StubServer
from tests.support.action_runner import gate_inputs, run_action
from tests.support.cli import KEY
from tests.support.runner_rules import parse_output_file

REPO = Path(__file__).resolve().parents[1]
COMPOSITE = REPO / "python" / "action.yml"
DOCKER = REPO / "action.yml"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
TOKEN = "ghs_composite-test-token-0123456789"


def _load(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text("utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@dataclass
class Context:
    inputs: dict[str, str]
    action_path: Path
    temp: Path
    steps: dict[str, dict[str, str]] = field(default_factory=dict)

    def value(self, expr: str) -> str:
        parts = expr.split(".")
        if parts[0] == "inputs" and len(parts) == 2:
            return self.inputs[parts[1]]
        if expr == "github.action_path":
            return str(self.action_path)
        if expr == "github.token":
            return TOKEN
        if expr == "runner.temp":
            return str(self.temp)
        if expr == "runner.os":
            return "Windows" if os.name == "nt" else "macOS" if sys.platform == "darwin" \
                else "Linux"
        if parts[0] == "steps" and len(parts) == 4 and parts[2] == "outputs":
            return self.steps.get(parts[1], {}).get(parts[3], "")
        raise AssertionError(f"the emulator does not know the expression {expr!r}: keep the "
                             "composite's expressions to inputs.*, github.action_path, "
                             "runner.* and steps.*.outputs.*")

    def text(self, template: str) -> str:
        return EXPRESSION.sub(lambda m: self.value(m.group(1)), template)

    def condition(self, expr: str) -> bool:
        expr = EXPRESSION.sub(lambda m: m.group(1), expr).strip()
        match = re.fullmatch(r"([\w.-]+)\s*(==|!=)\s*'([^']*)'", expr)
        assert match, f"the emulator does not know the condition {expr!r}"
        equal = self.value(match.group(1)) == match.group(3)
        return equal if match.group(2) == "==" else not equal


@dataclass
class CompositeRun:
    code: int
    outputs: dict[str, str]
    ran: list[str]
    skipped: list[str]
    log: str
    workspace: Path
    summary: str


def run_composite(tmp_path: Path, inputs: dict[str, str], path: str | None = None
                  ) -> CompositeRun:
    action = _load(COMPOSITE)
    workspace = tmp_path / "workspace"
    workspace.mkdir(exist_ok=True)
    temp = tmp_path / "runner_temp"
    temp.mkdir(exist_ok=True)
    given = {name: inputs.get(name, str(spec.get("default", "")))
             for name, spec in action["inputs"].items()}
    for name in inputs:
        assert name in action["inputs"], f"{name} is not an input of python/action.yml"
    context = Context({}, COMPOSITE.parent, temp)
    context.inputs = {name: context.text(value) for name, value in given.items()}
    summary = tmp_path / "step_summary"
    summary.touch()
    base = {
        "PATH": path if path is not None else os.pathsep.join(
            [str(Path(sys.executable).parent), os.environ.get("PATH", "/usr/bin:/bin")]),
        "HOME": str(tmp_path / "home"), "CI": "true", "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(workspace), "GITHUB_REPOSITORY": "acme/shop",
        "GITHUB_SHA": "4f1c2a9d0e8b7c6a5f4e3d2c1b0a9f8e7d6c5b4a", "GITHUB_RUN_ID": "99",
        "GITHUB_EVENT_NAME": "push", "RUNNER_OS": context.value("runner.os"),
        "RUNNER_TEMP": str(temp), "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_ACTION_PATH": str(COMPOSITE.parent),
    }
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CONFIG_FILE",
                 "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT"):
        if name in os.environ:  # the machine's package index, as on a runner with a mirror
            base[name] = os.environ[name]
    # pip's cache stays the machine's (a runner's is warm too): the same files, faster.
    base["PIP_CACHE_DIR"] = os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip")
    (tmp_path / "home").mkdir(exist_ok=True)
    ran: list[str] = []
    skipped: list[str] = []
    log: list[str] = []
    code = 0
    for number, step in enumerate(action["runs"]["steps"]):
        step_id = step.get("id", f"__{number}")
        if "if" in step and not context.condition(str(step["if"])):
            skipped.append(step_id)
            continue
        assert "run" in step, (
            f"step {step.get('name')!r} ({step.get('uses')}) would run here; the emulator "
            "runs only run: steps")
        assert step.get("shell") == "bash", "every run: step names shell: bash"
        output = tmp_path / f"output_{number}"
        output.touch()
        script = tmp_path / f"step_{number}.sh"
        script.write_text(str(step["run"]), encoding="utf-8")
        env = {**base, "GITHUB_OUTPUT": str(output),
               **{k: context.text(str(v)) for k, v in (step.get("env") or {}).items()}}
        done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                              cwd=workspace, env=env, capture_output=True, text=True,
                              timeout=600)
        log.append(f"--- {step.get('name')} (exit {done.returncode})\n{done.stdout}"
                   f"{done.stderr}")
        context.steps[step_id] = dict(parse_output_file(output.read_text("utf-8")))
        ran.append(step_id)
        if done.returncode != 0:
            code = done.returncode
            break
    outputs = {name: context.text(str(spec["value"]))
               for name, spec in action["outputs"].items()}
    return CompositeRun(code, outputs, ran, skipped, "\n".join(log), workspace,
                        summary.read_text("utf-8"))


# -- one input list for both ------------------------------------------------------------
def test_the_composite_has_the_docker_actions_inputs_and_outputs() -> None:
    composite, docker = _load(COMPOSITE), _load(DOCKER)
    assert list(composite["inputs"]) == list(docker["inputs"])
    for name, spec in docker["inputs"].items():
        mine = composite["inputs"][name]
        assert " ".join(str(mine["description"]).split()) == \
            " ".join(str(spec["description"]).split()), name
        assert str(mine.get("default", "")) == str(spec.get("default", "")), name
    assert list(composite["outputs"]) == list(docker["outputs"])
    assert composite["runs"]["using"] == "composite"
    gate = next(s for s in composite["runs"]["steps"] if s.get("id") == "gate")
    passed = {k: v for k, v in gate["env"].items() if k.startswith("INPUT_")}
    assert passed == {f"INPUT_{n.upper()}": f"${{{{ inputs.{n} }}}}" for n in docker["inputs"]}


def test_the_composite_pins_what_it_uses_by_commit() -> None:
    for step in _load(COMPOSITE)["runs"]["steps"]:
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step["uses"]


# -- runs -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def composite_runs(tmp_path_factory: pytest.TempPathFactory
                   ) -> dict[str, tuple[CompositeRun, Any]]:
    """The composite and the Docker entry point, each with the same inputs, against one
    stub: a pass (with reports in a folder of choice) and a failure (revoked key)."""
    runs: dict[str, tuple[CompositeRun, Any]] = {}
    with StubServer(key=KEY) as stub:
        for label, scenario, extra in (
            ("pass", None, {"report-dir": "gate-out", "report-dotenv": "gate-out/gate.env",
                            "environment": "staging"}),
            ("auth", "bad-key", {}),
        ):
            inputs = gate_inputs(stub, scenario, **extra)
            mine = run_composite(tmp_path_factory.mktemp(f"composite-{label}"), inputs)
            docker = run_action(tmp_path_factory.mktemp(f"docker-{label}"), inputs)
            runs[label] = (mine, docker)
    return runs


STABLE = ("verdict", "category", "exit-code", "report-json", "report-junit", "summary")


def test_a_pass_gives_the_docker_actions_outputs(
        composite_runs: dict[str, tuple[CompositeRun, Any]]) -> None:
    mine, docker = composite_runs["pass"]
    assert mine.code == 0, mine.log
    assert mine.ran == ["probe", "install", "gate"] and mine.skipped == ["__1"], mine.log
    assert mine.outputs["verdict"] == "pass"
    assert mine.outputs["report-json"] == "gate-out/report.json"
    assert {k: mine.outputs[k] for k in STABLE} == {k: docker.outputs[k] for k in STABLE}
    assert set(mine.outputs) == set(docker.outputs)
    assert mine.outputs["request-id"].startswith("req_") and int(mine.outputs["duration-ms"])
    assert (mine.workspace / "gate-out" / "report.json").is_file()
    assert "CHAT_SMOKE_VERDICT=pass" in (mine.workspace / "gate-out" / "gate.env").read_text()
    assert "staging" in mine.summary and "PASS" in mine.summary.upper()
    assert f"::add-mask::{KEY}" in mine.log  # masked first, as in the image
    assert KEY not in mine.log.replace(f"::add-mask::{KEY}", "") + mine.summary


def test_a_failure_fails_the_step_and_still_gives_every_output(
        composite_runs: dict[str, tuple[CompositeRun, Any]]) -> None:
    mine, docker = composite_runs["auth"]
    assert (mine.code, docker.code) == (3, 3), mine.log
    assert {k: mine.outputs[k] for k in STABLE} == {k: docker.outputs[k] for k in STABLE}
    assert (mine.outputs["verdict"], mine.outputs["category"]) == ("fail", "auth")
    assert "::error" in mine.log
    assert (mine.workspace / mine.outputs["report-junit"]).is_file()


def test_the_probe_asks_for_setup_python_when_the_runner_has_no_python_3_11(
        tmp_path: Path) -> None:
    # A runner whose only python is 3.10: the probe finds none, so setup-python runs
    # (here the emulator stops at that uses: step, which it cannot run).
    fake = tmp_path / "bin"
    fake.mkdir()
    for name in ("python3", "python"):
        (fake / name).write_text("#!/bin/sh\nexit 1\n")
        (fake / name).chmod(0o755)
    bash_dir = Path(subprocess.run(["bash", "-c", "command -v bash"], capture_output=True,
                                   text=True, check=True).stdout.strip()).parent
    with pytest.raises(AssertionError, match="actions/setup-python@"):
        run_composite(tmp_path, {"api-key": KEY},
                      path=os.pathsep.join([str(fake), str(bash_dir), "/usr/bin", "/bin"]))

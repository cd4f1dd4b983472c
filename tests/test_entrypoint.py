"""entrypoint.py as the runner starts it: a subprocess with exactly the runner's environment
(INPUT_* for every input of action.yml, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files,
GITHUB_ACTIONS=true, the workspace as working directory), against the stub on loopback.
Outputs and commands are read by the runner's own rules (tests/support/runner_rules.py)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from smoke import action, config
from smoke.config.validate import schema
from smoke.stub import StubServer
from tests.support.action_runner import (
    ACTION,
    ENTRYPOINT,
    HAS_SETPRIV,
    INPUTS,
    IS_ROOT,
    OUTPUT_NAMES,
    REPO,
    gate_inputs,
    run_action,
)
from tests.support.action_runner import require as _require
from tests.support.action_runner import skip_off_ci as _skip_off_ci
from tests.support.cli import KEY
from tests.support.runner_rules import run_commands


# -- the contract of action.yml -------------------------------------------------------
def test_every_input_of_action_yml_is_mapped() -> None:
    assert set(action.INPUTS) == set(INPUTS), (
        "action.yml and smoke/action.py INPUTS disagree: "
        f"{sorted(set(action.INPUTS) ^ set(INPUTS))}")
    for name, key in action.INPUTS.items():
        # "config" is the one flag that is not a setting: it names the file.
        assert key in (None, "config") or key in schema()["properties"], f"{name} -> {key}"


def test_every_input_is_documented_in_the_guide() -> None:
    # The inputs table moved from the README to the GitHub Actions guide (generated from
    # action.yml by docs/generate.py; tests/test_generated.py keeps it current).
    guide = (REPO / "docs" / "github-actions.md").read_text("utf-8")
    section = re.search(r"^## Inputs.*?(?=^## |\Z)", guide, re.S | re.M)
    assert section, "docs/github-actions.md has no '## Inputs' section"
    rows = {m.group(1) for m in re.finditer(r"^\|\s*`([a-z-]+)`\s*\|", section.group(0), re.M)}
    assert set(INPUTS) <= rows, f"inputs missing from the guide's table: {set(INPUTS) - rows}"
    assert set(OUTPUT_NAMES) <= rows, f"outputs missing: {set(OUTPUT_NAMES) - rows}"


def test_every_output_is_written(tmp_path: Path, stub: StubServer) -> None:
    run = run_action(tmp_path, gate_inputs(stub))
    assert [name for name, _ in run.output_pairs] == list(ACTION["outputs"])


# How each input, set to a distinctive value, shows in the loaded Settings.
EFFECTS: dict[str, tuple[str, Any]] = {
    "base-url": ("https://gw.example.test/api", lambda s: s.base_url == "https://gw.example.test/api"),
    "model": ("m-one, m-two", lambda s: s.models == ("m-one", "m-two")),
    "config": ("gate.yml", lambda s: s.user_prompt == "ping from the config file"),
    "environment": ("staging-eu", lambda s: s.environment == "staging-eu"),
    "expect": ("equals:Pong!", lambda s: s.expect.describe().startswith("equals")),
    "negative-checks": ("invalid-model,invalid-key",
                        lambda s: s.negative == ("invalid-model", "invalid-key")),
    "timeout": ("7.5", lambda s: s.timeout == 7.5),
    "deadline": ("55", lambda s: s.deadline == 55.0),
    "retries": ("4", lambda s: s.retries == 4),
    "ca-bundle": ("corp-ca.pem", lambda s: (s.ca_bundle or "").endswith("corp-ca.pem")),
    "summary-template": ("mine.md.j2", lambda s: (s.summary_template or "").endswith("mine.md.j2")),
    "report-dir": ("out/gate", lambda s: s.report_junit == "out/gate/junit.xml"),
    "stream": ("true", lambda s: s.stream is True),
    "check-models": ("true", lambda s: s.check_models is True),
    "expect-model": ("^gpt-4o", lambda s: s.expect_model == "^gpt-4o"),
    "max-total-tokens": ("1234", lambda s: s.max_total_tokens == 1234),
    "api-key": ("sk-distinct-0123456789", lambda s: s.api_key == "sk-distinct-0123456789"),
    "auth-header": ("api-key", lambda s: s.auth_header == "api-key"),
    "temperature": ("none", lambda s: s.temperature is None),
    "max-tokens": ("none", lambda s: s.max_tokens is None),
    "max-completion-tokens": ("64", lambda s: s.max_completion_tokens == 64),
    "concurrency": ("3", lambda s: s.concurrency == 3),
    "baseline": ("last.json", lambda s: (s.baseline or "").endswith("last.json")),
    "fail-on-drift": ("true", lambda s: s.fail_on_drift is True),
    "report-prometheus": ("out/chat-smoke.prom",
                          lambda s: s.report_prometheus == "out/chat-smoke.prom"),
    "report-dotenv": ("out/gate.env", lambda s: s.report_dotenv == "out/gate.env"),
    "dotenv-prefix": ("GATE_", lambda s: s.dotenv_prefix == "GATE_"),
    "ci": ("local", lambda s: s.ci == "local"),
    "headers": ("x-portkey-provider: openai\nX-Title: smoke",
                lambda s: [h.shown() for h in s.headers] == ["x-portkey-provider: openai",
                                                             "X-Title: smoke"]),
    "incident-issue": ("true", lambda s: s.incident_issue is True),
    "incident-after": ("3", lambda s: s.incident_after == 3),
    "incident-reopen-days": ("30", lambda s: s.incident_reopen_days == 30),
    "previous-report": ("last/report.json",
                        lambda s: s.previous_report == "last/report.json"),
}
# Read outside the Settings; their effect is tested by running the action below.
# comment-on-pr, github-token and comment-key: tests/test_pr_comment.py runs the comment.
ELSEWHERE = {"fail-on-error", "comment-on-pr", "github-token", "comment-key"}


def test_every_input_has_an_effect_test() -> None:
    assert set(EFFECTS) | ELSEWHERE == set(INPUTS)


@pytest.mark.parametrize("name", sorted(EFFECTS))
def test_input_takes_effect(name: str, tmp_path: Path) -> None:
    (tmp_path / "gate.yml").write_text("user_prompt: ping from the config file\n")
    (tmp_path / "corp-ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    (tmp_path / "mine.md.j2").write_text("{{ verdict }}\n")
    (tmp_path / "last.json").write_text("{}\n")
    value, holds = EFFECTS[name]
    inputs = {"api-key": KEY, "model": "stub-model", name: value}
    env = {action.input_variable(n): v for n, v in inputs.items()}
    flags = action.flags_for(action.read_inputs(env))
    settings = config.load(flags, {action.KEY_VARIABLE: inputs["api-key"]}, tmp_path)
    assert holds(settings), f"input {name}={value!r} did not reach the settings"


def test_all_inputs_at_once_reach_the_reports(tmp_path: Path, stub: StubServer) -> None:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "gate.yml").write_text("user_prompt: ping from the config file\n")
    (workspace / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    (workspace / "mine.md.j2").write_text("custom summary: {{ verdict }} {{ environment }}\n")
    run = run_action(tmp_path, gate_inputs(
        stub, environment="prod-eu", config="gate.yml", expect="contains:PONG",
        timeout="9", deadline="40", retries="1", **{
            "ca-bundle": "ca.pem", "summary-template": "mine.md.j2", "report-dir": "out/r",
            "fail-on-error": "true", "expect-model": "^stub-model$",
            "max-total-tokens": "5000", "negative-checks": "invalid-model", "stream": "true",
            "check-models": "true", "temperature": "none", "max-tokens": "none",
            "max-completion-tokens": "32", "concurrency": "2",
            "report-dotenv": "out/gate.env", "dotenv-prefix": "GATE_",
            "report-prometheus": "out/gate.prom", "ci": "github"}))
    assert run.code == 0, run.stdout + run.stderr
    assert "GATE_VERDICT=pass" in (workspace / "out" / "gate.env").read_text("utf-8")
    assert "chat_smoke_" in (workspace / "out" / "gate.prom").read_text("utf-8")
    sent = [p for p in (r.get("payload") or {} for r in stub.requests)  # this run's only
            if p.get("messages", [{}])[-1].get("content") == "ping from the config file"]
    assert sent and all("temperature" not in p and "max_tokens" not in p for p in sent)
    assert {p.get("max_completion_tokens") for p in sent} == {32}
    assert run.outputs["report-json"] == "out/r/report.json"
    assert run.outputs["report-junit"] == "out/r/junit.xml"
    report = run.report()
    cfg = report["config"]
    assert (report["environment"], cfg["timeout"], cfg["deadline"], cfg["retries"]) == (
        "prod-eu", 9.0, 40.0, 1)
    assert cfg["ca_bundle"].endswith("ca.pem")
    assert run.summary == "custom summary: pass prod-eu\n"
    kinds = {c["kind"] for c in report["checks"]}
    assert {"negative", "stream"} <= kinds, kinds
    assert any("models" in c["id"] for c in report["checks"]), report["checks"]
    assert stub.requests[-1]["payload"]["messages"][-1]["content"] == "ping from the config file"


# -- one run per exit-code group -------------------------------------------------------
GROUPS = [
    ("pass", None, {}, 0, ""),
    ("config", None, {"api-key": ""}, 2, "config"),
    ("auth", "bad-key", {}, 3, "auth"),
    ("model", "unknown-model", {}, 4, "model"),
    ("upstream", "server-error", {"retries": "0"}, 5, "upstream"),
    ("rate-limit", "rate-limit-forever", {"retries": "0"}, 5, "rate_limit"),
    ("assertion", "wrong-answer", {}, 6, "assertion"),
]


@pytest.mark.parametrize(("label", "scenario", "extra", "code", "category"), GROUPS,
                         ids=[g[0] for g in GROUPS])
def test_exit_code_groups(tmp_path: Path, stub: StubServer, label: str, scenario: str | None,
                          extra: dict[str, str], code: int, category: str) -> None:
    run = run_action(tmp_path, gate_inputs(stub, scenario, **extra))
    assert run.code == code, run.stdout + run.stderr
    assert set(run.outputs) == OUTPUT_NAMES and len(run.output_pairs) == len(OUTPUT_NAMES)
    assert run.outputs["verdict"] == ("pass" if code == 0 else "fail")
    assert run.outputs["category"] == category
    assert run.outputs["exit-code"] == str(code)
    assert run.outputs["duration-ms"].isdigit()
    for name, file in (("report-json", "report.json"), ("report-junit", "junit.xml")):
        assert run.outputs[name] == f"chat-smoke-reports/{file}"
        assert (run.workspace / run.outputs[name]).is_file()
    assert (run.workspace / "chat-smoke-reports" / "summary.md").read_text() in run.summary
    ET.parse(run.workspace / run.outputs["report-junit"])
    report = run.report()
    assert report["exit_code"] == code
    commands = run_commands(run.stdout) + run_commands(run.stderr)
    errors = [c for c in commands if c.name == "error"]
    if code == 0:
        assert not errors
        assert "✅ chat-smoke passed on staging" in run.summary
        assert re.fullmatch(r"req_[0-9a-f]+", run.outputs["request-id"])
    else:
        assert errors and all(c.properties["title"].startswith("chat-smoke ") for c in errors)
        assert any(c.properties["title"].startswith(f"chat-smoke {category}:") for c in errors)
        assert "See https://" in errors[0].data
        assert "### Incident" in run.summary
    if code == 2:
        # Also as one plain line (on GitHub, stderr goes through the protected console).
        assert "chat-smoke: config error: the api-key input is empty" in run.stdout
        assert run.stderr == ""
        assert "api-key input is empty" in errors[0].data
    names = [c.name for c in commands]
    assert names.count("group") == names.count("endgroup") >= (1 if code == 2 else 2)


def test_the_key_is_masked_first_and_never_printed(tmp_path: Path, stub: StubServer) -> None:
    run = run_action(tmp_path, gate_inputs(stub, "echo-key"))
    assert run.code == 3
    commands = run_commands(run.stdout)
    assert commands[0].name == "add-mask" and commands[0].data == KEY
    first_text = next(i for i, line in enumerate(run.stdout.splitlines())
                      if not line.startswith("::"))
    masks = [i for i, line in enumerate(run.stdout.splitlines()) if "add-mask" in line]
    assert masks and max(masks) < first_text
    # The ::add-mask:: line carries the key to the runner's masker (which prints it as
    # ***); nothing else may hold it, or a window of it.
    rest = "\n".join(line for line in run.everything.splitlines()
                     if not line.startswith("::add-mask::"))
    assert KEY not in rest
    assert KEY[:12] not in rest and KEY[-10:] not in rest
    assert "***" in rest


def test_fail_on_error_false_turns_the_failure_into_a_warning(
        tmp_path: Path, stub: StubServer) -> None:
    run = run_action(tmp_path, gate_inputs(stub, "bad-key", **{"fail-on-error": "false"}))
    assert run.code == 0, run.stdout + run.stderr
    commands = run_commands(run.stdout)
    assert not [c for c in commands if c.name == "error"]
    warnings = [c for c in commands if c.name == "warning"]
    assert any(c.properties.get("title", "").startswith("chat-smoke auth:") for c in warnings)
    assert any("fail-on-error is false" in c.data for c in warnings)
    assert (run.outputs["verdict"], run.outputs["exit-code"]) == ("fail", "3")


def test_an_invalid_fail_on_error_is_a_config_error(tmp_path: Path, stub: StubServer) -> None:
    sent = len(stub.requests)
    run = run_action(tmp_path, gate_inputs(stub, **{"fail-on-error": "sometimes"}))
    assert run.code == 2
    assert "the fail-on-error input is 'sometimes': use true or false" in run.stdout
    assert len(stub.requests) == sent, "nothing is sent on a config error"


def test_a_hostile_answer_changes_nothing_but_its_own_text(
        tmp_path: Path, stub: StubServer) -> None:
    # The answer holds ::error:: lines, </details>, <script>, pipes, newlines and a
    # GITHUB_OUTPUT delimiter; "expect" makes it fail so it shows in every report.
    run = run_action(tmp_path, gate_inputs(stub, "hostile", expect="contains:no-such-word"))
    assert run.code == 6
    assert [name for name, _ in run.output_pairs] == list(ACTION["outputs"])
    assert run.outputs["category"] == "assertion"
    for log in (run.stdout, run.stderr):
        for cmd in run_commands(log):
            assert cmd.name in {"add-mask", "group", "endgroup", "error", "warning"}, cmd
            assert "pwned" not in str(cmd.properties)
            if cmd.name == "add-mask":
                assert cmd.data == KEY
            if cmd.name in {"error", "warning"}:
                assert cmd.properties["title"].startswith("chat-smoke")
    assert "pwned" in run.stdout  # the text itself is shown, as text
    assert "<script>" not in run.summary and "</details><" not in run.summary
    # The checks table (the first block of "|" lines): every row has the header's cells.
    lines = run.summary.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| "))
    block = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        block.append(line)
    table = [line for line in block if not line.startswith("|---")]
    header = table[0]
    cells = len(re.findall(r"(?<!\\)\|", header))
    assert len(table) >= 2
    assert all(len(re.findall(r"(?<!\\)\|", row)) == cells for row in table)
    assert not [line for line in run.summary.splitlines()
                if re.match(r"\s*(#|\[link\]|::)", line) and not line.startswith("## ")
                and not line.startswith("### ")]
    junit = ET.parse(run.workspace / run.outputs["report-junit"]).getroot()
    assert len(junit.findall(".//testcase")) == len(run.report()["checks"])


def test_root_only_tests_skip_only_where_they_say_and_ci_yml_runs_them() -> None:
    """A root-only test skips only off CI, or in ci.yml's unprivileged step that hands it
    to the sudo step; with CI set it runs (and fails without root). CI is read at import,
    so the clean_env fixture cannot hide it."""
    code = ("import tests.test_entrypoint as t; m = t._skip_off_ci(False, 'needs root'); "
            "print(m.mark.name, m.mark.kwargs.get('reason', ''))")

    def decision(**env: str) -> str:
        return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                              text=True, check=True, timeout=60,
                              env={"PATH": os.environ.get("PATH", ""), **env}).stdout.strip()

    assert decision(CI="true") == "root_only"
    assert decision(CI="true", CHAT_SMOKE_ROOT_TESTS="sudo-step") == (
        "skip needs root (ci.yml runs it in its sudo step)")
    assert decision() == "skip needs root (not CI; .ci/run and ci.yml run it as root)"
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text("utf-8"))
    steps = workflow["jobs"]["test"]["steps"]
    main = next(i for i, step in enumerate(steps) if step.get("run") == "bash .ci/run")
    assert steps[main]["env"]["CHAT_SMOKE_ROOT_TESTS"] == "sudo-step"
    assert [step["run"] for step in steps[main + 1:]] == [
        "sudo -E .venv/bin/python -m pytest -m root_only -p no:cacheprovider"]


_OWNER = "needs root: the container action runs as root and hands files over"


@pytest.mark.root_only
@_skip_off_ci(IS_ROOT, _OWNER)
def test_reports_get_the_owner_of_the_workspace(tmp_path: Path, stub: StubServer) -> None:
    _require(IS_ROOT, _OWNER)
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    os.chown(workspace, 1000, 1000)
    run = run_action(tmp_path, gate_inputs(stub, "bad-key"), workspace=workspace)
    assert run.code == 3
    written = [workspace / "chat-smoke-reports", *(workspace / "chat-smoke-reports").iterdir()]
    assert {(p.stat().st_uid, p.stat().st_gid) for p in written} == {(1000, 1000)}


# -- with arguments: a chat-smoke command, or any program --------------------------------
def _entry(*args: str, cwd: Path, **kw: Any) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(cwd)}
    env.update(kw.pop("env", {}))
    return subprocess.run([sys.executable, str(ENTRYPOINT), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60, **kw)


def test_jenkins_cat_and_gitlab_sh_are_run(tmp_path: Path) -> None:
    cat = _entry("cat", cwd=tmp_path, input="kept open by Jenkins\n")
    assert (cat.returncode, cat.stdout) == (0, "kept open by Jenkins\n")
    sh = _entry("sh", "-c", "echo from-gitlab; exit 7", cwd=tmp_path)
    assert (sh.returncode, sh.stdout) == (7, "from-gitlab\n")


def test_chat_smoke_commands_run_the_cli(tmp_path: Path, stub: StubServer) -> None:
    for args in (["--version"], ["chat-smoke", "--version"]):
        assert "chat-smoke" in _entry(*args, cwd=tmp_path).stdout
    run = _entry("run", "--base-url", stub.url(), "--model", "stub-model",
                 "--report-dotenv", "gate.env", cwd=tmp_path,
                 env={"COMETAPI_API_KEY": KEY})
    assert run.returncode == 0, run.stdout + run.stderr
    assert "CHAT_SMOKE_VERDICT=pass\n" in (tmp_path / "gate.env").read_text()


def test_an_unknown_program_says_what_to_give(tmp_path: Path) -> None:
    run = _entry("no-such-program-xyz", cwd=tmp_path)
    assert run.returncode == 127
    assert "cannot run 'no-such-program-xyz'" in run.stderr and "run, stub, demo" in run.stderr


# -- the container contract: the lock in a fresh venv, non-root, read-only cwd -----------
def _lock() -> Path:
    lock = REPO / "requirements.txt"
    assert lock.is_file(), "requirements.txt is missing: the image installs from it"
    return lock


def _world_readable_dir(prefix: str) -> Path:
    """A folder the unprivileged uid can reach (pytest's own tmp folders are 0700)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


@pytest.fixture(scope="session")
def image_venv() -> Iterator[Path]:
    """The Dockerfile's install, in a venv: the hashed lock with --no-deps, then the
    package from a copy of the tree (so no build/ lands in the checkout), then only
    entrypoint.py (the Dockerfile removes the source so the installed package is used).
    Built once per session."""
    lock = _lock()
    root = _world_readable_dir("chat-smoke-image-")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
           "--disable-pip-version-check"]
    subprocess.run([*pip, "--require-hashes", "--no-deps", "-r", str(lock)], check=True,
                   timeout=600)
    source = root / "src"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".git", ".venv*", "*.egg-info", "build", "__pycache__", ".*_cache", "tests", "bench"))
    subprocess.run([*pip, "--no-deps", "--no-build-isolation", "--no-index", str(source)],
                   check=True, timeout=300)
    app = root / "opt"
    app.mkdir()
    shutil.copy(ENTRYPOINT, app / "entrypoint.py")
    subprocess.run(["chmod", "-R", "a+rX", str(root)], check=True)
    yield venv
    shutil.rmtree(root, ignore_errors=True)


_NON_ROOT = "needs root and setpriv to switch to an unprivileged uid"


@pytest.mark.root_only
@_skip_off_ci(IS_ROOT and HAS_SETPRIV, _NON_ROOT)
def test_the_locked_image_runs_as_non_root_in_a_read_only_workspace(
        image_venv: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    _require(IS_ROOT and HAS_SETPRIV, _NON_ROOT)
    tmp_path = _world_readable_dir("chat-smoke-nonroot-")
    with StubServer(key=KEY) as stub:
        workspace = tmp_path / "workspace"
        workspace.mkdir()
        files = tmp_path / "file_commands"
        files.mkdir()
        for sub in ("home", "temp"):
            (files / sub).mkdir()
        for name in ("output", "step_summary", "env", "path", "state"):
            (files / f"{name}_file").touch()
        subprocess.run(["chown", "-R", "65534:65534", str(files)], check=True)
        workspace.chmod(0o555)
        run = run_action(
            tmp_path,
            # report-dir outside the read-only workspace: Jenkins-style, a writable folder.
            gate_inputs(stub, **{"report-dir": str(files / "temp" / "reports")}),
            python=str(image_venv / "bin" / "python"),
            entrypoint=image_venv.parent / "opt" / "entrypoint.py",
            prefix=("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"),
            workspace=workspace)
    assert run.code == 0, run.stdout + run.stderr
    assert run.outputs["verdict"] == "pass"
    report = Path(run.outputs["report-json"])
    assert report.is_file() and report.stat().st_uid == 65534  # it really ran unprivileged
    assert list(workspace.iterdir()) == []  # and left nothing in the working directory
    assert "site-packages" in subprocess.run(
        [str(image_venv / "bin" / "python"), "-c", "import smoke; print(smoke.__file__)"],
        cwd="/", capture_output=True, text=True, check=True).stdout
    shutil.rmtree(tmp_path, ignore_errors=True)

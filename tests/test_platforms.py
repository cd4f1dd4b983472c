"""Every CI platform (smoke.ci): detection, the interface, command neutralising, native
features, the annotation cap. Gates run as subprocesses (``python -m smoke run``) with
each platform's environment against the stub's ``ci-hostile`` scenarios, whose answer,
error body and request id header carry every CI's command syntax; the logs and files
are read back by re-implementations of each CI's parsers (tests/support/ci_parsers.py,
tests/support/runner_rules.py)."""

from __future__ import annotations

import io
import json
import re
import ssl
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trustme
import yaml

from smoke import ci
from smoke.categories import Category
from smoke.ci import buildkite
from smoke.ci.platform import PlatformConsole
from smoke.ci.publish import RANK_NOTE, Platform, Publisher
from smoke.output import redact
from smoke.output.commands import defuse, defuse_junit
from smoke.output.console import Console
from smoke.reports import junit
from smoke.results import Check, GateResult
from smoke.stub import StubServer
from smoke.stub.scenarios import CI_HOSTILE, CI_HOSTILE_HEADER
from tests.support.ci_parsers import (
    azure_commands,
    buildkite_headers,
    gitlab_sections,
    junit_attachments,
    teamcity_messages,
)
from tests.support.cli import KEY
from tests.support.env import scrubbed
from tests.support.platforms import agent_calls, fake_agent, platform_env
from tests.support.results import gate_result
from tests.support.runner_rules import parse_output_file, run_commands

HOSTILE_MODELS = "scenario/ci-hostile,scenario/ci-hostile-error"
# Outside text as a log line could carry it: several lines, ESC and CR, each syntax.
HOSTILE_TEXT = CI_HOSTILE + "\n" + CI_HOSTILE_HEADER + "\n  ::warning::indented"


def all_parsers(log: str) -> dict[str, list[object]]:
    """What each CI would run for ``log``."""
    return {
        "github": [(c.name, c.data) for c in run_commands(log)],
        "azure": [(c.name, c.properties, c.data) for c in azure_commands(log)],
        "gitlab": list(gitlab_sections(log)),
        "buildkite": list(buildkite_headers(log)),
        "teamcity": list(teamcity_messages(log)),
    }


# -- detection -------------------------------------------------------------------------
@pytest.mark.parametrize(("env", "name"), [
    ({}, "local"),
    ({"GITHUB_ACTIONS": "true"}, "github"),
    ({"GITHUB_ACTIONS": "false"}, "local"),
    ({"GITLAB_CI": "true"}, "gitlab"),
    ({"TF_BUILD": "True"}, "azure"),
    ({"BUILDKITE": "true"}, "buildkite"),
    ({"JENKINS_URL": "https://jenkins.example/"}, "jenkins"),
    ({"CIRCLECI": "true"}, "circleci"),
    ({"BITBUCKET_BUILD_NUMBER": "12"}, "bitbucket"),
    ({"CI": "true"}, "local"),  # a CI we do not know: plain, everything defused
])
def test_detection(env: dict[str, str], name: str) -> None:
    assert ci.detect(env) == name
    platform = ci.make(ci.resolve("auto", env))
    assert platform.name == name and isinstance(platform, Platform)
    assert isinstance(platform.make_console(io.StringIO()), PlatformConsole)


def test_the_ci_setting_overrides_detection() -> None:
    env = {"GITHUB_ACTIONS": "true"}
    assert ci.resolve("azure", env) == "azure"
    assert ci.resolve("local", env) == "local"
    assert ci.resolve(None, env) == ci.resolve("auto", env) == "github"
    assert set(ci.CHOICES) == {"auto", "github", "gitlab", "azure", "buildkite", "jenkins",
                               "circleci", "bitbucket", "local"}


def test_every_platform_module_is_loadable() -> None:
    for name in ci.PLATFORMS:
        assert ci.make(name).name == name


# -- neutralising ----------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(set(ci.PLATFORMS) - {"github"}))
def test_echoed_text_runs_no_command_on_any_ci(name: str) -> None:
    """Every platform but GitHub (whose stop-commands block is tested in test_github.py)
    breaks every CI's syntax in echoed text: the log may be read by another CI's parser
    (a pasted log, an undetected CI)."""
    out = io.StringIO()
    console = ci.make(name).make_console(out)
    console.line(HOSTILE_TEXT)
    for part in HOSTILE_TEXT.split("\n"):
        console.line(part)
    console.warning(HOSTILE_TEXT)
    console.note(HOSTILE_TEXT)
    assert all_parsers(out.getvalue()) == {k: [] for k in all_parsers("")}
    assert "pwned" in out.getvalue()  # shown, as text


def test_the_plain_console_defuses_everything() -> None:
    out = io.StringIO()
    Console(out).line(HOSTILE_TEXT)
    assert all_parsers(out.getvalue()) == {k: [] for k in all_parsers("")}
    assert "\x1b" not in out.getvalue() and "\r" not in out.getvalue()


@pytest.mark.parametrize(("text", "shown"), [
    ("::error::x", "> ::error::x"),
    ("a ##vso[task.setvariable variable=X]y", "a ##vso [task.setvariable variable=X]y"),
    ("##[group]x", "## [group]x"),
    ("##VSO[task.complete]", "##VSO [task.complete]"),
    ("##teamcity[message text='x']", "##teamcity [message text='x']"),
    ("--- group", "> --- group"),
    ("+++ x", "> +++ x"),
    ("~~~ x", "> ~~~ x"),
    ("^^^ +++", "> ^^^ +++"),
    ("\x1b[0Ksection_start:1:x\r\x1b[0Kh", "^[[0Ksection_start:1:x ^[[0Kh"),
    ("pong -- fine", "pong -- fine"),
    ("a # b [c]", "a # b [c]"),
])
def test_defuse_keeps_the_text_readable(text: str, shown: str) -> None:
    assert defuse(text) == shown


def test_defuse_junit_leaves_no_marker() -> None:
    for text in ("[[ATTACHMENT|/etc/passwd]]", "[[[ATTACHMENT|x]]", "[[[[PROPERTY|a=b]]"):
        assert "[[" not in defuse_junit(text)


# -- the interface's native commands, in process --------------------------------------
def _failing_result(*categories: Category | None, warnings: int = 0) -> GateResult:
    checks = [Check("preflight:config", "preflight", "configuration", outcome="pass")]
    for i, category in enumerate(categories):
        check = Check(f"positive:m{i}", "positive", f"chat completion (m{i})", f"m{i}",
                      outcome="fail", category=category, message=f"failure {i} {CI_HOSTILE}",
                      request_id=CI_HOSTILE_HEADER)
        checks.append(check)
    return gate_result(*checks, started_at="2026-01-01T00:00:00.000Z", duration_ms=5,
                       environment="staging", deployment_sha=None,
                       endpoint={"base_url": "https://x.example/v1", "host": "x.example",
                                 "path": "/v1"},
                       warnings=[f"warning {i}" for i in range(warnings)])


def _publisher(name: str, out: io.StringIO, env: dict[str, str] | None = None,
               soft: bool = False) -> Publisher:
    """A platform's console on ``out`` and its publisher, as the pipeline makes them."""
    platform = ci.make(name)
    return Publisher(platform, platform.make_console(out), env or {}, soft=soft)


def test_azure_native_commands(tmp_path: Path) -> None:
    redact.register(KEY)
    out = io.StringIO()
    azure = _publisher("azure", out, {"AGENT_TEMPDIRECTORY": str(tmp_path)})
    azure.console.group("chat-smoke: checks")
    azure.console.line(HOSTILE_TEXT)
    result = _failing_result(Category.ASSERTION, Category.AUTH)
    azure.publish(result)
    commands = azure_commands(out.getvalue())
    names = [c.name for c in commands]
    assert names == ["task.setsecret", "##[group]", "##[endgroup]", *["task.setvariable"] * 6,
                     "task.uploadsummary", "task.logissue", "task.logissue"]
    assert commands[0].data == KEY
    variables = {c.properties["variable"]: c.data for c in commands
                 if c.name == "task.setvariable"}
    assert variables["CHAT_SMOKE_VERDICT"] == "fail"
    assert variables["CHAT_SMOKE_CATEGORY"] == "auth"
    assert variables["CHAT_SMOKE_OWNER"] == "the-secrets-owner"  # the role name, plain
    assert all(c.properties["isoutput"] == "true" for c in commands
               if c.name == "task.setvariable")
    issues = [c for c in commands if c.name == "task.logissue"]
    assert [c.properties["type"] for c in issues] == ["error", "error"]
    assert issues[0].data.startswith("chat-smoke auth:")  # the deciding failure first
    summary = Path([c for c in commands if c.name == "task.uploadsummary"][0].data)
    assert summary.parent == tmp_path and "chat-smoke failed" in summary.read_text()


def test_gitlab_sections_are_ours_only() -> None:
    out = io.StringIO()
    gitlab = ci.make("gitlab").make_console(out)
    gitlab.group("chat-smoke: configuration")
    gitlab.line(HOSTILE_TEXT)
    gitlab.group("chat-smoke: checks")
    gitlab.line(HOSTILE_TEXT)
    gitlab.close()
    sections = gitlab_sections(out.getvalue())
    assert sections == [("start", "chat-smoke_configuration", "[collapsed=true]"),
                        ("end", "chat-smoke_configuration", ""),
                        ("start", "chat-smoke_checks", ""),
                        ("end", "chat-smoke_checks", "")]


# -- GitHub's annotation cap ----------------------------------------------------------
def test_github_shows_at_most_ten_per_level_deciding_first(tmp_path: Path) -> None:
    out = io.StringIO()
    github = _publisher("github", out)
    # 20 failures; the deciding one (auth, exit 3) is last in check order.
    categories = [Category.UPSTREAM] * 8 + [Category.ASSERTION] * 8 + [Category.MODEL] * 3
    result = _failing_result(*categories, Category.AUTH, warnings=14)
    # Another feature's warnings (drift, PR comments, certificates) share the cap.
    github.annotate("warning", "drift: the model answered differently", "chat-smoke drift")
    github.publish(result)
    commands = run_commands(out.getvalue())
    errors = [c for c in commands if c.name == "error"]
    warnings = [c for c in commands if c.name == "warning"]
    assert len(errors) == 10 and len(warnings) == 10
    assert errors[0].properties["title"] == "chat-smoke auth: chat completion (m19)"
    # Then by precedence: model (4) before assertion (6) before upstream (5 ranks last).
    assert [e.properties["title"].split(":")[0] for e in errors[1:9]] == [
        "chat-smoke model"] * 3 + ["chat-smoke assertion"] * 5
    assert errors[9].data.startswith("11 more failures: see the job summary")
    assert warnings[9].data.startswith("6 more warnings")


def test_the_cap_counts_annotations_already_shown() -> None:
    out = io.StringIO()
    github = _publisher("github", out, soft=True)  # fail-on-error: false
    for i in range(7):
        github.annotate("warning", f"early {i}", "", (RANK_NOTE,))
        github.flush_annotations()
    github.publish(_failing_result(Category.AUTH, warnings=8))
    warnings = [c for c in run_commands(out.getvalue()) if c.name == "warning"]
    assert len(warnings) == 10
    # Three slots were left: the deciding failure, the note that it is only a warning,
    # and how many more there were.
    assert warnings[7].properties["title"] == "chat-smoke auth: chat completion (m0)"
    assert warnings[8].properties["title"] == "chat-smoke: failure reported as a warning"
    assert warnings[9].data.startswith("8 more warnings")


def test_ten_or_fewer_are_all_shown() -> None:
    out = io.StringIO()
    _publisher("github", out).publish(_failing_result(*[Category.TIMEOUT] * 10))
    errors = [c for c in run_commands(out.getvalue()) if c.name == "error"]
    assert len(errors) == 10 and not any("more failures" in e.data for e in errors)


# -- JUnit -----------------------------------------------------------------------------
def test_junit_is_safe_for_gitlab_and_jenkins() -> None:
    result = _failing_result(Category.AUTH, None)
    result.checks[1].answer = CI_HOSTILE
    text = junit.render(result)
    assert junit_attachments(text) == []
    root = ET.fromstring(text.encode("utf-8"))
    bodies = [f.text or "" for f in root.iter() if f.tag in ("failure", "error")]
    # GitLab shows the test case name and the failure body: the category leads it.
    assert bodies[0].startswith("auth: failure 0")
    assert bodies[1].startswith("internal: failure 1")
    assert [c.get("name") for c in root.iter("testcase")] == [
        "preflight:config", "positive:m0", "positive:m1"]


# -- whole runs, one per platform --------------------------------------------------------
@dataclass
class RawRun:
    code: int
    stdout: str
    stderr: str
    cwd: Path


def run_raw(tmp_path: Path, env: dict[str, str], *args: str,
            program: tuple[str, ...] = ("-m", "smoke")) -> RawRun:
    """``python -m smoke run`` with exactly ``env`` added to a clean environment; the
    output kept byte for byte (CR and ESC matter to the parsers)."""
    base = scrubbed(COMETAPI_API_KEY=KEY, **env)
    proc = subprocess.run([sys.executable, *program, "run", *args], cwd=tmp_path,
                          env=base, capture_output=True, timeout=90)
    return RawRun(proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8"),
                  tmp_path)


NO_COMMANDS = {"github": [], "azure": [], "gitlab": [], "buildkite": [], "teamcity": []}
GROUPS = ["chat-smoke: configuration", "chat-smoke: checks"]


def expected_commands(name: str) -> dict[str, list[object]]:
    """The commands chat-smoke itself means to send, per parser, for a failing run of
    the two hostile models on platform ``name``; anything else came from outside."""
    if name == "gitlab":
        return {**NO_COMMANDS, "gitlab": [
            ("start", "chat-smoke_configuration", "[collapsed=true]"),
            ("end", "chat-smoke_configuration", ""), ("start", "chat-smoke_checks", ""),
            ("end", "chat-smoke_checks", "")]}
    if name == "buildkite":
        return {**NO_COMMANDS, "buildkite": [f"--- {g}" for g in GROUPS] + ["^^^ +++"]}
    return NO_COMMANDS


@pytest.mark.parametrize("name", sorted(ci.PLATFORMS))
def test_a_hostile_endpoint_runs_no_command_on_any_ci(name: str, tmp_path: Path,
                                                      stub: StubServer) -> None:
    run = run_raw(tmp_path, platform_env(name, tmp_path), "--base-url", stub.url(),
                  "--model", HOSTILE_MODELS, "--retries", "0", "--report-json", "report.json",
                  "--report-junit", "junit.xml", "--summary", "summary.md",
                  "--report-dotenv", "gate.env")
    assert run.code == 4, run.stdout + run.stderr  # request (4) outranks assertion (6)
    assert "pwned" in run.stdout  # the outside text is shown, as text
    # Only the mask commands carry the key: to the CI's masker, which hides it from then on.
    masks = ("::add-mask::", "##vso[task.setsecret]")
    assert [line for line in (run.stdout + run.stderr).splitlines()
            if KEY in line and not line.startswith(masks)] == []
    junit_text = (tmp_path / "junit.xml").read_text("utf-8")
    assert junit_attachments(junit_text) == []
    assert "[ [ATTACHMENT|/etc/passwd]]" in junit_text  # shown, as text
    report = json.loads((tmp_path / "report.json").read_text("utf-8"))
    assert report["category"] == "request"
    for stream in (run.stdout, run.stderr):
        found = all_parsers(stream)
        if name == "github":
            github = [c for c in run_commands(stream)]
            if stream is run.stdout:
                assert [c.name for c in github] == [
                    "add-mask", "group", "endgroup", "group", "endgroup", "error", "error"]
                assert github[5].properties["title"].startswith("chat-smoke request:")
                outputs = dict(parse_output_file((tmp_path / "output").read_text("utf-8")))
                assert outputs["category"] == "request"
            else:
                assert github == []
            # Inside the stop-commands block the text is shown unchanged (test_github.py):
            # no other CI reads a GitHub log, so the other parsers are not asked.
            continue
        if name == "azure":
            native = azure_commands(stream)
            if stream is run.stdout:
                assert [c.name for c in native] == [
                    "task.setsecret", "##[group]", "##[endgroup]", "##[group]", "##[endgroup]",
                    *["task.setvariable"] * 6, "task.uploadsummary", "task.logissue",
                    "task.logissue"]
                assert [c.properties.get("variable") for c in native[5:11]] == [
                    "CHAT_SMOKE_VERDICT", "CHAT_SMOKE_CATEGORY", "CHAT_SMOKE_EXIT_CODE",
                    "CHAT_SMOKE_REQUEST_ID", "CHAT_SMOKE_DURATION_MS", "CHAT_SMOKE_OWNER"]
                assert native[11].data == str(tmp_path / "summary.md")
                assert native[12].data.startswith("chat-smoke request:")
            else:
                assert native == []
            found = {**found, "azure": [], "github": []}  # checked above; ##[group] is ours
        else:
            want = expected_commands(name) if stream is run.stdout else NO_COMMANDS
            assert found == want, stream
        assert found["teamcity"] == [] and found["gitlab"] == (
            expected_commands("gitlab")["gitlab"] if name == "gitlab" and stream is run.stdout
            else [])
    if name == "buildkite":
        calls = agent_calls(tmp_path)
        assert calls[0] == (["redactor", "add"], KEY)
        args, body = calls[-1]
        assert args == ["annotate", "--style", "error", "--context", "chat-smoke"]
        assert "chat-smoke failed" in body and KEY not in body


def test_buildkite_annotates_a_pass_as_success(tmp_path: Path, stub: StubServer) -> None:
    run = run_raw(tmp_path, platform_env("buildkite", tmp_path), "--base-url", stub.url(),
                  "--model", "stub-model")
    assert run.code == 0, run.stdout + run.stderr
    args, body = agent_calls(tmp_path)[-1]
    assert args == ["annotate", "--style", "success", "--context", "chat-smoke"]
    assert "chat-smoke passed" in body
    assert buildkite_headers(run.stdout) == [f"--- {g}" for g in GROUPS]


def test_a_hanging_buildkite_agent_is_bounded(tmp_path: Path, stub: StubServer,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    env = fake_agent(tmp_path, "#!/bin/sh\nexec sleep 30\n")
    monkeypatch.setenv("PATH", env["PATH"])
    monkeypatch.setattr(buildkite, "AGENT_TIMEOUT", 0.5)
    out = io.StringIO()
    platform = _publisher("buildkite", out, {"PATH": env["PATH"]})
    started = time.monotonic()
    platform.publish(_failing_result(Category.AUTH))
    assert time.monotonic() - started < 20  # generous: the sleep is 30 s
    assert "the build annotation was not added: buildkite-agent annotate did not finish" \
        in out.getvalue()


def test_no_agent_no_annotation(tmp_path: Path, stub: StubServer) -> None:
    run = run_raw(tmp_path, {"BUILDKITE": "true", "PATH": "/usr/bin:/bin"}, "--base-url",
                  stub.url(), "--model", "stub-model")
    assert run.code == 0 and "annotation" not in run.stdout + run.stderr


@pytest.mark.parametrize(("given", "where"), [
    ((), "test-results/chat-smoke/junit.xml"),
    (("--report-junit", "mine.xml"), "mine.xml"),
])
def test_bitbucket_gets_junit_where_it_looks(tmp_path: Path, stub: StubServer,
                                             given: tuple[str, ...], where: str) -> None:
    run = run_raw(tmp_path, {"BITBUCKET_BUILD_NUMBER": "3"}, "--base-url",
                  stub.url("bad-key"), "--model", "stub-model", *given)
    assert run.code == 3
    root = ET.fromstring((tmp_path / where).read_bytes())
    assert root.get("failures") == "1"
    if given:
        assert not (tmp_path / "test-results").exists()


def test_no_default_report_elsewhere(tmp_path: Path, stub: StubServer) -> None:
    run = run_raw(tmp_path, {"JENKINS_URL": "https://j.example/"}, "--base-url", stub.url(),
                  "--model", "stub-model")
    assert run.code == 0 and sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("how", ["flag", "env", "file"])
def test_ci_chosen_by_flag_env_or_file(how: str, tmp_path: Path, stub: StubServer) -> None:
    args: tuple[str, ...] = ()
    env = {"GITHUB_ACTIONS": "true"}  # detected, but overridden
    if how == "flag":
        args = ("--ci", "azure")
    elif how == "env":
        env["SMOKE_CI"] = "azure"
    else:
        (tmp_path / "chat-smoke.yml").write_text("ci: azure\n")
    run = run_raw(tmp_path, env, "--base-url", stub.url(), "--model", "stub-model", *args)
    assert run.code == 0, run.stderr
    assert azure_commands(run.stdout)[0].name == "task.setsecret"
    assert run_commands(run.stdout) == [c for c in run_commands(run.stdout)
                                        if c.name in ("group", "endgroup")]


@pytest.mark.parametrize(("args", "message"), [
    (("--ci", "travis"), "--ci: 'travis' is not one of auto, github, gitlab, azure"),
    (("--dotenv-prefix", "9LIVES"), "--dotenv-prefix: '9LIVES' does not match"),
    (("--dotenv-prefix", "A-B"), "--dotenv-prefix: 'A-B' does not match"),
])
def test_bad_values_are_one_line(args: tuple[str, ...], message: str, tmp_path: Path,
                                 stub: StubServer) -> None:
    run = run_raw(tmp_path, {}, "--base-url", stub.url(), "--model", "stub-model", *args)
    assert run.code == 2
    assert run.stderr.strip().splitlines() == [
        line for line in run.stderr.strip().splitlines() if message in line]
    assert "Traceback" not in run.stderr


def test_dotenv_prefix(tmp_path: Path, stub: StubServer) -> None:
    run = run_raw(tmp_path, {}, "--base-url", stub.url("bad-key"), "--model", "stub-model",
                  "--report-dotenv", "staging.env", "--dotenv-prefix", "STAGING_")
    assert run.code == 3
    pairs = dict(line.split("=", 1) for line in
                 (tmp_path / "staging.env").read_text().splitlines())
    assert list(pairs) == ["STAGING_VERDICT", "STAGING_CATEGORY", "STAGING_EXIT_CODE",
                           "STAGING_REQUEST_ID", "STAGING_DURATION_MS", "STAGING_OWNER"]
    assert pairs["STAGING_CATEGORY"] == "auth"
    run = run_raw(tmp_path, {"SMOKE_DOTENV_PREFIX": "PROD_"}, "--base-url", stub.url(),
                  "--model", "stub-model", "--report-dotenv", "prod.env")
    assert (tmp_path / "prod.env").read_text().startswith("PROD_VERDICT=pass\n")


# -- GitHub's cap, through the action as the runner starts it -----------------------------
@pytest.mark.parametrize("fail_on_error", ["true", "false"])
def test_the_action_never_shows_more_than_ten_per_level(tmp_path: Path, stub: StubServer,
                                                        fail_on_error: str) -> None:
    from tests.support.action_runner import gate_inputs, run_action

    # 18 models failing four ways; the deciding one (auth, exit 3) is listed last.
    models = ([f"scenario/server-error~{i}" for i in range(6)]
              + [f"scenario/wrong-answer~{i}" for i in range(8)]
              + [f"scenario/unknown-model~{i}" for i in range(3)] + ["scenario/bad-key"])
    run = run_action(tmp_path, gate_inputs(stub, model=",".join(models), retries="0",
                                           **{"fail-on-error": fail_on_error}))
    assert run.outputs["category"] == "auth" and run.outputs["exit-code"] == "3"
    commands = run_commands(run.stdout)
    level = "error" if fail_on_error == "true" else "warning"
    shown = [c for c in commands if c.name == level]
    assert len(shown) == 10
    assert all(len([c for c in commands if c.name == name]) <= 10
               for name in ("error", "warning", "notice"))
    assert shown[0].properties["title"] == "chat-smoke auth: chat completion (scenario/bad-key)"
    if fail_on_error == "true":
        assert shown[-1].data.startswith("9 more failures: see the job summary")
    else:  # the 18 failures as warnings, and the note that the step still succeeds
        assert shown[1].properties["title"] == "chat-smoke: failure reported as a warning"
        assert shown[-1].data.startswith("10 more warnings: see the job summary")
    assert run.code == (3 if fail_on_error == "true" else 0)


# -- examples and guides: one of each per CI ----------------------------------------------
REPO = Path(__file__).resolve().parents[1]
# Each CI: its example, and its guide under docs/ (the README's "Run it in ..." sections
# moved there; the README links each one).
EXAMPLES = {
    "github": ("docs/github-actions.md", "docs/github-actions.md"),
    "gitlab": ("examples/gitlab-ci.yml", "docs/gitlab.md"),
    "jenkins": ("examples/Jenkinsfile", "docs/jenkins.md"),
    "azure": ("examples/azure-pipelines.yml", "docs/azure.md"),
    "buildkite": ("examples/buildkite-pipeline.yml", "docs/buildkite.md"),
    "circleci": ("examples/circleci/config.yml", "docs/circleci.md"),
    "bitbucket": ("examples/bitbucket-pipelines.yml", "docs/bitbucket.md"),
}

OTHER_TOOLS = {"--entrypoint", "--context", "--style"}  # docker's, buildkite-agent's


def test_every_ci_has_an_example_and_a_guide() -> None:
    from click.testing import CliRunner

    from smoke.cli import main

    assert set(EXAMPLES) == set(ci.PLATFORMS) - {"local"}
    readme = (REPO / "README.md").read_text("utf-8")
    options = CliRunner().invoke(main, ["run", "--help"]).output
    for name, (example, guide) in EXAMPLES.items():
        page = (REPO / guide).read_text("utf-8")
        assert page.startswith("# ") and "```" in page, guide
        assert f"]({guide})" in readme, f"the README does not link {guide}"
        if name == "github":  # the action; the guides' options are checked by test_cli.py
            continue
        text = (REPO / example).read_text("utf-8")
        assert "chat-smoke run" in text and "chat-smoke" in page, example
        flags = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]+)", text)) - OTHER_TOOLS
        assert flags and all(flag in options for flag in flags), (example, flags)
    overview = (REPO / "docs" / "ci.md").read_text("utf-8")
    for name in ci.PLATFORMS:
        assert f"`{name}`" in overview  # the --ci values are documented


def test_the_azure_example_matches_what_the_gate_writes() -> None:
    text = (REPO / "examples/azure-pipelines.yml").read_text("utf-8")
    pipeline = yaml.safe_load(text)
    container = pipeline["resources"]["containers"][0]
    assert container["options"] == '--entrypoint ""'
    gate = pipeline["jobs"][0]
    steps = gate["steps"]
    assert steps[0]["env"] == {"COMETAPI_API_KEY": "$(COMETAPI_API_KEY)"}
    publish = [s for s in steps if s.get("task") == "PublishTestResults@2"][0]
    assert publish["inputs"]["testResultsFiles"] in steps[0]["script"]
    assert publish["condition"] == "succeededOrFailed()"
    # The output variable the deploy job reads is one the gate sets.
    assert f"{steps[0]['name']}.CHAT_SMOKE_VERDICT" in text


def test_the_bitbucket_example_relies_on_the_default_junit_path() -> None:
    from smoke.ci.bitbucket import DEFAULT_JUNIT

    pipeline = yaml.safe_load((REPO / "examples/bitbucket-pipelines.yml").read_text("utf-8"))
    step = pipeline["pipelines"]["default"][0]["step"]
    assert "--report-junit" not in " ".join(step["script"])
    assert DEFAULT_JUNIT.startswith("test-results/") and DEFAULT_JUNIT.count("/") <= 3
    assert "test-results/**" in step["artifacts"]


def test_azure_keeps_the_same_cap() -> None:
    out = io.StringIO()
    categories = [Category.TIMEOUT] * 12 + [Category.QUOTA]
    _publisher("azure", out, {"AGENT_TEMPDIRECTORY": ""}).publish(
        _failing_result(*categories, warnings=3))
    issues = [c for c in azure_commands(out.getvalue()) if c.name == "task.logissue"]
    errors = [c for c in issues if c.properties["type"] == "error"]
    assert len(errors) == 10
    assert errors[0].data.startswith("chat-smoke quota: chat completion (m12)")
    assert errors[-1].data.startswith("chat-smoke: 4 more failures: see the job summary")
    assert len([c for c in issues if c.properties["type"] == "warning"]) == 3


@pytest.mark.parametrize("name", ["azure", "gitlab", "buildkite"])
def test_the_image_entrypoint_behaves_the_same(name: str, tmp_path: Path,
                                               stub: StubServer) -> None:
    """The container's entry point with a command (as GitLab, Azure and Buildkite start
    it): the same platform, the same defusing."""
    entrypoint = str(REPO / "entrypoint.py")
    run = run_raw(tmp_path, platform_env(name, tmp_path), "--base-url", stub.url(),
                  "--model", HOSTILE_MODELS, "--retries", "0", program=(entrypoint,))
    assert run.code == 4, run.stdout + run.stderr
    found = all_parsers(run.stdout)
    assert found["teamcity"] == [] and found["gitlab"] == expected_commands(name)["gitlab"]
    assert found["buildkite"] == expected_commands(name)["buildkite"]
    pwned = [c for c in azure_commands(run.stdout) if "pwned" in str(c.properties)
             or c.name not in ("task.setsecret", "##[group]", "##[endgroup]",
                               "task.setvariable", "task.uploadsummary", "task.logissue")]
    assert pwned == []
    assert len(azure_commands(run.stdout)) == (14 if name == "azure" else 0)


@pytest.mark.parametrize("fail_on_error", ["true", "false"])
def test_a_certificate_warning_shares_the_cap(fail_on_error: str, tmp_path: Path,
                                              ca: trustme.CA, ca_file: str) -> None:
    """A real warning from another feature (the certificate expires in 3 days) counts
    toward GitHub's 10 per level like the failures do."""
    leaf = ca.issue_cert("127.0.0.1", common_name="stub.test",
                         not_after=datetime.now(UTC) + timedelta(days=3.5))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(context)
    models = ",".join(f"scenario/wrong-answer~{i}" for i in range(11))
    env = {**platform_env("github", tmp_path), "INPUT_FAIL-ON-ERROR": fail_on_error}
    with StubServer(key=KEY, tls=context) as server:
        run = run_raw(tmp_path, env, "--base-url", server.base_url, "--model", models,
                      "--ca-bundle", ca_file, "--report-json", "report.json")
    report = json.loads((tmp_path / "report.json").read_text("utf-8"))
    assert len(report["warnings"]) == 1 and "expires in 3 days" in report["warnings"][0]
    commands = run_commands(run.stdout)
    errors = [c for c in commands if c.name == "error"]
    warnings = [c for c in commands if c.name == "warning"]
    if fail_on_error == "true":
        assert len(errors) == 10 and errors[-1].data.startswith("2 more failures")
        assert [w.properties["title"] for w in warnings] == ["chat-smoke warning"]
    else:
        # 11 failures as warnings, the note that the step succeeds, the certificate: 13.
        assert errors == [] and len(warnings) == 10
        assert warnings[-1].data.startswith("4 more warnings")


def test_past_the_cap_a_warning_is_still_in_the_log() -> None:
    out = io.StringIO()
    github = _publisher("github", out)
    for i in range(10):
        github.annotate("warning", f"early {i}", "", (RANK_NOTE,))
        github.flush_annotations()
    github.annotate("warning", "drift: a late warning", "chat-smoke drift")
    github.close()
    assert len([c for c in run_commands(out.getvalue()) if c.name == "warning"]) == 10
    assert "warning: chat-smoke drift: drift: a late warning" in out.getvalue()


def test_the_pull_request_comment_warning_shares_the_cap(tmp_path: Path) -> None:
    """comment-on-pr runs in GitHub's publish step; its warning (here: no pull-request
    number in the event file) is one more annotation under the same cap."""
    env = {"INPUT_COMMENT-ON-PR": "true", "GITHUB_EVENT_NAME": "pull_request",
           "GITHUB_EVENT_PATH": str(tmp_path / "missing.json"), "INPUT_FAIL-ON-ERROR": "false"}
    out = io.StringIO()
    _publisher("github", out, env, soft=True).publish(
        _failing_result(*[Category.UPSTREAM] * 11, Category.AUTH))
    warnings = [c for c in run_commands(out.getvalue()) if c.name == "warning"]
    # 12 failures as warnings, the note, the comment's warning: 14, so 9 and "5 more".
    assert len(warnings) == 10 and warnings[-1].data.startswith("5 more warnings")
    # The deciding failure, then notes about the run (the comment's problem is one), then
    # the other failures.
    assert [w.properties["title"] for w in warnings[:4]] == [
        "chat-smoke auth: chat completion (m11)", "chat-smoke: failure reported as a warning",
        "chat-smoke: pull-request comment", "chat-smoke upstream: chat completion (m0)"]
    assert "no pull-request number in GITHUB_EVENT_PATH" in warnings[2].data

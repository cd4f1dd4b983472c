"""Incident issues with a lifecycle (issue 23), against fake GitHub and GitLab issues APIs
on loopback (tests/support/fake_trackers.py): open on the first failure, update (no new issue)
on the next, comment only on a state change, reopen within the window, close on
recovery, incident_after chained through the previous report, a cancelled run touching
nothing, API errors and hangs as bounded warnings, the token never printed."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from smoke import pipeline
from smoke.alerts import incidents, issue_body
from smoke.config.settings import Settings
from smoke.output import redact
from smoke.output.console import Console
from smoke.reports import json_report
from smoke.results import GateResult
from smoke.stub import StubServer
from tests.support import fake_trackers
from tests.support.cli import KEY
from tests.support.env import scrubbed
from tests.support.fake_trackers import GITLAB_TOKEN, TOKEN, FakeTracker
from tests.support.results import cancelled

CONFIG = """\
environment: prod
owners:
  - match: credentials
    team: Platform
    mention: "@acme/platform"
    runbook: https://runbooks.example/platform
    labels: [incident, platform]
    assignees: [alice]
  - match: answer
    team: Prompts
"""
PLATFORM_KEY = "prod/team:platform"


@dataclass
class Published:
    result: GateResult
    settings: Settings
    done: list[str] | None
    warnings: list[str] = field(default_factory=list)
    said: list[str] = field(default_factory=list)
    seconds: float = 0.0


@pytest.fixture
def github() -> Iterator[FakeTracker]:
    with fake_trackers.serve("github") as fake:
        yield fake


@pytest.fixture
def gitlab() -> Iterator[FakeTracker]:
    with fake_trackers.serve("gitlab") as fake:
        yield fake


def _env(fake: FakeTracker) -> dict[str, str]:
    return fake_trackers.github_env(fake) if fake.kind == "github" \
        else fake_trackers.gitlab_env(fake)


def _publish(tmp_path: Path, stub: StubServer, fake: FakeTracker, models: str,
             extra: str = "", result_hook: Any = None) -> Published:
    (tmp_path / "chat-smoke.yml").write_text(CONFIG + extra)
    flags = {"base_url": stub.url(), "model": models, "retries": "0",
             "incident_issue": "true"}
    with redact.scope():
        result, settings = pipeline.check(flags, {"COMETAPI_API_KEY": KEY}, tmp_path,
                                    Console(out=io.StringIO()))
        assert settings is not None
        if result_hook is not None:
            result = result_hook(result)
        out = Published(result, settings, None)
        started = time.monotonic()
        out.done = incidents.publish(result, settings, _env(fake), out.warnings.append,
                                     out.said.append)
        out.seconds = time.monotonic() - started
    return out


AUTH = "scenario/bad-key"  # a model id the stub answers with 401: credentials, Platform
ANSWER = "scenario/wrong-answer"  # answered, but not "pong": assertion, Prompts
OK = "stub-model"


# -- the lifecycle on GitHub --------------------------------------------------------------
def test_open_then_update_then_comment_only_on_a_change_then_close(
        tmp_path: Path, stub: StubServer, github: FakeTracker) -> None:
    github.add("an unrelated issue")
    github.add("a pull request", pull_request=True)
    first = _publish(tmp_path, stub, github, f"{OK},{AUTH}")
    assert first.done == [f"opened #3 for {PLATFORM_KEY}"], first.warnings
    assert first.warnings == []
    post = [c for c in github.calls if c.method == "POST"][0]
    assert post.body["title"] == "chat-smoke: Platform on prod"  # no date
    assert post.body["labels"] == ["incident", "platform"]
    assert post.body["assignees"] == ["alice"]
    issue = github.get(3)
    body = github.body_of(issue)
    assert body.startswith(f"<!-- chat-smoke:incident {PLATFORM_KEY} -->\n")
    # The runbook's incident fields, the failing checks and models, counters, the run.
    for fact in ("timestamp:", "environment:", "endpoint:", "model:", "http status:",
                 "error:", "duration:", "deployment sha:", "request id:"):
        assert fact in body, fact
    assert "| Consecutive failed runs | 1 |" in body
    assert "| Models | scenario/bad\\-key |" in body or "scenario/bad" in body
    assert "**Owner:** Platform @acme/platform" in body
    assert "(https://github.example.test/acme/shop/actions/runs/555)" in body
    assert len(body) < 65_536

    github.calls.clear()
    second = _publish(tmp_path, stub, github, f"{OK},{AUTH}")
    assert second.done == [f"updated #3 for {PLATFORM_KEY}"]
    assert github.writes() == [("PATCH", f"{fake_trackers.GITHUB_PREFIX}/repos/acme/shop/"
                                         "issues/3")]  # no new issue, no comment
    assert len([i for i in github.issues if "chat-smoke:incident" in github.body_of(i)]) == 1
    assert '"failed_runs":2' in github.body_of(github.get(3))
    assert github.comments[3] == []

    # A new failing model of the same owner: the state changed, one comment.
    github.calls.clear()
    third = _publish(tmp_path, stub, github, f"{OK},{AUTH},scenario/forbidden")
    assert third.done == [f"updated #3 for {PLATFORM_KEY} (commented: state changed)"]
    assert len(github.comments[3]) == 1
    assert "new categor" in github.comments[3][0] and "permission" in github.comments[3][0]
    assert "scenario/forbidden" in github.comments[3][0]
    # The same again: no comment.
    fourth = _publish(tmp_path, stub, github, f"{OK},{AUTH},scenario/forbidden")
    assert fourth.done == [f"updated #3 for {PLATFORM_KEY}"] and len(github.comments[3]) == 1

    # Recovery: "recovered" with how long it lasted and the failed runs, then closed.
    github.calls.clear()
    fifth = _publish(tmp_path, stub, github, OK)
    assert fifth.done == [f"closed #3 for {PLATFORM_KEY} (recovered)"]
    closing = github.comments[3][-1]
    assert closing.startswith("**Recovered** at ") and "over 4 failed runs" in closing
    assert "it lasted " in closing
    assert github.get(3)["state"] == "closed"
    assert github.get(3)["state_reason"] == "completed"
    # A later pass touches nothing.
    github.calls.clear()
    sixth = _publish(tmp_path, stub, github, OK)
    assert sixth.done == [] and github.writes() == []


def test_reopen_within_the_window_else_a_new_issue(tmp_path: Path, stub: StubServer,
                                                   github: FakeTracker) -> None:
    marker = issue_body.marker(PLATFORM_KEY)
    old = github.add(f"{marker}\nold", open_=False,
                     closed_at=datetime.now(UTC) - timedelta(days=3))
    reopened = _publish(tmp_path, stub, github, AUTH)
    assert reopened.done == [f"reopened #{old['number']} for {PLATFORM_KEY}"]
    assert github.is_open(old) and github.comments[old["number"]][0].startswith(
        "**Failing again**")
    assert [c.method for c in github.calls].count("POST") == 1  # the comment; no new issue

    # Closed 10 days ago, outside the default 7: a new issue.
    github.issues.clear()
    stale = github.add(f"{marker}\nold", open_=False,
                       closed_at=datetime.now(UTC) - timedelta(days=10))
    fresh = _publish(tmp_path, stub, github, AUTH)
    assert fresh.done == [f"opened #{stale['number'] + 1} for {PLATFORM_KEY}"]
    assert not github.is_open(stale)
    # incident_reopen_days: 30 reopens it.
    github.issues.clear()
    stale = github.add(f"{marker}\nold", open_=False,
                       closed_at=datetime.now(UTC) - timedelta(days=10))
    wide = _publish(tmp_path, stub, github, AUTH, "incident_reopen_days: 30\n")
    assert wide.done == [f"reopened #{stale['number']} for {PLATFORM_KEY}"]


def test_found_through_the_pages(tmp_path: Path, stub: StubServer, github: FakeTracker) -> None:
    ours = github.add(f"{issue_body.marker(PLATFORM_KEY)}\nold")
    for number in range(250):
        github.add(f"issue {number}")  # more recently updated than ours: pages 1-3
    done = _publish(tmp_path, stub, github, AUTH)
    assert (done.done or [""])[0].startswith(f"updated #{ours['number']} for {PLATFORM_KEY}"), \
        done.warnings
    pages = [c.query.get("page", ["1"])[0] for c in github.calls if c.method == "GET"]
    assert pages == ["1", "2", "3"]
    assert all(c.query["per_page"] == ["100"] and c.query["state"] == ["all"]
               for c in github.calls if c.method == "GET")


def test_a_key_per_owner_and_group_without_a_map(tmp_path: Path, stub: StubServer,
                                                 github: FakeTracker) -> None:
    both = _publish(tmp_path, stub, github, f"{AUTH},{ANSWER}")
    assert sorted(both.done or []) == ["opened #1 for prod/team:platform",
                                       "opened #2 for prod/team:prompts"]
    # Without a rule for the category: environment plus category group.
    github.issues.clear()
    (tmp_path / "chat-smoke.yml").write_text("environment: prod\n")
    result, settings = pipeline.check({"base_url": stub.url(), "model": AUTH, "retries": "0"},
                                {"COMETAPI_API_KEY": KEY}, tmp_path, Console(out=io.StringIO()))
    assert settings is not None
    done = incidents.publish(result, settings, fake_trackers.github_env(github),
                             print, print)
    assert done == ["opened #3 for prod/group:credentials"]
    assert github.get(3)["title"] == "chat-smoke: credentials failures on prod"


def test_a_cancelled_run_touches_nothing(tmp_path: Path, stub: StubServer,
                                         github: FakeTracker) -> None:
    github.add(f"{issue_body.marker(PLATFORM_KEY)}\nopen")
    out = _publish(tmp_path, stub, github, AUTH,
                   result_hook=cancelled)
    assert out.done is None and out.warnings == [] and github.calls == []


def test_the_body_fits_githubs_limit(tmp_path: Path, stub: StubServer,
                                     github: FakeTracker) -> None:
    import dataclasses

    def huge(result: GateResult) -> GateResult:
        check = next(c for c in result.checks if c.outcome == "fail")
        many = [dataclasses.replace(check, id=f"positive:m{i}", model=f"m{i}" * 20,
                                    message="x" * 1900) for i in range(400)]
        return dataclasses.replace(result, checks=[*result.checks, *many])

    out = _publish(tmp_path, stub, github, AUTH, result_hook=huge)
    assert out.done == [f"opened #1 for {PLATFORM_KEY}"], out.warnings
    body = github.body_of(github.get(1))
    assert 30_000 < len(body) < 65_536 and body.startswith("<!-- chat-smoke:incident")


# -- problems are warnings, bounded, the token never shown ---------------------------------
@pytest.mark.parametrize(("script", "problem"), [
    ({"GET": [403]}, "HTTP 403: Resource not accessible by integration"),
    ({"POST": [422]}, "HTTP 422: Validation Failed"),
    ({"GET": [404]}, "HTTP 404: Not Found"),
    ({"GET": ["rate"]}, "rate limited"),
    ({"GET": [500, 500]}, "HTTP 500"),
])
def test_api_errors_are_one_warning(tmp_path: Path, stub: StubServer, github: FakeTracker,
                                    script: dict[str, list[int | str]], problem: str) -> None:
    github.script = script
    github.echo = TOKEN  # an API that echoes the token back in its message
    out = _publish(tmp_path, stub, github, AUTH)
    assert out.done is None and len(out.warnings) == 1, out.warnings
    assert problem in out.warnings[0] and "issues: write" in out.warnings[0]
    assert TOKEN not in out.warnings[0]
    if "rate" not in problem and "500" not in problem:
        assert "(token ***)" in out.warnings[0]  # the API echoed it; scrubbed
    assert out.result.exit_code == 3  # unchanged


def test_a_hanging_api_is_bounded(tmp_path: Path, stub: StubServer, github: FakeTracker) -> None:
    github.script = {"GET": ["hang", "hang"]}
    out = _publish(tmp_path, stub, github, AUTH)
    assert out.done is None and len(out.warnings) == 1
    assert "within 10 s" in out.warnings[0] or "Timeout" in out.warnings[0]
    assert out.seconds < 13  # a 10 s budget, whatever the server does


def test_no_token_is_a_warning_and_no_call(tmp_path: Path, stub: StubServer,
                                           github: FakeTracker) -> None:
    (tmp_path / "chat-smoke.yml").write_text(CONFIG)
    result, settings = pipeline.check({"base_url": stub.url(), "model": AUTH, "retries": "0"},
                                {"COMETAPI_API_KEY": KEY}, tmp_path, Console(out=io.StringIO()))
    assert settings is not None
    warnings: list[str] = []
    env = {**fake_trackers.github_env(github), "INPUT_GITHUB-TOKEN": ""}
    assert incidents.publish(result, settings, env, warnings.append, print) is None
    assert "github-token is empty" in warnings[0] and github.calls == []
    assert incidents.publish(result, settings, {}, warnings.append, print) is None
    assert "neither in GitHub Actions nor in GitLab CI" in warnings[1]


# -- GitLab -------------------------------------------------------------------------------
def test_gitlab_lifecycle(tmp_path: Path, stub: StubServer, gitlab: FakeTracker) -> None:
    gitlab.add("an unrelated issue")
    first = _publish(tmp_path, stub, gitlab, AUTH)
    assert first.done == [f"opened #2 for {PLATFORM_KEY}"], first.warnings
    post = [c for c in gitlab.calls if c.method == "POST"][0]
    assert post.headers["PRIVATE-TOKEN"] == GITLAB_TOKEN
    assert post.body["labels"] == "incident,platform"  # GitLab: comma-separated
    assert post.body["assignee_ids"] == [11]  # alice, looked up
    assert gitlab.body_of(gitlab.get(2)).startswith(f"<!-- chat-smoke:incident {PLATFORM_KEY}")
    assert "(https://gitlab.example.test/acme/shop/-/jobs/42)" in gitlab.body_of(gitlab.get(2))

    second = _publish(tmp_path, stub, gitlab, f"{AUTH},scenario/forbidden")
    assert second.done == [f"updated #2 for {PLATFORM_KEY} (commented: state changed)"]
    assert len(gitlab.comments[2]) == 1

    third = _publish(tmp_path, stub, gitlab, OK)
    assert third.done == [f"closed #2 for {PLATFORM_KEY} (recovered)"]
    assert gitlab.get(2)["state"] == "closed"
    assert "over 2 failed runs" in gitlab.comments[2][-1]

    fourth = _publish(tmp_path, stub, gitlab, AUTH)  # closed a moment ago: reopened
    assert fourth.done == [f"reopened #2 for {PLATFORM_KEY}"]
    assert gitlab.get(2)["state"] == "opened"


def test_gitlab_problems_are_warnings(tmp_path: Path, stub: StubServer,
                                     gitlab: FakeTracker) -> None:
    gitlab.script = {"GET": ["rate"]}
    out = _publish(tmp_path, stub, gitlab, AUTH)
    assert out.done is None and "HTTP 429: rate limited" in out.warnings[0]
    assert "api scope" in out.warnings[0]
    (tmp_path / "chat-smoke.yml").write_text(CONFIG)
    result, settings = pipeline.check({"base_url": stub.url(), "model": AUTH, "retries": "0"},
                                {"COMETAPI_API_KEY": KEY}, tmp_path, Console(out=io.StringIO()))
    assert settings is not None
    warnings: list[str] = []
    env = {**fake_trackers.gitlab_env(gitlab), "GITLAB_TOKEN": ""}
    incidents.publish(result, settings, env, warnings.append, print)
    assert "GITLAB_TOKEN is empty" in warnings[0] and "CI_JOB_TOKEN" in warnings[0]


# -- consecutive failures, chained through the previous report ----------------------------
def test_consecutive_failures_in_the_report(tmp_path: Path, stub: StubServer,
                                            github: FakeTracker) -> None:
    previous = tmp_path / "previous.json"
    counts = []
    for models in (AUTH, AUTH, f"{AUTH},{ANSWER}", ANSWER, OK):
        out = _publish(tmp_path, stub, github, models,
                       f"previous_report: {previous}\nincident_after: 3\n")
        report = json_report.as_dict(out.result)
        counts.append(report["consecutive_failures"])
        previous.write_text(json.dumps(report))
    assert counts == [{PLATFORM_KEY: 1}, {PLATFORM_KEY: 2},
                      {PLATFORM_KEY: 3, "prod/team:prompts": 1}, {"prod/team:prompts": 2}, {}]


# -- the whole command: incident_after chained through --previous-report -------------------
def test_incident_after_three_runs_through_the_previous_report(
        tmp_path: Path, stub: StubServer, github: FakeTracker) -> None:
    """Three failed runs of `chat-smoke run`, each given the last one's report.json (the
    same path, as a restored cache gives it): the issue opens on the third; a pass closes
    it; the token is never in any output."""
    from tests.support.cli import run_cli

    (tmp_path / "chat-smoke.yml").write_text(CONFIG + "incident_issue: true\n")
    env = {**fake_trackers.github_env(github),
           "GITHUB_OUTPUT": str(tmp_path / "out.txt"),
           "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
    counts, outputs = [], []
    for models in (AUTH, AUTH, AUTH, OK):
        run = run_cli(tmp_path, "--base-url", stub.url(), "--model", models, "--retries", "0",
                      "--previous-report", "report.json", "--incident-after", "3", env=env)
        assert run.report is not None
        counts.append(run.report["consecutive_failures"])
        outputs.append(run.all_output)
        if len(counts) < 3:
            assert [c.method for c in github.calls if c.method != "GET"] == [], run.stdout
            assert f"{PLATFORM_KEY}: {len(counts)} of 3 consecutive failed runs" in run.stdout
    assert counts == [{PLATFORM_KEY: 1}, {PLATFORM_KEY: 2}, {PLATFORM_KEY: 3}, {}]
    assert "previous_report report.json: no such file yet" in outputs[0]
    opened = [c for c in github.calls if c.method == "POST"]
    assert len(opened) == 2 and opened[0].body["title"] == "chat-smoke: Platform on prod"
    assert "| Consecutive failed runs | 3 |" in opened[0].body["body"]
    assert f"incident issue opened #1 for {PLATFORM_KEY}" in outputs[2]
    assert f"incident issue closed #1 for {PLATFORM_KEY} (recovered)" in outputs[3]
    assert github.get(1)["state"] == "closed"
    for text in outputs:  # masked for the runner first (::add-mask::), then never shown
        assert f"::add-mask::{TOKEN}\n" in text
        assert TOKEN not in text.replace(f"::add-mask::{TOKEN}\n", "")


def test_a_forbidden_api_leaves_the_exit_code_alone(tmp_path: Path, stub: StubServer,
                                                    github: FakeTracker) -> None:
    from tests.support.cli import run_cli
    from tests.support.runner_rules import run_commands

    github.script = {"GET": [403]}
    github.echo = TOKEN
    env = {**fake_trackers.github_env(github), "GITHUB_OUTPUT": str(tmp_path / "out.txt"),
           "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
    run = run_cli(tmp_path, "--base-url", stub.url(), "--model", AUTH, "--retries", "0",
                  "--incident-issue", "--environment", "prod", env=env)
    assert run.code == 3
    warnings = [c for c in run_commands(run.stdout) if c.name == "warning"
                and c.properties.get("title") == "chat-smoke: incident issue"]
    assert len(warnings) == 1 and "HTTP 403" in warnings[0].data
    assert "(token ***)" in warnings[0].data  # the API echoed it
    assert TOKEN not in run.all_output.replace(f"::add-mask::{TOKEN}\n", "")


def test_the_monitor_examples_use_the_lifecycle() -> None:
    """The scheduled monitors (GitHub, GitLab) restore the last run's report, pass it as
    previous_report, turn incidents on, and keep this run's report for the next one."""
    import yaml

    root = Path(__file__).resolve().parents[1]
    github = yaml.safe_load((root / ".github/workflows/example-monitor.yml").read_text())
    job = github["jobs"]["monitor"]
    assert job["permissions"] == {"contents": "read", "issues": "write"}
    steps = job["steps"]
    restore = next(s for s in steps if s.get("uses", "").startswith("actions/cache/restore@"))
    gate = next(s for s in steps if s.get("id") == "gate")
    save = next(s for s in steps if s.get("uses", "").startswith("actions/cache/save@"))
    assert gate["with"]["incident-issue"] == "true"
    assert gate["with"]["previous-report"] == f"{restore['with']['path']}/report.json"
    assert save["with"]["path"] == restore["with"]["path"]
    assert save["with"]["key"].startswith(restore["with"]["restore-keys"])
    assert steps.index(restore) < steps.index(gate) < steps.index(save)
    keep = steps[steps.index(gate) + 1]
    assert "chat-smoke-reports/report.json last-run/report.json" in keep["run"]

    gitlab = yaml.safe_load((root / "examples/gitlab-ci.yml").read_text())
    monitor = gitlab["chat-smoke-monitor"]
    assert monitor["cache"]["paths"] == ["last-run/"] and monitor["cache"]["when"] == "always"
    script = " ".join(monitor["script"])
    assert "--previous-report last-run/report.json --incident-issue --incident-after 2" \
        in script
    assert "cp chat-smoke-reports/report.json last-run/report.json" in script
    assert monitor["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule"'}]


# -- a matrix: the lifecycle over the merged verdict ----------------------------------------
def test_merge_runs_the_lifecycle_over_the_merged_verdict(
        tmp_path: Path, stub: StubServer, github: FakeTracker) -> None:
    """Two legs of one environment fail for the same owner: the merge job opens one issue
    (legs with incidents on could race to open two), counts consecutive failures against
    the last merged report, and closes it when the legs pass again."""
    import subprocess
    import sys

    def legs(models: tuple[str, str]) -> list[str]:
        paths = []
        for i, model in enumerate(models):
            (tmp_path / "chat-smoke.yml").write_text(CONFIG)
            result, _ = pipeline.check({"base_url": stub.url(), "model": model, "retries": "0"},
                                 {"COMETAPI_API_KEY": KEY}, tmp_path,
                                 Console(out=io.StringIO()))
            path = tmp_path / f"leg-{i}.json"
            path.write_text(json_report.render(result))
            paths.append(str(path))
        return paths

    def merge(models: tuple[str, str]) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "smoke", "merge", *legs(models), "--report-json",
                str(tmp_path / "merged.json"), "--previous-report",
                str(tmp_path / "last-merged.json"), "--incident-issue"]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                              env=scrubbed(**fake_trackers.github_env(github)))
        merged = json.loads((tmp_path / "merged.json").read_text())
        (tmp_path / "last-merged.json").write_text(json.dumps(merged))
        return proc

    first = merge((AUTH, "scenario/forbidden"))
    assert first.returncode == 3, first.stdout + first.stderr
    assert f"incident issue opened #1 for {PLATFORM_KEY}" in first.stdout, first.stdout
    assert [c.method for c in github.calls].count("POST") == 1
    assert json.loads((tmp_path / "merged.json").read_text())["consecutive_failures"] == {
        PLATFORM_KEY: 1}
    second = merge((AUTH, OK))
    assert f"incident issue updated #1 for {PLATFORM_KEY}" in second.stdout
    assert '"failed_runs":2' in github.body_of(github.get(1))
    assert json.loads((tmp_path / "merged.json").read_text())["consecutive_failures"] == {
        PLATFORM_KEY: 2}
    third = merge((OK, OK))
    assert third.returncode == 0
    assert f"incident issue closed #1 for {PLATFORM_KEY} (recovered)" in third.stdout
    # On GitHub, merge prints through the platform's console (issue 20): the token goes to
    # the runner's masker (an ::add-mask:: line, which the runner consumes) and nowhere else.
    output = first.stdout + second.stdout + third.stdout + third.stderr
    assert f"::add-mask::{TOKEN}" in first.stdout
    assert TOKEN not in "\n".join(line for line in output.splitlines()
                                   if not line.startswith("::add-mask::"))

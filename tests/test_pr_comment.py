"""The sticky pull-request comment (issue 15), against a fake GitHub REST API on loopback
that records every call: list (paged by Link headers), create, update, and scripted
403 / 404 / 422 / 5xx / rate limits / slow answers. The whole action runs as the runner
starts it (tests/test_entrypoint.py's environment); the finer cases call the module."""

from __future__ import annotations

import html
import io
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from smoke.categories import Category
from smoke.ci import github_comment
from smoke.ci.github import PLATFORM, GitHubConsole
from smoke.ci.publish import Publisher
from smoke.output import redact
from smoke.results import Check, GateResult
from smoke.stub import StubServer
from tests.support.action_runner import ENTRYPOINT, runner_env
from tests.support.cli import KEY
from tests.support.fake_api import Call, JsonApiHandler, running
from tests.support.github_filters import notifications, rendered
from tests.support.results import gate_result
from tests.support.runner_rules import parse_output_file, run_commands

TOKEN = "ghs_" + "FakeInstallationToken0123456789abcdef"
PREFIX = "/api/v3"  # as on Enterprise Server: the API is not at the host's root
REPO = "acme/shop"
NUMBER = 42


@dataclass
class FakeGitHub:
    """The issue-comments API of one repository, in memory."""

    comments: list[dict[str, Any]] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    # method -> what the next calls get: a status code, or "slow" (longer than any budget)
    script: dict[str, list[int | str]] = field(default_factory=dict)
    rate_limited: bool = False
    link_host: str | None = None  # a Link header pointing elsewhere (the token must not go)
    released: threading.Event = field(default_factory=threading.Event)  # ends a "slow" wait
    next_id: int = 1000
    url: str = ""

    def add(self, body: str, number: int = NUMBER) -> dict[str, Any]:
        self.next_id += 1
        comment = {"id": self.next_id, "number": number, "body": body,
                   "user": {"login": "someone"}}
        self.comments.append(comment)
        return comment

    def on(self, number: int = NUMBER) -> list[dict[str, Any]]:
        return [c for c in self.comments if c["number"] == number]


class _Handler(JsonApiHandler):
    def _scripted(self, fake: FakeGitHub) -> bool:
        queue = fake.script.get(self.command) or []
        if not queue:
            return False
        what = queue.pop(0)
        if what == "slow":
            fake.released.wait(30)  # set when the test ends: no handler outlives it
            return False
        assert isinstance(what, int)
        messages = {403: "Resource not accessible by integration", 404: "Not Found",
                    422: "Validation Failed", 500: "Server Error", 502: "Bad Gateway"}
        self._send(what, {"message": messages.get(what, "error"),
                          "documentation_url": "https://docs.github.com/rest"})
        return True

    def do_GET(self) -> None:  # noqa: N802
        fake, call = self.server.fake, self._record()
        if self._scripted(fake):
            return
        if fake.rate_limited:
            self._send(403, {"message": "API rate limit exceeded"},
                       {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1900000000"})
            return
        match = re.fullmatch(rf"{PREFIX}/repos/{REPO}/issues/(\d+)/comments", call.path)
        if not match:
            self._send(404, {"message": "Not Found"})
            return
        per_page = int(call.query.get("per_page", ["30"])[0])
        page = int(call.query.get("page", ["1"])[0])
        items = fake.on(int(match.group(1)))
        chunk = items[(page - 1) * per_page: page * per_page]
        headers = {}
        if page * per_page < len(items):
            root = fake.link_host or fake.url
            headers["Link"] = (f'<{root}{call.path}?per_page={per_page}&page={page + 1}>;'
                               f' rel="next", <{root}{call.path}?page=1>; rel="first"')
        self._send(200, chunk, headers)

    def do_POST(self) -> None:  # noqa: N802
        fake, call = self.server.fake, self._record()
        if self._scripted(fake):
            return
        match = re.fullmatch(rf"{PREFIX}/repos/{REPO}/issues/(\d+)/comments", call.path)
        if not match or not isinstance(call.body, dict):
            self._send(404, {"message": "Not Found"})
            return
        if len(call.body.get("body", "")) > 65536:
            self._send(422, {"message": "Validation Failed: body is too long"})
            return
        self._send(201, fake.add(call.body["body"], int(match.group(1))))

    def do_PATCH(self) -> None:  # noqa: N802
        fake, call = self.server.fake, self._record()
        if self._scripted(fake):
            return
        match = re.fullmatch(rf"{PREFIX}/repos/{REPO}/issues/comments/(\d+)", call.path)
        found = [c for c in fake.comments if match and c["id"] == int(match.group(1))]
        if not found or not isinstance(call.body, dict):
            self._send(404, {"message": "Not Found"})
            return
        found[0]["body"] = call.body["body"]
        self._send(200, found[0])


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    with running(fake, _Handler):
        try:
            yield fake
        finally:
            fake.released.set()  # a "slow" handler ends before the server does


def _event(tmp_path: Path, number: int = NUMBER) -> str:
    path = tmp_path / "event.json"
    path.write_text(json.dumps({"action": "synchronize", "number": number,
                                "pull_request": {"number": number}}), "utf-8")
    return str(path)


def _github_env(fake: FakeGitHub, tmp_path: Path, **more: str) -> dict[str, str]:
    return {
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": _event(tmp_path),
        "GITHUB_API_URL": fake.url + PREFIX,
        "GITHUB_SERVER_URL": "https://github.example.test",
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_RUN_ID": "1234",
        "GITHUB_WORKFLOW": "release gate",
        "GITHUB_JOB": "gate",
        "INPUT_COMMENT-ON-PR": "true",
        "INPUT_GITHUB-TOKEN": TOKEN,
        **more,
    }


@dataclass
class ActionRun:
    code: int
    stdout: str
    outputs: dict[str, str]
    seconds: float


def _run_action(tmp_path: Path, fake: FakeGitHub, stub: StubServer, scenario: str | None,
                name: str, event: str = "pull_request", **inputs: str) -> ActionRun:
    base = tmp_path / name
    workspace, files = base / "workspace", base / "files"
    for folder in (workspace, files, files / "home", files / "temp"):
        folder.mkdir(parents=True)
    env = runner_env(workspace, files, {
        "api-key": KEY, "base-url": stub.url(scenario), "model": "stub-model",
        "environment": "staging", "comment-on-pr": "true", "github-token": TOKEN,
        "retries": "0", **inputs})
    env.update({k: v for k, v in _github_env(fake, base).items() if not k.startswith("INPUT_")})
    env["GITHUB_EVENT_NAME"] = event
    started = time.monotonic()
    proc = subprocess.run([sys.executable, str(ENTRYPOINT)], cwd=workspace, env=env,
                          capture_output=True, text=True, timeout=90)
    seconds = time.monotonic() - started
    pairs = parse_output_file(Path(env["GITHUB_OUTPUT"]).read_text("utf-8"))
    return ActionRun(proc.returncode, proc.stdout + proc.stderr, dict(pairs), seconds)


def _warnings(log: str) -> list[str]:
    return [c.data for c in run_commands(log) if c.name == "warning"
            and c.properties.get("title") == github_comment.TITLE]


# -- the whole action -------------------------------------------------------------------
def test_one_comment_created_then_updated_in_place(tmp_path: Path, github: FakeGitHub,
                                                   stub: StubServer) -> None:
    github.add("an unrelated review comment")
    first = _run_action(tmp_path, github, stub, None, "one")
    assert first.code == 0, first.stdout
    assert [c.method for c in github.calls] == ["GET", "POST"]
    assert len(github.on()) == 2
    ours = github.on()[1]
    marker = "<!-- chat-smoke:release_gate:gate:staging -->"
    assert ours["body"].startswith(marker + "\n")
    assert "## ✅ chat-smoke passed on staging" in ours["body"]
    assert "(https://github.example.test/acme/shop/actions/runs/1234)" in ours["body"]
    assert all(c.headers["Authorization"] == f"Bearer {TOKEN}" for c in github.calls)
    assert all(c.path.startswith(PREFIX + "/") for c in github.calls)
    assert first.outputs["summary"] == "chat-smoke-reports/summary.md"

    second = _run_action(tmp_path, github, stub, "bad-key", "two")
    assert second.code == 3
    assert [c.method for c in github.calls] == ["GET", "POST", "GET", "PATCH"]
    assert github.calls[-1].path == f"{PREFIX}/repos/{REPO}/issues/comments/{ours['id']}"
    assert len(github.on()) == 2  # updated in place, not added
    assert ours["body"].startswith(marker)
    assert "chat-smoke failed on staging" in ours["body"]
    assert KEY not in ours["body"]
    for run in (first, second):
        log = run.stdout
        assert f"::add-mask::{TOKEN}" in log
        assert TOKEN not in log.replace(f"::add-mask::{TOKEN}", "")
        assert _warnings(log) == []


def test_a_fork_style_403_is_a_warning_and_the_exit_code_is_unchanged(
        tmp_path: Path, github: FakeGitHub, stub: StubServer) -> None:
    github.script["POST"] = [403, 403]
    passed = _run_action(tmp_path, github, stub, None, "pass")
    assert passed.code == 0
    warnings = _warnings(passed.stdout)
    assert len(warnings) == 1
    assert "HTTP 403: Resource not accessible by integration" in warnings[0]
    assert "permissions: pull-requests: write" in warnings[0]
    assert "forks" in warnings[0]
    failed = _run_action(tmp_path, github, stub, "bad-key", "fail")
    assert failed.code == 3
    assert len(_warnings(failed.stdout)) == 1
    assert github.on() == []
    assert [c.method for c in github.calls] == ["GET", "POST", "GET", "POST"]  # no retry


def test_not_a_pull_request_event_sends_nothing(tmp_path: Path, github: FakeGitHub,
                                                stub: StubServer) -> None:
    push = _run_action(tmp_path, github, stub, None, "push", event="push")
    assert push.code == 0 and github.calls == []
    off = _run_action(tmp_path, github, stub, None, "off", **{"comment-on-pr": "false"})
    assert off.code == 0 and github.calls == []
    target = _run_action(tmp_path, github, stub, None, "target", event="pull_request_target")
    assert target.code == 0 and [c.method for c in github.calls] == ["GET", "POST"]


# -- the module, case by case -----------------------------------------------------------
def _result(environment: str = "staging", message: str = "answered 'pong'") -> GateResult:
    check = Check("positive:m", "positive", "chat completion (m)", "m", outcome="pass",
                  message=message)
    return gate_result(check, duration_ms=12, environment=environment, deployment_sha=None)


def _post(env: dict[str, str], result: GateResult | None = None) -> tuple[str | None, str,
                                                                          float]:
    out = io.StringIO()
    publisher = Publisher(PLATFORM, GitHubConsole(out), env)
    started = time.monotonic()
    done = github_comment.comment_on_pr(result or _result(), env, publisher)
    publisher.close()
    return done, out.getvalue(), time.monotonic() - started


def test_found_on_the_third_page(tmp_path: Path, github: FakeGitHub) -> None:
    for number in range(230):
        github.add(f"comment {number}")
    ours = github.add("<!-- chat-smoke:release_gate:gate:staging -->\nold summary")
    github.add("a later comment")
    done, log, _ = _post(_github_env(github, tmp_path))
    assert done == "updated", log
    pages = [c.query.get("page", ["1"])[0] for c in github.calls if c.method == "GET"]
    assert pages == ["1", "2", "3"]
    assert all(c.query["per_page"] == ["100"] for c in github.calls if c.method == "GET")
    assert github.calls[-1].method == "PATCH"
    assert ours["body"].startswith("<!-- chat-smoke:release_gate:gate:staging -->\n## ✅")


def test_the_token_follows_no_link_to_another_host(tmp_path: Path, github: FakeGitHub) -> None:
    for number in range(150):
        github.add(f"comment {number}")
    github.link_host = "http://localhost:9"  # another origin than GITHUB_API_URL
    done, log, _ = _post(_github_env(github, tmp_path))
    assert done is None and len(github.calls) == 1
    assert "not under GITHUB_API_URL" in _warnings(log)[0]


def test_the_comment_key_and_the_environment_keep_comments_apart(
        tmp_path: Path, github: FakeGitHub) -> None:
    env = _github_env(github, tmp_path)
    assert _post({**env, "INPUT_COMMENT-KEY": "gpt-4o"})[0] == "created"
    assert _post({**env, "INPUT_COMMENT-KEY": "claude"})[0] == "created"
    assert _post(env, _result("production"))[0] == "created"
    assert _post({**env, "INPUT_COMMENT-KEY": "gpt-4o"})[0] == "updated"
    markers = sorted(c["body"].split("\n")[0] for c in github.on())
    assert markers == [
        "<!-- chat-smoke:release_gate:gate:production -->",
        "<!-- chat-smoke:release_gate:gate:staging:claude -->",
        "<!-- chat-smoke:release_gate:gate:staging:gpt-4o -->",
    ]


@pytest.mark.parametrize(("script", "problem"), [
    ({"GET": [404]}, "HTTP 404: Not Found"),
    ({"POST": [422]}, "HTTP 422: Validation Failed"),
    ({"GET": [500, 502]}, "HTTP 502: Bad Gateway"),
])
def test_api_errors_are_warnings(tmp_path: Path, github: FakeGitHub,
                                 script: dict[str, list[int | str]], problem: str) -> None:
    github.script = script
    done, log, _ = _post(_github_env(github, tmp_path))
    assert done is None
    warnings = _warnings(log)
    assert len(warnings) == 1 and problem in warnings[0], warnings
    assert "pull-requests: write" in warnings[0]


def test_a_server_error_is_retried_once(tmp_path: Path, github: FakeGitHub) -> None:
    github.script = {"POST": [502]}
    done, log, _ = _post(_github_env(github, tmp_path))
    assert done == "created", log
    assert [c.method for c in github.calls] == ["GET", "POST", "POST"]
    assert len(github.on()) == 1


def test_a_rate_limit_is_a_warning_without_retry(tmp_path: Path, github: FakeGitHub) -> None:
    github.rate_limited = True
    done, log, _ = _post(_github_env(github, tmp_path))
    assert done is None
    assert "rate limited" in _warnings(log)[0]
    assert len(github.calls) == 1


def test_a_slow_api_is_bounded(tmp_path: Path, github: FakeGitHub,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    # The module's own budget and per-call bound, scaled down (comment_on_pr reads them at
    # each posting), so the test shows the budget ending the posting without waiting 10 s.
    monkeypatch.setattr(github_comment, "BUDGET_S", 1.5)
    monkeypatch.setattr(github_comment, "CALL_TIMEOUT_S", 1.0)
    github.script = {"GET": ["slow", "slow"]}
    done, log, seconds = _post(_github_env(github, tmp_path))
    assert done is None
    assert len(github.calls) == 2  # the first call timed out, the second hit the budget
    assert seconds < 1.5 + 3  # the budget, plus slack for a loaded machine (the fake waits 30 s)
    warnings = _warnings(log)
    # The whole posting is bounded (smoke/bounded.py): the second read's bound is what is
    # left of the budget, so whichever ends first names the problem.
    assert len(warnings) == 1 and ("ReadTimeout" in warnings[0]
                                   or "no answer within 1.5 s" in warnings[0]), warnings


def test_the_body_stays_under_githubs_limit(tmp_path: Path, github: FakeGitHub) -> None:
    checks = [Check(f"positive:m{i}", "positive", "p", f"m{i}", outcome="fail",
                    category=Category.ASSERTION, message="x" * 290) for i in range(600)]
    result = gate_result(*checks, duration_ms=12, deployment_sha=None)
    assert (result.exit_code, result.category) == (6, Category.ASSERTION)
    done, log, _ = _post(_github_env(github, tmp_path), result)
    assert done == "created", log
    text = github.on()[0]["body"]
    assert 50_000 < len(text) < 65_536
    assert "The summary was cut to stay under GitHub's size limit" in text
    assert text.startswith("<!-- chat-smoke:release_gate:gate:staging -->")
    assert "actions/runs/1234" in text


def test_no_pull_request_number_is_a_warning(tmp_path: Path, github: FakeGitHub) -> None:
    (tmp_path / "push-event.json").write_text('{"ref": "refs/heads/main"}')
    env = {**_github_env(github, tmp_path),
           "GITHUB_EVENT_PATH": str(tmp_path / "push-event.json")}
    done, log, _ = _post(env)
    assert done is None and github.calls == []
    assert "no pull-request number" in _warnings(log)[0]


def test_the_token_is_masked_and_scrubbed(tmp_path: Path, github: FakeGitHub) -> None:
    result = _result(message=f"echoed {TOKEN} back")
    done, log, _ = _post(_github_env(github, tmp_path), result)
    assert done == "created"
    assert f"::add-mask::{TOKEN}" in log
    assert TOKEN not in github.on()[0]["body"]
    assert TOKEN in redact.registered()


def test_the_owner_is_mentioned_once_on_a_failure_and_never_on_a_pass(
        tmp_path: Path, github: FakeGitHub) -> None:
    """Issue 23: the comment mentions the failing owners (the owners map's mention) once,
    above the summary; an update to a pass removes the mention."""
    from smoke.owners import Owner

    platform = Owner("Platform", "@acme/platform", source="owners")
    prompts = Owner("Prompts", "@acme/prompts @alice", source="owners")
    checks = [Check(f"positive:m{i}", "positive", "p", f"m{i}", outcome="fail",
                    category=Category.AUTH if i < 2 else Category.ASSERTION,
                    owner=platform if i < 2 else prompts) for i in range(4)]
    failed = gate_result(*checks, duration_ms=12, deployment_sha=None)
    assert (failed.exit_code, failed.category) == (3, Category.AUTH)
    env = _github_env(github, tmp_path)
    assert _post(env, failed)[0] == "created"
    text = github.on()[0]["body"]
    assert text.split("\n")[1] == "Owners: @acme/platform @acme/prompts @alice"
    # Only that line mentions: the summary shows the mention as code, which never notifies.
    assert re.findall(r"(?<!<code>\\)@acme/platform", text) == ["@acme/platform"]
    assert "**Owner:** Platform (<code>\\@acme/platform</code>)." in text
    assert _post(env)[0] == "updated"
    assert "@acme" not in github.on()[0]["body"] and "Owners:" not in github.on()[0]["body"]


def test_outside_text_in_the_comment_notifies_nobody(tmp_path: Path,
                                                      github: FakeGitHub) -> None:
    """An answer or error body that says "@everyone" or "#12" reaches the comment as text:
    only the owners line, from the configuration, may notify (GitHub's own filters read the
    rendered text, where an escaped "\\@name" is a mention again)."""
    from smoke.owners import Owner

    said = "pong @everyone, ping @acme/security, see #12 and acme/app#7"
    check = Check("positive:m", "positive", "p", "m", outcome="fail",
                  category=Category.ASSERTION, message=f"expected PONG, got: {said}",
                  owner=Owner("Prompts", "@acme/prompts", source="owners"))
    assert _post(_github_env(github, tmp_path), gate_result(check))[0] == "created"
    body = github.on()[0]["body"]
    assert notifications(rendered(body)) == ["@acme/prompts"]  # the owners line
    assert body.split("\n")[1] == "Owners: @acme/prompts"
    assert "ping @\u200bacme/security" in html.unescape(body)

"""Notifications on state changes (issue 23): when a post goes out, what each format holds
(Slack's Block Kit checked with slack_sdk's own models, Teams' Adaptive Card message by
its documented structure, JSON the report's verdict block), the webhook URL masked, and
problems as bounded warnings. A loopback receiver records what arrives."""

from __future__ import annotations

import dataclasses
import io
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from smoke import pipeline
from smoke.alerts import notify
from smoke.output import redact
from smoke.output.console import Console
from smoke.reports import json_report
from smoke.results import GateResult
from smoke.stub import StubServer
from tests.support.cli import KEY
from tests.support.results import cancelled

SECRET_PATH = "/services/T0000/B0000/" + "XXXXsecretXXXXwebhookXXXX"
CONFIG = """\
environment: prod
owners:
  - {match: credentials, team: Platform, mention: "@acme/platform",
     runbook: "https://runbooks.example/platform"}
  - {match: answer, team: Prompts}
"""


@dataclass
class Receiver:
    posts: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    status: int = 200
    hang: bool = False
    url: str = ""


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_POST(self) -> None:  # noqa: N802
        box = self.server.box
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if box.hang:
            time.sleep(30)
            return
        box.paths.append(self.path)
        box.posts.append(json.loads(raw))
        # Slack answers "ok", or "invalid_payload" for a payload without text or blocks.
        payload = box.posts[-1]
        status = box.status
        if status == 200 and not (payload.get("text") or payload.get("blocks")
                                  or payload.get("type") or payload.get("verdict")):
            status = 400
        answer = b"ok" if status == 200 else f"error echoing {self.path}".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, box: Receiver) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.box = box


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    box = Receiver()
    server = _Server(box)
    box.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield box
    server.shutdown()
    server.server_close()


def _result(tmp_path: Path, stub: StubServer, models: str,
            previous: dict[str, Any] | None = None) -> GateResult:
    (tmp_path / "chat-smoke.yml").write_text(CONFIG)
    result, _ = pipeline.check({"base_url": stub.url(), "model": models, "retries": "0"},
                         {"COMETAPI_API_KEY": KEY}, tmp_path, Console(out=io.StringIO()))
    return dataclasses.replace(result, previous=previous)


AUTH, ANSWER, OK = "scenario/bad-key", "scenario/wrong-answer", "stub-model"


# -- when -------------------------------------------------------------------------------
def test_only_state_changes_notify(tmp_path: Path, stub: StubServer) -> None:
    fail = _result(tmp_path, stub, AUTH)
    passed = _result(tmp_path, stub, OK)
    answer = _result(tmp_path, stub, ANSWER)
    as_before = json_report.as_dict
    assert notify.change(fail) == "failing"  # no previous report: a failure notifies
    assert notify.change(passed) is None  # ... and a pass does not
    assert notify.change(dataclasses.replace(fail, previous=as_before(passed))) == "failing"
    assert notify.change(dataclasses.replace(passed, previous=as_before(fail))) == "recovered"
    assert notify.change(dataclasses.replace(fail, previous=as_before(fail))) is None
    assert notify.change(dataclasses.replace(passed, previous=as_before(passed))) is None
    # A failure of another category and owner: changed.
    assert notify.change(dataclasses.replace(answer, previous=as_before(fail))) == "changed"
    # The same category, another owner (the map changed): changed.
    moved = as_before(fail)
    moved["owner"] = {**moved["owner"], "team": "Security"}
    assert notify.change(dataclasses.replace(fail, previous=moved)) == "changed"
    # A cancelled run decided nothing; a cancelled previous run is no state to compare.
    assert notify.change(cancelled(fail)) is None
    stopped = {**as_before(fail), "verdict": "cancelled"}
    assert notify.change(dataclasses.replace(fail, previous=stopped)) == "failing"


# -- what -------------------------------------------------------------------------------
def test_slack_blocks_are_what_slack_sdk_accepts(tmp_path: Path, stub: StubServer) -> None:
    from slack_sdk.models.blocks import Block

    payload = notify.slack(_result(tmp_path, stub, f"{AUTH},{ANSWER}"), "failing",
                           "https://github.example.test/acme/shop/actions/runs/9")
    assert payload["text"].startswith("❌ chat-smoke failed on prod: auth (exit 3)")
    kinds = []
    for raw in payload["blocks"]:
        block = Block.parse(raw)
        assert block is not None, raw
        block.validate_json()  # raises SlackObjectFormationError on a bad block
        assert block.to_dict() == raw  # nothing slack_sdk does not know of
        kinds.append(block.type)
    assert kinds == ["header", "section", "section", "context"]
    text = json.dumps(payload)
    assert "*Owner*\\nPlatform (@acme/platform)" in text
    assert "<https://github.example.test/acme/shop/actions/runs/9|The run>" in text


def test_slack_escapes_outside_text(tmp_path: Path, stub: StubServer) -> None:
    result = _result(tmp_path, stub, AUTH)
    check = result.deciding
    assert check is not None
    check.message = "<!channel> <https://evil.example|click> & more"
    payload = notify.slack(result, "failing", None)
    text = json.dumps(payload)
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert "<https://evil" not in text


def test_teams_is_an_adaptive_card_message(tmp_path: Path, stub: StubServer) -> None:
    payload = notify.teams(_result(tmp_path, stub, AUTH), "failing",
                           "https://github.example.test/acme/shop/actions/runs/9")
    assert payload["type"] == "message"
    assert len(payload["attachments"]) == 1
    attachment = payload["attachments"][0]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert isinstance(card["body"], list) and card["body"]
    assert all(isinstance(e, dict) and e.get("type") in ("TextBlock", "FactSet")
               for e in card["body"])
    facts = {f["title"]: f["value"] for f in card["body"][1]["facts"]}
    assert facts["Owner"] == "Platform (@acme/platform)" and facts["Category"] == "auth"
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open the run",
                                "url": "https://github.example.test/acme/shop/actions/runs/9"}]


def test_json_is_the_reports_verdict_block(tmp_path: Path, stub: StubServer) -> None:
    result = _result(tmp_path, stub, AUTH)
    block = notify.verdict_block(result, "failing", None)
    report = json_report.as_dict(result)
    for name in ("schema_version", "verdict", "exit_code", "category", "owner", "environment",
                 "started_at", "consecutive_failures"):
        assert block[name] == report[name]
    assert "checks" not in block and "config" not in block
    assert block["change"] == "failing"


# -- how --------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["slack", "teams", "json"])
def test_posted_once_to_the_expanded_url(tmp_path: Path, stub: StubServer,
                                         receiver: Receiver, fmt: str) -> None:
    said: list[str] = []
    warnings: list[str] = []
    env = {"HOOK": receiver.url + SECRET_PATH}
    with redact.scope():
        done = notify.publish(_result(tmp_path, stub, AUTH),
                              {"webhook": "${HOOK}", "format": fmt}, env, None,
                              warnings.append, said.append)
        assert redact.scrub(f"at {env['HOOK']}") == "at ***"
    assert done == "failing" and warnings == [] and receiver.paths == [SECRET_PATH]
    assert said == [f"chat-smoke: notified the {fmt} webhook (failing)"]
    # No change: nothing posted.
    fail = _result(tmp_path, stub, AUTH)
    again = dataclasses.replace(fail, previous=json_report.as_dict(fail))
    assert notify.publish(again, {"webhook": "${HOOK}", "format": fmt}, env, None,
                          warnings.append, said.append) is None
    assert len(receiver.posts) == 1


def test_problems_are_warnings_that_never_show_the_url(tmp_path: Path, stub: StubServer,
                                                       receiver: Receiver) -> None:
    result = _result(tmp_path, stub, AUTH)
    warnings: list[str] = []
    env = {"HOOK": receiver.url + SECRET_PATH}
    hook = {"webhook": "${HOOK}", "format": "slack"}
    receiver.status = 500
    with redact.scope():
        assert notify.publish(result, hook, env, None, warnings.append, print) is None
        assert notify.publish(result, {"webhook": "${NOPE}"}, env, None, warnings.append,
                              print) is None
        receiver.hang = True
        started = time.monotonic()
        assert notify.publish(result, hook, env, None, warnings.append, print,
                              seconds=1.0) is None
        assert time.monotonic() - started < 4
        receiver.hang = False
        # Nothing listens there: the exception text would name the URL; only its type shows.
        gone = {"HOOK": "http://127.0.0.1:9" + SECRET_PATH}
        assert notify.publish(result, hook, gone, None, warnings.append, print) is None
        shown = [redact.scrub(w) for w in warnings]
    assert "HTTP 500" in shown[0]
    assert "${NOPE}, which is not set" in shown[1]
    assert "within 1 s" in shown[2]
    assert "ConnectionError" in shown[3]
    assert not any("secret" in w or "T0000" in w for w in warnings)

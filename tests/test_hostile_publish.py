"""Issue 26, class 4: every network side effect has a wall-clock deadline for the whole
call (smoke/bounded.py), whatever the server does: drip the body or the headers a byte
at a time, never answer, page forever, redirect forever.

The whole action runs as the runner starts it (entrypoint.py in a subprocess, against the
stub on loopback), with GITHUB_API_URL on a hostile raw-socket server on loopback. The PR
comment's documented budget is 10 s; the run must end within it plus a small margin
(the gate itself takes about a second), and the gate's result is unchanged."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from smoke import bounded
from smoke.ci import github_comment
from smoke.stub import StubServer
from tests.support.action_runner import ENTRYPOINT, runner_env
from tests.support.cli import KEY
from tests.support.rawserver import RawServer
from tests.support.runner_rules import parse_output_file, run_commands

TOKEN = "ghs_" + "HostileApiToken0123456789abcdefXYZ"
DRIP_S = 0.3
# From the API's first request to the process's exit: the comment's budget, then closing
# the log and exiting, plus scheduling on a loaded 2-core box.
MARGIN_S = 3.0
# The whole action (the gate against the stub, start-up included) on a loaded machine.
ACTION_S = 20.0
FIRST: dict[str, float] = {}  # when the API got its first request (time.monotonic)


def _first(answer: Callable[[socket.socket, bytes], None]
           ) -> Callable[[socket.socket, bytes], None]:
    def recorded(conn: socket.socket, request: bytes) -> None:
        FIRST.setdefault("at", time.monotonic())
        answer(conn, request)
    return recorded


def _drip(data: bytes, stop: threading.Event) -> Callable[[socket.socket, bytes], None]:
    def answer(conn: socket.socket, request: bytes) -> None:
        for byte in data:
            if stop.is_set():
                return
            conn.sendall(bytes([byte]))
            time.sleep(DRIP_S)
    return answer


def _endless(byte_source: bytes) -> bytes:
    return byte_source * 1000


_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"


def _body_drip(stop: threading.Event) -> Callable[[socket.socket, bytes], None]:
    def answer(conn: socket.socket, request: bytes) -> None:
        conn.sendall(_HEAD + b"[")
        _drip(_endless(b' {"id": 1, "body": "x"},'), stop)(conn, request)
    return answer


def _header_drip(stop: threading.Event) -> Callable[[socket.socket, bytes], None]:
    return _drip(b"HTTP/1.1 200 OK\r\n" + _endless(b"X-Slow: 1\r\n"), stop)


def _hang(stop: threading.Event) -> Callable[[socket.socket, bytes], None]:
    def answer(conn: socket.socket, request: bytes) -> None:
        stop.wait(60)
    return answer


def _endless_pages(server: list[RawServer]) -> Callable[[socket.socket, bytes], None]:
    def answer(conn: socket.socket, request: bytes) -> None:
        time.sleep(0.4)  # each page well inside the per-call bound
        page = int(request.split(b"page=")[1].split(b" ")[0].split(b"&")[0]) \
            if b"page=" in request else 1
        link = (f"<{server[0].url[:-3]}/api/v3/repos/acme/shop/issues/42/comments?"
                f"per_page=100&page={page + 1}>; rel=\"next\"")
        # "Connection: close": this server closes after each answer, and HTTP/1.1 says a
        # server that does so must say so (RFC 9112, 9.6). Without it the client may send
        # the next page on the connection being closed, and fail on a reset instead of
        # running into the budget the test is about.
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Connection: close\r\nContent-Length: 2\r\nLink: " + link.encode()
                     + b"\r\n\r\n[]")
    return answer


def _endless_redirects(server: list[RawServer]) -> Callable[[socket.socket, bytes], None]:
    def answer(conn: socket.socket, request: bytes) -> None:
        conn.sendall(b"HTTP/1.1 302 Found\r\nContent-Length: 0\r\nLocation: "
                     + server[0].url.encode() + b"/loop\r\n\r\n")
    return answer


HOSTILE: dict[str, Callable[..., Callable[[socket.socket, bytes], None]]] = {
    "body-drip": _body_drip, "header-drip": _header_drip, "hang": _hang,
}


@pytest.fixture(scope="module")
def gate_stub() -> Iterator[StubServer]:
    with StubServer(key=KEY) as server:
        yield server


def _pull_request(tmp_path: Path, base_url: str, api_url: str, **inputs: str
                  ) -> tuple[Path, dict[str, str]]:
    """A runner's workspace and environment for the action on a pull request whose comment
    goes to ``api_url``; returns (workspace, environment)."""
    workspace, files = tmp_path / "workspace", tmp_path / "files"
    for folder in (workspace, files, files / "home", files / "temp"):
        folder.mkdir(parents=True)
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"number": 42, "pull_request": {"number": 42}}), "utf-8")
    env = runner_env(workspace, files, {
        "api-key": KEY, "base-url": base_url, "model": "stub-model", **inputs,
        "comment-on-pr": "true", "github-token": TOKEN, "retries": "0"})
    env.update({"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event),
                "GITHUB_API_URL": api_url})
    return workspace, env


def _action(tmp_path: Path, stub: StubServer, api_url: str) -> tuple[int, str, dict[str, str],
                                                                       float]:
    """Run the action; returns (exit code, log, outputs, seconds from the API's first
    request to the exit, or the whole run's when the API got none)."""
    FIRST.clear()
    workspace, env = _pull_request(tmp_path, stub.url(), api_url, environment="staging")
    env.update({"GITHUB_WORKFLOW": "gate", "GITHUB_JOB": "gate"})
    started = time.monotonic()
    proc = subprocess.run([sys.executable, str(ENTRYPOINT)], cwd=workspace, env=env,
                          capture_output=True, text=True, timeout=120)
    seconds = time.monotonic() - FIRST.get("at", started)
    outputs = dict(parse_output_file(Path(env["GITHUB_OUTPUT"]).read_text("utf-8")))
    return proc.returncode, proc.stdout + proc.stderr, outputs, seconds


def _comment_warnings(log: str) -> list[str]:
    return [c.data for c in run_commands(log) if c.name == "warning"
            and c.properties.get("title") == github_comment.TITLE]


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_hostile_api_cannot_hold_the_comment_past_its_budget(
        tmp_path: Path, gate_stub: StubServer, kind: str) -> None:
    stop = threading.Event()
    with RawServer(_first(HOSTILE[kind](stop))) as api:
        code, log, outputs, seconds = _action(tmp_path, gate_stub, api.url[:-3] + "/api/v3")
        stop.set()
    assert code == 0, log  # the gate's result is unchanged
    assert outputs["verdict"] == "pass" and outputs["exit-code"] == "0"
    warnings = _comment_warnings(log)
    assert len(warnings) == 1, log
    assert f"no answer within {github_comment.BUDGET_S:g} s" in warnings[0]
    assert seconds < github_comment.BUDGET_S + MARGIN_S, f"{kind}: {seconds:.1f} s"
    assert TOKEN not in log.replace(f"::add-mask::{TOKEN}", "")


def test_endless_pages_are_bounded_by_the_budget(tmp_path: Path,
                                                  gate_stub: StubServer) -> None:
    holder: list[RawServer] = []
    with RawServer(_first(_endless_pages(holder))) as api:
        holder.append(api)
        code, log, _, seconds = _action(tmp_path, gate_stub, api.url[:-3] + "/api/v3")
        pages = len(api.requests)
    assert code == 0
    assert seconds < github_comment.BUDGET_S + MARGIN_S, f"{seconds:.1f} s"
    assert 3 < pages <= github_comment.MAX_PAGES
    assert not any(r.startswith(b"POST") for r in api.requests)  # nothing sent after it
    assert len(_comment_warnings(log)) == 1


def test_endless_redirects_are_not_followed(tmp_path: Path, gate_stub: StubServer) -> None:
    holder: list[RawServer] = []
    with RawServer(_endless_redirects(holder)) as api:
        holder.append(api)
        code, log, _, seconds = _action(tmp_path, gate_stub, api.url[:-3] + "/api/v3")
    assert code == 0
    assert len(api.requests) == 1  # not followed
    assert "HTTP 302" in _comment_warnings(log)[0], log
    assert seconds < ACTION_S


# -- the helper itself: the same bound for every later publisher ------------------------
def test_the_helper_bounds_a_dripping_call_and_shuts_its_socket() -> None:
    stop = threading.Event()
    with RawServer(_body_drip(stop)) as server:
        finished = threading.Event()

        def fetch(budget: bounded.Budget) -> bytes:
            try:
                return budget.session(5.0).get(server.url).content
            finally:
                finished.set()

        started = time.monotonic()
        with pytest.raises(bounded.BudgetExceeded, match="no answer within 1.5 s"):
            bounded.call(fetch, 1.5, "a dripping fetch")
        took = time.monotonic() - started
        assert finished.wait(2), "the worker still reads from a socket that was shut down"
        stop.set()
    assert 1.4 < took < 3.0


def test_the_helper_stops_when_asked_and_sends_nothing_after() -> None:
    stop = threading.Event()
    with RawServer(_hang(stop)) as server:
        asked = time.monotonic() + 0.5

        def twice(budget: bounded.Budget) -> None:
            session = budget.session(5.0)
            for _ in range(2):
                session.get(server.url)

        with pytest.raises(bounded.BudgetExceeded) as caught:
            bounded.call(twice, 30, "two calls", stop=lambda: time.monotonic() > asked)
        assert caught.value.stopped
        time.sleep(0.3)
        stop.set()
        assert len(server.requests) == 1


# -- class 10: a late signal while publishing --------------------------------------------
@pytest.mark.parametrize(("scenario", "code", "signals"), [
    (None, 0, (signal.SIGTERM,)),
    ("bad-key", 3, (signal.SIGTERM,)),
    (None, 0, (signal.SIGTERM, signal.SIGINT)),  # the second exits at once: same code
    ("bad-key", 3, (signal.SIGINT, signal.SIGTERM)),
])
def test_a_signal_while_publishing_leaves_outputs_agreeing_with_the_exit_code(
        tmp_path: Path, gate_stub: StubServer, scenario: str | None, code: int,
        signals: tuple[signal.Signals, ...]) -> None:
    stop = threading.Event()
    with RawServer(_hang(stop)) as api:
        workspace, env = _pull_request(tmp_path, gate_stub.url(scenario),
                                       api.url[:-3] + "/api/v3")
        proc = subprocess.Popen([sys.executable, str(ENTRYPOINT)], cwd=workspace, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(400):  # publishing: the comment's first call has reached the API
            if api.requests:
                break
            time.sleep(0.05)
        assert api.requests, "the comment never started"
        sent = time.monotonic()
        for number in signals:
            proc.send_signal(number)
            time.sleep(0.2)
        log, _ = proc.communicate(timeout=30)
        took = time.monotonic() - sent
        stop.set()
    assert proc.returncode == code, log  # the verdict stands: not 128 + the signal
    assert took < 3, took  # publishing stopped at once, not after the comment's 10 s
    outputs = dict(parse_output_file(Path(env["GITHUB_OUTPUT"]).read_text("utf-8")))
    assert outputs["exit-code"] == str(code)
    assert outputs["verdict"] == ("pass" if code == 0 else "fail")
    report = json.loads((workspace / outputs["report-json"]).read_text("utf-8"))
    assert report["exit_code"] == code and report["verdict"] == outputs["verdict"]
    if len(signals) == 1:
        warnings = _comment_warnings(log)
        assert len(warnings) == 1 and "stopped before the pull-request comment" in warnings[0]

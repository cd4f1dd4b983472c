"""chat-smoke run --pushgateway (issue 24, batch mode): what is pushed, where, how (POST:
the last success survives a failed run), and a failed push never changes the exit code."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from smoke.stub import StubServer
from tests.support.cli import KEY, run_cli
from tests.support.results import gate_result
from tests.support.servekit import check_metrics, families, value


class _Gateway(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, status: int) -> None:
        self.status = status
        self.pushes: list[dict[str, Any]] = []

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                gateway: _Gateway = self.server  # type: ignore[assignment]
                body = self.rfile.read(int(self.headers["Content-Length"]))
                gateway.pushes.append({"method": "POST", "path": self.path,
                                       "type": self.headers["Content-Type"],
                                       "body": body.decode("utf-8")})
                self.send_response(gateway.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"no")

            do_PUT = do_POST  # noqa: N815

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture()
def gateway() -> Iterator[_Gateway]:
    server = _Gateway(200)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def _segments(path: str) -> dict[str, str]:
    parts = path.split("/")[2:]  # /metrics/job/chat_smoke/target@base64/...
    found = {}
    for name, encoded in zip(parts[::2], parts[1::2], strict=True):
        if name.endswith("@base64"):
            found[name[:-7]] = base64.urlsafe_b64decode(encoded.replace("=", "") + "==").decode()
        else:
            found[name] = encoded
    return found


def test_a_pass_pushes_with_the_last_success(tmp_path: Path, stub: StubServer,
                                             gateway: _Gateway) -> None:
    run = run_cli(tmp_path, "--base-url", stub.url(), "--model", "stub-model",
                  "--environment", "prod/eu", "--target", "chat-api",
                  "--pushgateway", gateway.url + "/")
    assert run.code == 0, run.stderr
    [push] = gateway.pushes
    assert push["method"] == "POST" and push["type"].startswith("text/plain; version=0.0.4")
    assert _segments(push["path"]) == {"job": "chat_smoke", "target": "chat-api",
                                       "environment": "prod/eu"}
    check_metrics(push["body"])
    found = families(push["body"])
    assert value(found, "probe_success", target="chat-api", environment="prod/eu") == 1
    assert value(found, "chat_smoke_last_success_timestamp_seconds") > 0
    assert KEY not in push["body"]


def test_a_failure_pushes_without_the_last_success(tmp_path: Path, stub: StubServer,
                                                  gateway: _Gateway) -> None:
    """A POST replaces only the metrics it carries: the last success stays in the group."""
    run = run_cli(tmp_path, "--base-url", stub.url("bad-key"), "--model", "stub-model",
                  "--pushgateway", gateway.url)
    assert run.code == 3
    [push] = gateway.pushes
    assert _segments(push["path"]) == {"job": "chat_smoke", "target": "default",
                                       "environment": ""}
    found = families(push["body"])
    assert value(found, "probe_success") == 0
    assert value(found, "chat_smoke_failure_category", category="auth") == 1
    assert "chat_smoke_last_success_timestamp_seconds" not in found


@pytest.mark.parametrize("status", [500, 400])
def test_a_refused_push_is_a_warning_and_keeps_the_exit_code(
        tmp_path: Path, stub: StubServer, status: int) -> None:
    server = _Gateway(status)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        run = run_cli(tmp_path, "--base-url", stub.url(), "--model", "stub-model",
                      "--pushgateway", server.url)
    finally:
        server.shutdown()
        server.server_close()
    assert run.code == 0
    assert f"HTTP {status}" in run.stdout and "the exit code is the gate's" in run.stdout


def test_an_unreachable_pushgateway_is_a_warning(tmp_path: Path, stub: StubServer) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    run = run_cli(tmp_path, "--base-url", stub.url("bad-key"), "--model", "stub-model",
                  "--pushgateway", f"http://user:pw-secret@127.0.0.1:{port}")
    assert run.code == 3  # the gate's code, not the push's
    assert "warning: the push to the Pushgateway" in run.stdout
    assert "pw-secret" not in run.all_output


def test_the_textfile_and_the_push_are_one_exposition(tmp_path: Path, stub: StubServer,
                                                      gateway: _Gateway) -> None:
    path = tmp_path / "m.prom"
    run = run_cli(tmp_path, "--base-url", stub.url(), "--model", "stub-model",
                  "--negative", "invalid-model", "--report-prometheus", str(path),
                  "--pushgateway", gateway.url)
    assert run.code == 0, run.stderr
    text = path.read_text("utf-8")
    assert text == gateway.pushes[0]["body"]
    assert value(families(text), "chat_smoke_check_success",
                 check="negative:invalid-model", model="(invalid)") == 1


def test_a_config_error_is_pushed_too(tmp_path: Path, gateway: _Gateway) -> None:
    run = run_cli(tmp_path, "--base-url", "http://127.0.0.1:9/v1", "--model", "m",
                  "--timeout", "-1", "--pushgateway", gateway.url)
    assert run.code == 2
    [push] = gateway.pushes
    found = families(push["body"])
    assert value(found, "chat_smoke_failure_category", category="config") == 1
    assert value(found, "probe_success") == 0


def test_a_pushgateway_that_drips_costs_the_push_budget_only() -> None:
    """The push is bounded in wall-clock time (smoke.bounded): a server that answers a byte
    every 0.2 s (no read timeout ever fires) gets a warning at the budget, not a hung job."""
    import socket
    import time

    from smoke.serve import push

    stop = threading.Event()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def drip() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000:
                if stop.wait(0.2):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    result = gate_result(started_at="2026-12-06T22:00:00.000Z", duration_ms=5,
                         environment="prod", deployment_sha=None, endpoint={})
    began = time.monotonic()
    try:
        warning = push.push(result, f"http://127.0.0.1:{listener.getsockname()[1]}",
                            seconds=1.5)
        took = time.monotonic() - began
    finally:
        stop.set()
        listener.close()
    assert warning is not None and "no answer within 1.5 s" in warning, warning
    assert took < 3, took

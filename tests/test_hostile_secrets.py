"""Issue 26, class 1: the API key, and every credential chat-smoke itself holds, can't be
evicted from redaction. Only a user's secrets (header values) share a bounded space
(smoke.output.redact.USER_LIMIT); beyond it the run is refused with a config error rather
than silently stop masking. Before: the scope kept the 64 most recent secrets, so 64
masked header values pushed the key out and a server that echoed it had it printed in
full in stdout, report.json, JUnit and the summary."""

from __future__ import annotations

import base64
import json
import socket
from pathlib import Path

import pytest

from smoke.output import redact
from tests.support.cli import KEY
from tests.support.hardkit import assert_no_secret, assert_reports, gate_all
from tests.support.rawserver import RawServer


def _echo(conn: socket.socket, request: bytes) -> None:
    """A gateway that echoes the credential it got, in several shapes, in a 401."""
    head = request.split(b"\r\n\r\n")[0].decode("latin-1")
    auth = next((line.split(":", 1)[1].strip() for line in head.split("\r\n")
                 if line.lower().startswith("authorization:")), "")
    key = auth.removeprefix("Bearer ")
    message = (f"Invalid key {key}; header was {auth!r}; "
               f"b64 {base64.b64encode(auth.encode()).decode()}")
    body = json.dumps({"error": {"message": message, "type": "auth_error",
                                 "code": "invalid_api_key"}}).encode()
    conn.sendall(b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
                 b"Content-Length: " + str(len(body)).encode() + b"\r\n"
                 b"X-Echo: " + key.encode() + b"\r\nConnection: close\r\n\r\n" + body)


def _headers(count: int) -> tuple[list[str], dict[str, str]]:
    args: list[str] = []
    env: dict[str, str] = {}
    for number in range(count):
        env[f"HDR_SECRET_{number}"] = f"hdr-{number:04d}-" + "x9Y8z7W6v5U4t3S2"
        args += ["--header", f"X-Secret-{number}: ${{HDR_SECRET_{number}}}"]
    return args, env


@pytest.mark.parametrize("count", [70, 200, redact.USER_LIMIT])
def test_hundreds_of_secret_headers_cannot_push_the_key_out(tmp_path: Path,
                                                            count: int) -> None:
    args, env = _headers(count)
    with RawServer(_echo) as server:
        run, _ = gate_all(tmp_path, "--base-url", server.url, "--model", "m",
                          "--retries", "0", *args, env=env)
        assert len(server.requests) >= 1  # sent, with every header
        assert server.requests[0].count(b"X-Secret-") == count
    report = assert_reports(run, tmp_path, KEY)
    assert run.code == 3 and report["category"] == "auth", run.stdout + run.stderr
    # Each header's value is masked too (the newest and the oldest).
    outputs = {"stdout": run.stdout, "stderr": run.stderr,
               **{n: (tmp_path / n).read_text("utf-8") for n in ("report.json", "junit.xml",
                                                                 "summary.md")}}
    assert_no_secret(outputs, env["HDR_SECRET_0"], env[f"HDR_SECRET_{count - 1}"])
    assert "Invalid key ***" in (tmp_path / "report.json").read_text("utf-8")


def test_more_user_secrets_than_the_bound_is_a_config_error(tmp_path: Path) -> None:
    args, env = _headers(redact.USER_LIMIT + 40)
    with RawServer(_echo) as server:
        run, _ = gate_all(tmp_path, "--base-url", server.url, "--model", "m", *args, env=env)
        assert server.requests == []  # nothing sent
    report = assert_reports(run, tmp_path, KEY)
    assert run.code == 2 and report["category"] == "config"
    message = run.check("preflight:config")["message"]
    assert f"over {redact.USER_LIMIT}" in message and "--header" in message, message
    assert f"X-Secret-{redact.USER_LIMIT}" in message  # the header that went over


def test_the_key_survives_any_number_of_user_secrets_in_process() -> None:
    with redact.scope(KEY):
        redact.register("proxy-password-0123456789")
        for number in range(redact.USER_LIMIT):
            redact.register_user(f"user-secret-{number:05d}-abcdefgh")
        with pytest.raises(redact.Full):
            redact.register_user("one-more-user-secret-abcdefgh")
        # chat-smoke's own credentials are never bounded or evicted
        for number in range(500):
            redact.register(f"own-credential-{number:05d}-abcdefgh")
        text = redact.scrub(f"{KEY} proxy-password-0123456789 user-secret-00000-abcdefgh")
        assert KEY not in text and "proxy-password" not in text and "user-secret" not in text

"""Every outside value is bounded and encodable (issue 11, item 4): text from the server
that cannot be encoded (lone surrogates, NUL, control characters) and numbers that are
not finite (NaN, Infinity, 1e999) never break a report: report.json parses by strict
RFC 8259, the JUnit XML parses, the summary, the dotenv file, the console and
GITHUB_OUTPUT are written. Raw-socket servers speak the hostile answers."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.action_runner import ENTRYPOINT, runner_env
from tests.support.cli import KEY
from tests.support.hardkit import assert_no_secret, assert_reports, gate_all, record, strict_json
from tests.support.rawserver import RawServer
from tests.support.runner_rules import parse_output_file

# JSON escapes a parser turns into text no encoder takes: a lone surrogate, NUL, ESC,
# the non-characters, line separators, a BOM, C1 controls, bidi overrides.
HOSTILE_TEXT = (
    "pong \\ud800 \\udfff \\u0000 \\u001b[31m \\ufffe \\uffff \\u2028 \\ufeff \\u0085 "
    "\\u202e ::error::x %0A ghadelimiter_1\\n</details>"
)


def _http(body: bytes, status: bytes = b"200 OK", headers: bytes = b"") -> bytes:
    return (b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n" + headers
            + b"Content-Length: %d\r\n\r\n" % len(body) + body)


def _completion(content: str = '"pong"', usage: str = '{"prompt_tokens": 1, '
                '"completion_tokens": 1, "total_tokens": 2}', extra: str = "") -> bytes:
    return (
        '{"id": "c1", "object": "chat.completion", "model": "stub-model"' + extra + ', '
        '"choices": [{"index": 0, "message": {"role": "assistant", "content": ' + content
        + '}, "finish_reason": "stop"}], "usage": ' + usage + "}"
    ).encode("utf-8")


NUMBERS = {
    "nan-usage": '{"prompt_tokens": NaN, "completion_tokens": 1, "total_tokens": NaN}',
    "infinity-usage": '{"prompt_tokens": Infinity, "completion_tokens": -Infinity, '
                      '"total_tokens": 2}',
    "1e999-usage": '{"prompt_tokens": 1e999, "completion_tokens": -1e999, '
                   '"total_tokens": 1e999}',
    "huge-int-usage": '{"prompt_tokens": ' + "9" * 300 + ', "completion_tokens": 1}',
    "nested-nan": '{"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2, '
                  '"details": {"cached": [NaN, Infinity, {"x": -Infinity}]}}',
}


@pytest.mark.parametrize("name", list(NUMBERS))
def test_numbers_that_are_not_finite_never_make_invalid_json(tmp_path: Path,
                                                             name: str) -> None:
    answer = _http(_completion(usage=NUMBERS[name], extra=', "created": -Infinity'))
    with RawServer(answer) as server:
        run, wall = gate_all(tmp_path, "--base-url", server.url, "--model", "stub-model")
    report = assert_reports(run, tmp_path, KEY)
    assert run.code == 0, run.stdout + run.stderr
    text = (tmp_path / "report.json").read_text("utf-8")
    assert "NaN" not in text and "Infinity" not in text
    usage = next(c for c in report["checks"] if c["id"] == "positive:stub-model")["usage"]
    assert usage is None or all(v is None or isinstance(v, int | dict) for v in usage.values())
    record(f"server number: {name}", None, run.code, wall)


@pytest.mark.parametrize("expect", ["contains:pong", "contains:no-such-word"],
                         ids=["passes", "fails-and-shows-the-text"])
def test_unencodable_answer_text_never_breaks_a_report(tmp_path: Path, expect: str) -> None:
    with RawServer(_http(_completion(content=f'"{HOSTILE_TEXT}"'))) as server:
        run, wall = gate_all(tmp_path, "--base-url", server.url, "--model", "stub-model",
                             "--expect", expect)
    report = assert_reports(run, tmp_path, KEY)
    assert run.code == (0 if expect == "contains:pong" else 6), run.stdout + run.stderr
    junit = (tmp_path / "junit.xml").read_text("utf-8")
    assert "\x00" not in junit and "\x1b" not in junit
    assert "\x00" not in run.stdout
    record(f"server text: surrogates/NUL/controls ({expect})",
           report["category"], run.code, wall)


def test_unencodable_error_text_and_headers_never_break_a_report(tmp_path: Path) -> None:
    body = ('{"error": {"message": "' + HOSTILE_TEXT + '", "type": "\\ud83d", '
            '"code": "invalid_api_key \\u0000"}}').encode("utf-8")
    headers = b"X-Request-Id: req-\xff\xfe\x01\x7f-id\r\nX-Other: \xc3\x28\r\n"
    with RawServer(_http(body, b"401 Unauthorized", headers)) as server:
        run, wall = gate_all(tmp_path, "--base-url", server.url, "--model", "stub-model")
    report = assert_reports(run, tmp_path, KEY)
    assert (run.code, report["category"]) == (3, "auth")
    record("server text: hostile error body and header bytes", "auth", run.code, wall)


def test_unencodable_stream_text_never_breaks_a_report(tmp_path: Path) -> None:
    chunk = ('{"id": "c1", "object": "chat.completion.chunk", "model": "stub-model", '
             '"choices": [{"index": 0, "delta": {"content": "' + HOSTILE_TEXT + '"}, '
             '"finish_reason": null}]}')
    last = ('{"id": "c1", "object": "chat.completion.chunk", "model": "stub-model", '
            '"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], '
            '"usage": {"prompt_tokens": NaN, "completion_tokens": 1e999}}')
    sse = f"data: {chunk}\n\ndata: {last}\n\ndata: [DONE]\n\n".encode()
    answer = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
              b"Content-Length: %d\r\n\r\n" % len(sse) + sse)
    json_answer = _http(_completion())

    def by_kind(conn: socket.socket, request: bytes) -> None:
        conn.sendall(answer if b'"stream": true' in request else json_answer)

    with RawServer(by_kind) as server:
        run, wall = gate_all(tmp_path, "--base-url", server.url, "--model", "stub-model",
                             "--stream")
    report = assert_reports(run, tmp_path, KEY)
    assert run.code == 0, run.stdout + run.stderr
    stream = next(c for c in report["checks"] if c["id"] == "stream:stub-model")
    assert stream["outcome"] == "pass" and "pong" in stream["answer"]
    record("server text: hostile SSE stream", report["category"], run.code, wall)


def test_the_action_outputs_survive_unencodable_text(tmp_path: Path) -> None:
    workspace, files = tmp_path / "ws", tmp_path / "files"
    workspace.mkdir()
    for sub in ("home", "temp"):
        (files / sub).mkdir(parents=True)
    answer = _http(_completion(content=f'"{HOSTILE_TEXT}"', usage=NUMBERS["nan-usage"]),
                   headers=b"X-Request-Id: \xff\x00id\r\n")
    with RawServer(answer) as server:
        env = runner_env(workspace, files, {"api-key": KEY, "base-url": server.url,
                                            "model": "stub-model",
                                            "expect": "contains:no-such-word"})
        proc = subprocess.run([sys.executable, str(ENTRYPOINT)], cwd=workspace, env=env,
                              capture_output=True, text=True, timeout=60)
    assert proc.returncode == 6, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    raw = Path(env["GITHUB_OUTPUT"]).read_bytes().decode("utf-8")  # UTF-8, or raises
    outputs = dict(parse_output_file(raw))
    assert outputs["category"] == "assertion" and outputs["verdict"] == "fail"
    report = strict_json((workspace / outputs["report-json"]).read_text("utf-8"))
    assert report["exit_code"] == 6
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_bytes().decode("utf-8")
    assert "assertion" in summary
    log = "\n".join(line for line in (proc.stdout + proc.stderr).splitlines()
                    if not line.startswith("::add-mask::"))
    assert_no_secret({"log": log, "outputs": raw, "summary": summary}, KEY)
    json.dumps(report, allow_nan=False)


def test_a_console_that_cannot_encode_the_answer(tmp_path: Path) -> None:
    # An ASCII-only stdout (PYTHONIOENCODING=ascii, a C locale on an older image): the
    # answer is written with escapes, never an exit 1.
    answer = _http(_completion(content='"p\\u00f6ng \\u043a\\u043b\\u044e\\u0447 \\ud800"'))
    with RawServer(answer) as server:
        run, wall = gate_all(tmp_path, "--base-url", server.url, "--model", "stub-model",
                             "--expect", "contains:no-such-word",
                             env={"PYTHONIOENCODING": "ascii", "LC_ALL": "C", "LANG": "C"})
    report = assert_reports(run, tmp_path, KEY)
    assert (run.code, report["category"]) == (6, "assertion"), run.stdout + run.stderr
    assert "FAIL positive:stub-model" in run.stdout
    record("console: ASCII-only stdout, Cyrillic answer", "assertion", run.code, wall)

"""The fault matrix, malformed HTTP part (issue 11, item 8): framing errors, oversized
headers and odd encodings, spoken by a raw-socket server on loopback. Each maps to a
documented category (docs/failures.md: protocol for an answer that is not valid HTTP,
connect for a connection closed early, which may pass) and never to an internal error."""

from __future__ import annotations

import gzip
import json
import time
import zlib
from pathlib import Path

import pytest

from tests.support.cli import KEY
from tests.support.hardkit import assert_reports, gate_all, record
from tests.support.rawserver import RawServer

OK = json.dumps({
    "id": "c1", "object": "chat.completion", "model": "stub-model",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "pong"},
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
}).encode()
JSON = b"Content-Type: application/json\r\n"


def _http(body: bytes, headers: bytes = JSON, status: bytes = b"HTTP/1.1 200 OK") -> bytes:
    return status + b"\r\n" + headers + b"Content-Length: %d\r\n\r\n" % len(body) + body


def _chunked(*chunks: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\n" + JSON + b"Transfer-Encoding: chunked\r\n\r\n" + b"".join(
        chunks)


# name: (the bytes the server sends, category, exit code, attempts with --retries 1)
CASES: dict[str, tuple[bytes, str | None, int, int]] = {
    # framing
    "chunk-size-not-hex": (_chunked(b"zz\r\n", OK, b"\r\n0\r\n\r\n"), "protocol", 4, 1),
    "chunked-closed-early": (_chunked(b"%x\r\n" % len(OK), OK[:10]), "connect", 5, 2),
    "chunked-no-last-chunk": (_chunked(b"%x\r\n" % len(OK), OK, b"\r\n"), "connect", 5, 2),
    "content-length-too-long": (b"HTTP/1.1 200 OK\r\n" + JSON + b"Content-Length: 99999\r\n\r\n"
                                + OK, "connect", 5, 2),
    "content-length-too-short": (b"HTTP/1.1 200 OK\r\n" + JSON + b"Content-Length: 20\r\n\r\n"
                                 + OK, "protocol", 4, 1),
    "content-length-not-a-number": (b"HTTP/1.1 200 OK\r\n" + JSON
                                    + b"Content-Length: lots\r\n\r\n" + OK, None, 0, 1),
    "status-line-garbled": (b"HTTP/1.1 abc OK\r\n" + JSON + b"\r\n" + OK, "protocol", 4, 1),
    "status-line-missing-http09": (OK, "protocol", 4, 1),
    "binary-garbage": (b"\x00\xff\xfe\x16\x03\x01 garbage\r\n\r\n", "protocol", 4, 1),
    "tls-alert-on-plain-http": (b"\x15\x03\x01\x00\x02\x02\x46", "protocol", 4, 1),
    "empty-answer": (b"", "connect", 5, 2),
    "status-999": (_http(OK, status=b"HTTP/1.1 999 Weird"), "protocol", 4, 1),
    "redirect-to-an-invalid-url": (b"HTTP/1.1 302 Found\r\nLocation: http://[bad\r\n"
                                   b"Content-Length: 0\r\n\r\n", "protocol", 4, 1),
    "same-host-307-bad-port": (b"HTTP/1.1 307 Temporary Redirect\r\nLocation: "
                               b"http://127.0.0.1:99999/v1\r\nContent-Length: 0\r\n\r\n",
                               "protocol", 4, 1),
    "interim-100-then-close": (b"HTTP/1.1 100 Continue\r\n\r\n", "connect", 5, 2),
    "switching-protocols-101": (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",
                                "protocol", 4, 1),
    "no-content-204": (b"HTTP/1.1 204 No Content\r\n\r\n", "protocol", 4, 1),
    # oversized headers
    "header-line-100kb": (_http(OK, JSON + b"X-Big: " + b"a" * 100_000 + b"\r\n"),
                          "protocol", 4, 1),
    "headers-200": (_http(OK, JSON + b"".join(b"X-H%d: v\r\n" % i for i in range(200))),
                    "protocol", 4, 1),
    "header-without-colon": (_http(OK, JSON + b"this is not a header\r\n"), None, 0, 1),
    # encodings
    "unknown-content-encoding-plain-body": (_http(OK, JSON + b"Content-Encoding: br2\r\n"),
                                            None, 0, 1),
    "unknown-content-encoding-coded-body": (
        _http(zlib.compress(OK)[::-1], JSON + b"Content-Encoding: x-secret\r\n"),
        "protocol", 4, 1),
    "broken-gzip": (_http(b"\x1f\x8b garbage", JSON + b"Content-Encoding: gzip\r\n"),
                    "protocol", 4, 1),
    "gzip-truncated": (_http(gzip.compress(OK)[:30], JSON + b"Content-Encoding: gzip\r\n"),
                       "protocol", 4, 1),
    "broken-deflate": (_http(b"not deflate!", JSON + b"Content-Encoding: deflate\r\n"),
                       "protocol", 4, 1),
    "gzip-ok": (_http(gzip.compress(OK), JSON + b"Content-Encoding: gzip\r\n"), None, 0, 1),
    "charset-utf16-on-utf8": (_http(OK, b"Content-Type: application/json; charset=utf-16\r\n"),
                              None, 0, 1),
    "latin1-body": (_http(OK.replace(b"pong", b"p\xf6ng")), "protocol", 4, 1),
    "utf16-body": (_http(OK.decode().encode("utf-16")), "protocol", 4, 1),
}


@pytest.mark.parametrize("name", list(CASES))
def test_malformed_http_maps_to_a_documented_category(tmp_path: Path, name: str) -> None:
    answer, category, code, attempts = CASES[name]
    with RawServer(answer) as server:
        started = time.monotonic()
        run, wall = gate_all(tmp_path, "--base-url", server.url, "--model", "stub-model",
                             "--retries", "1", "--deadline", "10")
        wall = time.monotonic() - started
    report = assert_reports(run, tmp_path, KEY)
    check = next(c for c in report["checks"] if c["id"] == "positive:stub-model")
    detail = f"{name}: {check['message']}\n{run.stdout}{run.stderr}"
    assert (run.code, report["category"], check["category"]) == (code, category,
                                                                  category), detail
    assert check["attempts"] == attempts, detail
    assert "internal" not in run.stdout + run.stderr
    assert wall < 15, f"{name} took {wall:.1f}s"
    record(f"malformed HTTP: {name}", category, run.code, wall)

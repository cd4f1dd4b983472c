"""The fault matrix (issue 4): every way an endpoint, a network or a proxy misbehaves,
over real loopback sockets. Each test asserts category, exit code, attempts, a time
bound and that the key is in no output (tests/support/faultkit.py). TLS is in test_faults_tls.py.
"""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import pytest

from smoke.stub import StubServer
from tests.support.faultkit import expect_fault


def _tag() -> str:
    return uuid.uuid4().hex[:10]


# -- name resolution and connections -------------------------------------------------------
def test_dns_failure(tmp_path: Path) -> None:
    # .invalid never resolves (RFC 6761), so no network is needed to prove it.
    run, check, _ = expect_fault(tmp_path, "https://chat-smoke-fault.invalid/v1",
                                 category="dns", code=4, attempts=1, name="dns: .invalid host")
    assert "does not resolve" in check["message"]


def test_connection_refused(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens there now; connect is transient, so it is retried once.
    run, check, _ = expect_fault(tmp_path, f"http://127.0.0.1:{port}/v1", "--retries", "1",
                                 category="connect", code=5, attempts=2,
                                 name="connection refused")
    assert "refused" in check["message"]


def test_reset_mid_request(tmp_path: Path, stub: StubServer) -> None:
    run, check, _ = expect_fault(tmp_path, stub.url("reset"), "--retries", "1",
                                 category="connect", code=5, attempts=2, name="reset (RST)")
    assert [a["category"] for a in check["attempt_log"]] == ["connect", "connect"]


# -- time -----------------------------------------------------------------------------------
def test_headers_never_arrive_read_timeout(tmp_path: Path, stub: StubServer) -> None:
    run, check, _ = expect_fault(tmp_path, stub.url("hang:10"), "--timeout", "0.5",
                                 "--retries", "1", category="timeout", code=5, attempts=2,
                                 name="hang, --timeout 0.5 --retries 1")
    assert "read timeout" in check["message"]


def test_headers_never_arrive_deadline(tmp_path: Path, stub: StubServer) -> None:
    expect_fault(tmp_path, stub.url("hang:10"), category="timeout", code=5, attempts=1,
                 deadline=2, name="hang, --deadline 2")


def test_body_drips_forever_deadline_holds(tmp_path: Path, stub: StubServer) -> None:
    # A byte every 0.2 s: each recv is within the read timeout, only the deadline ends it,
    # either in the transport's read loop or (while one chunk read is still blocked) the
    # gate's backstop, whose attempt is then not logged.
    run, check, wall = expect_fault(tmp_path, stub.url("drip:0.2"), category="timeout",
                                    code=5, attempts=1, deadline=3, bound=4.5, logged=False,
                                    name="drip, --deadline 3")
    assert wall >= 3.0
    assert "deadline" in check["message"]
    assert run.report is not None and run.report["duration_ms"] < 4000


# -- HTTP status ------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_with_html(tmp_path: Path, stub: StubServer, status: int) -> None:
    run, check, _ = expect_fault(tmp_path, stub.url(f"upstream-html:{status}"), "--retries", "1",
                                 category="upstream", code=5, attempts=2,
                                 name=f"{status} HTML, --retries 1")
    assert f"HTTP {status} with an HTML page" in check["message"]
    assert check["http_status"] == status


def test_429_retry_after_seconds_then_pass(tmp_path: Path, stub: StubServer) -> None:
    run, check, wall = expect_fault(tmp_path, stub.url(f"rate-limit-then-pass~{_tag()}"),
                                    category=None, code=0, attempts=2,
                                    name="429 Retry-After: 1, then 200")
    first = check["attempt_log"][0]
    assert (first["http_status"], first["category"], first["wait_s"]) == (429, "rate_limit", 1.0)
    assert wall >= 1.0  # the wait really happened


def test_429_retry_after_http_date_then_pass(tmp_path: Path, stub: StubServer) -> None:
    run, check, wall = expect_fault(tmp_path, stub.url(f"rate-limit-date-then-pass~{_tag()}"),
                                    category=None, code=0, attempts=2,
                                    name="429 Retry-After: <HTTP-date>, then 200")
    wait = check["attempt_log"][0]["wait_s"]
    # The date is 2 s ahead at one-second resolution: between 1 and 2 s from now.
    assert 0.5 <= wait <= 2.1
    assert wall >= wait


def test_429_never_clears(tmp_path: Path, stub: StubServer) -> None:
    run, check, _ = expect_fault(tmp_path, stub.url("rate-limit-forever"), category="rate_limit",
                                 code=5, attempts=3, name="429 forever (Retry-After: 1)")
    assert [a["wait_s"] for a in check["attempt_log"]] == [1.0, 1.0, None]


def test_429_insufficient_quota_not_retried(tmp_path: Path, stub: StubServer) -> None:
    expect_fault(tmp_path, stub.url("insufficient-quota"), category="quota", code=3,
                 attempts=1, name="429 insufficient_quota")


def test_402(tmp_path: Path, stub: StubServer) -> None:
    expect_fault(tmp_path, stub.url("payment-required"), category="quota", code=3, attempts=1,
                 name="402")


def test_401_echoing_the_key(tmp_path: Path, stub: StubServer) -> None:
    run, check, _ = expect_fault(tmp_path, stub.url("echo-key"), category="auth", code=3,
                                 attempts=1, name="401 echoing the key")
    assert "***" in check["message"]  # the echo is there, masked


def test_403(tmp_path: Path, stub: StubServer) -> None:
    expect_fault(tmp_path, stub.url("forbidden"), category="permission", code=3, attempts=1,
                 name="403")


def test_404_model_not_found(tmp_path: Path, stub: StubServer) -> None:
    expect_fault(tmp_path, stub.url("unknown-model"), category="model", code=4, attempts=1,
                 name="404 model_not_found")


def test_gateway_400_invalid_model_name(tmp_path: Path, stub: StubServer) -> None:
    expect_fault(tmp_path, stub.url("invalid-model-name"), category="model", code=4,
                 attempts=1, name="400 invalid model name (gateway)")


@pytest.mark.parametrize(
    ("scenario", "fix"),
    [("bad-request", None), ("rejects-temperature", "--temperature none"),
     ("rejects-max-tokens", "--max-completion-tokens")],
)
def test_other_400(tmp_path: Path, stub: StubServer, scenario: str, fix: str | None) -> None:
    run, check, _ = expect_fault(tmp_path, stub.url(scenario), category="request", code=4,
                                 attempts=1, name=f"400 {scenario}")
    if fix:
        assert "Fix:" in check["message"] and fix in check["message"]
    else:
        assert "Fix:" not in check["message"]


def test_comet_500_invalid_request_not_retried(tmp_path: Path, stub: StubServer) -> None:
    expect_fault(tmp_path, stub.url("comet-invalid-request"), category="request", code=4,
                 attempts=1, name="500 error.code invalid_request (CometAPI)")


# -- bodies -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("scenario", "words"),
    [("html-200", "HTML page instead of JSON"), ("truncated", "not valid JSON"),
     ("wrong-shape", "no choices"), ("no-choices", "no choices"),
     ("empty-choices", "choices is empty"), ("not-utf8", "not UTF-8")],
)
def test_body_breaks_the_contract(
    tmp_path: Path, stub: StubServer, scenario: str, words: str
) -> None:
    run, check, _ = expect_fault(tmp_path, stub.url(scenario), category="protocol", code=4,
                                 attempts=1, name=f"200 {scenario}")
    assert words in check["message"]


def test_null_content_with_refusal(tmp_path: Path, stub: StubServer) -> None:
    run, check, _ = expect_fault(tmp_path, stub.url("refusal"), category="assertion", code=6,
                                 attempts=1, name="null content + refusal")
    assert "refused" in check["message"] and "I can't help with that." in check["message"]


@pytest.mark.parametrize("scenario", ["content-parts", "gzip"])
def test_body_variants_that_pass(tmp_path: Path, stub: StubServer, scenario: str) -> None:
    run, check, _ = expect_fault(tmp_path, stub.url(scenario), category=None, code=0,
                                 attempts=1, name=f"200 {scenario}")
    assert check["answer"] == "pong"


def test_huge_body_is_capped(tmp_path: Path, stub: StubServer) -> None:
    run, check, _ = expect_fault(tmp_path, stub.url("huge:64"), category="protocol", code=4,
                                 attempts=1, name="64 MiB body")
    assert "byte cap" in check["message"]


@pytest.mark.parametrize(
    ("scenario", "status", "target"),
    [("redirect-html", 301, "www.example.com"), ("redirect-other-host", 307, "localhost")],
)
def test_redirect_to_another_host_not_followed(
    tmp_path: Path, stub: StubServer, scenario: str, status: int, target: str
) -> None:
    run, check, _ = expect_fault(tmp_path, stub.url(scenario), category="protocol", code=4,
                                 attempts=1, name=f"{status} to another host ({scenario})")
    assert check["http_status"] == status
    assert "not followed" in check["message"] and target in check["message"]


def test_hostile_content_is_shown_as_data(tmp_path: Path, stub: StubServer) -> None:
    run, check, _ = expect_fault(tmp_path, stub.url("hostile"), category=None, code=0,
                                 attempts=1, name="hostile answer (contains pong)")
    assert "::error" in run.stdout  # shown ...
    for line in (run.stdout + run.stderr).splitlines():
        # ... but never at the start of a line, where a CI runner would act on it.
        assert not line.lstrip().startswith(("::", "%0A", "<", "#", "EOF", "ghadelimiter"))
    assert "\n" not in check["answer"]

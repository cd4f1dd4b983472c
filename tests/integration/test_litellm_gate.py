"""The gate (``python -m smoke run``, a subprocess) against a REAL LiteLLM proxy.

The ``litellm`` fixture builds the gateway's venv and starts the proxy, and fails loudly
when it cannot: nothing here skips. What the proxy answers is in docs/litellm-observed.md;
how the gate treats each departure from OpenAI's contract is in docs/compatibility.md.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from smoke.http import classify, transport
from smoke.http.deadline import Deadline
from tests.support.cli import Run, run_cli
from tests.support.litellm_proxy import LiteLLMProxy

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def gate(litellm: LiteLLMProxy, tmp_path: Path, model: str, *args: str) -> Run:
    run = run_cli(tmp_path, "--base-url", litellm.base_url, "--model", model,
                  "--deadline", "60", *args, key=litellm.master_key)
    assert run.report is not None, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    assert litellm.master_key not in run.all_output
    return run


def test_positive_gate_passes(litellm: LiteLLMProxy, tmp_path: Path) -> None:
    run = gate(litellm, tmp_path, litellm.models.pong)
    assert (run.code, run.report and run.report["verdict"]) == (0, "pass"), run.stdout
    check = run.check(f"positive:{litellm.models.pong}")
    assert (check["outcome"], check["http_status"], check["attempts"]) == ("pass", 200, 1)
    assert check["answer"] == "pong" and check["finish_reason"] == "stop"
    assert check["response_model"] == litellm.models.pong
    # LiteLLM sends no system_fingerprint: recorded as absent, not an error.
    assert check["system_fingerprint"] is None
    assert check["usage"]["total_tokens"] == 30
    assert UUID.match(check["request_id"]), check["request_id"]


def test_request_id_is_the_call_id_header(litellm: LiteLLMProxy) -> None:
    endpoint = transport.Endpoint(litellm.base_url, litellm.master_key, 5, 30)
    body = {"model": litellm.models.pong, "messages": [{"role": "user", "content": "ping"}]}
    with transport.new_session(endpoint) as session:
        exchange = transport.request(transport.Route(session, endpoint, Deadline(30)),
                                     transport.Call("POST", "chat/completions", body))
    assert exchange.status == 200 and "x-request-id" not in exchange.headers
    call_id = exchange.headers["x-litellm-call-id"]
    assert classify.request_id(exchange.headers) == call_id and UUID.match(call_id)
    assert call_id not in json.loads(exchange.body)["id"]  # not the body's id


@pytest.mark.parametrize(("name", "category"), [
    ("invalid-key", "auth"), ("invalid-model", "model"), ("missing-field", "request")])
def test_negative_check(litellm: LiteLLMProxy, tmp_path: Path, name: str,
                        category: str) -> None:
    run = gate(litellm, tmp_path, litellm.models.pong, "--negative", name)
    assert run.code == 0, run.stdout
    check = run.check(f"negative:{name}")
    assert (check["outcome"], check["expected_category"]) == ("pass", category)
    assert check["details"]["got_category"] == category
    # All three are a 400 here: OpenAI says 401 for a key and 404 for a model.
    assert (check["http_status"], check["attempts"]) == (400, 1)
    if name == "invalid-key":
        # A wrong key without a key database: 400 no_db_connection, and no call id.
        assert "no_db_connection: No connected db." in check["message"]
        assert check["request_id"] is None
    else:
        assert UUID.match(check["request_id"])


def test_rate_limit_is_retried_and_recorded(litellm: LiteLLMProxy, tmp_path: Path) -> None:
    run = gate(litellm, tmp_path, litellm.models.ratelimit, "--retries", "2")
    assert (run.code, run.report and run.report["category"]) == (5, "rate_limit")
    check = run.check(f"positive:{litellm.models.ratelimit}")
    assert (check["category"], check["attempts"], check["transient"]) == ("rate_limit", 3, True)
    log = check["attempt_log"]
    assert [(a["http_status"], a["category"]) for a in log] == [(429, "rate_limit")] * 3
    # No Retry-After from LiteLLM: the gate's own backoff, recorded on each retried attempt.
    assert all(a["wait_s"] > 0 for a in log[:2]) and log[2]["wait_s"] is None
    # error.code is "429": the message names the type, not the status twice.
    assert check["message"].startswith("HTTP 429 throttling_error: litellm.RateLimitError")
    assert UUID.match(check["request_id"])


@pytest.mark.parametrize(("model", "status"), [("internal", 500), ("overloaded", 529)])
def test_server_errors_are_upstream(litellm: LiteLLMProxy, tmp_path: Path, model: str,
                                    status: int) -> None:
    name = getattr(litellm.models, model)
    run = gate(litellm, tmp_path, name, "--retries", "1")
    assert (run.code, run.report and run.report["category"]) == (5, "upstream")
    check = run.check(f"positive:{name}")
    assert (check["http_status"], check["attempts"]) == (status, 2)
    assert check["message"].startswith(f"HTTP {status} internal_server_error: litellm.")


def test_408_is_timeout(litellm: LiteLLMProxy, tmp_path: Path) -> None:
    # error.type is invalid_request_error, but the status says timeout (transient).
    run = gate(litellm, tmp_path, litellm.models.timeout, "--retries", "0")
    assert (run.code, run.report and run.report["category"]) == (5, "timeout")
    assert run.check(f"positive:{litellm.models.timeout}")["http_status"] == 408


@pytest.mark.parametrize("model", ["context_window", "content_filter"])
def test_other_400s_are_request(litellm: LiteLLMProxy, tmp_path: Path, model: str) -> None:
    name = getattr(litellm.models, model)
    run = gate(litellm, tmp_path, name)
    assert (run.code, run.report and run.report["category"]) == (4, "request")
    assert run.check(f"positive:{name}")["attempts"] == 1


def test_wrong_path_detail_body(litellm: LiteLLMProxy, tmp_path: Path) -> None:
    run = run_cli(tmp_path, "--base-url", f"{litellm.root_url}/nope", "--model",
                  litellm.models.pong, key=litellm.master_key)
    assert (run.code, run.report and run.report["category"]) == (4, "request")
    check = run.check(f"positive:{litellm.models.pong}")
    # The message is what the server said; the hint is what the URL's shape tells
    # (issue 21): /nope has no /v1, and nothing is said about payload fields.
    assert check["message"].startswith("HTTP 404: Not Found"), check["message"]
    assert "base_url's path /nope has no /v1" in check["hint"], check["hint"]
    assert "payload" not in check["hint"] + check["message"]


def test_stream_passes(litellm: LiteLLMProxy, tmp_path: Path) -> None:
    run = gate(litellm, tmp_path, litellm.models.pong, "--stream")
    assert run.code == 0, run.stdout
    check = run.check(f"stream:{litellm.models.pong}")
    assert (check["outcome"], check["answer"]) == ("pass", "pong")
    assert UUID.match(check["request_id"])
    # The usage chunk's choices is [{"index": 0, "delta": {}}], not []: accepted.
    stream = check["details"]["stream"]
    assert stream["done"] and stream["usage_chunk_with_choices"]
    assert check["usage"]["total_tokens"] == 20


def test_stream_error_after_first_chunk_is_upstream(litellm: LiteLLMProxy,
                                                   tmp_path: Path) -> None:
    name = litellm.models.midstream_error
    run = gate(litellm, tmp_path, name, "--stream", "--retries", "0")
    assert (run.code, run.report and run.report["category"]) == (5, "upstream")
    assert run.check(f"positive:{name}")["outcome"] == "pass"
    check = run.check(f"stream:{name}")
    assert (check["category"], check["http_status"]) == ("upstream", 200)
    assert "upstream connection lost mid-stream" in check["message"]


def test_stream_error_before_first_chunk_is_plain_json(litellm: LiteLLMProxy,
                                                       tmp_path: Path) -> None:
    name = litellm.models.overloaded
    run = gate(litellm, tmp_path, name, "--stream", "--retries", "0")
    check = run.check(f"stream:{name}")
    assert (check["category"], check["http_status"]) == ("upstream", 529)
    assert check["message"].startswith("HTTP 529 internal_server_error")


def test_sdk_parity(litellm: LiteLLMProxy, tmp_path: Path) -> None:
    pong, limited = litellm.models.pong, litellm.models.ratelimit
    run = gate(litellm, tmp_path, f"{pong},{limited}", "--sdk-parity", "--retries", "0")
    assert (run.code, run.report and run.report["category"]) == (5, "rate_limit")
    answered = run.check(f"sdk-parity:{pong}")
    assert answered["outcome"] == "pass", answered["message"]
    assert answered["message"].startswith(f"both answered 'pong' (model '{pong}'")
    assert UUID.match(answered["request_id"])
    failed = run.check(f"sdk-parity:{limited}")
    assert failed["outcome"] == "pass" and failed["message"].startswith("both failed as "
                                                                        "rate_limit")

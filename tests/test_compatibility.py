"""Provider quirks (docs/compatibility.md), one test each: the exact bodies CometAPI, OpenAI
and LiteLLM send, replayed by a tiny loopback server, through the real gate.

The LiteLLM bodies are those observed from a real proxy (docs/litellm-observed.md); the
CometAPI and OpenAI ones are from ../shared/reference/chat-completions-contract.md.
tests/integration/test_litellm_gate.py meets the same quirks on the real proxy.
"""

from __future__ import annotations

import ast
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from smoke import pipeline
from smoke.output.console import Console
from smoke.results import Check, GateResult
from tests.support.cli import KEY

ROOT = Path(__file__).resolve().parent.parent
JSON = {"content-type": "application/json"}
CALL_ID = "1f69fab9-30a8-4ea0-a1f0-0c43f5f59543"
LITELLM = {**JSON, "x-litellm-call-id": CALL_ID}

# Exact bodies (LiteLLM 1.108.7, docs/litellm-observed.md sections 3-9).
LITELLM_WRONG_KEY = '{"error":{"message":"No connected db.","type":"no_db_connection","param":null,"code":"400"}}'  # noqa: E501
LITELLM_NO_KEY = '{"error":{"message":"Authentication Error, No api key passed in.","type":"auth_error","param":"None","code":"401"}}'  # noqa: E501
_INVALID_MODEL = ("/chat/completions: Invalid model name passed in model=gpt-nonexistent. "
                  "Call `/v1/models` to view available models for your key.")
LITELLM_UNKNOWN_MODEL = json.dumps({"error": {
    "message": _INVALID_MODEL, "type": "invalid_request_error", "param": None, "code": "400",
    "provider_specific_fields": {"error": _INVALID_MODEL}}})
LITELLM_NO_MESSAGES = '{"error":{"message":"/chat/completions: Missing required parameter: \'messages\'.","type":"invalid_request_error","param":"messages","code":"400"}}'  # noqa: E501
LITELLM_429 = json.dumps({"error": {"message": "litellm.RateLimitError: this is a mock rate limit error\n\nLiteLLM: model group 'mock-ratelimit' failed with the error above. No fallback was attempted.", "type": "throttling_error", "param": None, "code": "429"}})  # noqa: E501
LITELLM_500 = json.dumps({"error": {"message": "litellm.InternalServerError: this is a mock internal server error\n\nLiteLLM: model group 'mock-internal' failed with the error above. No fallback was attempted.", "type": "internal_server_error", "param": None, "code": "500"}})  # noqa: E501
LITELLM_529 = json.dumps({"error": {"message": "litellm.APIError: APIError: OpenAIException - litellm.MockException: This is a mock error raised mid-stream\n\nLiteLLM: model group 'mock-overloaded' failed with the error above. No fallback was attempted.", "type": "internal_server_error", "param": None, "code": "529"}})  # noqa: E501
LITELLM_408 = json.dumps({"error": {"message": "litellm.Timeout: This is a mock timeout error", "type": "invalid_request_error", "param": None, "code": "408"}})  # noqa: E501
LITELLM_CONTEXT = json.dumps({"error": {"message": "litellm.ContextWindowExceededError: litellm.BadRequestError: this is a mock context window exceeded error", "type": "invalid_request_error", "param": None, "code": "400"}})  # noqa: E501
LITELLM_NOT_FOUND = '{"detail":"Not Found"}'
LITELLM_OK = json.dumps({"id": "chatcmpl-d40ec5ae-0b1c", "created": 1795744880, "model": "m",
                         "object": "chat.completion", "choices": [{
                             "finish_reason": "stop", "index": 0,
                             "message": {"content": "pong", "role": "assistant"}}],
                         "usage": {"completion_tokens": 20, "prompt_tokens": 10,
                                   "total_tokens": 30}})
# CometAPI and OpenAI (the contract reference).
COMET_INVALID = '{"error":{"message":"invalid request body (request id: 20251127012345678)","type":"comet_api_error","param":"","code":"invalid_request"}}'  # noqa: E501
COMET_EMPTY_CODE = '{"error":{"message":"invalid token (request id: 20251127099)","type":"comet_api_error","param":"","code":""}}'  # noqa: E501
OPENAI_QUOTA = '{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}'  # noqa: E501
OPENAI_RATE = '{"error":{"message":"Rate limit reached for requests","type":"requests","param":null,"code":"rate_limit_exceeded"}}'  # noqa: E501
OPENAI_NO_MODEL = '{"error":{"message":"The model `gpt-x` does not exist or you do not have access to it.","type":"invalid_request_error","param":null,"code":"model_not_found"}}'  # noqa: E501
OPENAI_CONTEXT = '{"error":{"message":"This model\'s maximum context length is 128000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}'  # noqa: E501
HTML_404 = "<html><head><title>404 Not Found</title></head><body>nginx</body></html>"

Reply = tuple[int, dict[str, str], str]


@dataclass
class Replay:
    """A loopback HTTP server that answers ``/<case>/...`` with that case's replies in turn
    (the last one repeats), and records what each request carried."""

    cases: dict[str, list[Reply]] = field(default_factory=dict)
    seen: list[tuple[str, str]] = field(default_factory=list)  # (method, path)
    port: int = 0

    def url(self, case: str) -> str:
        return f"http://127.0.0.1:{self.port}/{case}/v1"


def _handler(replay: Replay) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            replay.seen.append(("POST", self.path))
            replies = replay.cases.get(self.path.split("/")[1], [(404, JSON, "{}")])
            count = sum(1 for _, path in replay.seen if path == self.path)
            status, headers, body = replies[min(count, len(replies)) - 1]
            data = body.encode()
            self.send_response(status)  # an unknown status (529) gets an empty reason phrase
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@pytest.fixture
def replay() -> Iterator[Replay]:
    state = Replay()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def gate_run(replay: Replay, *replies: Reply, retries: int = 1, url: str | None = None,
             **flags: Any) -> tuple[GateResult, Check]:
    """Run the real gate (in process) against ``replies``; return the result and its
    positive check."""
    case = f"case{len(replay.cases)}"
    replay.cases[case] = list(replies)
    result, _ = pipeline.check({"base_url": url or replay.url(case), "model": "m",
                                "retries": retries, "deadline": 20, **flags},
                               {"COMETAPI_API_KEY": KEY}, console=Console(quiet=True))
    positive = next(c for c in result.checks if c.kind == "positive")
    assert KEY not in json.dumps([c.to_dict() for c in result.checks])
    return result, positive


def _outcome(result: GateResult, check: Check) -> tuple[int, str | None, int]:
    return result.exit_code, check.category.value if check.category else None, check.attempts


# ---------------------------------------------------------------------------- LiteLLM


def test_litellm_code_is_the_status_string(replay: Replay) -> None:
    result, check = gate_run(replay, (429, LITELLM, LITELLM_429), retries=0)
    assert _outcome(result, check) == (5, "rate_limit", 1)
    # The numeric code repeats the status: the message names the type instead.
    assert check.message.startswith("HTTP 429 throttling_error: litellm.RateLimitError")


def test_litellm_wrong_key_without_db_is_auth(replay: Replay) -> None:
    result, check = gate_run(replay, (400, JSON, LITELLM_WRONG_KEY))
    assert _outcome(result, check) == (3, "auth", 1)
    assert "HTTP 400 no_db_connection: No connected db." in check.message
    assert "master key" in check.message and check.request_id is None


def test_litellm_no_key_401_with_param_string_none(replay: Replay) -> None:
    result, check = gate_run(replay, (401, JSON, LITELLM_NO_KEY))
    assert _outcome(result, check) == (3, "auth", 1)
    assert check.message == "HTTP 401 auth_error: Authentication Error, No api key passed in."


def test_litellm_unknown_model_400_is_model(replay: Replay) -> None:
    result, check = gate_run(replay, (400, LITELLM, LITELLM_UNKNOWN_MODEL))
    assert _outcome(result, check) == (4, "model", 1)
    assert "Invalid model name passed in model=gpt-nonexistent" in check.message


def test_litellm_missing_messages_is_request(replay: Replay) -> None:
    result, check = gate_run(replay, (400, LITELLM, LITELLM_NO_MESSAGES))
    assert _outcome(result, check) == (4, "request", 1)


def test_litellm_context_window_400_is_request(replay: Replay) -> None:
    result, check = gate_run(replay, (400, LITELLM, LITELLM_CONTEXT))
    assert _outcome(result, check) == (4, "request", 1)


def test_litellm_408_is_timeout_and_retried(replay: Replay) -> None:
    # error.type says invalid_request_error; the status decides: a timeout, transient.
    result, check = gate_run(replay, (408, LITELLM, LITELLM_408), (200, LITELLM, LITELLM_OK))
    assert _outcome(result, check) == (0, None, 2)
    assert [a.category for a in check.attempt_log] == ["timeout", None]


def test_litellm_429_without_retry_after_backs_off(replay: Replay) -> None:
    result, check = gate_run(replay, (429, LITELLM, LITELLM_429), retries=2)
    assert _outcome(result, check) == (5, "rate_limit", 3)
    waits = [a.wait_s for a in check.attempt_log]
    # No Retry-After: exponential backoff with jitter (0.5 s, then 1 s, minus up to 25%).
    assert waits[2] is None and 0.375 <= waits[0] <= 0.5 and 0.75 <= waits[1] <= 1.0  # type: ignore[operator]
    assert check.request_id == CALL_ID


@pytest.mark.parametrize(("status", "body"), [(500, LITELLM_500), (529, LITELLM_529)],
                         ids=["500", "529"])
def test_litellm_5xx_and_529_are_upstream(replay: Replay, status: int, body: str) -> None:
    result, check = gate_run(replay, (status, LITELLM, body))
    assert _outcome(result, check) == (5, "upstream", 2)
    assert check.http_status == status
    assert f"HTTP {status} internal_server_error: litellm." in check.message


def test_litellm_detail_body_on_wrong_path(replay: Replay) -> None:
    result, check = gate_run(replay, (404, JSON, LITELLM_NOT_FOUND))
    assert _outcome(result, check) == (4, "request", 1)
    assert check.message == "HTTP 404: Not Found"
    # The URL has /v1 and no query: the hint cannot name the cause, and says so.
    assert check.hint and "chat-smoke cannot tell why" in check.hint


def test_litellm_call_id_is_the_request_id(replay: Replay) -> None:
    result, check = gate_run(replay, (200, LITELLM, LITELLM_OK))
    assert _outcome(result, check) == (0, None, 1)
    assert check.request_id == CALL_ID
    # No system_fingerprint, no refusal or tool_calls keys: absent, not an error.
    assert check.system_fingerprint is None and check.answer == "pong"


# ---------------------------------------------------------------------------- CometAPI


def test_comet_500_invalid_request_is_request_not_retried(replay: Replay) -> None:
    result, check = gate_run(replay, (500, JSON, COMET_INVALID), retries=2)
    assert _outcome(result, check) == (4, "request", 1)


def test_comet_request_id_from_message_suffix(replay: Replay) -> None:
    # No id header at all: the "(request id: …)" suffix of the message is the id.
    result, check = gate_run(replay, (500, JSON, COMET_INVALID))
    assert check.request_id == "20251127012345678"


def test_comet_empty_code_falls_back_to_type(replay: Replay) -> None:
    result, check = gate_run(replay, (401, JSON, COMET_EMPTY_CODE))
    assert _outcome(result, check) == (3, "auth", 1)
    assert check.message.startswith("HTTP 401 comet_api_error: invalid token")
    assert check.request_id == "20251127099"


def test_comet_wrong_path_redirect_not_followed(replay: Replay) -> None:
    moved = {"content-type": "text/html", "location": "https://www.cometapi.com/"}
    result, check = gate_run(replay, (301, moved, "<html><title>Moved</title></html>"))
    assert _outcome(result, check) == (4, "protocol", 1)
    assert "not followed" in check.message
    assert len(replay.seen) == 1  # nothing was sent to the redirect's target


def test_comet_wrong_path_html_404(replay: Replay) -> None:
    result, check = gate_run(replay, (404, {"content-type": "text/html"}, HTML_404))
    assert _outcome(result, check) == (4, "request", 1)
    assert "HTML page" in check.message
    # The path has /v1 and no query: chat-smoke says it cannot tell, and lists the causes.
    assert check.hint and check.hint.startswith("HTTP 404: chat-smoke cannot tell why")


def test_base_url_without_v1_gets_v1(replay: Replay) -> None:
    replay.cases["v1"] = [(200, JSON, LITELLM_OK)]
    result, _ = gate_run(replay, (200, JSON, LITELLM_OK), url=f"http://127.0.0.1:{replay.port}")
    assert result.exit_code == 0 and replay.seen[-1] == ("POST", "/v1/chat/completions")


def test_comet_524_is_upstream_and_retried(replay: Replay) -> None:
    html = {"content-type": "text/html"}
    result, check = gate_run(replay, (524, html, "<title>A timeout occurred</title>"),
                             (200, JSON, LITELLM_OK))
    assert _outcome(result, check) == (0, None, 2)
    assert check.attempt_log[0].category == "upstream"


# ---------------------------------------------------------------------------- OpenAI


@pytest.mark.parametrize(("body", "category", "code", "attempts"),
                         [(OPENAI_QUOTA, "quota", 3, 1), (OPENAI_RATE, "rate_limit", 5, 2)],
                         ids=["insufficient_quota", "rate_limit_exceeded"])
def test_openai_429_quota_is_not_a_rate_limit(replay: Replay, body: str, category: str,
                                               code: int, attempts: int) -> None:
    result, check = gate_run(replay, (429, JSON, body))
    assert _outcome(result, check) == (code, category, attempts)


def test_openai_404_model_not_found_is_model(replay: Replay) -> None:
    result, check = gate_run(replay, (404, JSON, OPENAI_NO_MODEL))
    assert _outcome(result, check) == (4, "model", 1)


def test_openai_context_length_exceeded_is_request(replay: Replay) -> None:
    result, check = gate_run(replay, (400, JSON, OPENAI_CONTEXT))
    assert _outcome(result, check) == (4, "request", 1)


def test_openai_retry_after_ms_honoured(replay: Replay) -> None:
    result, check = gate_run(replay, (429, {**JSON, "retry-after-ms": "300",
                                            "x-request-id": "req_1"}, OPENAI_RATE),
                             (200, {**JSON, "x-request-id": "req_2"}, LITELLM_OK))
    assert _outcome(result, check) == (0, None, 2)
    assert check.attempt_log[0].wait_s == 0.3 and check.request_id == "req_2"


# ---------------------------------------------------------------------------- the table


def _table_rows(text: str) -> list[str]:
    """The body rows of every Markdown table whose header has a ``test`` column."""
    lines = text.splitlines()
    rows: list[str] = []
    for i, line in enumerate(lines[1:], start=1):
        if line.startswith("| ---") and "| test |" in lines[i - 1]:
            body = lines[i + 1:]
            rows += body[: next((n for n, row in enumerate(body) if not row.startswith("|")),
                                len(body))]
    return rows


def test_every_documented_quirk_names_a_real_test() -> None:
    text = (ROOT / "docs" / "compatibility.md").read_text()
    rows = _table_rows(text)
    assert len(rows) >= 30 and all("::test_" in row for row in rows), "a row without a test"
    for path, name in re.findall(r"`(tests/[\w/]+\.py)::(test_\w+)`", text):
        tree = ast.parse((ROOT / path).read_text())
        names = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
        assert name in names, f"docs/compatibility.md names {path}::{name}, which does not exist"

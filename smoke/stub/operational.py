"""The stub's scenarios for the answer's contract and its operational signals (issue 22):
an answer that parses but breaks the Chat Completions contract, rate-limit headers,
Deprecation and Sunset, a model retired behind a list that still names it, and a body
that comes slowly after prompt headers. Each takes its ``:arg`` as documented below."""

from __future__ import annotations

import time
from collections.abc import Callable
from email.utils import formatdate

from smoke.jsonvalue import JSONObject
from smoke.stub import wire
from smoke.stub.handler import Handler
from smoke.stub.request import Request, validate
from smoke.stub.streams import stream_text

DEPRECATIONS_URL = "https://stub.invalid/deprecations"


def broken_completion(model: str, text: str) -> JSONObject:
    """An answer a lenient parser reads as ``text``, breaking seven rules of the contract."""
    return {
        "id": "chatcmpl-stub-broken",
        "object": "chat_completion",  # not "chat.completion"
        "created": "2026-12-06T00:00:00Z",  # a string, not Unix seconds
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": text},  # no refusal
            "finish_reason": "end_turn",  # not one of the documented reasons
        }],  # no logprobs
        "usage": {"prompt_tokens": 19, "completion_tokens": 1},  # no total_tokens
        "system_fingerprint": None,  # a string when present
    }


def contract_broken(h: Handler, req: Request) -> None:
    if not validate(h, req):
        return
    if req.stream:
        stream_text(h, req, "pong", broken=True)
    else:
        h.send_json(200, broken_completion(req.model, "pong"))


def _good(h: Handler, req: Request, headers: dict[str, str]) -> None:
    if req.stream:
        stream_text(h, req, "pong", headers=headers)
    else:
        h.send_json(200, wire.completion(req.model, "pong"), headers=headers)


def ratelimit_headers(share: float) -> dict[str, str]:
    """OpenAI's rate-limit headers with ``share`` of the requests left (tokens: 75 %)."""
    return {
        "x-ratelimit-limit-requests": "500",
        "x-ratelimit-remaining-requests": str(int(500 * share)),
        "x-ratelimit-reset-requests": "6m0s",
        "x-ratelimit-limit-tokens": "200000",
        "x-ratelimit-remaining-tokens": "150000",
        "x-ratelimit-reset-tokens": "1s",
    }


def rate_limit_headers(h: Handler, req: Request) -> None:
    """A good answer with rate-limit headers; ``arg`` the share of requests left (0.05)."""
    if validate(h, req):
        _good(h, req, ratelimit_headers(req.arg_float(0.05)))


def retirement_headers(days: float) -> dict[str, str]:
    now = time.time()
    return {
        "Deprecation": f"@{int(now - 10 * 86400)}",  # RFC 9745: deprecated 10 days ago
        "Sunset": formatdate(now + days * 86400, usegmt=True),  # RFC 8594
        "Link": f'<{DEPRECATIONS_URL}>; rel="sunset"; type="text/html"',
    }


def sunset(h: Handler, req: Request) -> None:
    """A good answer from a deprecated model retired in ``arg`` days (default 30)."""
    if validate(h, req):
        _good(h, req, retirement_headers(req.arg_float(30.0)))


def retired(h: Handler, req: Request) -> None:
    """``arg`` (404 or 410, default 410) with ``model_not_found`` for a model GET /models
    still lists: retired upstream, or not enabled for this key."""
    if validate(h, req):
        h.send_bytes(int(req.arg_float(410)), wire.error(
            f"The model `{req.model}` has been deprecated and is no longer available.",
            "invalid_request_error", "model_not_found"))


def slow_body(h: Handler, req: Request) -> None:
    """The headers at once, the body ``arg`` seconds later (default 1): a prompt first
    byte and a slow total."""
    if not validate(h, req):
        return
    body = wire.dumps(wire.completion(req.model, "pong"))
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.flush()
    time.sleep(req.arg_float(1.0))
    try:
        h.wfile.write(body)
        h.wfile.flush()
    except OSError:
        return


SCENARIOS: dict[str, Callable[[Handler, Request], None]] = {
    "contract-broken": contract_broken,
    "rate-limit-headers": rate_limit_headers,
    "sunset": sunset,
    "retired": retired,
    "slow-body": slow_body,
}

"""Sending a check's request with retries, and the steps every kind records from it."""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from collections.abc import Mapping
from typing import Protocol

from smoke.categories import Category
from smoke.checks import signals
from smoke.checks.task import Target
from smoke.config.expect import Expectation
from smoke.config.settings import Settings
from smoke.http import classify, parse, reproduce, retry
from smoke.http.transport import (
    CLIENT_ID_HEADER,
    Call,
    Exchange,
    Route,
    TransportFailure,
    encode,
    request,
    request_headers,
)
from smoke.http.transport import endpoint_of as endpoint_of  # re-exported
from smoke.output import redact
from smoke.output.textsafe import one_line
from smoke.results import Attempt, Check, Step

EXCERPT_LIMIT = 300
_TRUNCATED = "… [truncated]"


class Sender(Protocol):
    """How one attempt is sent: ``transport.request`` (the whole body), or the streaming
    check's opener, which leaves a 2xx event stream unread."""

    def __call__(self, route: Route, call: Call) -> Exchange: ...


def traced(check: Check, target: Target, call: Call) -> Call:
    """``call`` with a fresh client request id among its headers; records the id and the
    curl reproduction of exactly this request on ``check``."""
    client_id = str(uuid.uuid4())
    headers = {**(call.headers or {}), CLIENT_ID_HEADER: client_id}
    endpoint = target.route.endpoint
    sent = request_headers(endpoint, call.payload is not None, headers)
    check.client_request_id = client_id
    check.reproduce = reproduce.curl(target.settings, call.method, call.path, sent,
                                     None if call.payload is None else encode(call.payload),
                                     endpoint.api_key)
    return Call(call.method, call.path, call.payload, headers)


def record_response(check: Check, status: int, response_headers: Mapping[str, str],
                    body: bytes) -> None:
    """What every answer tells about the hops it crossed: gateway ids, and whether the
    gateway's own layer produced an error."""
    check.trace_ids.update(classify.trace_ids(response_headers))
    if not 200 <= status < 300:
        layer = classify.gateway_layer(status, response_headers, body)
        check.gateway_hint = classify.GATEWAY_HINTS[layer] if layer else None
        if layer:
            check.details["gateway_layer"] = layer


def send_with_retries(check: Check, target: Target, body: Mapping[str, object],
                      retries: int, send: Sender = request,
                      headers: Mapping[str, str] | None = None) -> Exchange | None:
    """Send ``body`` to ``target``; retry transient failures. Returns the 2xx exchange, or
    None after recording the failure on ``check``. Every attempt carries a fresh client
    request id."""
    settings, deadline = target.settings, target.deadline
    call = Call("POST", "chat/completions", body, headers)
    for number in range(1, retries + 2):
        started = time.monotonic()
        exchange: Exchange | None = None
        attempt_call = traced(check, target, call)
        try:
            exchange = send(target.route, attempt_call)
        except TransportFailure as failure:
            category, message, status = failure.category, failure.message, failure.status
            check.gateway_hint = None
        else:
            status = exchange.status
            check.request_id = classify.request_id(exchange.headers) or check.request_id
            record_response(check, status, exchange.headers, exchange.body)
            signals.observe(check, exchange.headers)
            if 200 <= status < 300:
                check.attempts, check.http_status = number, status
                check.attempt_log.append(
                    Attempt(number, status, None, int((time.monotonic() - started) * 1000),
                            client_request_id=check.client_request_id)
                )
                signals.warn(check, settings)
                return exchange
            category, message = classify.response(status, exchange.headers, exchange.body)
            check.request_id = check.request_id or classify.request_id({}, message)
            check.situation_hint = (
                classify.not_found(settings.path, settings.base_query)
                if status == 404 and category is Category.REQUEST else None)
        check.attempts, check.http_status = number, status
        attempt = Attempt(number, status, category.value, int((time.monotonic() - started) * 1000),
                          message, client_request_id=check.client_request_id)
        check.attempt_log.append(attempt)
        if not category.transient or number > retries:
            check.fail(category, message)
            signals.warn(check, settings)
            return None
        wait = retry.server_wait(exchange.headers) if exchange else None
        if wait is None:
            wait = retry.backoff(number - 1)
        if wait >= deadline.remaining():
            check.fail(category, f"{message} (no retry: waiting {wait:.1f}s would pass the "
                       "deadline)")
            signals.warn(check, settings)
            return None
        attempt.wait_s = round(wait, 3)
        token = target.route.cancel
        if token.sleep(wait):  # cancelled while waiting: the next attempt is never sent
            check.cancel(f"cancelled by {token.name()} while waiting {wait:.1f}s to retry "
                         f"after: {message}")
            return None
    raise AssertionError("unreachable")  # pragma: no cover


def record_body(check: Check, settings: Settings, body: Mapping[str, object]) -> None:
    """For the application's own body: which file, and the sha256 and size of what is
    sent (never its text: it may hold prompts that must not be logged)."""
    if settings.request_payload is not None:
        sent = encode(body)
        check.details["request_body"] = {
            "file": settings.request_body,
            "sha256": hashlib.sha256(sent).hexdigest(), "bytes": len(sent)}


def record_send(check: Check, exchange: Exchange | None) -> bool:
    """Record the send and http_success steps; True when a 2xx answer came back."""
    if exchange is None:
        sent = check.http_status is not None
        check.steps.append(Step("send", "pass" if sent else "fail", "" if sent else check.message))
        if sent:
            check.steps.append(Step("http_success", "fail", check.message))
        return False
    check.steps += [Step("send", "pass"), Step("http_success", "pass", f"HTTP {exchange.status}")]
    return True


_REASONING = (
    "the model spent its completion budget on reasoning ({tokens} reasoning tokens, "
    "finish_reason length) and returned no text: raise max_completion_tokens for this model "
    "(a model entry such as {{id: {model}, max_tokens: null, max_completion_tokens: 2000}})"
)
REASONING_HINT = (
    "The completion budget went to reasoning, not to an answer: the endpoint works. Give "
    "this model its own max_completion_tokens in chat-smoke.yml (model: [{id: ..., "
    "max_completion_tokens: N}])."
)


def reasoning_spent(check: Check, answer: parse.Completion) -> str | None:
    """Why an empty answer is empty when its budget went to reasoning (finish_reason
    length, reasoning tokens in usage), naming the fix; None otherwise."""
    reasoning = parse.reasoning_tokens(answer.usage)
    if answer.finish_reason == "length" and not answer.text.strip() and reasoning:
        return _REASONING.format(tokens=reasoning, model=check.model or "MODEL")
    return None


def _no_tool_call(expect: Expectation, answer: parse.Completion) -> str:
    if answer.tool_names:
        return f"the model called {', '.join(answer.tool_names)}, not {expect.value}"
    return f"the model answered with text, no tool call: {one_line(answer.text, 120)!r}"


def record_output(check: Check, settings: Settings, answer: parse.Completion) -> None:
    """Apply the output condition (and --expect-model) to a parsed answer."""
    if not settings.expect.holds(answer.text, answer.tool_names):
        spent = reasoning_spent(check, answer)
        if settings.expect.kind == "tool_call":
            why = _no_tool_call(settings.expect, answer)
        elif spent is not None:
            why = spent
            check.gateway_hint = REASONING_HINT
        elif answer.refusal:
            why = f"the model refused: {one_line(answer.refusal, 200)!r}"
        elif answer.tool_calls and not answer.text:
            why = "the model answered with tool calls and no text"
        elif answer.finish_reason == "length" and not answer.text.strip():
            why = "no text before the token limit (finish_reason length): raise max_tokens"
        else:
            why = f"the answer {one_line(answer.text, 120)!r} does not satisfy the condition"
        message = f"expected {settings.expect.describe()}; {why}"
        check.output_excerpt = excerpt(answer.text)
        check.steps.append(Step("output_condition", "fail", message))
        check.fail(Category.ASSERTION, message)
        return
    check.steps.append(Step("output_condition", "pass", settings.expect.describe()))
    if settings.expect_model:
        if not re.search(settings.expect_model, answer.model or ""):
            message = (
                f"the response's model {answer.model!r} does not match /{settings.expect_model}/:"
                " the gateway may have routed to a fallback"
            )
            check.output_excerpt = excerpt(answer.text)
            check.steps.append(Step("expect_model", "fail", message))
            check.fail(Category.ASSERTION, message)
            return
        check.steps.append(Step("expect_model", "pass"))
    check.outcome = "pass"
    if settings.expect.kind == "tool_call" and not answer.text:
        check.message = f"called {', '.join(answer.tool_names)}"
    else:
        check.message = f"answered {one_line(answer.text, 80)!r}"


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def excerpt(text: str, limit: int = EXCERPT_LIMIT) -> str:
    """The answer for a report: secrets masked, control characters escaped (\\n, \\x1b),
    at most ``limit`` characters, marked when cut."""
    masked = redact.scrub(text)
    escaped = _CONTROL.sub(
        lambda m: _ESCAPES.get(m.group(0)) or f"\\x{ord(m.group(0)):02x}"
        if ord(m.group(0)) < 0x100 else f"\\u{ord(m.group(0)):04x}", masked)
    if len(escaped) <= limit:
        return escaped
    return escaped[: limit - len(_TRUNCATED)] + _TRUNCATED

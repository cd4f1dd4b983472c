"""Sending a check's request with retries, and the steps every kind records from it."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import requests

from smoke.categories import Category
from smoke.config.settings import Settings
from smoke.http import classify, parse, retry
from smoke.http.deadline import Deadline
from smoke.http.transport import Endpoint, Exchange, TransportFailure, request
from smoke.output.textsafe import one_line
from smoke.results import Attempt, Check, Step

# How one attempt is sent: ``transport.request`` (the whole body), or the streaming check's
# opener, which leaves a 2xx event stream unread.
Sender = Callable[[requests.Session, Endpoint, str, str, Deadline, dict[str, object]], Exchange]


def endpoint_of(settings: Settings) -> Endpoint:
    return Endpoint(
        base_url=settings.base_url,
        api_key=settings.api_key,
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.timeout,
        ca_bundle=settings.ca_bundle,
        max_body_bytes=settings.max_body_bytes,
    )


def send_with_retries(
    check: Check,
    settings: Settings,
    session: requests.Session,
    deadline: Deadline,
    body: dict[str, object],
    retries: int,
    send: Sender = request,
) -> Exchange | None:
    """Send ``body``; retry transient failures. Returns the 2xx exchange, or None after
    recording the failure on ``check``."""
    endpoint = endpoint_of(settings)
    for number in range(1, retries + 2):
        started = time.monotonic()
        exchange: Exchange | None = None
        try:
            exchange = send(session, endpoint, "POST", "chat/completions", deadline, body)
        except TransportFailure as failure:
            category, message, status = failure.category, failure.message, failure.status
        else:
            status = exchange.status
            check.request_id = classify.request_id(exchange.headers) or check.request_id
            if 200 <= status < 300:
                check.attempts, check.http_status = number, status
                check.attempt_log.append(
                    Attempt(number, status, None, int((time.monotonic() - started) * 1000))
                )
                return exchange
            category, message = classify.response(status, exchange.headers, exchange.body)
            check.request_id = check.request_id or classify.request_id({}, message)
        check.attempts, check.http_status = number, status
        attempt = Attempt(number, status, category.value, int((time.monotonic() - started) * 1000),
                          message)
        check.attempt_log.append(attempt)
        if not category.transient or number > retries:
            check.fail(category, message)
            return None
        wait = retry.server_wait(exchange.headers) if exchange else None
        if wait is None:
            wait = retry.backoff(number - 1)
        if wait >= deadline.remaining():
            check.fail(category, f"{message} (no retry: waiting {wait:.1f}s would pass the "
                       "deadline)")
            return None
        attempt.wait_s = round(wait, 3)
        time.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


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


def record_output(check: Check, settings: Settings, answer: parse.Completion) -> None:
    """Apply the output condition (and --expect-model) to a parsed answer."""
    if not settings.expect.holds(answer.text):
        if answer.refusal:
            why = f"the model refused: {one_line(answer.refusal, 200)!r}"
        elif answer.tool_calls and not answer.text:
            why = "the model answered with tool calls and no text"
        elif answer.finish_reason == "length" and not answer.text.strip():
            why = "no text before the token limit (finish_reason length): raise max_tokens"
        else:
            why = f"the answer {one_line(answer.text, 120)!r} does not satisfy the condition"
        message = f"expected {settings.expect.describe()}; {why}"
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
            check.steps.append(Step("expect_model", "fail", message))
            check.fail(Category.ASSERTION, message)
            return
        check.steps.append(Step("expect_model", "pass"))
    check.outcome = "pass"
    check.message = f"answered {one_line(answer.text, 80)!r}"

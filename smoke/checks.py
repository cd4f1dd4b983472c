"""The positive check: send, assert HTTP success, parse, assert the output condition."""

from __future__ import annotations

import time
from collections.abc import Callable

import requests

from smoke import classify, parse, payload, retry
from smoke.categories import Category
from smoke.deadline import Deadline
from smoke.results import Attempt, Check, Step
from smoke.settings import Settings
from smoke.textsafe import one_line
from smoke.transport import Endpoint, Exchange, TransportFailure, request

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


def positive(
    check: Check, settings: Settings, session: requests.Session, deadline: Deadline
) -> None:
    """Fill ``check`` (kind positive, for ``check.model``)."""
    started = time.monotonic()
    try:
        _positive(check, settings, check.model or "", session, deadline)
    finally:
        check.duration_ms = int((time.monotonic() - started) * 1000)


def _positive(
    check: Check, settings: Settings, model: str, session: requests.Session, deadline: Deadline
) -> None:
    exchange = send_with_retries(
        check, settings, session, deadline, payload.build(settings, model), settings.retries
    )
    if not record_send(check, exchange) or exchange is None:
        return
    check.details["wire"] = {"ttfb_ms": exchange.ttfb_ms, "total_ms": exchange.duration_ms}
    try:
        answer = parse.completion(parse.load_json(exchange.body, exchange.truncated))
    except parse.ParseFailure as exc:
        check.steps.append(Step("parse", "fail", str(exc)))
        check.fail(Category.PROTOCOL, f"HTTP {exchange.status}, but {exc}")
        return
    check.steps.append(Step("parse", "pass"))
    check.finish_reason, check.usage = answer.finish_reason, answer.usage
    check.response_model, check.system_fingerprint = answer.model, answer.system_fingerprint
    check.answer = one_line(answer.text, 500)
    record_output(check, settings, answer)


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
        import re

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

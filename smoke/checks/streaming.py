"""The streaming check: the same minimal request with ``stream: true``, read as
server-sent events within bounds.

The events are parsed as they arrive, never as one body: the deadline is checked between
reads, and the socket's timeout is what is left of it, cut to ``--timeout`` until the
stream's first byte and to ``--stall-timeout`` between chunks after that.

The contract (OpenAI's Chat Completions streaming): ``data: {chunk}`` events with
``choices[].delta``, then ``data: [DONE]``; with ``stream_options.include_usage`` a last
chunk carries ``usage`` and an empty ``choices`` (LiteLLM sends
``[{"index": 0, "delta": {}}]``); an error after the stream began arrives on the HTTP 200
as a data event with an ``error`` key. Comment lines (``: PROCESSING``) may appear.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
import urllib3

from smoke.categories import Category
from smoke.checks import signals
from smoke.checks.send import (
    endpoint_of,
    record_body,
    record_output,
    record_send,
    send_with_retries,
)
from smoke.checks.task import Plan, Task
from smoke.config.settings import Settings
from smoke.errors import StreamFailure
from smoke.http import classify, parse, payload, private, transport
from smoke.http.deadline import Deadline
from smoke.http.sse import Event, EventParser
from smoke.http.transport import Endpoint, Exchange, TransportFailure
from smoke.output.textsafe import count, one_line
from smoke.results import Check, Step

_READ = 16 * 1024
EVENTS = {"Accept": "text/event-stream"}

_NO_DONE = (
    "the stream ended without data: [DONE] after {chunks}{stray}: the server, or a "
    "proxy in between, cut it short (the contract ends every stream with [DONE])"
)
_STALLED = (
    "the stream stalled: nothing for {wait:g}s {where} (--{flag} {wait:g}); raise "
    "--{flag} if the model is slow to produce tokens, else the endpoint is hanging"
)
_DEADLINE = (
    "the gate's deadline ran out while the stream was still arriving ({chunks} so "
    "far): raise --deadline, or check why the endpoint streams so slowly"
)
_NOT_SSE = (
    "stream: true was answered with {what}, not server-sent events: the endpoint (or a "
    "proxy) does not stream. Check that it supports stream: true{seen}"
)
_ERROR_EVENT = (
    "an error event after the stream began (after {chunks}): {error}. The provider "
    "failed mid-answer; retry later"
)


@dataclass
class Assembly:
    """What the chunks add up to."""

    started: float
    parts: list[str] = field(default_factory=list)
    chunks: int = 0
    first_token_ms: int | None = None
    finish_reason: str | None = None
    model: str | None = None
    system_fingerprint: str | None = None
    usage: dict[str, Any] | None = None
    usage_with_choices: bool = False
    refusal: str = ""
    tool_calls: set[int] = field(default_factory=set)
    # Each tool call as its deltas add up: index -> {id, type, function: {name, arguments}}.
    calls: dict[int, dict[str, Any]] = field(default_factory=dict)
    ident: str | None = None
    created: int | None = None
    done: bool = False
    contract: signals.ContractLog | None = None  # checks every chunk, when on

    def add(self, event: Event) -> None:
        if event.data.strip() == "[DONE]":
            self.done = True
            return
        number = self.chunks + 1
        try:
            data = json.loads(event.data)
        except ValueError:
            raise StreamFailure(Category.PROTOCOL, f"stream chunk {number} is not JSON: "
                          f"{one_line(event.data, 80)!r}") from None
        if event.event == "error" or (isinstance(data, dict) and "error" in data):
            error = classify.parse_error(event.data.encode("utf-8"))
            label = error.code or error.type
            text = f"{label}: {error.message}" if label else error.message or "no message"
            raise StreamFailure(Category.UPSTREAM, _ERROR_EVENT.format(
                chunks=count(self.chunks, "chunk"),
                                                                  error=one_line(text, 200)))
        if not isinstance(data, dict):
            raise StreamFailure(Category.PROTOCOL,
                          f"stream chunk {number} is a {type(data).__name__}, not an object")
        self.chunks = number
        self.ident = self.ident or _text(data, "id")
        if self.created is None and isinstance(data.get("created"), int):
            self.created = data["created"]
        if self.contract is not None:
            self.contract.chunk(number, data)
        self.model = self.model or _text(data, "model")
        self.system_fingerprint = self.system_fingerprint or _text(data, "system_fingerprint")
        usage = data.get("usage")
        if isinstance(usage, dict):
            self.usage, self.usage_with_choices = usage, bool(data.get("choices"))
        choices = data.get("choices")
        if choices is None:
            return
        if not isinstance(choices, list):
            raise StreamFailure(Category.PROTOCOL, f"stream chunk {number}: choices is a "
                          f"{type(choices).__name__}, not a list")
        for choice in choices:
            if not isinstance(choice, dict) or not isinstance(choice.get("delta", {}), dict):
                raise StreamFailure(Category.PROTOCOL,
                              f"stream chunk {number}: a choice or its delta is not an object")
            if choice.get("index", 0) == 0:  # n=1 was asked for
                self._choice(choice, number)

    def _choice(self, choice: dict[str, Any], number: int) -> None:
        delta: dict[str, Any] = choice.get("delta") or {}
        try:
            text = parse.text_of(delta.get("content"), f"stream chunk {number}: delta.content")
        except parse.ParseFailure as exc:
            raise StreamFailure(Category.PROTOCOL, str(exc)) from None
        if text:
            self.parts.append(text)
            if self.first_token_ms is None:
                self.first_token_ms = int((time.monotonic() - self.started) * 1000)
        if isinstance(delta.get("refusal"), str):
            self.refusal += delta["refusal"]
        for call in delta.get("tool_calls") or []:
            if isinstance(call, dict) and isinstance(call.get("index", 0), int):
                self.tool_calls.add(call.get("index", 0))
                self._call(call)
        if isinstance(choice.get("finish_reason"), str):
            self.finish_reason = choice["finish_reason"]

    def _call(self, call: dict[str, Any]) -> None:
        whole = self.calls.setdefault(call.get("index", 0), {
            "id": None, "type": "function", "function": {"name": "", "arguments": ""}})
        if isinstance(call.get("id"), str):
            whole["id"] = call["id"]
        function = call.get("function")
        if isinstance(function, dict):
            for name in ("name", "arguments"):
                if isinstance(function.get(name), str):
                    whole["function"][name] += function[name]

    def completion(self) -> parse.Completion:
        calls = [self.calls[i] for i in sorted(self.calls)]
        return parse.Completion(
            text="".join(self.parts), finish_reason=self.finish_reason, model=self.model,
            usage=self.usage, system_fingerprint=self.system_fingerprint,
            refusal=self.refusal or None, tool_calls=len(self.tool_calls),
            tool_names=parse.tool_names(calls),
        )

    def body(self) -> dict[str, Any]:
        """The final message in the non-stream shape (``chat.completion``): what the
        application's parser and ``require_fields`` read for a stream."""
        message: dict[str, Any] = {"role": "assistant",
                                   "content": "".join(self.parts) if self.parts else None,
                                   "refusal": self.refusal or None}
        if self.calls:
            message["tool_calls"] = [self.calls[i] for i in sorted(self.calls)]
        body: dict[str, Any] = {
            "id": self.ident, "object": "chat.completion", "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "message": message, "finish_reason": self.finish_reason}],
            "usage": self.usage, "system_fingerprint": self.system_fingerprint}
        return body


def _text(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    return value if isinstance(value, str) and value else None


def plan(context: Plan) -> list[Task]:
    """The planner registered in ``checks.registry``: one streaming check per model."""
    settings, session, deadline = context.settings, context.session, context.deadline
    return [
        Task(Check(f"stream:{model}", "stream", f"streaming chat completion ({model})", model),
             lambda check: stream(check, settings, session, deadline))
        for model in settings.models if settings.for_model(model).stream
    ]


def stream(check: Check, settings: Settings, session: requests.Session,
           deadline: Deadline) -> None:
    """Fill ``check`` (kind stream, for ``check.model``)."""
    settings = settings.for_model(check.model)  # every per-model check reads its own
    body = payload.build(settings, check.model or "", stream=True)
    check.details["request_fields"] = sorted(body)  # compared by --baseline (checks.drift)
    record_body(check, settings, body)
    exchange = send_with_retries(check, settings, session, deadline, body, settings.retries,
                                 send=open_events, headers=EVENTS)
    if not record_send(check, exchange) or exchange is None:
        return
    response: requests.Response = exchange.extra["response"]
    assembly = Assembly(started=exchange.extra["started"],
                        contract=signals.ContractLog(settings.contract))
    parser = EventParser()
    try:
        _read_events(response, exchange, settings, deadline, assembly, parser)
    except StreamFailure as broken:
        check.steps.append(Step("stream", "fail", broken.message))
        check.fail(broken.category, broken.message)
    finally:
        response.close()
        _record(check, exchange, assembly, parser)
    if check.outcome == "fail":
        return
    check.steps.append(Step("stream", "pass", f"{count(assembly.chunks, 'chunk')}, then [DONE]"))
    if assembly.contract is not None and not assembly.contract.record(check):
        return
    answer = assembly.completion()
    if settings.reads_like_the_application:  # the final message, in the non-stream shape
        from smoke.checks import application

        whole = assembly.body()
        if not application.required(check, settings, whole, exchange.headers):
            return
        read = application.parsed(check, settings, deadline,
                                  json.dumps(whole).encode("utf-8"), answer)
        if read is None:
            return
        answer = read
    check.answer = one_line(answer.text, 500)
    record_output(check, settings, answer)
    signals.judge(check, settings, check.details["stream"])


def _record(check: Check, exchange: Exchange, assembly: Assembly, parser: EventParser) -> None:
    check.finish_reason, check.usage = assembly.finish_reason, assembly.usage
    check.response_model = assembly.model
    check.system_fingerprint = assembly.system_fingerprint
    check.details["stream"] = {
        "content_type": exchange.headers.get("content-type"),
        "ttfb_ms": exchange.ttfb_ms,
        "first_token_ms": assembly.first_token_ms,
        "total_ms": int((time.monotonic() - assembly.started) * 1000),
        "chunks": assembly.chunks,
        "comments": parser.comments,
        "done": assembly.done,
        "usage_chunk": assembly.usage is not None,
        "usage_chunk_with_choices": assembly.usage_with_choices,
    }


def open_events(session: requests.Session, endpoint: Endpoint, method: str, path: str,
                deadline: Deadline, payload: Mapping[str, Any] | None = None,
                api_key: str | None = None,
                headers: Mapping[str, str] | None = None) -> Exchange:
    """The sender for ``send_with_retries``. A 2xx comes back unread, its open response in
    ``extra["response"]`` (the body is the event stream); any other status is read, capped,
    and closed, so the retry loop classifies and retries it like any response."""
    response, started = transport.open_stream(
        session, endpoint, method, path, deadline, payload, api_key,
        headers={**EVENTS, **(headers or {})})
    ttfb = int((time.monotonic() - started) * 1000)
    headers = {k.lower(): v for k, v in response.headers.items()}
    if 200 <= response.status_code < 300:
        return Exchange(response.status_code, headers, b"", False, response.url, ttfb, ttfb,
                        extra={"response": response, "started": started})
    return transport.read_response(response, started, endpoint, deadline)


def _read_events(response: requests.Response, exchange: Exchange, settings: Settings,
                 deadline: Deadline, assembly: Assembly, parser: EventParser) -> None:
    kind = exchange.headers.get("content-type", "").lower()
    if "json" in kind or "html" in kind:
        _not_events(response, settings, deadline, kind)
    sock = private.socket_of(response)
    read = private.read1_of(response)
    size, started = 0, False
    while not assembly.done:
        if deadline.expired():
            raise StreamFailure(Category.TIMEOUT,
                                _DEADLINE.format(chunks=count(assembly.chunks, "chunk")))
        wait = settings.stall_timeout if started else settings.timeout
        bounded = deadline.bound(wait)
        if sock is not None:
            try:
                sock.settimeout(bounded)
            except OSError:
                sock = None
        try:
            data = read(_READ)
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            category, message = classify.exception(exc, reading_body=True)
            if category is not Category.TIMEOUT:
                raise StreamFailure(category,
                                    f"{message} ({count(assembly.chunks, 'chunk')} in)") from None
            if bounded < wait or deadline.expired():
                chunks = count(assembly.chunks, "chunk")
                raise StreamFailure(Category.TIMEOUT, _DEADLINE.format(chunks=chunks)) from None
            where, flag = (("between chunks", "stall-timeout") if started
                           else ("before the stream's first byte", "timeout"))
            raise StreamFailure(Category.TIMEOUT, _STALLED.format(
                wait=wait, where=f"{where}, after {count(assembly.chunks, 'chunk')}", flag=flag)
            ) from None
        events = parser.feed(data) if data else parser.close()
        started, size = True, size + len(data)
        for event in events:
            assembly.add(event)
            if assembly.done:
                return
        if not data:
            stray = f" (it sent {parser.stray!r}, not an SSE field)" if parser.stray else ""
            raise StreamFailure(Category.PROTOCOL,
                                _NO_DONE.format(chunks=count(assembly.chunks, "chunk"),
                                                stray=stray))
        if size > settings.max_body_bytes:
            raise StreamFailure(Category.PROTOCOL,
                                f"the stream passed the {settings.max_body_bytes} byte cap "
                                "without [DONE]; not a chat completion stream")


def _not_events(response: requests.Response, settings: Settings, deadline: Deadline,
                kind: str) -> None:
    what = "an HTML page" if "html" in kind else f"one JSON body (Content-Type {kind})"
    seen = ""
    try:
        body, _ = transport.read_body(response, endpoint_of(settings), deadline)
    except (TransportFailure, requests.RequestException, OSError):
        body = b""
    error = classify.parse_error(body) if "json" in kind else None
    if error is not None and error.message:
        seen = f"; it said: {one_line(error.message, 160)}"
    raise StreamFailure(Category.PROTOCOL, _NOT_SSE.format(what=what, seen=seen))

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
from dataclasses import dataclass, field

import requests
import urllib3

from smoke.categories import Category
from smoke.checks import signals
from smoke.checks.send import record_body, record_output, record_send, send_with_retries
from smoke.checks.task import Plan, Target, Task
from smoke.errors import StreamFailure
from smoke.http import classify, parse, payload, private, transport
from smoke.http.sse import Event, EventParser
from smoke.http.transport import Call, Exchange, Route, StreamExchange, TransportFailure
from smoke.jsonvalue import JSONObject, as_list, as_object, child, text
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
class _ToolCall:
    """One tool call as its deltas add up."""

    ident: str | None = None
    name: str = ""
    arguments: str = ""

    def as_json(self) -> JSONObject:
        return {"id": self.ident, "type": "function",
                "function": {"name": self.name, "arguments": self.arguments}}


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
    usage: JSONObject | None = None  # as the server sent it
    usage_with_choices: bool = False
    refusal: str = ""
    tool_calls: set[int] = field(default_factory=set)
    calls: dict[int, _ToolCall] = field(default_factory=dict)  # by index
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
            loaded: object = json.loads(event.data)
        except ValueError:
            raise StreamFailure(Category.PROTOCOL, f"stream chunk {number} is not JSON: "
                          f"{one_line(event.data, 80)!r}") from None
        data = as_object(loaded)
        if event.event == "error" or (data is not None and "error" in data):
            error = classify.parse_error(event.data.encode("utf-8"))
            label = error.code or error.type
            said = f"{label}: {error.message}" if label else error.message or "no message"
            raise StreamFailure(Category.UPSTREAM, _ERROR_EVENT.format(
                chunks=count(self.chunks, "chunk"), error=one_line(said, 200)))
        if data is None:
            raise StreamFailure(Category.PROTOCOL,
                          f"stream chunk {number} is a {type(loaded).__name__}, not an object")
        self.chunks = number
        self.ident = self.ident or text(data, "id") or None
        created = data.get("created")
        if self.created is None and isinstance(created, int):
            self.created = created
        if self.contract is not None:
            self.contract.chunk(number, data)
        self.model = self.model or text(data, "model") or None
        self.system_fingerprint = (self.system_fingerprint
                                   or text(data, "system_fingerprint") or None)
        usage = child(data, "usage")
        if usage is not None:
            self.usage, self.usage_with_choices = usage, bool(data.get("choices"))
        choices = data.get("choices")
        if choices is None:
            return
        if not isinstance(choices, list):
            raise StreamFailure(Category.PROTOCOL, f"stream chunk {number}: choices is a "
                          f"{type(choices).__name__}, not a list")
        for item in choices:
            choice = as_object(item)
            if choice is None or not isinstance(choice.get("delta", {}), dict):
                raise StreamFailure(Category.PROTOCOL,
                              f"stream chunk {number}: a choice or its delta is not an object")
            if choice.get("index", 0) == 0:  # n=1 was asked for
                self._choice(choice, number)

    def _choice(self, choice: JSONObject, number: int) -> None:
        delta = child(choice, "delta") or {}
        try:
            content = parse.text_of(delta.get("content"),
                                    f"stream chunk {number}: delta.content")
        except parse.ParseFailure as exc:
            raise StreamFailure(Category.PROTOCOL, str(exc)) from None
        if content:
            self.parts.append(content)
            if self.first_token_ms is None:
                self.first_token_ms = int((time.monotonic() - self.started) * 1000)
        refusal = text(delta, "refusal")
        if refusal is not None:
            self.refusal += refusal
        for item in as_list(delta.get("tool_calls")) or []:
            call = as_object(item)
            index = call.get("index", 0) if call is not None else None
            if call is not None and isinstance(index, int):
                self.tool_calls.add(index)
                self._call(index, call)
        finish = text(choice, "finish_reason")
        if finish is not None:
            self.finish_reason = finish

    def _call(self, index: int, call: JSONObject) -> None:
        whole = self.calls.setdefault(index, _ToolCall())
        ident = text(call, "id")
        if ident is not None:
            whole.ident = ident
        function = child(call, "function")
        if function is not None:
            whole.name += text(function, "name") or ""
            whole.arguments += text(function, "arguments") or ""

    def completion(self) -> parse.Completion:
        return parse.Completion(
            text="".join(self.parts), finish_reason=self.finish_reason, model=self.model,
            usage=self.usage, system_fingerprint=self.system_fingerprint,
            refusal=self.refusal or None, tool_calls=len(self.tool_calls),
            tool_names=tuple(self.calls[i].name for i in sorted(self.calls)),
        )

    def body(self) -> JSONObject:
        """The final message in the non-stream shape (``chat.completion``): what the
        application's parser and ``require_fields`` read for a stream."""
        message: JSONObject = {"role": "assistant",
                               "content": "".join(self.parts) if self.parts else None,
                               "refusal": self.refusal or None}
        if self.calls:
            message["tool_calls"] = [self.calls[i].as_json() for i in sorted(self.calls)]
        return {
            "id": self.ident, "object": "chat.completion", "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "message": message, "finish_reason": self.finish_reason}],
            "usage": self.usage, "system_fingerprint": self.system_fingerprint}


def plan(context: Plan) -> list[Task]:
    """The planner registered in ``checks.registry``: one streaming check per model."""
    settings = context.settings
    return [
        Task(Check(f"stream:{model}", "stream", f"streaming chat completion ({model})", model),
             lambda check: stream(check, context))
        for model in settings.models if settings.for_model(model).stream
    ]


def stream(check: Check, plan: Plan) -> None:
    """Fill ``check`` (kind stream, for ``check.model``)."""
    target = plan.target(check.model)  # every per-model check reads its own settings
    settings = target.settings
    body = payload.build(settings, check.model or "", stream=True)
    check.details["request_fields"] = sorted(body)  # compared by --baseline (checks.drift)
    record_body(check, settings, body)
    exchange = send_with_retries(check, target, body, settings.retries, send=open_events,
                                 headers=EVENTS)
    if not record_send(check, exchange) or exchange is None:
        return
    if not isinstance(exchange, StreamExchange):  # pragma: no cover - open_events' 2xx
        raise AssertionError("a 2xx answer to a stream request came back read")
    response = exchange.response
    assembly = Assembly(started=exchange.started,
                        contract=signals.ContractLog(settings.contract))
    parser = EventParser()
    try:
        _read_events(response, exchange, target, assembly, parser)
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
        read = application.parsed(check, settings, target.deadline,
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


def open_events(route: Route, call: Call) -> Exchange:
    """The sender for ``send_with_retries``. A 2xx comes back unread, a
    :class:`StreamExchange` holding the open response (its body is the event stream); any
    other status is read, capped, and closed, so the retry loop classifies and retries it
    like any response."""
    response, started = transport.open_stream(
        route, Call(call.method, call.path, call.payload, {**EVENTS, **(call.headers or {})}))
    ttfb = int((time.monotonic() - started) * 1000)
    headers = {k.lower(): v for k, v in response.headers.items()}
    if 200 <= response.status_code < 300:
        return StreamExchange(response.status_code, headers, b"", False, response.url, ttfb,
                              ttfb, response=response, started=started)
    return transport.read_response(response, started, route)


def _read_events(response: requests.Response, exchange: Exchange, target: Target,
                 assembly: Assembly, parser: EventParser) -> None:
    settings, deadline = target.settings, target.deadline
    kind = exchange.headers.get("content-type", "").lower()
    if "json" in kind or "html" in kind:
        _not_events(response, target.route, kind)
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


def _not_events(response: requests.Response, route: Route, kind: str) -> None:
    what = "an HTML page" if "html" in kind else f"one JSON body (Content-Type {kind})"
    seen = ""
    try:
        body, _ = transport.read_body(response, route.endpoint, route.deadline)
    except (TransportFailure, requests.RequestException, OSError):
        body = b""
    error = classify.parse_error(body) if "json" in kind else None
    if error is not None and error.message:
        seen = f"; it said: {one_line(error.message, 160)}"
    raise StreamFailure(Category.PROTOCOL, _NOT_SSE.format(what=what, seen=seen))

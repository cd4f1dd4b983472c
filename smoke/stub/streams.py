"""Streaming (server-sent events) scenarios for the stub.

Each ``stream-*`` scenario is about the streaming path only: a request without
``stream: true`` is answered as a plain ``chat.completion`` with the same text, so a run
with ``--stream`` has a passing positive check beside the streaming one under test.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TypedDict, Unpack

from smoke.jsonvalue import JSONObject
from smoke.stub import wire
from smoke.stub.handler import Handler
from smoke.stub.request import Request, validate


def _start(h: Handler, chunked: bool, headers: dict[str, str] | None = None) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "text/event-stream; charset=utf-8")
    h.send_header("Cache-Control", "no-cache")
    h.send_header("x-request-id", "req_stream_stub")
    for name, value in (headers or {}).items():
        h.send_header(name, value)
    if chunked:  # as uvicorn (LiteLLM) and most servers frame a stream
        h.send_header("Transfer-Encoding", "chunked")
    else:  # the body ends when the connection closes
        h.send_header("Connection", "close")
    # Either way the connection is not reused: a client stops reading at [DONE].
    h.close_connection = True
    h.end_headers()


def _writer(h: Handler, chunked: bool) -> Callable[[bytes], None]:
    def write(data: bytes) -> None:
        h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
        h.wfile.flush()

    return write


def stream_text(
    h: Handler,
    req: Request,
    text: str,
    done: bool = True,
    usage_choices: bool = False,
    error_after: int | None = None,
    stall_after: int | None = None,
    chunked: bool = False,
    headers: dict[str, str] | None = None,
    first_token_after: float = 0.0,
    broken: bool = False,
) -> None:
    _start(h, chunked, headers)
    write = _writer(h, chunked)
    chunk = _broken_chunk if broken else wire.chunk
    try:
        write(b": PROCESSING\n\n")
        write(chunk(req.model, {"role": "assistant", "content": ""}))
        if first_token_after:
            time.sleep(first_token_after)
        pieces = [text[i : i + 2] for i in range(0, len(text), 2)] or [""]
        for i, piece in enumerate(pieces):
            if error_after is not None and i == error_after:
                write(b"data: " + wire.dumps({"error": {
                    "message": "upstream connection lost", "type": "server_error",
                    "code": "internal_error"}}) + b"\n\n")
                return
            if stall_after is not None and i == stall_after:
                time.sleep(req.arg_float(3600.0))
                return
            write(chunk(req.model, {"content": piece}))
            if chunked:
                write(b": keep-alive\n\n")
        write(chunk(req.model, {}, "eos" if broken else "stop"))
        usage = {"prompt_tokens": 19, "completion_tokens": 1, "total_tokens": 20}
        choices = [{"index": 0, "delta": {}}] if usage_choices else []
        write(b"data: " + wire.dumps({"id": "chatcmpl-stub", "object":
              "chat.completion.chunk", "created": 0, "model": req.model, "choices": choices,
              "usage": usage}) + b"\n\n")
        if done:
            write(b"data: [DONE]\n\n")
        if chunked:
            h.wfile.write(b"0\r\n\r\n")
            h.wfile.flush()
    except OSError:
        return


def _broken_chunk(model: str, delta: Mapping[str, object], finish: str | None = None) -> bytes:
    """A chunk that breaks the contract: no ``object``, ``created`` or ``finish_reason``
    (null until the last), a role that is not one, and a finish reason not documented."""
    if "role" in delta:
        delta = {**delta, "role": "model"}
    choice: JSONObject = {"index": 0, "delta": delta}
    if finish is not None:
        choice["finish_reason"] = finish
    body = {"id": "chatcmpl-stub", "model": model, "choices": [choice]}
    return b"data: " + wire.dumps(body) + b"\n\n"


def _slow_first_token(h: Handler, req: Request) -> None:
    """The headers and the role chunk at once, the first token ``arg`` seconds later."""
    if not validate(h, req):
        return
    if req.stream:
        stream_text(h, req, "pong", first_token_after=req.arg_float(1.0))
    else:
        h.send_json(200, wire.completion(req.model, "pong"))


class Options(TypedDict, total=False):
    """How :func:`stream_text` misbehaves (its keyword arguments)."""

    done: bool
    usage_choices: bool
    error_after: int
    stall_after: int
    chunked: bool
    broken: bool


def _scenario(text: str, **options: Unpack[Options]) -> Callable[[Handler, Request], None]:
    """A validated streaming answer of ``text``; a plain completion when not streaming."""

    def run(h: Handler, req: Request) -> None:
        if not validate(h, req):
            return
        if req.stream:
            stream_text(h, req, text, **options)
        else:
            h.send_json(200, wire.completion(req.model, text))

    return run


STREAMS: dict[str, Callable[[Handler, Request], None]] = {
    "stream-pass": _scenario("pong"),
    "stream-no-done": _scenario("pong", done=False),
    "stream-error": _scenario("pong pong", error_after=1),
    "stream-stall": _scenario("pong pong", stall_after=1),
    "stream-litellm": _scenario("pong", usage_choices=True, chunked=True),
    "stream-wrong": _scenario("hello there"),
    "stream-contract-broken": _scenario("pong", broken=True),
    "stream-slow-first-token": _slow_first_token,
}

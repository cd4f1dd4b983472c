"""Streaming (server-sent events) scenarios for the stub."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from smoke.stub import wire

if TYPE_CHECKING:
    from smoke.stub.scenarios import Request
    from smoke.stub.server import Handler


def _start(h: Handler) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "text/event-stream")
    h.send_header("Cache-Control", "no-cache")
    h.send_header("x-request-id", "req_stream_stub")
    h.send_header("Connection", "close")
    h.end_headers()
    h.close_connection = True


def _write(h: Handler, data: bytes) -> None:
    h.wfile.write(data)
    h.wfile.flush()


def stream_text(
    h: Handler,
    req: Request,
    text: str,
    done: bool = True,
    usage_choices: bool = False,
    error_after: int | None = None,
    stall_after: int | None = None,
) -> None:
    _start(h)
    try:
        _write(h, b": PROCESSING\n\n")
        _write(h, wire.chunk(req.model, {"role": "assistant", "content": ""}))
        pieces = [text[i : i + 2] for i in range(0, len(text), 2)] or [""]
        for i, piece in enumerate(pieces):
            if error_after is not None and i == error_after:
                _write(h, b"data: " + wire.dumps({"error": {
                    "message": "upstream connection lost", "type": "server_error",
                    "code": "internal_error"}}) + b"\n\n")
                return
            if stall_after is not None and i == stall_after:
                time.sleep(req.arg_float(3600.0))
                return
            _write(h, wire.chunk(req.model, {"content": piece}))
        _write(h, wire.chunk(req.model, {}, "stop"))
        usage = {"prompt_tokens": 19, "completion_tokens": 1, "total_tokens": 20}
        choices = [{"index": 0, "delta": {}}] if usage_choices else []
        _write(h, b"data: " + wire.dumps({"id": "chatcmpl-stub", "object":
               "chat.completion.chunk", "created": 0, "model": req.model, "choices": choices,
               "usage": usage}) + b"\n\n")
        if done:
            _write(h, b"data: [DONE]\n\n")
    except OSError:
        return


def _validated(run: Callable[[Handler, Request], None]) -> Callable[[Handler, Request], None]:
    def wrapper(h: Handler, req: Request) -> None:
        from smoke.stub.scenarios import validate

        if validate(h, req):
            run(h, req)

    return wrapper


STREAMS: dict[str, Callable[[Handler, Request], None]] = {
    "stream-pass": _validated(lambda h, r: stream_text(h, r, "pong")),
    "stream-no-done": _validated(lambda h, r: stream_text(h, r, "pong", done=False)),
    "stream-error": _validated(lambda h, r: stream_text(h, r, "pong pong", error_after=1)),
    "stream-stall": _validated(lambda h, r: stream_text(h, r, "pong pong", stall_after=1)),
    "stream-litellm": _validated(lambda h, r: stream_text(h, r, "pong", usage_choices=True)),
    "stream-wrong": _validated(lambda h, r: stream_text(h, r, "hello there")),
}

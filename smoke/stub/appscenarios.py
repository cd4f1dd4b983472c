"""Stub scenarios for the application's own request (issue 22): a reasoning model that
spends its completion budget, and a model that calls the request's tool.

``reasoning`` behaves as OpenAI's reasoning models do: ``max_tokens`` and a temperature
other than 1 are refused (400), and the completion budget (``max_completion_tokens``)
goes to reasoning first: with fewer than ``arg`` tokens (default 64) the answer is empty,
``finish_reason: length``, its usage all reasoning tokens.

``tool-call`` answers a request that carries ``tools`` with a call of the first function
(or the one ``tool_choice`` names), ``content: null`` and ``finish_reason: tool_calls``;
streamed too. Without ``tools`` it answers ``pong``.
"""

from __future__ import annotations

import json

from smoke.jsonvalue import JSONObject, child, items, text
from smoke.stub import wire
from smoke.stub.handler import Handler
from smoke.stub.request import Request, validate
from smoke.stub.streams import _start, _writer, stream_text


def _usage(completion: int, reasoning: int) -> JSONObject:
    return {"prompt_tokens": 19, "completion_tokens": completion,
            "total_tokens": 19 + completion,
            "completion_tokens_details": {"reasoning_tokens": reasoning}}


def reasoning(h: Handler, req: Request) -> None:
    if not validate(h, req):
        return
    body = req.payload
    if "max_tokens" in body:
        h.send_bytes(400, wire.error(
            "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
            "'max_completion_tokens' instead.", "invalid_request_error",
            "unsupported_parameter", "max_tokens"))
        return
    if body.get("temperature", 1) != 1:
        h.send_bytes(400, wire.error(
            f"Unsupported value: 'temperature' does not support {body['temperature']} with "
            "this model. Only the default (1) value is supported.", "invalid_request_error",
            "unsupported_value", "temperature"))
        return
    needed = int(req.arg_float(64))
    given = body.get("max_completion_tokens")
    budget = given if isinstance(given, int) else needed + 1000
    short = budget < needed
    if req.stream:
        _stream_reasoning(h, req, budget if short else None)
        return
    if short:
        h.send_json(200, wire.completion(req.model, "", usage=_usage(budget, budget),
                                         choices=[{"index": 0, "message": {
                                             "role": "assistant", "content": "",
                                             "refusal": None}, "logprobs": None,
                                             "finish_reason": "length"}]))
        return
    h.send_json(200, wire.completion(req.model, "pong", usage=_usage(needed + 1, needed)))


def _stream_reasoning(h: Handler, req: Request, spent: int | None) -> None:
    """``pong``, or (``spent``) no content at all: finish_reason length, the usage chunk
    all reasoning tokens."""
    if spent is None:
        stream_text(h, req, "pong")
        return
    _start(h, False)
    write = _writer(h, False)
    try:
        write(wire.chunk(req.model, {"role": "assistant", "content": ""}))
        write(wire.chunk(req.model, {}, "length"))
        write(b"data: " + wire.dumps({
            "id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": 0,
            "model": req.model, "choices": [], "usage": _usage(spent, spent)}) + b"\n\n")
        write(b"data: [DONE]\n\n")
    except OSError:
        return


def _function(req: Request) -> str | None:
    """The function the request names in ``tool_choice``, else its first tool's."""
    choice = child(req.payload, "tool_choice")
    chosen = child(choice, "function") if choice is not None else None
    if chosen is not None:
        return text(chosen, "name")
    for tool in items(req.payload, "tools") or []:
        function = child(tool, "function") if isinstance(tool, dict) else None
        name = text(function, "name") if function is not None else None
        if name is not None:
            return name
    return None


def tool_call(h: Handler, req: Request) -> None:
    if not validate(h, req):
        return
    name = _function(req)
    if name is None:
        if req.stream:
            stream_text(h, req, "pong")
        else:
            h.send_json(200, wire.completion(req.model, "pong"))
        return
    arguments = json.dumps({"city": "Paris"})
    if req.stream:
        _stream_call(h, req, name, arguments)
        return
    call = {"id": "call_stub0001", "type": "function",
            "function": {"name": name, "arguments": arguments}}
    message = {"role": "assistant", "content": None, "refusal": None, "tool_calls": [call]}
    h.send_json(200, wire.completion(req.model, None, choices=[
        {"index": 0, "message": message, "logprobs": None, "finish_reason": "tool_calls"}]))


def _stream_call(h: Handler, req: Request, name: str, arguments: str) -> None:
    _start(h, False)
    write = _writer(h, False)
    try:
        write(wire.chunk(req.model, {"role": "assistant", "content": None, "tool_calls": [
            {"index": 0, "id": "call_stub0001", "type": "function",
             "function": {"name": name, "arguments": ""}}]}))
        half = len(arguments) // 2
        for piece in (arguments[:half], arguments[half:]):
            write(wire.chunk(req.model, {"tool_calls": [
                {"index": 0, "function": {"arguments": piece}}]}))
        write(wire.chunk(req.model, {}, "tool_calls"))
        write(b"data: " + wire.dumps({
            "id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": 0,
            "model": req.model, "choices": [],
            "usage": {"prompt_tokens": 40, "completion_tokens": 12, "total_tokens": 52}})
            + b"\n\n")
        write(b"data: [DONE]\n\n")
    except OSError:
        return


SCENARIOS = {
    "reasoning": reasoning,
    "tool-call": tool_call,
}

"""Wire-format helpers for the stub: bodies, envelopes and headers as real servers send them."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping

from smoke.jsonvalue import JSONObject


def completion(model: str, text: object, message: Mapping[str, object] | None = None,
               **extra: object) -> JSONObject:
    """A ``chat.completion`` answering ``text``; ``message``: fields of the message to
    change, ``extra``: top-level fields to add or replace (``usage``, ``choices``)."""
    shown: JSONObject = {"role": "assistant", "content": text, "refusal": None}
    shown.update(message or {})
    body: JSONObject = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": shown, "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 19, "completion_tokens": 1, "total_tokens": 20},
        "system_fingerprint": "fp_stub",
    }
    body.update(extra)
    return body


def error(message: str, type_: str, code: str | None, param: str | None = None) -> bytes:
    return dumps({"error": {"message": message, "type": type_, "param": param, "code": code}})


def dumps(data: object) -> bytes:
    return json.dumps(data).encode("utf-8")


def chunk(model: str, delta: Mapping[str, object], finish: str | None = None,
          **extra: object) -> bytes:
    body: JSONObject = {
        "id": "chatcmpl-stub",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_stub",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    body.update(extra)
    return b"data: " + dumps(body) + b"\n\n"


def html(title: str) -> bytes:
    return (
        f"<!DOCTYPE html><html><head><title>{title}</title></head>"
        f"<body><h1>{title}</h1><p>nginx</p></body></html>"
    ).encode()

"""Wire-format helpers for the stub: bodies, envelopes and headers as real servers send them."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any


def completion(model: str, text: Any, **extra: Any) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
    message.update(extra.pop("message", {}))
    body: dict[str, Any] = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 19, "completion_tokens": 1, "total_tokens": 20},
        "system_fingerprint": "fp_stub",
    }
    body.update(extra)
    return body


def error(message: str, type_: str, code: str | None, param: str | None = None) -> bytes:
    return dumps({"error": {"message": message, "type": type_, "param": param, "code": code}})


def dumps(data: Any) -> bytes:
    return json.dumps(data).encode("utf-8")


def chunk(model: str, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
    body: dict[str, Any] = {
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

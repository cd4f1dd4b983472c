"""The one minimal, deterministic request."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from smoke.config.settings import Settings


def build(settings: Settings, model: str, stream: bool = False) -> dict[str, Any]:
    messages = []
    if settings.system_prompt:
        messages.append({"role": "system", "content": settings.system_prompt})
    messages.append({"role": "user", "content": settings.user_prompt})
    payload: dict[str, Any] = {"model": model, "messages": messages}
    if settings.temperature is not None:
        payload["temperature"] = settings.temperature
    if settings.max_tokens is not None:
        payload["max_tokens"] = settings.max_tokens
    if settings.max_completion_tokens is not None:
        payload["max_completion_tokens"] = settings.max_completion_tokens
    payload.update(settings.extra_body)
    if stream:
        payload["stream"] = True
        payload["stream_options"] = {"include_usage": True}
    return payload


def prompt_version(settings: Settings) -> str:
    """A short, stable hash of the payload template: the messages and generation fields,
    not the model (or stream), so one prompt has one version across models and runs."""
    template = build(settings, "")
    del template["model"]
    text = json.dumps(template, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def token_budget(settings: Settings) -> int:
    """The most tokens one positive request can spend: prompt estimate + completion cap."""
    prompt = len(settings.system_prompt) + len(settings.user_prompt)
    # ~4 characters a token, plus per-message overhead.
    estimate = prompt // 4 + 16
    cap = settings.max_completion_tokens or settings.max_tokens or 0
    return estimate + cap

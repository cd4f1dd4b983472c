"""The one minimal, deterministic request, or the application's own (``request_body``)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from smoke.config.settings import Settings

# The generation fields a model entry may set on top of the application's own body.
_ON_TOP = ("temperature", "max_tokens", "max_completion_tokens", "reasoning_effort")


def build(settings: Settings, model: str, stream: bool = False) -> dict[str, Any]:
    if settings.request_payload is not None:
        return _application(settings, model, stream)
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
    if settings.reasoning_effort is not None:
        payload["reasoning_effort"] = settings.reasoning_effort
    payload.update(settings.extra_body)
    if stream:
        payload["stream"] = True
        payload["stream_options"] = {"include_usage": True}
    return payload


def _application(settings: Settings, model: str, stream: bool) -> dict[str, Any]:
    """The application's body with ``model`` set and ``stream`` as the check needs; the
    built-in defaults (prompts, temperature 0, max_tokens 16) are not added, but what the
    model's own entry sets (its token limits, temperature, reasoning_effort, extra_body)
    is, so one application body serves a chat model and a reasoning model."""
    from smoke.config.body import prepared

    assert settings.request_payload is not None
    payload = prepared(settings.request_payload, model, stream)
    entry = settings.model_overrides.get(model, {})
    own: Mapping[str, object] = entry  # read by name below
    for name in _ON_TOP:
        if name in own:
            if own[name] is None:
                payload.pop(name, None)
            else:
                payload[name] = own[name]
    payload.update(entry.get("extra_body") or {})
    return payload


def prompt_version(settings: Settings) -> str:
    """A short, stable hash of the payload template: the messages and generation fields,
    not the model (or stream), so one prompt has one version across models and runs."""
    template = build(settings, "")
    del template["model"]
    text = json.dumps(template, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def completion_cap(settings: Settings, model: str = "") -> int | None:
    """The completion token limit the request for ``model`` carries, if any."""
    body = build(settings.for_model(model), model)
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def token_budget(settings: Settings, model: str = "") -> int:
    """The most tokens one request for ``model`` can spend: prompt estimate + completion
    cap."""
    own = settings.for_model(model)
    if own.request_payload is not None:
        prompt = len(json.dumps(own.request_payload.get("messages"), ensure_ascii=False))
    else:
        prompt = len(own.system_prompt) + len(own.user_prompt)
    # ~4 characters a token, plus per-message overhead.
    estimate = prompt // 4 + 16
    return estimate + (completion_cap(settings, model) or 0)

"""Read a Chat Completions answer defensively: an odd shape is a ``protocol`` failure,
never an exception."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from smoke.errors import ParseFailure as ParseFailure  # re-exported
from smoke.output.textsafe import one_line


@dataclass
class Completion:
    text: str
    finish_reason: str | None = None
    model: str | None = None
    usage: dict[str, Any] | None = None
    system_fingerprint: str | None = None
    refusal: str | None = None
    tool_calls: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    tool_names: tuple[str, ...] = ()  # the functions the answer calls, in order


def load_json(body: bytes, truncated: bool = False) -> Any:
    if truncated:
        raise ParseFailure(f"the body exceeded the {len(body)} byte cap; not a chat completion")
    if not body.strip():
        raise ParseFailure("the body is empty")
    if body.lstrip()[:1] == b"<":
        raise ParseFailure(
            "an HTML page instead of JSON (a captive portal, proxy page or wrong base_url?)"
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseFailure(f"the body is not UTF-8 (byte {exc.start})") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ParseFailure(f"the body is not valid JSON ({one_line(str(exc), 80)})") from None
    except RecursionError:  # found by tests/test_fuzz.py: "[" * 2000 is not an answer
        raise ParseFailure("the JSON is nested too deeply to be a chat completion") from None


def text_of(content: Any, where: str) -> str:
    """``content`` is a string, a list of parts (Mistral, OpenRouter), or null."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts: list[str] = []
        for i, part in enumerate(content):
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif isinstance(part, dict) and part.get("type") not in (None, "text"):
                continue  # an image or audio part carries no text
            else:
                raise ParseFailure(f"{where}[{i}] is not a text part")
        return "".join(texts)
    raise ParseFailure(f"{where} is a {type(content).__name__}, not a string or list of parts")


def _opt_str(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    return value if isinstance(value, str) else None


def completion(data: Any) -> Completion:
    """Extract the assistant's answer from a parsed ``chat.completion`` object."""
    if not isinstance(data, dict):
        raise ParseFailure(f"the JSON is a {type(data).__name__}, not an object")
    choices = data.get("choices")
    if choices is None:
        raise ParseFailure("the answer has no choices")
    if not isinstance(choices, list):
        raise ParseFailure(f"choices is a {type(choices).__name__}, not a list")
    if not choices:
        raise ParseFailure("choices is empty")
    first = choices[0]
    if not isinstance(first, dict):
        raise ParseFailure("choices[0] is not an object")
    message = first.get("message")
    if not isinstance(message, dict):
        raise ParseFailure("choices[0].message is missing or not an object")
    text = text_of(message.get("content"), "choices[0].message.content")
    tool_calls = message.get("tool_calls")
    usage = data.get("usage")
    finish = first.get("finish_reason")
    return Completion(
        text=text,
        finish_reason=finish if isinstance(finish, str) else None,
        model=_opt_str(data, "model"),
        usage=usage if isinstance(usage, dict) else None,
        system_fingerprint=_opt_str(data, "system_fingerprint"),
        refusal=_opt_str(message, "refusal"),
        tool_calls=len(tool_calls) if isinstance(tool_calls, list) else 0,
        tool_names=tool_names(tool_calls),
    )


def tool_names(calls: Any) -> tuple[str, ...]:
    """The function names of a message's ``tool_calls`` (odd entries skipped)."""
    if not isinstance(calls, list):
        return ()
    names = []
    for call in calls:
        function = call.get("function") if isinstance(call, dict) else None
        name = function.get("name") if isinstance(function, dict) else None
        if isinstance(name, str):
            names.append(name)
    return tuple(names)


def reasoning_tokens(usage: dict[str, Any] | None) -> int:
    """The reasoning tokens ``usage`` reports (OpenAI's completion_tokens_details, or a
    gateway's flat reasoning_tokens); 0 when none."""
    if not usage:
        return 0
    details = usage.get("completion_tokens_details")
    found = details.get("reasoning_tokens") if isinstance(details, dict) else None
    if found is None:
        found = usage.get("reasoning_tokens")
    return found if isinstance(found, int) and not isinstance(found, bool) else 0


def total_tokens(usage: dict[str, Any] | None) -> int | None:
    if not usage:
        return None
    total = usage.get("total_tokens")
    if isinstance(total, int) and not isinstance(total, bool):
        return total
    parts = [usage.get("prompt_tokens"), usage.get("completion_tokens")]
    if all(isinstance(p, int) and not isinstance(p, bool) for p in parts):
        return int(parts[0]) + int(parts[1])  # type: ignore[arg-type]
    return None

"""Read a Chat Completions answer defensively: an odd shape is a ``protocol`` failure,
never an exception."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from smoke.errors import ParseFailure as ParseFailure  # re-exported
from smoke.jsonvalue import JSONObject, as_object, child, integer, text
from smoke.output.textsafe import one_line


@dataclass
class Completion:
    text: str
    finish_reason: str | None = None
    model: str | None = None
    usage: JSONObject | None = None  # as the server sent it
    system_fingerprint: str | None = None
    refusal: str | None = None
    tool_calls: int = 0
    tool_names: tuple[str, ...] = ()  # the functions the answer calls, in order


def load_json(body: bytes, truncated: bool = False) -> object:
    if truncated:
        raise ParseFailure(f"the body exceeded the {len(body)} byte cap; not a chat completion")
    if not body.strip():
        raise ParseFailure("the body is empty")
    if body.lstrip()[:1] == b"<":
        raise ParseFailure(
            "an HTML page instead of JSON (a captive portal, proxy page or wrong base_url?)"
        )
    try:
        decoded = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseFailure(f"the body is not UTF-8 (byte {exc.start})") from None
    try:
        loaded: object = json.loads(decoded)
        return loaded
    except ValueError as exc:
        raise ParseFailure(f"the body is not valid JSON ({one_line(str(exc), 80)})") from None
    except RecursionError:  # found by tests/test_fuzz.py: "[" * 2000 is not an answer
        raise ParseFailure("the JSON is nested too deeply to be a chat completion") from None


def text_of(content: object, where: str) -> str:
    """``content`` is a string, a list of parts (Mistral, OpenRouter), or null."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts: list[str] = []
        for i, part in enumerate(content):
            piece = as_object(part)
            if isinstance(part, str):
                texts.append(part)
            elif piece is not None and (found := text(piece, "text")) is not None:
                texts.append(found)
            elif piece is not None and piece.get("type") not in (None, "text"):
                continue  # an image or audio part carries no text
            else:
                raise ParseFailure(f"{where}[{i}] is not a text part")
        return "".join(texts)
    raise ParseFailure(f"{where} is a {type(content).__name__}, not a string or list of parts")


def completion(raw: object) -> Completion:
    """Extract the assistant's answer from a parsed ``chat.completion`` object."""
    data = as_object(raw)
    if data is None:
        raise ParseFailure(f"the JSON is a {type(raw).__name__}, not an object")
    choices = data.get("choices")
    if choices is None:
        raise ParseFailure("the answer has no choices")
    if not isinstance(choices, list):
        raise ParseFailure(f"choices is a {type(choices).__name__}, not a list")
    if not choices:
        raise ParseFailure("choices is empty")
    first = as_object(choices[0])
    if first is None:
        raise ParseFailure("choices[0] is not an object")
    message = child(first, "message")
    if message is None:
        raise ParseFailure("choices[0].message is missing or not an object")
    content = text_of(message.get("content"), "choices[0].message.content")
    tool_calls = message.get("tool_calls")
    return Completion(
        text=content,
        finish_reason=text(first, "finish_reason"),
        model=text(data, "model"),
        usage=child(data, "usage"),
        system_fingerprint=text(data, "system_fingerprint"),
        refusal=text(message, "refusal"),
        tool_calls=len(tool_calls) if isinstance(tool_calls, list) else 0,
        tool_names=tool_names(tool_calls),
    )


def tool_names(calls: object) -> tuple[str, ...]:
    """The function names of a message's ``tool_calls`` (odd entries skipped)."""
    if not isinstance(calls, list):
        return ()
    names = []
    for call in calls:
        found = as_object(call)
        function = child(found, "function") if found is not None else None
        name = text(function, "name") if function is not None else None
        if name is not None:
            names.append(name)
    return tuple(names)


def reasoning_tokens(usage: Mapping[str, object] | None) -> int:
    """The reasoning tokens ``usage`` reports (OpenAI's completion_tokens_details, or a
    gateway's flat reasoning_tokens); 0 when none."""
    if not usage:
        return 0
    details = child(usage, "completion_tokens_details")
    found = details.get("reasoning_tokens") if details is not None else None
    if found is None:
        found = usage.get("reasoning_tokens")
    return found if isinstance(found, int) and not isinstance(found, bool) else 0


def total_tokens(usage: Mapping[str, object] | None) -> int | None:
    if not usage:
        return None
    total = integer(usage, "total_tokens")
    if total is not None:
        return total
    prompt, answer = integer(usage, "prompt_tokens"), integer(usage, "completion_tokens")
    if prompt is not None and answer is not None:
        return prompt + answer
    return None

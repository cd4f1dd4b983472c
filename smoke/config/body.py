"""``request_body: FILE``: the application's own request body (JSON or YAML).

It replaces the built-in payload; the checked model is set into ``model`` for each model,
and ``stream`` per check. The file is validated before anything is sent. Its text may
hold prompts that must not be logged: no message here quotes a value from it (types and
field names only), and the reports record its sha256 and size, never its text.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

from smoke.errors import ConfigError
from smoke.jsonvalue import JSONObject

MAX_BYTES = 4 * 1024 * 1024
_YAML = (".yml", ".yaml")


def _kind(value: object) -> str:
    return "null" if value is None else {dict: "a mapping", list: "a list", str: "a string",
                                         bool: "a boolean"}.get(type(value), "a number")


def problems(body: object, file: str) -> list[str]:
    """Every problem of a request body, one line each: the file, the field, the fix."""
    if not isinstance(body, dict):
        return [f"{file}: the body is {_kind(body)}, not a mapping: give the JSON object "
                "the application sends ({\"messages\": [...], ...})"]
    found: list[str] = []
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        what = "missing" if "messages" not in body else (
            "an empty list" if messages == [] else _kind(messages))
        found.append(f"{file}: messages: {what}: give the conversation the application "
                     "sends, a non-empty list of {role, content} mappings")
    else:
        for index, message in enumerate(messages):
            if not isinstance(message, dict) or not isinstance(message.get("role"), str):
                found.append(f"{file}: messages[{index}]: {_kind(message)} without a role: "
                             "each message is a mapping with a role (system, user, ...)")
    for name, kind, want in (("tools", list, "a list of tool definitions"),
                             ("response_format", dict, "a mapping ({type: json_schema, ...})")):
        if name in body and not isinstance(body[name], kind):
            found.append(f"{file}: {name}: {_kind(body[name])}: give {want}")
    return found


def load(given: str, where: str, cwd: Path) -> tuple[str, JSONObject]:
    """(the file's absolute path, its validated body); a problem raises one line."""
    path = cwd / given
    label = f"{where}: {given}"
    if not path.is_file():
        raise ConfigError(f"{label}: no such file")
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{label}: cannot be read ({exc.strerror})") from None
    if len(data) > MAX_BYTES:
        raise ConfigError(f"{label}: larger than {MAX_BYTES // (1024 * 1024)} MiB: is it the "
                          "right file?")
    if path.suffix.lower() in _YAML:
        from smoke.config import yamlfile

        try:
            body, _ = yamlfile.load(path)
        except ConfigError as exc:
            raise ConfigError(str(exc).replace(f"config file {path}", label, 1)) from None
    else:
        try:
            body = json.loads(data.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{label}: not UTF-8 (byte {exc.start}): save it as UTF-8") \
                from None
        except ValueError as exc:
            line = getattr(exc, "lineno", None)
            at = f" at line {line}" if line else ""
            raise ConfigError(f"{label}: not valid JSON{at}: fix the syntax (a .yml or "
                              ".yaml file is read as YAML)") from None
        except RecursionError:
            raise ConfigError(f"{label}: nested too deeply to be a request body") from None
    found = problems(body, label)
    if found or not isinstance(body, dict):  # problems() says when it is no mapping
        raise ConfigError("; ".join(found))  # every problem, each naming file and field
    return str(path), body


def digest(sent: bytes) -> dict[str, str | int]:
    """What the reports record of a body that was sent: never its text."""
    return {"sha256": hashlib.sha256(sent).hexdigest(), "bytes": len(sent)}


def prepared(body: Mapping[str, object], model: str, stream: bool) -> dict[str, object]:
    """The application's body with ``model`` set, and ``stream`` as the check needs it."""
    out = dict(body)
    out["model"] = model
    if stream:
        out["stream"] = True
        options = out.get("stream_options")
        out["stream_options"] = {**(options if isinstance(options, dict) else {}),
                                 "include_usage": True}
    else:
        out.pop("stream", None)
        out.pop("stream_options", None)
    return out

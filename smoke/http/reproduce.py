"""A redacted raw-HTTP reproduction of a request: a curl command for exactly what was
sent (method, URL with its query, headers, body), to tell an SDK problem from an API
problem. It never holds a secret: the key and every masked value are shell variable
references (issue 13; the runbook's "keep one raw HTTP example available").
"""

from __future__ import annotations

import hashlib
import re
import shlex
from collections.abc import Mapping

from smoke.config import headers as http_headers
from smoke.config import query as http_query
from smoke.config.load import KEY_VARIABLES
from smoke.config.settings import Settings
from smoke.output import redact

KEY_VARIABLE = KEY_VARIABLES[0]
# The action's own variable for its api-key input (smoke.action.KEY_VARIABLE); a user
# reproducing by hand sets COMETAPI_API_KEY instead.
_ACTION_VARIABLE = "CHAT_SMOKE_ACTION_API_KEY"
# The invalid-key negative check's key: random, not a secret, and what was sent.
RANDOM_KEY_SOURCE = "a random key (the invalid-key check)"
_NAME_CHAR = re.compile(r"[A-Za-z0-9_]")
_UNSAFE = re.compile(r"[^A-Za-z0-9]+")


def _dq(parts: list[tuple[str, bool]]) -> str:
    """A double-quoted shell word from literal parts and variable names (True)."""
    out = []
    for i, (text, is_var) in enumerate(parts):
        if is_var:
            following = parts[i + 1][0][:1] if i + 1 < len(parts) else ""
            needs_braces = bool(following) and not parts[i + 1][1] and bool(
                _NAME_CHAR.match(following))
            out.append(f"${{{text}}}" if needs_braces else f"${text}")
        else:
            out.append(re.sub(r'([\\"$`])', r"\\\1", text))
    return '"' + "".join(out) + '"'


def _word(parts: list[tuple[str, bool]]) -> str:
    if not any(is_var for _, is_var in parts):
        return shlex.quote("".join(text for text, _ in parts))
    return _dq(parts)


def _template_parts(template: str) -> list[tuple[str, bool]]:
    parts: list[tuple[str, bool]] = []
    last = 0
    for match in re.finditer(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", template):
        parts.append((template[last:match.start()], False))
        parts.append((match.group(1), True))
        last = match.end()
    parts.append((template[last:], False))
    return [p for p in parts if p[0]]


def _key_variable(settings: Settings, notes: list[str]) -> str:
    source = settings.api_key_source
    if source.startswith("file "):
        path = source[len("file "):]
        notes.append(f"# {KEY_VARIABLE}: the key came from the file {path}: "
                     f"export {KEY_VARIABLE}=\"$(cat {shlex.quote(path)})\"")
        return KEY_VARIABLE
    if source == _ACTION_VARIABLE:
        notes.append(f"# {KEY_VARIABLE}: the key came from the action's api-key input: "
                     "export it from the same secret")
        return KEY_VARIABLE
    if re.fullmatch(r"\A[A-Za-z_][A-Za-z0-9_]*\Z", source):
        return source
    return KEY_VARIABLE


def _placeholder(prefix: str, name: str) -> str:
    return f"{prefix}_{_UNSAFE.sub('_', name).strip('_').upper()}"


def _url(settings: Settings, path: str, notes: list[str]) -> str:
    parts: list[tuple[str, bool]] = [(f"{settings.base_url}/{path.lstrip('/')}", False)]
    if settings.base_query:
        parts.append(("?", False))
        pairs = settings.base_query.split("&")
        for i, pair in enumerate(pairs):
            name, sep, _ = pair.partition("=")
            if i:
                parts.append(("&", False))
            if sep and http_query.secret_param(name):
                var = _placeholder("QUERY", name)
                notes.append(f"# {var}: the {name} query parameter of the base URL (masked)")
                parts += [(f"{name}=", False), (var, True)]
            else:
                parts.append((pair, False))
    return _word(parts)


_APP_BODY = (
    "# --data @{file}: the application's own body (request_body), never pasted here; the "
    "gate sent it with this check's model (and stream) set: {size} bytes, sha256 "
    "{sha256}...{yaml}"
)
_YAML_NOTE = "; the file is YAML: convert it to JSON first"


def _relative(settings: Settings) -> str:
    path = settings.request_body or ""
    if settings.workdir and path.startswith(settings.workdir.rstrip("/") + "/"):
        return path[len(settings.workdir.rstrip("/")) + 1:]
    return path


def curl(
    settings: Settings,
    method: str,
    path: str,
    sent: Mapping[str, str],
    body: bytes | None,
    api_key: str | None = None,
) -> str:
    """The curl command for one request: ``sent`` are exactly the headers it carried
    (``transport.request_headers``), ``body`` exactly its bytes, ``api_key`` the key it
    carried when that was not the configured one (the invalid-key check's random key)."""
    notes: list[str] = []
    lines = [f"curl -sS -X {method} {_url(settings, path, notes)}"]
    user = {h.name.lower(): h for h in settings.headers}
    auth = settings.auth_header.lower()
    for name, value in sent.items():
        lowered = name.lower()
        header = user.get(lowered)
        if lowered == auth and auth != http_headers.NO_AUTH and (
            api_key is None or api_key == settings.api_key
        ) and settings.api_key_source != RANDOM_KEY_SOURCE:
            var = _key_variable(settings, notes)
            scheme = "Bearer " if lowered == "authorization" else ""
            word = _dq([(f"{name}: {scheme}", False), (var, True)])
        elif header is not None and header.value == value and header.variables:
            word = _word([(f"{name}: ", False), *_template_parts(header.template)])
        elif header is not None and header.value == value and header.secret:
            var = _placeholder("HEADER", name)
            notes.append(f"# {var}: the value of the {name} header (masked)")
            word = _dq([(f"{name}: ", False), (var, True)])
        else:
            word = shlex.quote(f"{name}: {value}")
        lines.append(f"-H {word}")
    if body is not None and settings.request_body and settings.request_payload is not None:
        lines.append(f"--data @{shlex.quote(_relative(settings))}")
        notes.append(_APP_BODY.format(
            file=_relative(settings), sha256=hashlib.sha256(body).hexdigest()[:16],
            size=len(body), yaml=_YAML_NOTE if settings.request_body.endswith(
                (".yml", ".yaml")) else ""))
    elif body is not None:
        lines.append(f"--data-raw {shlex.quote(body.decode('utf-8', errors='replace'))}")
    # Belt and braces: nothing registered as secret survives, whatever path built it.
    return redact.scrub("\n".join(dict.fromkeys(notes)) + ("\n" if notes else "")
                        + " \\\n  ".join(lines))


"""The API key: read from the environment or a file, trimmed, registered as a secret before
anything could print it, and refused (a ``config`` error, never ``connect``) when it could
not go into an HTTP header. No message here ever contains the key."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from pathlib import Path

from smoke.errors import ConfigError
from smoke.output import redact

KEY_VARIABLES = ("COMETAPI_API_KEY", "COMETAPI_KEY")
FALLBACK_KEY = "OPENAI_API_KEY"  # only when nothing else configures the gate (issue 13)
MAX_KEY_CHARS = 4096  # far above any provider's key; a header line must stay bounded
_NO_KEY = (
    "no API key: set COMETAPI_API_KEY (or COMETAPI_KEY), name another variable with "
    "--api-key-env, or point --api-key-file at a mounted secret. The key is never a flag. "
    "(A gateway that holds the key itself: --auth-header none)"
)
_UNSENDABLE = (
    "{source}: the key contains {what} at position {position} (of {length} characters), "
    "so it cannot be sent in the Authorization header. {fix} The key itself is not shown. "
    "See docs/failures.md#config"
)
_FIX_BREAK = (
    "Two keys pasted into one secret, or a wrapped line? Store exactly one key, on one line."
)
_FIX_OTHER = "Copy the key again from the provider's console, as plain text."


def _describe(char: str) -> tuple[str, str]:
    if char in "\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029":
        return "a line break", _FIX_BREAK
    if char.isspace():
        return "white space", _FIX_BREAK
    if unicodedata.category(char) in ("Cc", "Cf", "Cs"):
        return f"a control character (U+{ord(char):04X})", _FIX_OTHER
    return f"a character outside Latin-1 (U+{ord(char):04X})", _FIX_OTHER


def problem(key: str, source: str) -> str | None:
    """Why ``key`` (already trimmed) cannot be sent as ``Bearer <key>``, or None.

    http.client encodes header values as Latin-1 and refuses line breaks; anything else
    a header cannot carry would fail as a connection error and be retried."""
    if not key:
        return f"{source}: the key is empty (or only white space)"
    if len(key) > MAX_KEY_CHARS:
        return (f"{source}: the key is {len(key)} characters long, more than any provider "
                f"issues ({MAX_KEY_CHARS} at most): is it the right file or variable?")
    for position, char in enumerate(key, 1):
        code = ord(char)
        bad = (
            code < 0x20 or code == 0x7F or 0x80 <= code < 0xA0 or code > 0xFF
            or char.isspace()
        )
        if bad:
            what, fix = _describe(char)
            return _UNSENDABLE.format(source=source, what=what, position=position,
                                      length=len(key), fix=fix)
    return None


def register_all(raw: str) -> None:
    """Register a key as given and each piece of it, so that even a key refused for an
    inner line break (two keys pasted together) never shows, whole or in part."""
    key = raw.strip()
    redact.register(key)
    for piece in key.split():
        if len(piece) >= 8:  # shorter pieces would mask ordinary words
            redact.register(piece)


def preregister(flags: Mapping[str, object], env: Mapping[str, str]) -> None:
    """Before any configuration is read: register every value that may be the key, so
    that no error message about the rest of the configuration can show it."""
    names = [*KEY_VARIABLES, FALLBACK_KEY]
    for value in (flags.get("api_key_env"), env.get("SMOKE_API_KEY_ENV")):
        if isinstance(value, str) and value.strip():
            names.append(value.strip())
    for name in names:
        if env.get(name, "").strip():
            register_all(env[name])
    # A key file is read once only, by read(): it may be a pipe (--api-key-file <(...)).


def read(merged: Mapping[str, object], env: Mapping[str, str],
         fallback: bool = False) -> tuple[str, str]:
    """The key and where it came from; a ConfigError (without the key) otherwise.
    ``fallback``: OPENAI_API_KEY counts too (no config file, no api_key_env)."""
    if merged.get("api_key_file"):
        path = Path(str(merged["api_key_file"]))
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_KEY_CHARS * 4 + 1)
        except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
            reason = getattr(exc, "strerror", None) or str(exc)
            raise ConfigError(f"api_key_file {path}: cannot be read ({reason})") from None
        text = data.decode("utf-8", errors="replace")
        register_all(text)
        if not text.strip():
            raise ConfigError(f"api_key_file {path}: the file is empty")
        return _checked(text.strip(), f"api_key_file {path}"), f"file {path}"
    names: tuple[str, ...] = (
        (str(merged["api_key_env"]),) if merged.get("api_key_env") else KEY_VARIABLES
    )
    if fallback and not merged.get("api_key_env"):
        names += (FALLBACK_KEY,)
    for name in names:
        raw = env.get(name, "")
        register_all(raw)
        if raw.strip():
            return _checked(raw.strip(), name), name
    if merged.get("api_key_env"):
        raise ConfigError(f"--api-key-env {names[0]}: that variable is not set or empty")
    raise ConfigError(_NO_KEY)


def _checked(key: str, source: str) -> str:
    found = problem(key, source)
    if found is not None:
        raise ConfigError(found)
    return key

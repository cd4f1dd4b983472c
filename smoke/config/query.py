"""A base URL's query string (Azure's ``?api-version=…``): kept, sent on every request,
and shown with secret-looking parameters masked."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from smoke.output import redact

# Parameter names that carry credentials: Azure SAS (sig), API keys, OAuth codes.
_SECRET = re.compile(
    r"\A(sig|code|auth|pass|pwd)\Z|key|token|secret|password|signature|credential|session",
    re.IGNORECASE,
)
# A shorter value is not registered: masking "1" everywhere would garble the output.
_REGISTER_MIN = 4


def secret_param(name: str) -> bool:
    """Whether a parameter's name looks secret (``"sig\\n"`` too: spaces around the name
    never make a secret look harmless)."""
    return bool(_SECRET.search(name.strip()))


def split(url: str) -> tuple[str, str]:
    """(the URL without its query, the query)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query="", fragment="")), parts.query


def register(query: str) -> None:
    """Register every secret-looking parameter's value, in every form it may be echoed."""
    for name, value in parse_qsl(query, keep_blank_values=True):
        if secret_param(name) and len(value) >= _REGISTER_MIN:
            redact.register(value)
            redact.register(quote(value, safe=""))


def masked(query: str) -> str:
    """The query with each secret-looking parameter's value replaced by the mask."""
    out = []
    for part in query.split("&"):
        name, sep, _ = part.partition("=")
        out.append(f"{name}={redact.MASK}" if sep and secret_param(name) else part)
    return "&".join(out)


def join(url: str, query: str) -> str:
    return f"{url}?{query}" if query else url

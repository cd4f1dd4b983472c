"""Redaction: the one place every output passes through.

Secrets (the API key, credentials inside a proxy URL) are registered once; every writer
(console, reports, summary, GitHub outputs) calls :func:`scrub` on its final text.
Servers echo keys back in error bodies, sometimes only in part ("sk-abc...wxyz"), so
besides the exact value any run of 8+ characters taken from a long secret is masked.
"""

from __future__ import annotations

import re
import threading
from urllib.parse import quote

MASK = "***"
_WINDOW = 8
_TOKEN = re.compile(r"[A-Za-z0-9_\-.+/=~]{" + str(_WINDOW) + ",}")

_lock = threading.Lock()
_secrets: list[str] = []
_windows: set[str] = set()


def register(secret: str | None) -> None:
    """Remember a secret so that no output carries it."""
    if not secret:
        return
    with _lock:
        forms = {secret, quote(secret, safe=""), secret.replace("/", "\\/")}
        for form in forms:
            if form and form not in _secrets:
                _secrets.append(form)
        _secrets.sort(key=len, reverse=True)
        if len(secret) >= 12:
            _windows.update(secret[i : i + _WINDOW] for i in range(len(secret) - _WINDOW + 1))


def registered() -> tuple[str, ...]:
    with _lock:
        return tuple(_secrets)


def clear() -> None:
    """Forget every secret (tests, and a second gate in one process)."""
    with _lock:
        _secrets.clear()
        _windows.clear()


def _mask_token(match: re.Match[str]) -> str:
    token = match.group(0)
    for i in range(len(token) - _WINDOW + 1):
        if token[i : i + _WINDOW] in _windows:
            return MASK
    return token


def scrub(text: str) -> str:
    """Return ``text`` with every registered secret, or a long piece of one, masked."""
    with _lock:
        secrets = list(_secrets)
        windows = list(_windows)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    # A token is masked only when a window of a secret is inside it, so when no window is
    # anywhere in the text there is nothing to mask: a substring search per window (C
    # speed) spares a big report the Python call per token (0.18 s for 1,000 checks).
    if any(window in text for window in windows):
        text = _TOKEN.sub(_mask_token, text)
    return text

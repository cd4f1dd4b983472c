"""Redaction: the one place every output passes through.

Secrets (the API key, credentials inside a proxy URL) are registered once; every writer
(console, reports, summary, GitHub outputs) calls :func:`scrub` on its final text.

Servers echo keys back in error bodies in many shapes, so each secret is masked in every
form a server or a proxy is known to print (issue 11):

- the value itself, and any run of 8+ characters taken from a long one ("sk-abc...wxyz");
- URL-encoded (``quote``, ``quote_plus``) and JSON-escaped (``\\/``, ``\\uXXXX``);
- base64, standard and URL-safe, of the value wherever it sits inside a longer encoded
  text: a ``Bearer KEY`` header dump, basic auth ``:KEY`` / ``KEY:``. Base64 encodes 3
  bytes as 4 characters, so the encoding of a secret inside a longer text depends on its
  offset modulo 3: the three "cores" (the characters that depend on the secret's bytes
  only) are masked, whatever surrounds them.

A run registers its secrets inside :func:`scope`; leaving the scope forgets them, and only
them, so two gates in one process (threads, a library user) never unregister each
other's secrets, and a long-lived process does not accumulate every key it ever saw.
A secret registered outside any scope goes to a small process-wide registry that keeps the
most recent ones (:data:`AMBIENT_LIMIT`). :func:`clear` is for tests.

Inside a scope nothing is ever evicted (issue 26: enough masked header values used to push
the API key out, and a server that echoed it then had it printed in full). The
credentials chat-smoke itself holds (the key, a proxy's password, a token, a secret in the
URL) are registered without a bound; only a user's secrets (:func:`register_user`: header
values) share a bounded space, :data:`USER_LIMIT`, and one more raises :class:`Full`,
which the configuration reports as an error rather than silently stop masking. The scope lives in
a context variable: a thread that registers secrets for a run must be started in a copy
of the run's context (``contextvars.copy_context().run``), as the gate's worker is.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from urllib.parse import quote, quote_plus

MASK = "***"
_WINDOW = 8
_MIN_FORM = 6  # shorter encoded pieces would mask ordinary words
_TOKEN = re.compile(r"[A-Za-z0-9_\-.+/=~]{" + str(_WINDOW) + ",}")
# What no output can carry: lone surrogates (from a JSON body's "\\ud800") cannot be
# encoded as UTF-8 (replaced by U+FFFD), and NUL ends C strings in log readers (dropped).
_SURROGATE = re.compile("[\ud800-\udfff]")
AMBIENT_LIMIT = 16  # secrets kept outside any scope (library use without a scope)
USER_LIMIT = 256  # a user's secrets (header values) one run may register


class Full(Exception):
    """A run registered more user secrets than :data:`USER_LIMIT`."""


def forms(secret: str) -> set[str]:
    """Every printed form of ``secret`` that is masked."""
    found = {secret, quote(secret, safe=""), quote_plus(secret, safe=""),
             secret.replace("/", "\\/"), json.dumps(secret)[1:-1],
             json.dumps(secret, ensure_ascii=False)[1:-1]}
    data = secret.encode("utf-8", errors="surrogatepass")
    for offset in range(3):
        # The secret's bytes starting at the first group boundary after ``offset`` leading
        # bytes of something else, up to the last whole group.
        start = (3 - offset) % 3
        whole = (len(data) - start) // 3 * 3
        if whole <= 0:
            continue
        core = base64.b64encode(data[start : start + whole]).decode("ascii")
        found.add(core)
        found.add(core.replace("+", "-").replace("/", "_"))
    return {form for form in found if len(form) >= min(_MIN_FORM, len(secret))}


class _Registry:
    """The secrets of one scope (or the process-wide registry): their forms, and the
    8-character windows of the long ones, in registration order. ``limit``: the
    process-wide registry keeps the most recent ones; a scope (None) evicts nothing and
    bounds only the user's secrets."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.secrets: dict[str, tuple[set[str], set[str]]] = {}
        self.user: set[str] = set()  # registered only as a user's secret

    def add(self, secret: str, user: bool = False) -> None:
        if secret in self.secrets:
            if not user:
                self.user.discard(secret)  # held by chat-smoke itself too: not counted
            self.secrets[secret] = self.secrets.pop(secret)  # most recent last
            return
        if user and self.limit is None and len(self.user) >= USER_LIMIT:
            raise Full(f"more than {USER_LIMIT} secret values")
        windows = (
            {secret[i : i + _WINDOW] for i in range(len(secret) - _WINDOW + 1)}
            if len(secret) >= 12 else set()
        )
        self.secrets[secret] = (forms(secret), windows)
        if user:
            self.user.add(secret)
        while self.limit is not None and len(self.secrets) > self.limit:
            oldest = next(iter(self.secrets))
            del self.secrets[oldest]
            self.user.discard(oldest)


_lock = threading.Lock()
_ambient = _Registry(AMBIENT_LIMIT)
_active: dict[int, _Registry] = {}  # the open scopes of every thread, by id
_current: ContextVar[_Registry | None] = ContextVar("chat_smoke_redact_scope", default=None)
_snapshot: tuple[list[str], frozenset[str]] | None = None  # rebuilt after any change


def _changed() -> None:
    global _snapshot
    _snapshot = None


def _view() -> tuple[list[str], frozenset[str]]:
    """Every form (longest first) and window of every live secret, of every scope."""
    global _snapshot
    with _lock:
        if _snapshot is None:
            all_forms: set[str] = set()
            windows: set[str] = set()
            for registry in (_ambient, *_active.values()):
                for secret_forms, secret_windows in registry.secrets.values():
                    all_forms |= secret_forms
                    windows |= secret_windows
            _snapshot = (sorted(all_forms, key=len, reverse=True), frozenset(windows))
        return _snapshot


def register(secret: str | None) -> None:
    """Remember a secret chat-smoke itself holds (the key, a password, a token) so that no
    output carries it: in the current :func:`scope` (never evicted), or in the small
    process-wide registry when there is none."""
    _add(secret, user=False)


def register_user(secret: str | None) -> None:
    """Remember a user's secret (a header value): like :func:`register`, but a scope
    holds at most :data:`USER_LIMIT` of them; one more raises :class:`Full` (and is not
    registered, so the caller must stop: the value would not be masked)."""
    _add(secret, user=True)


def _add(secret: str | None, user: bool) -> None:
    if not secret:
        return
    registry = _current.get()
    with _lock:
        target = registry if registry is not None and id(registry) in _active else _ambient
        try:
            target.add(secret, user)
        finally:
            _changed()


@contextmanager
def scope(*secrets: str | None) -> Iterator[None]:
    """A run's secrets: registered on entry (and by :func:`register` inside), forgotten on
    exit. Secrets of other scopes, open at the same time, stay masked. A scope opened
    inside another (in the same thread or context) is part of it: its secrets live until
    the outer one ends, so an error printed by the outer layer is still masked."""
    outer = _current.get()
    with _lock:
        nested = outer is not None and id(outer) in _active
    if nested:
        for secret in secrets:
            register(secret)
        yield
        return
    registry = _Registry(None)
    with _lock:
        _active[id(registry)] = registry
    token = _current.set(registry)
    try:
        for secret in secrets:
            register(secret)
        yield
    finally:
        _current.reset(token)
        with _lock:
            _active.pop(id(registry), None)
            _changed()


def registered() -> tuple[str, ...]:
    """Every live secret, in registration order, with its URL-encoded and slash-escaped
    forms (for ``::add-mask::``; the runner's masker adds base64 and the other encodings
    itself: actions/runner ``ValueEncoders``)."""
    with _lock:
        raw = [s for r in (_ambient, *_active.values()) for s in r.secrets]
    shown = (form for secret in raw
             for form in (secret, quote(secret, safe=""), secret.replace("/", "\\/")))
    return tuple(dict.fromkeys(shown))


def clear() -> None:
    """Forget every secret, of every scope. For tests only: a run uses :func:`scope`."""
    with _lock:
        _ambient.secrets.clear()
        _ambient.user.clear()
        for registry in _active.values():
            registry.secrets.clear()
            registry.user.clear()
        _changed()


# Up to this many windows, one substring search each (C speed) is the cheaper test; past
# it (a long secret: a 100 KB header value has 100,000 windows), each 8 characters of the
# text's tokens are looked up instead, so the cost is linear in the text, whatever the
# secrets' length (issue 26: a 100 KB secret made a 0.3 s run take 8 s).
_FEW_WINDOWS = 256


def _windowed(text: str, windows: frozenset[str]) -> bool:
    """Whether a window of a secret is inside a token of ``text``."""
    if len(windows) <= _FEW_WINDOWS:
        return any(window in text for window in windows)
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        for i in range(len(token) - _WINDOW + 1):
            if token[i : i + _WINDOW] in windows:
                return True
    return False


def scrub(text: str) -> str:
    """Return ``text`` with every registered secret, in any known form, or a long piece of
    one, masked; and with what cannot be encoded (lone surrogates, NUL) replaced."""
    text = _SURROGATE.sub("\ufffd", text).replace("\x00", "")
    all_forms, windows = _view()
    for form in all_forms:
        if form in text:
            text = text.replace(form, MASK)
    # A token is masked only where a window of a secret is inside it, so when no window is
    # anywhere in the text there is nothing to mask: a substring search per window (C
    # speed) spares a big report the Python call per token (0.18 s for 1,000 checks).
    if _windowed(text, windows):

        def mask_token(match: re.Match[str]) -> str:
            # Only the characters some window of a secret covers are masked, so that what
            # the token starts with ("u001f" of a JSON escape "\u001f") stays intact.
            token = match.group(0)
            covered = [False] * len(token)
            for i in range(len(token) - _WINDOW + 1):
                if token[i : i + _WINDOW] in windows:
                    covered[i : i + _WINDOW] = [True] * _WINDOW
            if not any(covered):
                return token
            out: list[str] = []
            for i, char in enumerate(token):
                if not covered[i]:
                    out.append(char)
                elif i == 0 or not covered[i - 1]:
                    out.append(MASK)
            return "".join(out)

        text = _TOKEN.sub(mask_token, text)
    return text

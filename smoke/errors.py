"""The one exception tree. Only the entry points turn these into exit codes::

    SmokeError                 every error chat-smoke raises on purpose
    ├── ConfigError            the configuration is missing or invalid (exit 2)
    ├── ReportError            a report, summary or CI output could not be written
    ├── MergeError             ``chat-smoke merge``: a leg's report cannot be read (exit 2)
    ├── BaselineError          ``--baseline``: the file is not a chat-smoke report (config)
    ├── CommentError           the pull-request comment could not be posted (a warning)
    └── CheckFailure           a check cannot go on; ``category`` says why
        ├── TransportFailure   no usable HTTP response
        ├── ParseFailure       the body breaks the Chat Completions contract
        └── StreamFailure      the event stream went wrong after the HTTP 200

Anything else that escapes is a bug in chat-smoke (exit 1).
"""

from __future__ import annotations

from smoke.categories import Category


class SmokeError(Exception):
    """Base class for every error chat-smoke raises on purpose."""


# Control characters (line breaks included) shown as escapes: a config error is one line
# whatever a path or a value holds (issue 11; tests/test_fuzz.py found file names).
_ESCAPES = {code: f"\\x{code:02x}" for code in [*range(0x20), 0x7F, *range(0x80, 0xA0)]}
_ESCAPES.update({0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x2028: "\\u2028",
                 0x2029: "\\u2029"})


class ConfigError(SmokeError):
    """The configuration is missing or invalid; nothing was sent. The message is always
    one line."""

    def __init__(self, message: str) -> None:
        super().__init__(message.translate(_ESCAPES))


class ReportError(SmokeError):
    """A report or summary could not be written."""


class MergeError(SmokeError):
    """A report given to ``chat-smoke merge`` cannot be read as a chat-smoke report;
    ``path`` names it. The merge fails with ``config`` (exit 2)."""

    def __init__(self, message: str, path: str) -> None:
        super().__init__(message)
        self.path = path


class BaselineError(SmokeError):
    """The ``--baseline`` file cannot be read as a chat-smoke report (a ``config``
    failure before anything is sent)."""


class CommentError(SmokeError):
    """The pull-request comment could not be posted (the message says why); it becomes a
    warning, never a failure of the gate."""


class CheckFailure(SmokeError):
    """A check cannot go on: ``category`` says why; the check records it and fails."""

    def __init__(self, category: Category, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.category = category
        self.message = message
        self.status = status


class TransportFailure(CheckFailure):
    """No usable HTTP response: the category says why (dns, tls, connect, timeout, ...)."""


class ParseFailure(CheckFailure):
    """The body is not the documented Chat Completions shape (always ``protocol``)."""

    def __init__(self, message: str) -> None:
        super().__init__(Category.PROTOCOL, message)


class StreamFailure(CheckFailure):
    """The event stream went wrong after the HTTP 200: the category says how."""

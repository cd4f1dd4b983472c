"""Console output. Every line passes through :func:`smoke.redact.scrub`."""

from __future__ import annotations

import errno
import os
import sys
from typing import TYPE_CHECKING, TextIO

from smoke.output import redact, textsafe
from smoke.output.commands import defuse

if TYPE_CHECKING:
    from smoke.config.settings import Settings
    from smoke.results import Check, GateResult

_MARK = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP", "cancelled": "CANCELLED"}
# A console that is gone (``| head`` closed the pipe, the job closed stdout) must not stop
# the gate or its reports: the reports are the evidence, the console is a courtesy.
_GONE = (errno.EPIPE, errno.EBADF, errno.ECONNRESET)


def safe_write(out: TextIO | None, text: str) -> bool:
    """Write and flush ``text``; False when the stream is closed or broken. A broken
    stdout is pointed at /dev/null, so the interpreter's own flush at exit cannot fail
    (it would turn the exit code into 120)."""
    if out is None:
        return False
    try:
        try:
            out.write(text)
        except UnicodeEncodeError:
            # A stream whose encoding cannot carry outside text (PYTHONIOENCODING=ascii,
            # a C locale on an older image): escapes, not exit 1 (issue 11).
            encoding = getattr(out, "encoding", None) or "ascii"
            out.write(text.encode(encoding, "backslashreplace").decode(encoding, "replace"))
        out.flush()
        return True
    except (BrokenPipeError, ValueError):  # ValueError: I/O on a closed file
        pass
    except OSError as exc:
        if exc.errno not in _GONE:
            raise
    _silence(out)
    return False


def error_line(text: str) -> None:
    """One scrubbed line on stderr (which may be closed, too)."""
    safe_write(sys.stderr, defuse(redact.scrub(text)).rstrip("\n") + "\n")


def _silence(out: TextIO) -> None:
    try:
        fd = out.fileno()
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, fd)
        os.close(null)
    except (OSError, ValueError):
        pass


def _plain(value: object) -> str:
    if value is None:
        return "null (not sent)"
    if isinstance(value, dict):
        return ", ".join(f"{k}={textsafe.shown(v)}" for k, v in value.items())
    return textsafe.shown(value)


class Console:
    """Plain text for a terminal or a CI log. Every line has the command syntaxes of
    every known CI defused (:mod:`smoke.output.commands`): a local run's output may be
    pasted into a CI log, or run under a CI that was not detected. The platforms of
    :mod:`smoke.ci` add groups, annotations and masking on top."""

    def __init__(self, out: TextIO | None = None, quiet: bool = False) -> None:
        # sys.stdout is None when the process started with its stdout closed.
        self.out: TextIO | None = out or sys.stdout
        self.quiet = quiet

    def line(self, text: str = "") -> None:
        if not self.quiet:
            safe_write(self.out, defuse(redact.scrub(text)) + "\n")

    def report_error(self, text: str) -> None:
        """The one line about bad input (a CI's console puts it on stderr)."""
        self.line(text)

    def note(self, text: str) -> None:
        self.line(f"note: {text}")

    def warning(self, text: str) -> None:
        self.line(f"warning: {text}")

    def configuration(self, settings: Settings) -> None:
        self.line("chat-smoke configuration")
        for name, value in settings.public().items():
            if value in (None, "", [], False) and name not in ("api_key",):
                continue
            if name == "per_model" and isinstance(value, dict):  # one line per model
                for model, own in value.items():
                    shown = ", ".join(f"{key} {_plain(v)}" for key, v in own.items())
                    self.line(f"  model {model}: {shown}")
                continue
            self.line(f"  {name}: {textsafe.shown(value)}")

    def check(self, check: Check) -> None:
        facts = []
        if check.http_status is not None:
            facts.append(f"HTTP {check.http_status}")
        if check.attempts:
            facts.append(f"{check.attempts} attempt{'s' if check.attempts != 1 else ''}")
        facts.append(f"{check.duration_ms} ms")
        if check.request_id:
            facts.append(f"request id {check.request_id}")
        head = f"{_MARK[check.outcome]} {check.id}"
        if check.category:
            head += f" [{check.category.value}]"
        self.line(f"{head} ({', '.join(facts)})")
        if check.message:
            self.line(f"    {check.message}")
        if check.outcome == "fail" and check.category:
            self.line(f"    hint: {check.hint} See {check.category.docs_url}")
        for warning in check.warnings:
            self.line(f"    warning: {warning}")

    def verdict(self, result: GateResult) -> None:
        if result.verdict == "pass":
            self.line(f"chat-smoke: PASS ({result.duration_ms} ms)")
        elif result.verdict == "cancelled":
            self.line(f"chat-smoke: CANCELLED exit {result.exit_code} ({result.duration_ms} ms);"
                      " the checks that finished are in the reports")
        else:
            category = result.category.value if result.category else "internal"
            self.line(
                f"chat-smoke: FAIL [{category}] exit {result.exit_code} ({result.duration_ms} ms)"
            )

"""Console output. Every line passes through :func:`smoke.redact.scrub`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

from smoke.output import redact
from smoke.output.commands import defuse

if TYPE_CHECKING:
    from smoke.config.settings import Settings
    from smoke.results import Check, GateResult

_MARK = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP"}


def write_safely(stream: TextIO, text: str) -> None:
    """Write ``text``; on a stream whose encoding cannot carry it (``LANG=C`` with an old
    Python, ``PYTHONIOENCODING=ascii``), with escapes instead of an error: a model's
    answer in Cyrillic must not turn into exit 1."""
    try:
        stream.write(text)
    except UnicodeEncodeError:
        encoding = getattr(stream, "encoding", None) or "ascii"
        stream.write(text.encode(encoding, "backslashreplace").decode(encoding, "replace"))


class Console:
    """Plain text for a terminal or a CI log. Every line has the command syntaxes of
    every known CI defused (:mod:`smoke.output.commands`): a local run's output may be
    pasted into a CI log, or run under a CI that was not detected. The platforms of
    :mod:`smoke.ci` add groups, annotations and masking on top."""

    def __init__(self, out: TextIO | None = None, quiet: bool = False) -> None:
        self.out = out or sys.stdout
        self.quiet = quiet

    def line(self, text: str = "") -> None:
        if not self.quiet:
            write_safely(self.out, defuse(redact.scrub(text)) + "\n")
            self.out.flush()

    def note(self, text: str) -> None:
        self.line(f"note: {text}")

    def warning(self, text: str) -> None:
        self.line(f"warning: {text}")

    def configuration(self, settings: Settings) -> None:
        self.line("chat-smoke configuration")
        for name, value in settings.public().items():
            if value in (None, "", [], False) and name not in ("api_key",):
                continue
            shown = ", ".join(map(str, value)) if isinstance(value, list) else value
            self.line(f"  {name}: {shown}")

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
        else:
            category = result.category.value if result.category else "internal"
            self.line(
                f"chat-smoke: FAIL [{category}] exit {result.exit_code} ({result.duration_ms} ms)"
            )

"""The console every CI platform implements: how a run's log looks on that CI.

A :class:`PlatformConsole` is the run's :class:`~smoke.output.console.Console` (the gate
prints through it) plus what the CI's log can do:

- :meth:`PlatformConsole.mask`: hand a secret to the CI's own log masker, if it has one;
- :meth:`PlatformConsole.open_group` / :meth:`PlatformConsole.close_group`: fold lines;
- :meth:`PlatformConsole.write_annotation`: how the CI shows one annotation (a log
  command on GitHub and Azure; a plain line elsewhere);
- :meth:`PlatformConsole.neutralise`: make echoed text (model output, error bodies,
  headers, ids) unable to run a command of the CI.

What a run hands over at its end (outputs, annotations, the summary page, a PR comment)
is not the console's: :mod:`smoke.ci.publish` sends it, through the console where the CI
reads it from the log.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, TextIO

from smoke.output import redact
from smoke.output.commands import defuse
from smoke.output.console import Console, error_line, safe_write

if TYPE_CHECKING:
    from smoke.config.settings import Settings
    from smoke.results import Check, GateResult


class PlatformConsole(Console):
    """The log of a CI (or of none: :class:`smoke.ci.local.LocalConsole`). The defaults
    are those of a CI that has nothing native: plain lines with every known command
    syntax defused, no masking, no groups, annotations as plain lines."""

    def __init__(self, out: TextIO | None = None, quiet: bool = False) -> None:
        super().__init__(out, quiet)
        self._masked: set[str] = set()
        self._group: str | None = None
        self.mask_new()

    # -- the raw stream ------------------------------------------------------------
    def emit(self, raw: str) -> None:
        """Write one line as it is (the platform's own commands); a closed or broken
        stream stops nothing."""
        safe_write(self.out, raw + "\n")

    # -- masking -------------------------------------------------------------------
    def mask(self, secret: str) -> None:
        """Hand ``secret`` to the CI's masker. Default: the CI has none (chat-smoke's own
        scrub still keeps it out of everything it writes)."""

    def mask_new(self) -> None:
        """Mask every secret registered since the last look, before any line that could
        carry it. Runs on every write: the key is registered when the config loads and a
        proxy password later, both after the platform was made."""
        fresh = [s for s in redact.registered() if s not in self._masked and s.strip()]
        for secret in fresh:
            self._masked.add(secret)
            self.mask(secret)

    # -- echoed text -----------------------------------------------------------------
    def neutralise(self, text: str) -> str:
        """``text`` (scrubbed, may hold newlines) made unable to run a command. Default:
        every known CI's syntax is broken (smoke.output.commands)."""
        return defuse(text)

    def line(self, text: str = "") -> None:
        if self.quiet:
            return
        self.mask_new()
        for part in self.neutralise(redact.scrub(text)).split("\n"):
            self.emit(part)

    def report_error(self, text: str) -> None:
        """The one line about bad input: on stderr, where a terminal shows it."""
        error_line(text)

    # -- groups --------------------------------------------------------------------
    def open_group(self, title: str) -> None:
        """Start a folded section of the log. Default: nothing."""

    def close_group(self, title: str) -> None:
        """End the section ``title``. Default: nothing."""

    def group(self, title: str) -> None:
        if self._group == title:
            return
        self.end_group()
        self.mask_new()
        self._group = title
        self.open_group(title)

    def end_group(self) -> None:
        if self._group is not None:
            title, self._group = self._group, None
            self.close_group(title)

    # -- annotations ---------------------------------------------------------------
    def write_annotation(self, level: str, message: str, title: str) -> None:
        """Show one annotation (scrubbed by the caller). Default: a plain line."""
        self.plain_annotation(level, message, title)

    def plain_annotation(self, level: str, message: str, title: str) -> None:
        """An annotation as a plain log line (text from outside defused): where the CI
        has no annotations, or no room left for one."""
        head = f"{level}: {title}: " if title else f"{level}: "
        self.line(head + message)

    # -- the end -------------------------------------------------------------------
    def close(self) -> None:
        """End the open group (and whatever else the CI's log needs closed)."""
        self.end_group()

    # -- Console phases --------------------------------------------------------------
    def configuration(self, settings: Settings) -> None:
        self.group("chat-smoke: configuration")
        super().configuration(settings)

    def check(self, check: Check) -> None:
        self.group("chat-smoke: checks")
        super().check(check)

    def verdict(self, result: GateResult) -> None:
        self.end_group()
        super().verdict(result)


class PlatformStream(io.TextIOBase):
    """A text stream (for ``sys.stderr``) whose lines go through a platform's console, so
    a message that quotes outside text (an internal error, a config error) is as inert
    as every other line. CIs merge both streams into one log anyway."""

    def __init__(self, console: PlatformConsole) -> None:
        super().__init__()
        self.console = console
        self._pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        *lines, self._pending = (self._pending + text).split("\n")
        for line in lines:
            self.console.line(line)
        return len(text)

    def flush(self) -> None:
        if self._pending:
            pending, self._pending = self._pending, ""
            self.console.line(pending)

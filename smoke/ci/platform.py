"""The one interface every CI platform implements.

A platform is the console of a run (it is a :class:`~smoke.output.console.Console`, so
the gate prints through it) plus what that CI can do natively:

- :meth:`Platform.mask`: hand a secret to the CI's own log masker, if it has one;
- :meth:`Platform.open_group` / :meth:`Platform.close_group`: fold log lines;
- :meth:`Platform.write_annotation`: an error or warning the CI shows apart from the log;
- :meth:`Platform.neutralise`: make echoed text (model output, error bodies, headers,
  ids) unable to run a command of the CI;
- :meth:`Platform.publish_native`: what to hand over at the end (outputs, summary).

Every annotation goes through :meth:`Platform.annotate`: it is queued, and
:meth:`Platform.flush_annotations` writes the queue ordered by rank (the verdict's
precedence first) and capped per level by :attr:`Platform.annotation_cap`. Features that
warn (drift, PR comments, certificates) call ``annotate`` and so share the cap.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, TextIO

from smoke.categories import EXIT_PRECEDENCE
from smoke.config import parse_bool
from smoke.output import redact
from smoke.output.commands import defuse
from smoke.output.console import Console, error_line, safe_write
from smoke.output.textsafe import count

if TYPE_CHECKING:
    from smoke.config.settings import Settings
    from smoke.results import Check, GateResult

FAIL_ON_ERROR_INPUT = "INPUT_FAIL-ON-ERROR"
ANNOTATION_LIMIT = 4000  # characters; an annotation is a headline, report.json has the rest
# Ranks: the deciding failure, notes about the run (a failure reported as a warning, an
# output that could not be written), the other failures by the verdict's precedence,
# then warnings. Under a cap, what decides the run is what is shown.
RANK_DECIDING = 0
RANK_NOTE = 1
RANK_FAILURE = 2
RANK_WARNING = 3
_MORE = {"error": "failures", "warning": "warnings", "notice": "notices"}


def fail_on_error(env: Mapping[str, str]) -> bool:
    """The ``fail-on-error`` input: true unless it says false. A value that is neither
    counts as true here (fail closed); :mod:`smoke.action` reports it as a config error."""
    return parse_bool(env.get(FAIL_ON_ERROR_INPUT, "")) is not False


@dataclass
class Annotation:
    level: str  # error, warning or notice
    message: str
    title: str = ""
    rank: tuple[int, ...] = (RANK_WARNING,)


def failure_rank(check: Check) -> tuple[int, ...]:
    """Failures sort by the verdict's precedence (smoke.verdict.decide): the check that
    decided the exit code comes first. Uncategorised failures (exit 1) decide only when
    nothing else failed, so they come last."""
    if check.category is None:
        return (RANK_FAILURE, len(EXIT_PRECEDENCE))
    return (RANK_FAILURE, EXIT_PRECEDENCE.index(check.category.exit_code))


def ordered_failures(result: GateResult) -> list[Check]:
    """The failures, deciding one first; a stable sort keeps the checks' order within a
    group, as ``decide`` does."""
    return sorted(result.failures, key=failure_rank)


def failure_title(check: Check) -> str:
    category = check.category.value if check.category else "internal error"
    return f"chat-smoke {category}: {check.name}"


def failure_message(check: Check) -> str:
    text = check.message or "failed"
    if check.category:
        text += f"\n{check.hint}\nSee {check.category.docs_url}"
        owner = check.responsible
        if owner is not None:
            text += f"\nOwner: {owner.label}" + (f" (runbook {owner.runbook})"
                                                if owner.runbook else "")
    else:
        text += ("\nThis is a bug in chat-smoke, not a finding about the endpoint. "
                 "Please report it with report.json.")
    if check.request_id:
        text += f"\nRequest id: {check.request_id}"
    return text[:ANNOTATION_LIMIT]


class Platform(Console):
    """A CI platform (or none: :class:`smoke.ci.local.Local`). The defaults are those of
    a CI that has nothing native: plain lines with every known command syntax defused,
    no masking, no groups, annotations as plain lines."""

    name: ClassVar[str] = "local"
    #: At most this many annotations per level; None: no limit.
    annotation_cap: ClassVar[int | None] = None
    #: Whether failures become annotations at the end (the console already shows them;
    #: a CI with an annotation view shows them apart).
    annotates_failures: ClassVar[bool] = False
    #: Report paths used when the user gave none (kind -> path), e.g. where the CI
    #: collects JUnit by itself.
    default_reports: ClassVar[dict[str, str]] = {}

    def __init__(self, out: TextIO | None = None, quiet: bool = False) -> None:
        super().__init__(out, quiet)
        self._masked: set[str] = set()
        self._group: str | None = None
        self._pending: list[Annotation] = []
        self._shown: dict[str, int] = {}
        self._order = 0
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
    def annotate(self, level: str, message: str, title: str = "",
                 rank: tuple[int, ...] = (RANK_WARNING,)) -> None:
        """Queue an annotation (written, ordered and capped, by flush_annotations)."""
        self._order += 1
        self._pending.append(Annotation(level, message[:ANNOTATION_LIMIT], title,
                                        (*rank, self._order)))

    def flush_annotations(self) -> None:
        """Write the queued annotations by rank, at most ``annotation_cap`` per level
        over the whole run: when more are queued than there is room for, the last slot
        says how many more there were."""
        pending, self._pending = sorted(self._pending, key=lambda a: a.rank), []
        levels = list(dict.fromkeys(a.level for a in pending))
        for level in levels:
            items = [a for a in pending if a.level == level]
            shown = self._shown.get(level, 0)
            room = len(items) if self.annotation_cap is None else self.annotation_cap - shown
            if len(items) > room:
                kept = max(room - 1, 0)
                # Nothing is lost: what has no slot is a plain log line (failures are
                # in the log already, as check lines).
                for item in items[kept:]:
                    if item.rank[0] not in (RANK_DECIDING, RANK_FAILURE):
                        Platform.write_annotation(self, item.level, item.message, item.title)
                if room <= 0:
                    continue
                more = len(items) - kept
                items = items[:kept] + [Annotation(
                    level, f"{more} more {_MORE.get(level, 'annotations')}: see the job "
                    "summary (or report.json) for all of them. The CI shows at most "
                    f"{self.annotation_cap} per level and step.", "chat-smoke")]
            for item in items:
                self.write_annotation(item.level, redact.scrub(item.message),
                                      redact.scrub(item.title))
            self._shown[level] = shown + len(items)

    def write_annotation(self, level: str, message: str, title: str) -> None:
        """Show one annotation. Default: a plain line (text from outside defused)."""
        head = f"{level}: {title}: " if title else f"{level}: "
        self.line(head + message)

    # -- the end -------------------------------------------------------------------
    def publish(self, result: GateResult, env: Mapping[str, str],
                template: str | None = None,
                reports: Mapping[str, str] | None = None) -> None:
        """At the end of the run: annotations, then what the CI takes natively."""
        self.end_group()
        if self.annotates_failures:
            self.annotate_result(result, env)
        self.publish_native(result, env, template, reports or {})
        self.close()

    def annotate_result(self, result: GateResult, env: Mapping[str, str]) -> None:
        """Queue the failures (deciding one first) and the run's warnings."""
        soft = not fail_on_error(env)
        if result.verdict == "cancelled":
            stopped = [c.id for c in result.checks if c.outcome == "cancelled"]
            self.annotate(
                "error",
                f"The run was cancelled (exit {result.exit_code}) before "
                f"{count(len(stopped), 'check')} finished: "
                f"{', '.join(stopped)[:ANNOTATION_LIMIT // 2]}. The "
                "checks that finished are in the reports. See "
                "https://github.com/chat-smoke/chat-smoke/blob/main/docs/failures.md"
                "#cancelled",
                "chat-smoke: cancelled", (RANK_DECIDING,))
        for i, check in enumerate(ordered_failures(result)):
            self.annotate("warning" if soft else "error", failure_message(check),
                          failure_title(check),
                          (RANK_DECIDING,) if i == 0 else failure_rank(check))
        if soft and result.verdict == "fail":
            category = result.category.value if result.category else "internal error"
            self.annotate(
                "warning",
                f"The gate failed ({category}, exit code {result.exit_code}), but "
                "fail-on-error is false, so this step succeeds. Read the outputs verdict "
                "and exit-code to act on it.",
                "chat-smoke: failure reported as a warning", (RANK_NOTE,))
        for warning in dict.fromkeys(result.warnings):
            self.annotate("warning", warning, "chat-smoke warning", (RANK_WARNING,))

    def publish_native(self, result: GateResult, env: Mapping[str, str],
                       template: str | None, reports: Mapping[str, str]) -> None:
        """Outputs, summary and the like. Default: nothing (reports are files)."""

    def summary_markdown(self, result: GateResult, template: str | None) -> str:
        """The Markdown summary for a CI's summary page; a broken user template is a
        warning, and the built-in summary is used instead."""
        from smoke.errors import ReportError
        from smoke.reports.summary import markdown

        try:
            return markdown.render(result, template)
        except ReportError as exc:
            if template is None:
                raise
            self.annotate("warning", f"{exc}; the built-in summary was used instead",
                          "chat-smoke: summary-template", (RANK_NOTE,))
            return markdown.render(result, None)

    def close(self) -> None:
        """End the open group and write the queued annotations."""
        self.end_group()
        self.flush_annotations()

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

    def __init__(self, platform: Platform) -> None:
        super().__init__()
        self.platform = platform
        self._pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        *lines, self._pending = (self._pending + text).split("\n")
        for line in lines:
            self.platform.line(line)
        return len(text)

    def flush(self) -> None:
        if self._pending:
            pending, self._pending = self._pending, ""
            self.platform.line(pending)

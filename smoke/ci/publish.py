"""What a run hands over at its end: annotations, outputs, the summary page, a PR comment.

The :class:`Publisher` is apart from the console (:mod:`smoke.ci.platform`, which only
formats the log). It runs the side effects of one :class:`Platform`, each a small
:class:`Sink`: a new side effect is one class with a ``publish`` method, named in the
platform's ``sinks`` (a CI's own: GitHub's step outputs) or in :data:`SINKS` (one a
setting turns on, on every CI: loaded by module name, so a run that does not ask for it
imports nothing).

Every annotation goes through :meth:`Publisher.annotate`: it is queued, and
:meth:`Publisher.flush_annotations` writes the queue ordered by rank (the verdict's
precedence first) and capped per level by :attr:`Platform.annotation_cap`. Sinks that
warn (a PR comment that could not be posted, a summary page that could not be attached)
call ``annotate`` and so share the cap.

A :class:`Page` is a sink that shows Markdown on the CI's summary page (GitHub's job
summary, Azure's ``uploadsummary``, a Buildkite annotation): the gate's summary, or
``chat-smoke merge``'s merged one (:meth:`Publisher.page`).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, TextIO

from smoke.categories import EXIT_PRECEDENCE
from smoke.ci.platform import PlatformConsole
from smoke.config import parse_bool
from smoke.errors import ReportError
from smoke.output import redact
from smoke.output.textsafe import count

if TYPE_CHECKING:
    from smoke.config.settings import Settings
    from smoke.results import Check, GateResult

ANNOTATION_LIMIT = 4000  # characters; an annotation is a headline, report.json has the rest
# Ranks: the deciding failure, notes about the run (a failure reported as a warning, an
# output that could not be written), the other failures by the verdict's precedence,
# then warnings. Under a cap, what decides the run is what is shown.
RANK_DECIDING = 0
RANK_NOTE = 1
RANK_FAILURE = 2
RANK_WARNING = 3
_MORE = {"error": "failures", "warning": "warnings", "notice": "notices"}


# Plain classes, not dataclasses or typing.Protocol: this module is imported by every run,
# and creating a dataclass costs about 1 ms of start-up.
class Sink:
    """One side effect of the end of a run: subclass it and implement :meth:`publish`."""

    def publish(self, publisher: Publisher, result: GateResult) -> None:
        """Send this run's part; never raise (a problem is ``publisher.annotate``)."""
        raise NotImplementedError


class Page(Sink):
    """A sink that puts Markdown on the CI's summary page (the gate's, or the merged one
    of ``chat-smoke merge`` through :meth:`Publisher.page`)."""

    def page(self, publisher: Publisher, markdown: str, passed: bool) -> None:
        raise NotImplementedError


class Platform:
    """A CI: its console, what it publishes (its sinks, in order), and its limits.

    ``annotation_cap``: at most this many annotations per level (None: no limit).
    ``annotates_failures``: failures become annotations at the end (the console already
    shows them; a CI with an annotation view shows them apart). ``default_reports``:
    report paths used when the user gave none (kind -> path), e.g. where the CI collects
    JUnit by itself. ``fail_on_error_input``: the CI's own "failures are warnings"
    switch, if it has one (GitHub's ``fail-on-error`` input)."""

    def __init__(self, name: str, console: type[PlatformConsole] = PlatformConsole,
                 sinks: tuple[Sink, ...] = (), *, annotation_cap: int | None = None,
                 annotates_failures: bool = False,
                 default_reports: Mapping[str, str] | None = None,
                 fail_on_error_input: str | None = None) -> None:
        self.name, self.console, self.sinks = name, console, sinks
        self.annotation_cap = annotation_cap
        self.annotates_failures = annotates_failures
        self.default_reports: Mapping[str, str] = default_reports or {}
        self.fail_on_error_input = fail_on_error_input

    def make_console(self, out: TextIO | None = None, quiet: bool = False) -> PlatformConsole:
        return self.console(out, quiet)


class Extra:
    """A sink a setting turns on, on every CI: ``module.attr`` (a :class:`Sink` class),
    made when ``setting`` (a ``Settings`` field) is truthy."""

    def __init__(self, setting: str, module: str, attr: str) -> None:
        self.setting, self.module, self.attr = setting, module, attr


# Sinks that settings turn on, whatever the CI, in order. Named like the registry's kinds
# (a string, imported only when on); a sink module may live above ci (smoke.serve), so it
# must not import this module back (duck-typed: a class with ``publish``).
SINKS: list[Extra] = [
    Extra("incident_issue", "smoke.alerts.publish", "Incidents"),
    Extra("notify", "smoke.alerts.publish", "Notifications"),
    Extra("pushgateway", "smoke.serve.push", "Push"),
]


class Annotation:
    """One queued annotation: level (error, warning or notice), text, title, rank."""

    __slots__ = ("level", "message", "title", "rank")

    def __init__(self, level: str, message: str, title: str = "",
                 rank: tuple[int, ...] = (RANK_WARNING,)) -> None:
        self.level, self.message, self.title, self.rank = level, message, title, rank


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


class Publisher:
    """Sends what one run hands over to its CI. ``soft``: failures are published as
    warnings (the action's ``fail-on-error: false``). ``reports``: the report paths
    written (kind -> path); ``template``: the user's summary template, if any."""

    def __init__(self, platform: Platform, console: PlatformConsole,
                 env: Mapping[str, str], *, soft: bool = False,
                 settings: Settings | None = None, template: str | None = None,
                 reports: Mapping[str, str] | None = None,
                 flags: Mapping[str, object] | None = None) -> None:
        self.platform = platform
        self.console = console
        self.env = env
        switch = platform.fail_on_error_input
        self.soft = soft or (switch is not None and parse_bool(env.get(switch, "")) is False)
        self.settings = settings
        self.template = template
        self.reports: Mapping[str, str] = reports or {}
        self.flags: Mapping[str, object] = flags or {}
        self._pending: list[Annotation] = []
        self._shown: dict[str, int] = {}
        self._order = 0

    def setting(self, name: str) -> object:
        """A setting of the run; after a config error, the flag as given (a config error
        is still published where a flag asks for it)."""
        if self.settings is not None:
            return getattr(self.settings, name, None)
        return self.flags.get(name)

    def sinks(self) -> list[Sink]:
        """The platform's sinks, then the ones the settings turn on."""
        found: list[Sink] = list(self.platform.sinks)
        for extra in SINKS:
            if self.setting(extra.setting):
                found.append(getattr(importlib.import_module(extra.module), extra.attr)())
        return found

    # -- the end of a run ------------------------------------------------------------
    def publish(self, result: GateResult) -> None:
        """Annotations, then every sink in order; then the console is closed."""
        self.console.end_group()
        if self.platform.annotates_failures:
            self.annotate_result(result)
        for sink in self.sinks():
            sink.publish(self, result)
        self.close()

    def page(self, markdown: str, passed: bool) -> None:
        """Put ``markdown`` on every summary page the CI has (``chat-smoke merge``)."""
        for sink in self.platform.sinks:
            if isinstance(sink, Page):
                sink.page(self, markdown, passed)

    def close(self) -> None:
        """Write the queued annotations and close the console."""
        self.console.end_group()
        self.flush_annotations()
        self.console.close()

    def line(self, text: str = "") -> None:
        self.console.line(text)

    def summary_markdown(self, result: GateResult) -> str:
        """The Markdown summary for a CI's summary page; a broken user template is a
        warning, and the built-in summary is used instead."""
        from smoke.reports.summary import markdown

        try:
            return markdown.render(result, self.template)
        except ReportError as exc:
            if self.template is None:
                raise
            self.annotate("warning", f"{exc}; the built-in summary was used instead",
                          "chat-smoke: summary-template", (RANK_NOTE,))
            return markdown.render(result, None)

    # -- annotations -------------------------------------------------------------------
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
        cap = self.platform.annotation_cap
        pending, self._pending = sorted(self._pending, key=lambda a: a.rank), []
        levels = list(dict.fromkeys(a.level for a in pending))
        for level in levels:
            items = [a for a in pending if a.level == level]
            shown = self._shown.get(level, 0)
            room = len(items) if cap is None else cap - shown
            if len(items) > room:
                kept = max(room - 1, 0)
                # Nothing is lost: what has no slot is a plain log line (failures are
                # in the log already, as check lines).
                for item in items[kept:]:
                    if item.rank[0] not in (RANK_DECIDING, RANK_FAILURE):
                        self.console.plain_annotation(item.level, item.message, item.title)
                if room <= 0:
                    continue
                more = len(items) - kept
                items = items[:kept] + [Annotation(
                    level, f"{more} more {_MORE.get(level, 'annotations')}: see the job "
                    "summary (or report.json) for all of them. The CI shows at most "
                    f"{cap} per level and step.", "chat-smoke")]
            for item in items:
                self.console.write_annotation(item.level, redact.scrub(item.message),
                                              redact.scrub(item.title))
            self._shown[level] = shown + len(items)

    def annotate_result(self, result: GateResult) -> None:
        """Queue the failures (deciding one first) and the run's warnings."""
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
            self.annotate("warning" if self.soft else "error", failure_message(check),
                          failure_title(check),
                          (RANK_DECIDING,) if i == 0 else failure_rank(check))
        if self.soft and result.verdict == "fail":
            category = result.category.value if result.category else "internal error"
            self.annotate(
                "warning",
                f"The gate failed ({category}, exit code {result.exit_code}), but "
                "fail-on-error is false, so this step succeeds. Read the outputs verdict "
                "and exit-code to act on it.",
                "chat-smoke: failure reported as a warning", (RANK_NOTE,))
        for warning in dict.fromkeys(result.warnings):
            self.annotate("warning", warning, "chat-smoke warning", (RANK_WARNING,))

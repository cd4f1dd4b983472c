"""The one registry of check kinds, preflights and postflights, built-in ones included.

A kind names the module that implements it, and the setting that turns it on: the module
is imported only for runs that turn it on, so a kind that is off costs no start-up time
(start-up is paid on every deploy and every monitor tick). The module strings are edges
of the import graph like any ``import``: ``tests/test_layout.py`` reads them too.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass

from smoke.categories import Category
from smoke.checks.task import Plan, Planner, Postflight, Preflight, Task
from smoke.config.settings import Settings
from smoke.results import Check


@dataclass(frozen=True)
class Entry:
    """``module.attr``, used when ``setting`` (a ``Settings`` field) is truthy, or always."""

    name: str
    module: str
    attr: str
    setting: str | None = None

    def on(self, settings: Settings) -> bool:
        return self.setting is None or settings.any_model(self.setting)

    def load(self) -> object:
        return getattr(importlib.import_module(self.module), self.attr)


def _not_a_step(entry: Entry) -> TypeError:
    return TypeError(f"{entry.module}.{entry.attr} (registered as {entry.name!r}) is not "
                     "a function")


# Check kinds, in report order. Each module's ``plan(plan) -> list[Task]``.
KINDS: list[Entry] = [
    Entry("positive", "smoke.checks.positive", "plan"),
    Entry("negative", "smoke.checks.negative", "plan", "negative"),
    Entry("stream", "smoke.checks.streaming", "plan", "stream"),
    # SDK parity compares with the positive check of its model: planned after them.
    Entry("sdk-parity", "smoke.checks.sdk_parity", "plan", "sdk_parity"),
]
# Run once, in this order, after planning and before any planned check. A preflight check
# that fails with ``config`` stops the run there: nothing further is sent.
PREFLIGHTS: list[Entry] = [
    Entry("spend", "smoke.checks.preflights.spend", "preflight"),
    # Reads the --baseline file only (a bad one is a config failure before anything is sent).
    Entry("drift", "smoke.checks.drift", "preflight", "baseline"),
    # The application's parser can be imported or run (a child process; nothing is sent).
    Entry("parser", "smoke.checks.preflights.parser", "preflight", "has_parser"),
    Entry("models", "smoke.checks.preflights.models", "preflight", "check_models"),
    Entry("wire", "smoke.checks.preflights.wire", "preflight"),
]
# Run once every check has finished.
POSTFLIGHTS: list[Entry] = [
    Entry("spend", "smoke.checks.preflights.spend", "postflight"),
    Entry("drift", "smoke.checks.drift", "postflight", "baseline"),
    # A listed model that a completion calls not found: retired, or not enabled (issue 22).
    Entry("models", "smoke.checks.preflights.models", "postflight", "check_models"),
]


def plan(context: Plan) -> list[Task]:
    """The tasks this configuration asks for, in report order (also left in ``context``)."""
    for entry in KINDS:
        if entry.on(context.settings):
            planner = entry.load()
            if not isinstance(planner, Planner):
                raise _not_a_step(entry)
            context.tasks += planner(context)
    return context.tasks


def preflight(context: Plan) -> list[Check]:
    """Run the preflights that are on; mark the tasks they held back as skipped."""
    found = context.preflights  # filled as they go: a cancelled run reports what ran
    for entry in PREFLIGHTS:
        if not entry.on(context.settings):
            continue
        step = entry.load()
        if not isinstance(step, Preflight):
            raise _not_a_step(entry)
        started = time.monotonic()
        context.running = entry.name
        added = step(context)
        for check in added:
            check.duration_ms = int((time.monotonic() - started) * 1000)
        found += added
        context.running = None
        if any(c.outcome == "fail" and c.category is Category.CONFIG for c in found):
            for task in context.tasks:
                task.skip = task.skip or f"not run: preflight {found[-1].id} failed"
            break
    for task in context.tasks:
        if task.skip is not None:
            task.check.outcome, task.check.message = "skip", task.skip
    return found


def postflight(settings: Settings, checks: list[Check]) -> list[Check]:
    found: list[Check] = []
    for entry in POSTFLIGHTS:
        if entry.on(settings):
            step = entry.load()
            if not isinstance(step, Postflight):
                raise _not_a_step(entry)
            found += step(settings, checks + found)
    return found

"""What a check kind gives the gate: tasks to run, and the protocols of its planners."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import requests

from smoke.cancel import CancelToken
from smoke.config.settings import Settings
from smoke.http.deadline import Deadline
from smoke.results import Check

CheckFn = Callable[[Check], None]


@dataclass
class Task:
    """A pre-created :class:`Check` (id, kind, name, model) and the function that fills it."""

    check: Check
    run: CheckFn
    skip: str | None = None  # set by a preflight: why this check is not run
    # A check whose result this one reads (SDK parity reads the positive check of its
    # model): the pool begins this task only once that one has finished.
    after: Check | None = None
    # Called with the check once ``run`` has returned (and its duration is recorded),
    # e.g. the wire probe adding its facts to a positive check.
    finish: list[CheckFn] = field(default_factory=list)


@dataclass
class Plan:
    """What every planner and preflight is given: the run's settings, its one HTTP session,
    its deadline, its cancellation token, and the tasks planned so far (in report order).
    The preflights' checks and the one running are kept here as they go, so a cancelled
    run can report them."""

    settings: Settings
    session: requests.Session
    deadline: Deadline
    cancel: CancelToken = field(default_factory=CancelToken)
    tasks: list[Task] = field(default_factory=list)
    preflights: list[Check] = field(default_factory=list)
    running: str | None = None  # the name of the preflight under way


class Planner(Protocol):
    """A check kind: the tasks it adds to ``plan`` (it may read the ones planned before)."""

    def __call__(self, plan: Plan) -> list[Task]: ...


class Preflight(Protocol):
    """A step run once before any planned check: returns checks for the report, and may
    hold a planned task back (``task.skip = reason``)."""

    def __call__(self, plan: Plan) -> list[Check]: ...


class Postflight(Protocol):
    """A step run once every check has finished; it sees them all."""

    def __call__(self, settings: Settings, checks: list[Check]) -> list[Check]: ...

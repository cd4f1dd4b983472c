"""What a check kind gives the gate: tasks to run, and the protocols of its planners."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import requests

from smoke.cancel import CancelToken
from smoke.config.settings import Settings
from smoke.http.deadline import Deadline
from smoke.http.transport import Endpoint, Route, endpoint_of
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


@dataclass(frozen=True)
class Target:
    """What one check sends with: its settings (its model's own) and its route (the run's
    session and deadline, and the endpoint those settings make)."""

    settings: Settings
    route: Route

    @property
    def deadline(self) -> Deadline:
        return self.route.deadline


@dataclass
class Plan:
    """What every planner, check kind and preflight is given: the run's settings, the
    endpoint they make (computed once), its one HTTP session, its deadline, its
    cancellation token, and the tasks planned so far (in report order). The preflights'
    checks and the one running are kept here as they go, so a cancelled run can report
    them."""

    settings: Settings
    endpoint: Endpoint
    session: requests.Session
    deadline: Deadline
    cancel: CancelToken = field(default_factory=CancelToken)
    tasks: list[Task] = field(default_factory=list)
    preflights: list[Check] = field(default_factory=list)
    running: str | None = None  # the name of the preflight under way
    # Each model's target, made on first use (a model's own settings may change the
    # endpoint: their timeout).
    _targets: dict[str, Target] = field(default_factory=dict, repr=False)

    def target(self, model: str | None = None) -> Target:
        """The target of ``model``'s checks (None: the run's own settings)."""
        key = model or ""
        found = self._targets.get(key)
        if found is None:
            own = self.settings.for_model(model)
            endpoint = self.endpoint if own is self.settings else endpoint_of(own)
            found = self._targets[key] = Target(own, Route(self.session, endpoint,
                                                           self.deadline, self.cancel))
        return found


@runtime_checkable
class Planner(Protocol):
    """A check kind: the tasks it adds to ``plan`` (it may read the ones planned before)."""

    def __call__(self, plan: Plan) -> list[Task]: ...


@runtime_checkable
class Preflight(Protocol):
    """A step run once before any planned check: returns checks for the report, and may
    hold a planned task back (``task.skip = reason``)."""

    def __call__(self, plan: Plan) -> list[Check]: ...


@runtime_checkable
class Postflight(Protocol):
    """A step run once every check has finished; it sees them all."""

    def __call__(self, settings: Settings, checks: list[Check]) -> list[Check]: ...

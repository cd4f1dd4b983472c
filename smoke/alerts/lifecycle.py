"""The incident lifecycle over any issue tracker: one issue per key, reopened rather than
duplicated, updated on a repeat failure, commented only when the state changes, closed on
recovery.

For each key that fails in the run (:func:`smoke.reports.streak.failing`):

- an open issue with the key's marker: its body is updated (counters, last seen); a
  comment only when a new category or new failing models appear;
- else, once the key has failed ``incident_after`` runs in a row: the issue closed most
  recently within ``incident_reopen_days`` is reopened (with a comment), or one is made.

Every open issue of the run's environment whose key does not fail is closed, with a
"recovered" comment saying how long it lasted and how many runs failed. A cancelled run
never gets here (the sink skips it): it decided nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from smoke.alerts import issue_body
from smoke.alerts.issue_body import State
from smoke.owners import Owner
from smoke.reports import streak
from smoke.results import GateResult


class TrackerError(Exception):
    """An API call failed (the message says how, never with the token)."""


@dataclass
class Issue:
    number: int  # GitHub's number, GitLab's iid
    open: bool
    body: str
    closed_at: datetime | None = None
    url: str = ""


class Tracker(Protocol):
    """The calls the lifecycle needs of GitHub's or GitLab's issues API."""

    def incidents(self, prefix: str) -> list[Issue]:
        """Every issue, open or closed, whose body holds ``prefix`` (paged, bounded)."""
        ...

    def create(self, title: str, body: str, owner: Owner) -> Issue: ...

    def update(self, issue: Issue, body: str, reopen: bool = False) -> None: ...

    def comment(self, issue: Issue, text: str) -> None: ...

    def close(self, issue: Issue) -> None: ...


@dataclass(frozen=True)
class Policy:
    after: int = 1  # incident_after
    reopen_days: int = 7  # incident_reopen_days


def apply(result: GateResult, tracker: Tracker, policy: Policy, run_url: str | None,
          now: datetime | None = None, notes: list[str] | None = None) -> list[str]:
    """Bring the environment's incident issues in line with ``result``; return what was
    done, one line each ("opened #12 for prod/team:platform"). ``notes`` collects what was
    deliberately not done (a key below ``incident_after``). Raises :class:`TrackerError`."""
    now = now or datetime.now(UTC)
    notes = [] if notes is None else notes
    failing = streak.failing(result)
    issues = tracker.incidents(issue_body.env_prefix(streak.env_part(result.environment)))
    by_key: dict[str, list[Issue]] = {}
    for issue in issues:
        key = issue_body.key_in(issue.body)
        if key is not None:
            by_key.setdefault(key, []).append(issue)
    done: list[str] = []
    for key, checks in failing.items():
        owner = checks[0].responsible or Owner("-")
        categories, models = issue_body.facts_of(checks)
        found = by_key.get(key, [])
        current = next((i for i in found if i.open), None)
        consecutive = result.consecutive_failures.get(key, 1)
        if current is not None:
            before = State.parse(current.body) or State(stamp(now), stamp(now), 0)
            state = State(before.first_seen, stamp(now), before.failed_runs + 1,
                          _union(before.categories, categories), _union(before.models, models))
            tracker.update(current, issue_body.body(result, key, checks, owner, state,
                                                   consecutive, run_url))
            change = issue_body.changed(before, categories, models)
            if change is not None:
                tracker.comment(current, change + _run(run_url))
                done.append(f"updated #{current.number} for {key} (commented: state changed)")
            else:
                done.append(f"updated #{current.number} for {key}")
            continue
        if consecutive < policy.after:
            notes.append(f"{key}: {consecutive} of {policy.after} consecutive failed runs; "
                         f"the incident issue opens at {policy.after} (incident_after)")
            continue
        state = State(stamp(now), stamp(now), 1, categories, models)
        text = issue_body.body(result, key, checks, owner, state, consecutive, run_url)
        recent = _recently_closed(found, now, policy.reopen_days)
        if recent is not None:
            tracker.update(recent, text, reopen=True)
            tracker.comment(recent, issue_body.reopened(recent.closed_at, run_url))
            done.append(f"reopened #{recent.number} for {key}")
        else:
            made = tracker.create(issue_body.title(key, owner, result.environment), text, owner)
            done.append(f"opened #{made.number} for {key}")
    for key, found in by_key.items():
        if key in failing:
            continue
        for issue in found:
            if issue.open:
                tracker.comment(issue, issue_body.recovered(State.parse(issue.body), now,
                                                            run_url))
                tracker.close(issue)
                done.append(f"closed #{issue.number} for {key} (recovered)")
    return done


def stamp(now: datetime) -> str:
    return issue_body.stamp(now)


def _union(before: list[str], now: list[str]) -> list[str]:
    return list(dict.fromkeys([*before, *now]))


def _recently_closed(found: list[Issue], now: datetime, days: int) -> Issue | None:
    window = now - timedelta(days=days)
    closed = [i for i in found if not i.open and i.closed_at is not None
              and i.closed_at >= window]
    return max(closed, key=lambda i: i.closed_at or now, default=None)


def _run(run_url: str | None) -> str:
    return issue_body.run_link(run_url)

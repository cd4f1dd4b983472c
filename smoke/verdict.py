"""Decide the verdict: pass only when every check passed; the exit code by precedence.

:func:`conclude` is the one constructor of a run's :class:`GateResult`: the verdict, the
exit code and the category always come from the checks (:func:`decide`), whoever builds
the result (the gate, a provisional report, a report that could not be written).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, NotRequired, TypedDict, Unpack

from smoke.categories import EXIT_PRECEDENCE, Category
from smoke.jsonvalue import JSONObject
from smoke.results import Check, GateResult, Verdict

Stopped = Literal["cancelled", "incomplete"]


class Facts(TypedDict):
    """The fields of :class:`GateResult` that the checks do not decide."""

    started_at: str
    duration_ms: int
    environment: str
    deployment_sha: str | None
    endpoint: dict[str, str]
    config: NotRequired[Mapping[str, object]]
    proxy: NotRequired[str | None]
    warnings: NotRequired[list[str]]
    usage_total: NotRequired[int | None]
    prompt_version: NotRequired[str | None]
    consecutive_failures: NotRequired[dict[str, int]]
    previous: NotRequired[JSONObject | None]
    category_owners: NotRequired[dict[str, str]]

# A report that could not be written (``report:junit``) is a check of this kind.
REPORT_KIND = "report"


def decide(checks: Sequence[Check]) -> tuple[int, Category | None]:
    """Return (exit code, deciding category). Groups rank 2, 3, 4, 6, 5: credentials
    and configuration need a person, so they come before outages.

    A report that could not be written decides only when every other check passed: it is
    found after the verdict, and the reports that were written carry the gate's finding
    (an auth failure still exits 3; a passing gate with an unwritable report exits 2)."""
    findings = [c for c in checks if c.kind != REPORT_KIND]
    code, category = _decide(findings)
    if code == 0 and len(findings) != len(checks):
        return _decide(checks)
    return code, category


def _decide(checks: Sequence[Check]) -> tuple[int, Category | None]:
    failed = [c.category for c in checks if c.outcome == "fail" and c.category is not None]
    if not failed:
        # A failed check without a category is a bug in chat-smoke: exit 1.
        return (1 if any(c.outcome == "fail" for c in checks) else 0), None
    for code in EXIT_PRECEDENCE:
        for category in failed:
            if category.exit_code == code:
                return code, category
    raise AssertionError(f"unranked exit code for {failed}")  # pragma: no cover


def conclude(checks: Sequence[Check], *, stopped: Stopped | None = None,
             stop_code: int | None = None, **facts: Unpack[Facts]) -> GateResult:
    """The run's result over ``checks``; ``facts`` are the other fields of
    :class:`GateResult` (started_at, duration_ms, environment, ...).

    ``stopped``: ``cancelled`` (exit ``stop_code``, 128 + the signal, whatever the checks
    found; the category still names the deciding one among the finished failures, for
    information) or ``incomplete`` (a provisional report while the run goes on)."""
    code, category = decide(checks)
    if stopped == "cancelled":
        verdict: Verdict = "cancelled"
        code = stop_code or code
    elif stopped == "incomplete":
        verdict = "incomplete"
    else:
        verdict = "pass" if code == 0 else "fail"
    return GateResult(verdict=verdict, exit_code=code, category=category, checks=list(checks),
                      **facts)


def reconsider(result: GateResult, checks: Sequence[Check]) -> GateResult:
    """``result`` over other ``checks`` (one added after the run: a report that could not
    be written), decided again by :func:`conclude`. A cancelled run keeps its exit code."""
    facts: Facts = {
        "started_at": result.started_at, "duration_ms": result.duration_ms,
        "environment": result.environment, "deployment_sha": result.deployment_sha,
        "endpoint": result.endpoint, "config": result.config, "proxy": result.proxy,
        "warnings": result.warnings, "usage_total": result.usage_total,
        "prompt_version": result.prompt_version,
        "consecutive_failures": result.consecutive_failures, "previous": result.previous,
        "category_owners": result.category_owners,
    }
    if result.verdict == "cancelled":
        return conclude(checks, stopped="cancelled", stop_code=result.exit_code, **facts)
    if result.verdict == "incomplete":
        return conclude(checks, stopped="incomplete", **facts)
    return conclude(checks, **facts)

"""Decide the verdict: pass only when every check passed; the exit code by precedence."""

from __future__ import annotations

from collections.abc import Sequence

from smoke.categories import EXIT_PRECEDENCE, Category
from smoke.results import Check

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

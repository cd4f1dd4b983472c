"""Decide the verdict: pass only when every check passed; the exit code by precedence."""

from __future__ import annotations

from collections.abc import Sequence

from smoke.categories import EXIT_PRECEDENCE, Category
from smoke.results import Check


def decide(checks: Sequence[Check]) -> tuple[int, Category | None]:
    """Return (exit code, deciding category). Groups rank 2, 3, 4, 6, 5: credentials
    and configuration need a person, so they come before outages."""
    failed = [c.category for c in checks if c.outcome == "fail" and c.category is not None]
    if not failed:
        # A failed check without a category is a bug in chat-smoke: exit 1.
        return (1 if any(c.outcome == "fail" for c in checks) else 0), None
    for code in EXIT_PRECEDENCE:
        for category in failed:
            if category.exit_code == code:
                return code, category
    raise AssertionError(f"unranked exit code for {failed}")  # pragma: no cover

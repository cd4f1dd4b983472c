"""The suite's one way to make a :class:`GateResult` without a run: through the production
constructor, :func:`smoke.verdict.conclude`. The verdict, the exit code and the deciding
category always come from the checks (a cancelled run's exit code from ``stop_code``), so
no test types in a verdict the gate would not reach."""

from __future__ import annotations

import dataclasses
from typing import Any

from smoke import verdict
from smoke.results import Check, GateResult

STARTED_AT = "2026-11-27T02:04:05.123Z"
ENDPOINT = {"base_url": "https://gw.example.test/v1", "host": "gw.example.test", "path": "/v1"}
# What conclude decides; a test states the checks (and how the run stopped) instead.
DECIDED = ("verdict", "exit_code", "category", "checks")


def gate_result(*checks: Check, stopped: verdict.Stopped | None = None,
                stop_code: int | None = None, **facts: Any) -> GateResult:
    """A GateResult over ``checks``, as the gate would conclude it. ``facts`` are the other
    fields of GateResult (started_at, duration_ms, environment, deployment_sha, endpoint,
    warnings, config, ...), each with a plain default. ``stopped="cancelled"`` with
    ``stop_code`` (128 + the signal) makes a cancelled run."""
    decided = sorted(set(facts) & set(DECIDED))
    if decided:
        raise TypeError(f"gate_result: {', '.join(decided)} come from the checks "
                        "(pass checks that fail, or stopped=/stop_code= for a cancelled run)")
    defaults: dict[str, Any] = {"started_at": STARTED_AT, "duration_ms": 1234,
                                "environment": "staging", "deployment_sha": "4f1c2a9",
                                "endpoint": dict(ENDPOINT)}
    return verdict.conclude(checks, stopped=stopped, stop_code=stop_code,
                            **{**defaults, **facts})


def cancelled(result: GateResult, code: int = 143) -> GateResult:
    """``result`` as it is when a signal stops the run: exit ``code`` (143: SIGTERM)."""
    facts = {f.name: getattr(result, f.name) for f in dataclasses.fields(GateResult)
             if f.name not in DECIDED}
    return gate_result(*result.checks, stopped="cancelled", stop_code=code, **facts)

"""What a gate run found: checks, their attempts, and the run as a whole."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, TypedDict

from smoke.categories import OBJECTIVE_HINT, Category
from smoke.details import Details
from smoke.jsonvalue import JSONObject
from smoke.owners import Owner, default

# ``cancelled``: the run was stopped by a signal before this check finished.
Outcome = Literal["pass", "fail", "skip", "cancelled"]
# ``cancelled``: stopped by a signal; ``incomplete``: only in the provisional report.json
# written while the run goes on (outputs never say it).
Verdict = Literal["pass", "fail", "cancelled", "incomplete"]


def timestamp() -> str:
    """Now, as every report writes a time: UTC, milliseconds, ``Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Attempt:
    number: int
    http_status: int | None
    category: str | None
    duration_ms: int
    message: str = ""
    wait_s: float | None = None
    client_request_id: str | None = None  # the X-Client-Request-Id this attempt sent


@dataclass
class Step:
    """A named step inside a check (send, http_success, parse, output_condition)."""

    name: str
    outcome: Outcome
    message: str = ""


@dataclass
class Check:
    id: str
    kind: str
    name: str
    model: str | None = None
    outcome: Outcome = "skip"
    category: Category | None = None
    http_status: int | None = None
    attempts: int = 0
    duration_ms: int = 0
    request_id: str | None = None
    client_request_id: str | None = None  # the last attempt's X-Client-Request-Id
    trace_ids: dict[str, str] = field(default_factory=dict)  # gateway/CDN ids, by header
    finish_reason: str | None = None
    usage: JSONObject | None = None
    message: str = ""
    response_model: str | None = None
    system_fingerprint: str | None = None
    answer: str | None = None
    expected_category: str | None = None
    # On an assertion failure: the answer, masked, control characters escaped, capped.
    output_excerpt: str | None = None
    # A curl command for exactly the last request sent; reported for a failed check only.
    reproduce: str | None = None
    # Set when the gateway's own layer produced the error (classify.GATEWAY_HINTS): the
    # hint then says so instead of the category's.
    gateway_hint: str | None = None
    # Set when the check knows more than its category about what to do (a 404 on an
    # Azure-style URL, drift of one kind): the hint then says that instead (issue 21).
    situation_hint: str | None = None
    # Set when the check failed only because it missed an objective the user declared
    # (``latency``): such a failure has a hint of its own and is not transient (retrying
    # a slow answer does not make the objective met), whatever its category.
    objective: str | None = None
    # Who owns this failure (the owners map, smoke.owners); set for a failed check.
    owner: Owner | None = None
    steps: list[Step] = field(default_factory=list)
    attempt_log: list[Attempt] = field(default_factory=list)
    details: Details = field(default_factory=Details)
    warnings: list[str] = field(default_factory=list)

    @property
    def transient(self) -> bool:
        return bool(self.category and self.category.transient and not self.objective)

    @property
    def hint(self) -> str | None:
        if self.category is None:
            return None
        if self.objective:
            return OBJECTIVE_HINT
        return self.situation_hint or self.gateway_hint or self.category.hint

    @property
    def responsible(self) -> Owner | None:
        """The owner of a failed check: from the owners map, else the category's role."""
        if self.outcome != "fail" or self.category is None:
            return None
        return self.owner or default(self.category)

    def fail(self, category: Category, message: str) -> Check:
        self.outcome, self.category, self.message = "fail", category, message
        return self

    def cancel(self, message: str) -> Check:
        self.outcome, self.category, self.message = "cancelled", None, message
        return self

    def to_dict(self) -> CheckDict:
        # Field by field, not ``dataclasses.asdict``: that deep-copies every value, which a
        # report of 1,000 checks (rewritten as the run goes) pays for many times over.
        owner = self.responsible
        return {
            "id": self.id, "kind": self.kind, "name": self.name, "model": self.model,
            "outcome": self.outcome,
            "category": self.category.value if self.category else None,
            "http_status": self.http_status, "attempts": self.attempts,
            "duration_ms": self.duration_ms, "request_id": self.request_id,
            "client_request_id": self.client_request_id, "trace_ids": self.trace_ids,
            "finish_reason": self.finish_reason, "usage": self.usage, "message": self.message,
            "response_model": self.response_model,
            "system_fingerprint": self.system_fingerprint, "answer": self.answer,
            "expected_category": self.expected_category,
            "output_excerpt": self.output_excerpt,
            "reproduce": self.reproduce if self.outcome == "fail" else None,
            "objective": self.objective,
            "owner": owner.to_dict() if owner else None,
            "steps": [{"name": s.name, "outcome": s.outcome, "message": s.message}
                      for s in self.steps],
            "attempt_log": [{"number": a.number, "http_status": a.http_status,
                             "category": a.category, "duration_ms": a.duration_ms,
                             "message": a.message, "wait_s": a.wait_s,
                             "client_request_id": a.client_request_id}
                            for a in self.attempt_log],
            "details": self.details, "warnings": self.warnings,
            "transient": self.transient, "hint": self.hint,
        }


class StepDict(TypedDict):
    name: str
    outcome: Outcome
    message: str


class AttemptDict(TypedDict):
    number: int
    http_status: int | None
    category: str | None
    duration_ms: int
    message: str
    wait_s: float | None
    client_request_id: str | None


class CheckDict(TypedDict):
    """A check as report.json carries it (:meth:`Check.to_dict`), keys in report order."""

    id: str
    kind: str
    name: str
    model: str | None
    outcome: Outcome
    category: str | None
    http_status: int | None
    attempts: int
    duration_ms: int
    request_id: str | None
    client_request_id: str | None
    trace_ids: dict[str, str]
    finish_reason: str | None
    usage: JSONObject | None
    message: str
    response_model: str | None
    system_fingerprint: str | None
    answer: str | None
    expected_category: str | None
    output_excerpt: str | None
    reproduce: str | None
    objective: str | None
    owner: Mapping[str, object] | None
    steps: list[StepDict]
    attempt_log: list[AttemptDict]
    details: Details
    warnings: list[str]
    transient: bool
    hint: str | None


@dataclass
class GateResult:
    verdict: Verdict
    exit_code: int
    category: Category | None
    started_at: str
    duration_ms: int
    environment: str
    deployment_sha: str | None
    endpoint: dict[str, str]
    checks: list[Check]
    config: Mapping[str, object] = field(default_factory=dict)  # Settings.public()
    proxy: str | None = None
    warnings: list[str] = field(default_factory=list)
    usage_total: int | None = None
    prompt_version: str | None = None
    # Per incident key (smoke.reports.streak): failed runs in a row, this one included.
    consecutive_failures: dict[str, int] = field(default_factory=dict)
    # The previous run's report.json (previous_report), as read before this run wrote
    # anything; None without one. Not part of this run's report.
    previous: JSONObject | None = field(default=None, repr=False, compare=False)
    # Each category's team by the owners map, whatever the run found (no model: a rule
    # with a model glob counts only for a failed check of that model): the metrics'
    # owner label, the same on a pass and on a failure. Empty without a configuration.
    category_owners: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.outcome == "fail"]

    @property
    def deciding(self) -> Check | None:
        """The first failed check of the deciding category."""
        for check in self.failures:
            if check.category is not None and check.category == self.category:
                return check
        return None

    @property
    def owner(self) -> Owner | None:
        """The owner of the verdict: the deciding check's (None for a pass)."""
        check = self.deciding
        return check.responsible if check else None

    @property
    def primary(self) -> Check | None:
        """The check whose facts speak for the run (the first positive one)."""
        for check in self.checks:
            if check.kind == "positive":
                return check
        return self.checks[0] if self.checks else None

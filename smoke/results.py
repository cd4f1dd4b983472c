"""What a gate run found: checks, their attempts, and the run as a whole."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from smoke.categories import OBJECTIVE_HINT, Category
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
    usage: dict[str, Any] | None = None
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
    details: dict[str, Any] = field(default_factory=dict)
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

    def to_dict(self) -> dict[str, Any]:
        # Field by field, not ``dataclasses.asdict``: that deep-copies every value, which a
        # report of 1,000 checks (rewritten as the run goes) pays for many times over.
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["steps"] = [asdict(step) for step in self.steps]
        data["attempt_log"] = [asdict(attempt) for attempt in self.attempt_log]
        data["category"] = self.category.value if self.category else None
        data["transient"] = self.transient
        data["hint"] = self.hint
        del data["gateway_hint"], data["situation_hint"]
        owner = self.responsible
        data["owner"] = owner.to_dict() if owner else None
        if self.outcome != "fail":
            data["reproduce"] = None
        return data


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
    config: dict[str, Any] = field(default_factory=dict)
    proxy: str | None = None
    warnings: list[str] = field(default_factory=list)
    usage_total: int | None = None
    prompt_version: str | None = None
    # Per incident key (smoke.reports.streak): failed runs in a row, this one included.
    consecutive_failures: dict[str, int] = field(default_factory=dict)
    # The previous run's report.json (previous_report), as read before this run wrote
    # anything; None without one. Not part of this run's report.
    previous: dict[str, Any] | None = field(default=None, repr=False, compare=False)
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

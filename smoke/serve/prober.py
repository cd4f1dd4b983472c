"""Probing a target for a scrape, without spending more than asked.

A probe costs money, and an HA pair of Prometheus servers scrapes every target twice:

- **min_interval**: a scrape within it of the last probe gets that probe's result, with its
  age (``chat_smoke_probe_cache_age_seconds``).
- **single flight**: scrapes of one target (and module) that arrive while a probe runs
  wait for it and share its result: one upstream request for any number of scrapes.
- **a global cap** on probes running at once; a scrape that can't get a slot before its
  own deadline is answered 503 (Prometheus records ``up 0`` for it, nothing is sent).
- **a daily budget** of requests and tokens per target (UTC days): when the next probe
  would exceed it, nothing is sent; the last result is served with
  ``chat_smoke_budget_exhausted 1``.

The probe's deadline is the target's ``deadline`` cut to Prometheus' scrape timeout
(``X-Prometheus-Scrape-Timeout-Seconds``) less a margin, so an answer always arrives
before Prometheus gives up on the scrape.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from smoke import pipeline
from smoke.cancel import CancelToken
from smoke.output import redact
from smoke.output.console import Console
from smoke.reports import prometheus
from smoke.results import GateResult
from smoke.serve.config import ServeConfig, Target

Runner = Callable[[dict[str, object], dict[str, str], Path], GateResult]
MIN_DEADLINE = 0.2
K = TypeVar("K")  # a counter table's key


def run_gate(flags: dict[str, object], env: dict[str, str], cwd: Path,
             cancel: CancelToken | None = None) -> GateResult:
    """One gate run for a probe: quiet, nothing written, its secrets in a scope of its own;
    ``cancel``: the server's token (a stopping server stops its probes, and only them)."""
    with redact.scope():
        result, _ = pipeline.check(flags, env, cwd, Console(quiet=True), cancel)
        return result


@dataclass
class Answer:
    status: int
    text: str
    content_type: str = prometheus.CONTENT_TYPE


@dataclass
class _Flight:
    done: threading.Event = field(default_factory=threading.Event)
    result: GateResult | None = None


@dataclass
class _Slot:
    """One target and module: its last result and the probe running for it, if any."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    result: GateResult | None = None
    at: float = 0.0  # monotonic time the result arrived
    last_success: float | None = None  # epoch of the last passing run's start
    flight: _Flight | None = None
    text: str = ""  # the result's exposition, rendered once (a cache hit only adds its age)


@dataclass
class Budget:
    day: str = ""
    requests: int = 0
    tokens: int = 0
    last_requests: int = 1  # the last probe's cost: what the next one is expected to cost
    last_tokens: int = 0

    def roll(self) -> None:
        today = datetime.now(UTC).strftime("%Y-%m-%d")
        if today != self.day:
            self.day, self.requests, self.tokens = today, 0, 0

    def spent(self, target: Target) -> bool:
        self.roll()
        if target.daily_requests is not None and (
                self.requests + self.last_requests > target.daily_requests):
            return True
        return target.daily_tokens is not None and (
            self.tokens + self.last_tokens > target.daily_tokens)


@dataclass
class Stats:
    """The exporter's own counters, shown on /metrics."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    probes: dict[tuple[str, str], int] = field(default_factory=dict)  # (target, result)
    cache_hits: dict[str, int] = field(default_factory=dict)
    shared: dict[str, int] = field(default_factory=dict)
    budget_refusals: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)  # kind
    in_flight: int = 0

    def bump(self, table: dict[K, int], key: K) -> None:
        with self.lock:
            table[key] = table.get(key, 0) + 1


class Prober:
    def __init__(self, config: ServeConfig, env: dict[str, str], cwd: Path,
                 runner: Runner = run_gate) -> None:
        self.env, self.cwd = env, cwd
        # The probes' cancellation: tripped when the server stops (smoke.serve.server).
        self.cancel = CancelToken()
        self.runner: Runner = (functools.partial(run_gate, cancel=self.cancel)
                               if runner is run_gate else runner)
        self.stats = Stats()
        self.budgets: dict[str, Budget] = {}
        self._slots: dict[tuple[str, str], _Slot] = {}
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self.config = config
        self._cap = threading.BoundedSemaphore(config.max_concurrent)

    def reconfigure(self, config: ServeConfig) -> None:
        """Use a new configuration: results of targets it no longer has are dropped;
        budgets stay (a reload must not refill a spent day)."""
        with self._lock:
            if config.max_concurrent != self.config.max_concurrent:
                self._cap = threading.BoundedSemaphore(config.max_concurrent)
            self.config = config
            self._slots = {key: slot for key, slot in self._slots.items()
                           if key[0] in config.targets
                           and (not key[1] or key[1] in config.modules)}

    def _slot(self, key: tuple[str, str]) -> _Slot:
        with self._lock:
            slot = self._slots.get(key)
            if slot is None:
                slot = self._slots[key] = _Slot()
            return slot

    def budget(self, name: str) -> Budget:
        with self._lock:
            found = self.budgets.get(name)
            if found is None:
                found = self.budgets[name] = Budget()
            found.roll()
            return found

    def probe(self, target: Target, module: str, scrape_timeout: float | None) -> Answer:
        """The answer to one scrape of ``target`` with ``module`` ('' for none)."""
        config = self.config
        bound = target.deadline
        if scrape_timeout is not None:
            bound = min(bound, max(MIN_DEADLINE, scrape_timeout - config.margin))
        waited_until = time.monotonic() + bound
        slot = self._slot((target.name, module))
        budget = self.budget(target.name)
        with slot.lock:
            now = time.monotonic()
            if slot.result is not None and now - slot.at < target.min_interval:
                self.stats.bump(self.stats.cache_hits, target.name)
                return self._answer(target, slot, now - slot.at)
            flight = slot.flight
            leader = flight is None
            if leader:
                with self._lock:
                    spent = budget.spent(target)
                if spent:
                    self.stats.bump(self.stats.budget_refusals, target.name)
                    return self._answer(target, slot, now - slot.at, exhausted=True)
                flight = slot.flight = _Flight()
        assert flight is not None
        if not leader:
            self.stats.bump(self.stats.shared, target.name)
            if not flight.done.wait(max(0.0, waited_until - time.monotonic())) \
                    or flight.result is None:
                return self._refuse(503, "the shared probe did not finish within the "
                                         "scrape's deadline")
            return self._answer(target, slot, time.monotonic() - slot.at)
        try:
            return self._lead(target, module, slot, flight, bound, waited_until)
        finally:
            with slot.lock:
                slot.flight = None
            flight.done.set()

    def _lead(self, target: Target, module: str, slot: _Slot, flight: _Flight,
              bound: float, until: float) -> Answer:
        cap = self._cap
        if not cap.acquire(timeout=max(0.0, until - time.monotonic())):
            self.stats.bump(self.stats.errors, "concurrency")
            return self._refuse(503, f"{self.config.max_concurrent} probes are running "
                                     f"(serve.max_concurrent_probes); try again")
        try:
            with self.stats.lock:
                self.stats.in_flight += 1
            left = max(MIN_DEADLINE, until - time.monotonic())
            flags = {"config": self.config.path, **target.flags,
                     **self.config.modules.get(module, {}), "deadline": min(bound, left)}
            try:
                result = self.runner(flags, self.env, self.cwd)
            except Exception as exc:  # a bug: one line, no traceback, the next scrape retries
                self.stats.bump(self.stats.errors, "internal")
                return self._refuse(500, f"internal error: {type(exc).__name__}: "
                                         f"{redact.scrub(str(exc))}")
        finally:
            with self.stats.lock:
                self.stats.in_flight -= 1
            cap.release()
        if result.verdict == "cancelled":
            self.stats.bump(self.stats.errors, "cancelled")
            return self._refuse(503, "the probe was cancelled: chat-smoke serve is stopping")
        self._spend(target, result)
        passed = result.verdict == "pass"
        self.stats.bump(self.stats.probes, (target.name, "pass" if passed else "fail"))
        last_success = prometheus.epoch(result.started_at) if passed else slot.last_success
        text = prometheus.render(result, target.name, last_success=last_success)
        with redact.scope(*target.secrets):
            text = redact.scrub(text)
        with slot.lock:
            slot.result, slot.at, flight.result = result, time.monotonic(), result
            slot.last_success, slot.text = last_success, text
        return self._answer(target, slot, 0.0)

    def _spend(self, target: Target, result: GateResult) -> None:
        requests = sum(check.attempts for check in result.checks)
        tokens = result.usage_total or 0
        with self._lock:
            budget = self.budgets.setdefault(target.name, Budget())
            budget.roll()
            budget.requests += requests
            budget.tokens += tokens
            budget.last_requests, budget.last_tokens = max(1, requests), tokens

    def _answer(self, target: Target, slot: _Slot, age: float,
                exhausted: bool = False) -> Answer:
        labels = {"target": target.name, "environment": target.environment}
        more = {
            "chat_smoke_probe_cache_age_seconds": [
                prometheus.gauge("chat_smoke_probe_cache_age_seconds", labels, round(age, 3))],
            "chat_smoke_budget_exhausted": [
                prometheus.gauge("chat_smoke_budget_exhausted", labels, 1 if exhausted else 0)],
        }
        # The serve-only families come last in the exposition's order (prometheus._HELP).
        lines = [line for name, got in more.items() for line in prometheus.family(name, got)]
        return Answer(200, slot.text + "\n".join(lines) + "\n")

    @staticmethod
    def _refuse(status: int, reason: str) -> Answer:
        return Answer(status, f"chat-smoke serve: {reason}\n", "text/plain; charset=utf-8")

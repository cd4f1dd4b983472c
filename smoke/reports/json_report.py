"""The JSON report, ``schema_version: 3``: a public contract. Add fields; never rename.

Version 3 (from 2, one bump for the whole round): ``owner`` (team, mention, runbook,
labels, assignees, source) for the verdict and for each failed check, from the owners map
(``smoke.owners``); ``consecutive_failures``: per incident key (environment and team,
or environment and category group), how many runs in a row have failed
(``smoke.reports.streak``). ``config.per_model`` (each model's own
settings), ``config`` keys ``reasoning_effort``, ``request_body``, ``parser``,
``parser_command``, ``require_fields``, ``require_headers``; a check's
``details.request_body`` (``file``, ``sha256``, ``bytes``: never the body's text),
``details.parser`` (``kind``, ``name``, ``text``, ``builtin_text``, ``duration_ms``) and
``details.asserted_text_from``; preflight checks ``parser:NAME``. Also a
check's ``objective`` (``latency`` when it failed only for missing a latency objective:
category ``timeout``, not transient, a hint of its own) and its ``details`` ``contract``
(mode, answers and chunks checked, deviations with path, rule and what was found),
``ratelimit`` (per resource: limit, remaining, reset, reset_s; retry_after_s),
``retirement`` (deprecation, sunset, sunset_days, links) and ``latency`` (per measure:
value_ms, warn, fail, verdict).

Version 2 (from 1): the outcome ``cancelled`` for a check, the verdicts ``cancelled``
(exit 128 + the signal) and ``incomplete`` (only in the provisional report written while
the run goes on; its ``exit_code`` is null), and ``report:*`` checks (kind ``report``) for
a report that could not be written."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import NotRequired, TypedDict, overload

from smoke._version import __version__
from smoke.jsonvalue import JSONObject
from smoke.output import redact
from smoke.owners import OwnerDict
from smoke.results import GateResult, Verdict

SCHEMA_VERSION = 3


class Job(TypedDict):
    """A merged report's row for one leg (``jobs``)."""

    job: str
    file: str
    environment: str | None
    models: list[str]
    verdict: str
    exit_code: int
    category: str | None
    deciding_check: str | None
    message: str | None
    hint: str | None
    duration_ms: int | None
    started_at: str | None


class Merged(TypedDict):
    """The merged report: the gate's report shape (its checks are the legs', as they read
    them, each with its ``job``), plus ``merged`` and ``jobs``."""

    schema_version: int
    tool: dict[str, str]
    merged: bool
    verdict: Verdict
    exit_code: int
    category: str | None
    started_at: str
    duration_ms: int
    environment: str
    deployment_sha: str | None
    endpoint: dict[str, str]
    usage_total_tokens: int | None
    warnings: list[str]
    jobs: list[Job]
    checks: list[JSONObject]
    failed_file: NotRequired[str]
    consecutive_failures: NotRequired[dict[str, int]]


class Report(TypedDict):
    """The report (what :func:`render` writes): each check as ``Check.to_dict`` gives it,
    the configuration and the drift as the run recorded them."""

    schema_version: int
    tool: dict[str, str]
    verdict: Verdict
    exit_code: int | None
    category: str | None
    owner: OwnerDict | None
    started_at: str
    duration_ms: int
    environment: str
    deployment_sha: str | None
    endpoint: Mapping[str, str]
    proxy: str | None
    usage_total_tokens: int | None
    prompt_version: str | None
    warnings: list[str]
    config: Mapping[str, object]
    checks: list[Mapping[str, object]]
    drift: Mapping[str, object] | None
    consecutive_failures: dict[str, int]


def as_dict(result: GateResult) -> Report:
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "chat-smoke", "version": __version__},
        "verdict": result.verdict,
        # A provisional report has no exit code yet: the run is still going.
        "exit_code": None if result.verdict == "incomplete" else result.exit_code,
        "category": result.category.value if result.category else None,
        "owner": _owner(result),
        "started_at": result.started_at,
        "duration_ms": result.duration_ms,
        "environment": result.environment,
        "deployment_sha": result.deployment_sha,
        "endpoint": result.endpoint,
        "proxy": result.proxy,
        "usage_total_tokens": result.usage_total,
        "prompt_version": result.prompt_version,
        "warnings": result.warnings,
        "config": result.config,
        "checks": [check.to_dict() for check in result.checks],
        "drift": drift(result),
        "consecutive_failures": result.consecutive_failures,
    }


def _owner(result: GateResult) -> OwnerDict | None:
    owner = result.owner
    return owner.to_dict() if owner else None


def drift(result: GateResult) -> Mapping[str, object] | None:
    """The comparison with ``--baseline`` (``smoke.checks.drift``), or None without one."""
    for check in result.checks:
        if check.kind == "drift" and "drift" in check.details:
            found: Mapping[str, object] = check.details["drift"]
            return found
    return None


@overload
def finite(value: dict[str, object], scrubbed: dict[str, str] | None = None) -> JSONObject:
    ...


@overload
def finite(value: object, scrubbed: dict[str, str] | None = None) -> object:
    ...


def finite(value: object, scrubbed: dict[str, str] | None = None) -> object:
    """``value`` with every number JSON (RFC 8259) cannot carry, NaN or infinity from a
    server's ``usage`` (``1e999`` parses as infinity), turned into null; and every string
    scrubbed before it is escaped (a mask laid over the escaped text could cut an escape
    such as ``\\u001f`` in two; the writer's scrub is then only a safety net).

    ``scrubbed`` remembers each distinct string's scrubbed form for one call: a report
    repeats the same keys and values for every check (1,000 checks: 0.5 s → 0.1 s)."""
    memo: dict[str, str] = {} if scrubbed is None else scrubbed
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str):
        found = memo.get(value)
        if found is None:
            found = memo[value] = redact.scrub(value)
        return found
    if isinstance(value, dict):
        return {_scrubbed(str(k), memo): finite(v, memo) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v, memo) for v in value]
    return value


def _scrubbed(text: str, memo: dict[str, str]) -> str:
    """A key, scrubbed as :func:`finite` scrubs a string value."""
    found = memo.get(text)
    if found is None:
        found = memo[text] = redact.scrub(text)
    return found


def render(result: GateResult) -> str:
    # allow_nan=False: a report that parses everywhere, or an error here, never "NaN".
    # Lone surrogates are left to the writer's scrub (redact.scrub replaces them).
    return json.dumps(finite(as_dict(result)), indent=2, ensure_ascii=False,
                      allow_nan=False) + "\n"

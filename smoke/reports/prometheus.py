"""Metrics for monitors: the Prometheus text exposition format 0.0.4.

One exposition, three ways out: ``--report-prometheus`` (a textfile for node_exporter's
textfile collector), ``chat-smoke serve``'s ``/probe`` answer and the Pushgateway push
(``--pushgateway``) all render it here, so their names and labels are the same.

node_exporter's textfile collector reads ``*.prom`` files from a folder; a file it reads
half-written is dropped whole, so the file is written atomically (``files.write_text``:
a temporary file, then ``os.replace``). The format: ``# HELP`` and ``# TYPE`` once per
metric, then ``name{label="value",...} value`` lines, no timestamps (the collector
stamps them; its docs forbid timestamps in textfiles). Label values escape ``\\``, ``"``
and newlines; HELP text escapes ``\\`` and newlines
(https://prometheus.io/docs/instrumenting/exposition_formats/#text-format-details).

Labels take bounded values only, all from the configuration or a fixed set: ``target``
and ``environment`` on every sample; ``model`` and ``check`` on the per-check metrics (a
skipped check has no sample: it said nothing about the endpoint); ``category``, ``group``
and ``owner`` on ``chat_smoke_failure_category``, one sample per category of the fixed
set. Never a request id, an error text or a timestamp: the invalid-model check's random
model id is ``(invalid)`` here (the id itself is in report.json), so a monitor that runs
every few minutes keeps the same series (issue 21). docs/monitoring.md is the reference.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime

from smoke import jsonvalue
from smoke.categories import Category
from smoke.jsonvalue import as_object, child, items
from smoke.results import Check, GateResult

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DEFAULT_TARGET = "default"
# The model label of the negative check that sends a random, never-existing model id.
INVALID_MODEL_LABEL = "(invalid)"
_RANDOM_MODEL_CHECKS = frozenset({"negative:invalid-model"})

_HELP: dict[str, tuple[str, str]] = {
    "probe_success": ("gauge", "1 when the gate passed, else 0 (blackbox_exporter's name)."),
    "probe_duration_seconds": ("gauge", "Wall time of the gate run."),
    "probe_http_status_code": (
        "gauge", "HTTP status of the first positive check's last attempt (0: no answer)."),
    "chat_smoke_check_success": (
        "gauge", "1 when the check passed, 0 when it failed (skipped checks have no sample)."),
    "chat_smoke_check_duration_seconds": (
        "gauge", "Wall time of the check, retries included."),
    "chat_smoke_check_ttfb_seconds": (
        "gauge", "Time to the first byte of the response, where the check measured it."),
    "chat_smoke_check_first_token_seconds": (
        "gauge", "Time to the first content token of a streamed response."),
    "chat_smoke_failure_category": (
        "gauge", "1 when a check failed in this category, else 0 (every category of the fixed "
        "set has a sample)."),
    "chat_smoke_gate_exit_code": (
        "gauge", "Exit code of the gate (0 pass, 2 config, 3 credentials, 4 endpoint, "
        "5 transient, 6 assertion, 1 internal; 130, 143 and 129 cancelled by SIGINT, SIGTERM "
        "and SIGHUP)."),
    "chat_smoke_gate_success": ("gauge", "1 when the gate passed, else 0."),
    "chat_smoke_last_run_timestamp_seconds": (
        "gauge", "When the gate run started, seconds since the Unix epoch."),
    "chat_smoke_last_success_timestamp_seconds": (
        "gauge", "When the last passing gate run started, seconds since the Unix epoch."),
    "chat_smoke_tokens_used": ("gauge", "Tokens the gate run used, as the endpoint reported."),
    "chat_smoke_certificate_expiry_timestamp_seconds": (
        "gauge", "notAfter of the endpoint's TLS certificate, seconds since the Unix epoch."),
    # The answer's operational signals (issue 22), per check; ``resource`` is the
    # x-ratelimit-*-<resource> suffix (requests, tokens, ...).
    "chat_smoke_ratelimit_limit": (
        "gauge", "The rate limit an answer announced (x-ratelimit-limit-<resource>)."),
    "chat_smoke_ratelimit_remaining": (
        "gauge", "What is left of it (x-ratelimit-remaining-<resource>)."),
    "chat_smoke_ratelimit_reset_seconds": (
        "gauge", "Seconds until it resets (x-ratelimit-reset-<resource>)."),
    "chat_smoke_retry_after_seconds": (
        "gauge", "Seconds the server asked to wait (Retry-After, retry-after-ms)."),
    "chat_smoke_sunset_timestamp_seconds": (
        "gauge", "When the model is retired (Sunset header), seconds since the Unix epoch."),
    "chat_smoke_contract_deviations": (
        "gauge", "Deviations from the Chat Completions response contract in the check's "
        "answer or stream (0 when it kept the contract; no sample with contract: off)."),
    # chat-smoke serve adds these to a /probe answer (last: serve appends them):
    "chat_smoke_probe_cache_age_seconds": (
        "gauge", "Age of the result served (0: probed for this scrape; more: from the "
        "min_interval cache or a spent budget)."),
    "chat_smoke_budget_exhausted": (
        "gauge", "1 when the target's daily request or token budget is spent (nothing sent)."),
}


def escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def _sample(name: str, labels: Mapping[str, str], value: float) -> str:
    inner = ",".join(f'{key}="{escape_label(text)}"' for key, text in labels.items())
    return f"{name}{{{inner}}} {_number(value)}"


def epoch(iso: str | None) -> float | None:
    if not iso:
        return None
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def ttfb_ms(check: Check) -> int | None:
    """Time to first byte as the check recorded it (positive: ``wire``, stream: ``stream``)."""
    for timing in (check.details.get("wire"), check.details.get("stream")):
        value = timing.get("ttfb_ms") if timing else None
        if isinstance(value, int | float):
            return int(value)
    return None


def model_label(check: Check) -> str:
    """The ``model`` label: the configured model id, or :data:`INVALID_MODEL_LABEL` for a
    check whose model id is made up afresh on every run."""
    if check.id in _RANDOM_MODEL_CHECKS:
        return INVALID_MODEL_LABEL
    return check.model or ""


def target_of(result: GateResult) -> str:
    """The ``target`` label: the setting ``target`` (serve sets it to the target's name),
    else ``default``."""
    return str(result.config.get("target") or DEFAULT_TARGET)


def owner_of(category: Category, result: GateResult) -> str:
    """The ``owner`` label of ``category``: the team of the first failed check of that
    category (the owners map's, smoke.owners), else the category's team by the map (so a
    pass and a failure carry the same label), else the category's role name."""
    for check in result.checks:
        owner = check.responsible
        if check.category is category and owner is not None:
            return owner.team
    return result.category_owners.get(category.value) or category.owner


def samples(result: GateResult, target: str | None = None,
            last_success: float | None = None) -> dict[str, list[str]]:
    """Metric name -> sample lines, in :data:`_HELP` order. ``last_success``: when the last
    passing run started, if known (by default: this run's start, if it passed)."""
    found: dict[str, list[str]] = {name: [] for name in _HELP}

    def add(name: str, labels: Mapping[str, str], value: float) -> None:
        found[name].append(_sample(name, labels, value))

    gate = {"target": target or target_of(result), "environment": result.environment}
    passed = result.exit_code == 0 and result.verdict == "pass"
    add("probe_success", gate, 1 if passed else 0)
    add("probe_duration_seconds", gate, result.duration_ms / 1000)
    primary = result.primary
    add("probe_http_status_code", gate,
        primary.http_status or 0 if primary is not None and primary.kind == "positive" else 0)
    failed: set[Category] = set()
    for check in result.checks:
        if check.outcome == "fail" and check.category is not None:
            failed.add(check.category)
        if check.outcome not in ("pass", "fail"):
            continue
        labels = {**gate, "model": model_label(check), "check": check.id}
        add("chat_smoke_check_success", labels, 1 if check.outcome == "pass" else 0)
        add("chat_smoke_check_duration_seconds", labels, check.duration_ms / 1000)
        ttfb = ttfb_ms(check)
        if ttfb is not None:
            add("chat_smoke_check_ttfb_seconds", labels, ttfb / 1000)
        stream = check.details.get("stream")
        first = stream["first_token_ms"] if stream else None
        if isinstance(first, int | float):
            add("chat_smoke_check_first_token_seconds", labels, first / 1000)
        _signals(found, check, labels)
    for category in Category:
        add("chat_smoke_failure_category",
            {**gate, "category": category.value, "group": category.group,
             "owner": owner_of(category, result)}, 1 if category in failed else 0)
    add("chat_smoke_gate_exit_code", gate, result.exit_code)
    add("chat_smoke_gate_success", gate, 1 if result.exit_code == 0 else 0)
    started = epoch(result.started_at)
    if started is not None:
        add("chat_smoke_last_run_timestamp_seconds", gate, round(started, 3))
    if last_success is None and passed and started is not None:
        last_success = started
    if last_success is not None:
        add("chat_smoke_last_success_timestamp_seconds", gate, round(last_success, 3))
    if result.usage_total is not None:
        add("chat_smoke_tokens_used", gate, result.usage_total)
    for host, expiry in _certificates(result.checks):
        add("chat_smoke_certificate_expiry_timestamp_seconds", {**gate, "host": host}, expiry)
    return found


_RATELIMIT = (("limit", "chat_smoke_ratelimit_limit"),
              ("remaining", "chat_smoke_ratelimit_remaining"),
              ("reset_s", "chat_smoke_ratelimit_reset_seconds"))


def _signals(found: dict[str, list[str]], check: Check, labels: dict[str, str]) -> None:
    """The rate limits, Retry-After, Sunset and contract deviations the check recorded."""
    limits = as_object(check.details.get("ratelimit")) or {}
    for resource, entry in limits.items():
        if not isinstance(entry, dict):
            continue
        for key, name in _RATELIMIT:
            value = entry.get(key)
            if isinstance(value, int | float):
                found[name].append(_sample(name, {**labels, "resource": resource}, value))
    wait = limits.get("retry_after_s")
    if isinstance(wait, int | float):
        found["chat_smoke_retry_after_seconds"].append(
            _sample("chat_smoke_retry_after_seconds", labels, wait))
    sunset = epoch(jsonvalue.text(as_object(check.details.get("retirement")) or {}, "sunset"))
    if sunset is not None:
        found["chat_smoke_sunset_timestamp_seconds"].append(
            _sample("chat_smoke_sunset_timestamp_seconds", labels, sunset))
    deviations = items(as_object(check.details.get("contract")) or {}, "deviations")
    if deviations is not None:
        found["chat_smoke_contract_deviations"].append(
            _sample("chat_smoke_contract_deviations", labels, len(deviations)))


def _certificates(checks: Iterable[Check]) -> list[tuple[str, float]]:
    """(host, notAfter) once per host, from the wire probe's facts."""
    seen: dict[str, float] = {}
    for check in checks:
        wire = as_object(check.details.get("wire")) or {}
        expiry = epoch(jsonvalue.text(child(wire, "certificate") or {}, "not_after"))
        host = str(wire.get("host") or "")
        if expiry is not None and host and host not in seen:
            seen[host] = expiry
    return list(seen.items())


def family(name: str, lines: list[str]) -> list[str]:
    kind, text = _HELP[name]
    return [f"# HELP {name} {escape_help(text)}", f"# TYPE {name} {kind}", *lines]


def gauge(name: str, labels: Mapping[str, str], value: float) -> str:
    """One sample line of a metric this module documents (``_HELP``)."""
    if name not in _HELP:
        raise KeyError(name)
    return _sample(name, labels, value)


def render(result: GateResult, target: str | None = None, *,
           last_success: float | None = None,
           more: Mapping[str, list[str]] | None = None,
           success_timestamp: bool = True) -> str:
    """The exposition of ``result``. ``more``: further samples of documented metrics (serve's
    cache age and budget). ``success_timestamp`` False leaves out
    ``chat_smoke_last_success_timestamp_seconds`` (the push adds it only on success)."""
    lines: list[str] = []
    found = samples(result, target, last_success)
    if not success_timestamp:
        found["chat_smoke_last_success_timestamp_seconds"] = []
    for name, extra in (more or {}).items():
        found[name] = [*found.get(name, []), *extra]
    for name, got in found.items():
        if got:
            lines += family(name, got)
    return "\n".join(lines) + "\n"

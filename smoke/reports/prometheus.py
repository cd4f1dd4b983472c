"""Metrics for monitors: the Prometheus text exposition format 0.0.4.

node_exporter's textfile collector reads ``*.prom`` files from a folder; a file it reads
half-written is dropped whole, so the file is written atomically (``files.write_text``:
a temporary file, then ``os.replace``). The format: ``# HELP`` and ``# TYPE`` once per
metric, then ``name{label="value",...} value`` lines, no timestamps (the collector
stamps them; its docs forbid timestamps in textfiles). Label values escape ``\\``, ``"``
and newlines; HELP text escapes ``\\`` and newlines
(https://prometheus.io/docs/instrumenting/exposition_formats/#text-format-details).

Labels: ``environment``, ``model`` and ``check`` on the per-check metrics; a skipped
check has no sample (it said nothing about the endpoint). Every label value comes from
the configuration (environment, model ids, the check ids made of them) or the endpoint's
host, never from a run: no request id, error text or timestamp, and the invalid-model
check's random model id is ``(invalid)`` here (the id itself is in report.json), so a
monitor that runs every few minutes keeps the same series (issue 21).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from smoke.results import Check, GateResult

CONTENT_TYPE = "text/plain; version=0.0.4"
# The model label of the negative check that sends a random, never-existing model id.
INVALID_MODEL_LABEL = "(invalid)"
_RANDOM_MODEL_CHECKS = frozenset({"negative:invalid-model"})

_HELP: dict[str, tuple[str, str]] = {
    "chat_smoke_check_success": (
        "gauge", "1 when the check passed, 0 when it failed (skipped checks have no sample)."),
    "chat_smoke_check_duration_seconds": (
        "gauge", "Wall time of the check, retries included."),
    "chat_smoke_check_ttfb_seconds": (
        "gauge", "Time to the first byte of the response, where the check measured it."),
    "chat_smoke_check_first_token_seconds": (
        "gauge", "Time to the first content token of a streamed response."),
    "chat_smoke_gate_exit_code": (
        "gauge", "Exit code of the gate (0 pass, 2 config, 3 credentials, 4 endpoint, "
        "5 transient, 6 assertion, 1 internal; 130, 143 and 129 cancelled by SIGINT, SIGTERM "
        "and SIGHUP)."),
    "chat_smoke_gate_success": ("gauge", "1 when the gate passed, else 0."),
    "chat_smoke_last_run_timestamp_seconds": (
        "gauge", "When the gate run started, seconds since the Unix epoch."),
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


def _sample(name: str, labels: dict[str, str], value: float) -> str:
    inner = ",".join(f'{key}="{escape_label(text)}"' for key, text in labels.items())
    return f"{name}{{{inner}}} {_number(value)}"


def _epoch(iso: str | None) -> float | None:
    if not iso:
        return None
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def ttfb_ms(check: Check) -> int | None:
    """Time to first byte as the check recorded it (positive: ``wire``, stream: ``stream``)."""
    for key in ("wire", "stream"):
        value = (check.details.get(key) or {}).get("ttfb_ms")
        if isinstance(value, int | float):
            return int(value)
    return None


def model_label(check: Check) -> str:
    """The ``model`` label: the configured model id, or :data:`INVALID_MODEL_LABEL` for a
    check whose model id is made up afresh on every run."""
    if check.id in _RANDOM_MODEL_CHECKS:
        return INVALID_MODEL_LABEL
    return check.model or ""


def samples(result: GateResult) -> dict[str, list[str]]:
    """Metric name -> sample lines, in :data:`_HELP` order."""
    found: dict[str, list[str]] = {name: [] for name in _HELP}
    env = result.environment
    for check in result.checks:
        if check.outcome not in ("pass", "fail"):
            continue
        labels = {"environment": env, "model": model_label(check), "check": check.id}
        found["chat_smoke_check_success"].append(
            _sample("chat_smoke_check_success", labels, 1 if check.outcome == "pass" else 0))
        found["chat_smoke_check_duration_seconds"].append(
            _sample("chat_smoke_check_duration_seconds", labels, check.duration_ms / 1000))
        ttfb = ttfb_ms(check)
        if ttfb is not None:
            found["chat_smoke_check_ttfb_seconds"].append(
                _sample("chat_smoke_check_ttfb_seconds", labels, ttfb / 1000))
        first = (check.details.get("stream") or {}).get("first_token_ms")
        if isinstance(first, int | float):
            found["chat_smoke_check_first_token_seconds"].append(
                _sample("chat_smoke_check_first_token_seconds", labels, first / 1000))
        _signals(found, check, labels)
    gate = {"environment": env}
    found["chat_smoke_gate_exit_code"].append(
        _sample("chat_smoke_gate_exit_code", gate, result.exit_code))
    found["chat_smoke_gate_success"].append(
        _sample("chat_smoke_gate_success", gate, 1 if result.exit_code == 0 else 0))
    started = _epoch(result.started_at)
    if started is not None:
        found["chat_smoke_last_run_timestamp_seconds"].append(
            _sample("chat_smoke_last_run_timestamp_seconds", gate, round(started, 3)))
    for host, expiry in _certificates(result.checks):
        found["chat_smoke_certificate_expiry_timestamp_seconds"].append(_sample(
            "chat_smoke_certificate_expiry_timestamp_seconds",
            {"environment": env, "host": host}, expiry))
    return found


_RATELIMIT = (("limit", "chat_smoke_ratelimit_limit"),
              ("remaining", "chat_smoke_ratelimit_remaining"),
              ("reset_s", "chat_smoke_ratelimit_reset_seconds"))


def _signals(found: dict[str, list[str]], check: Check, labels: dict[str, str]) -> None:
    """The rate limits, Retry-After, Sunset and contract deviations the check recorded."""
    limits: dict[str, Any] = check.details.get("ratelimit") or {}
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
    sunset = _epoch((check.details.get("retirement") or {}).get("sunset"))
    if sunset is not None:
        found["chat_smoke_sunset_timestamp_seconds"].append(
            _sample("chat_smoke_sunset_timestamp_seconds", labels, sunset))
    contract = check.details.get("contract")
    if isinstance(contract, dict) and isinstance(contract.get("deviations"), list):
        found["chat_smoke_contract_deviations"].append(
            _sample("chat_smoke_contract_deviations", labels, len(contract["deviations"])))


def _certificates(checks: Iterable[Check]) -> list[tuple[str, float]]:
    """(host, notAfter) once per host, from the wire probe's facts."""
    seen: dict[str, float] = {}
    for check in checks:
        wire: dict[str, Any] = check.details.get("wire") or {}
        expiry = _epoch((wire.get("certificate") or {}).get("not_after"))
        host = str(wire.get("host") or "")
        if expiry is not None and host and host not in seen:
            seen[host] = expiry
    return list(seen.items())


def render(result: GateResult) -> str:
    lines: list[str] = []
    for name, found in samples(result).items():
        if not found:
            continue
        kind, text = _HELP[name]
        lines += [f"# HELP {name} {escape_help(text)}", f"# TYPE {name} {kind}", *found]
    return "\n".join(lines) + "\n"

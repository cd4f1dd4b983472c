"""``/metrics``: the exporter's own counters and the process metrics (the names
client_golang and prometheus_client use), in the text format 0.0.4."""

from __future__ import annotations

import os
import resource
import threading
import time

from smoke.reports.prometheus import escape_help, escape_label
from smoke.serve.prober import Prober

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _family(lines: list[str], name: str, kind: str, text: str,
            samples: list[tuple[dict[str, str], float]]) -> None:
    lines += [f"# HELP {name} {escape_help(text)}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        inner = ",".join(f'{k}="{escape_label(v)}"' for k, v in labels.items())
        number = str(int(value)) if float(value).is_integer() else repr(float(value))
        lines.append(f"{name}{{{inner}}} {number}" if inner else f"{name} {number}")


def render(prober: Prober, reload_ok: bool, reload_at: float, started: float) -> str:
    stats = prober.stats
    lines: list[str] = []
    with stats.lock:
        probes = dict(stats.probes)
        hits, shared = dict(stats.cache_hits), dict(stats.shared)
        refusals, errors = dict(stats.budget_refusals), dict(stats.errors)
        in_flight = stats.in_flight
    targets = list(prober.config.targets.values())
    _family(lines, "chat_smoke_exporter_probes_total", "counter",
            "Probes run (requests sent upstream), by target and result.",
            [({"target": t, "result": r}, n) for (t, r), n in sorted(probes.items())])
    _family(lines, "chat_smoke_exporter_cache_hits_total", "counter",
            "Scrapes answered from the min_interval cache.",
            [({"target": t}, n) for t, n in sorted(hits.items())])
    _family(lines, "chat_smoke_exporter_shared_probes_total", "counter",
            "Scrapes that waited for a probe already running (single flight).",
            [({"target": t}, n) for t, n in sorted(shared.items())])
    _family(lines, "chat_smoke_exporter_budget_refusals_total", "counter",
            "Scrapes that sent nothing because the target's daily budget is spent.",
            [({"target": t}, n) for t, n in sorted(refusals.items())])
    _family(lines, "chat_smoke_exporter_errors_total", "counter",
            "Scrapes answered with an error (concurrency: no free probe slot in time; "
            "cancelled: stopping; internal: a bug).",
            [({"kind": k}, n) for k, n in sorted(errors.items())])
    _family(lines, "chat_smoke_exporter_probes_in_flight", "gauge",
            "Probes running now.", [({}, in_flight)])
    budgets = {t.name: prober.budget(t.name) for t in targets}
    _family(lines, "chat_smoke_exporter_budget_requests_used", "gauge",
            "Requests sent today (UTC) for the target.",
            [({"target": n}, b.requests) for n, b in budgets.items()])
    _family(lines, "chat_smoke_exporter_budget_tokens_used", "gauge",
            "Tokens used today (UTC) for the target.",
            [({"target": n}, b.tokens) for n, b in budgets.items()])
    _family(lines, "chat_smoke_exporter_budget_requests_limit", "gauge",
            "The target's daily request budget (no sample: no limit).",
            [({"target": t.name}, t.daily_requests) for t in targets if t.daily_requests])
    _family(lines, "chat_smoke_exporter_budget_tokens_limit", "gauge",
            "The target's daily token budget (no sample: no limit).",
            [({"target": t.name}, t.daily_tokens) for t in targets if t.daily_tokens])
    _family(lines, "chat_smoke_exporter_targets", "gauge",
            "Targets in the running configuration.", [({}, len(targets))])
    _family(lines, "chat_smoke_exporter_config_last_reload_successful", "gauge",
            "1 when the last configuration reload worked, 0 when the file was refused.",
            [({}, 1 if reload_ok else 0)])
    _family(lines, "chat_smoke_exporter_config_last_reload_success_timestamp_seconds",
            "gauge", "When the running configuration was loaded.",
            [({}, round(reload_at, 3))])
    _process(lines, started)
    return "\n".join(lines) + "\n"


def _process(lines: list[str], started: float) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    _family(lines, "process_cpu_seconds_total", "counter",
            "Total user and system CPU time spent in seconds.",
            [({}, round(usage.ru_utime + usage.ru_stime, 3))])
    rss = _rss()
    if rss is not None:
        _family(lines, "process_resident_memory_bytes", "gauge",
                "Resident memory size in bytes.", [({}, rss)])
    try:
        fds = len(os.listdir("/proc/self/fd"))
    except OSError:
        fds = -1
    if fds >= 0:
        _family(lines, "process_open_fds", "gauge", "Number of open file descriptors.",
                [({}, fds)])
    _family(lines, "process_start_time_seconds", "gauge",
            "Start time of the process since unix epoch in seconds.", [({}, round(started, 3))])
    _family(lines, "chat_smoke_exporter_threads", "gauge", "Python threads alive.",
            [({}, threading.active_count())])
    _family(lines, "chat_smoke_exporter_uptime_seconds", "gauge",
            "Seconds since the exporter started.", [({}, round(time.time() - started, 3))])


def _rss() -> int | None:
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None

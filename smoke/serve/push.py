"""Batch mode: push a run's metrics to a Prometheus Pushgateway (a Kubernetes CronJob, a
CI job) with ``chat-smoke run --pushgateway URL``.

The group is ``job=chat_smoke``, ``target`` and ``environment``
(``/metrics/job/chat_smoke/target@base64/…/environment@base64/…``: base64 path segments,
so any name and an empty environment are safe). The push is a POST: it replaces the
metrics of the same names in the group and keeps the others, and
``chat_smoke_last_success_timestamp_seconds`` is in it only when the run passed, so a
failed run never erases the last success. A push that fails is a warning: the run's exit
code is the gate's.
"""

from __future__ import annotations

import base64
import time
from typing import Any
from urllib.parse import urlsplit

import requests

from smoke.output import redact
from smoke.reports import prometheus
from smoke.results import GateResult

JOB = "chat_smoke"
TIMEOUT_S = 10.0  # the whole push, connect included


def _segment(name: str, value: str) -> str:
    encoded = base64.urlsafe_b64encode(value.encode("utf-8")).decode("ascii")
    return f"{name}@base64/{encoded or '='}"


def group_url(base: str, target: str, environment: str) -> str:
    return (f"{base.rstrip('/')}/metrics/job/{JOB}/{_segment('target', target)}/"
            f"{_segment('environment', environment)}")


def push(result: GateResult, base: str, timeout: float = TIMEOUT_S) -> str | None:
    """Push ``result``; None when the Pushgateway took it, else a warning line."""
    target = prometheus.target_of(result)
    url = group_url(base, target, result.environment)
    body = prometheus.render(result).encode("utf-8")
    started = time.monotonic()
    try:
        with requests.Session() as session:
            response = session.post(url, data=body, timeout=(min(5.0, timeout), timeout),
                                    headers={"Content-Type": prometheus.CONTENT_TYPE},
                                    allow_redirects=False)
            status, text = response.status_code, response.text[:200]
    except requests.RequestException as exc:
        return _warning(base, f"{type(exc).__name__} after "
                              f"{time.monotonic() - started:.1f} s")
    if status >= 300:
        return _warning(base, f"HTTP {status}: {' '.join(text.split())}")
    return None


def _public(base: str) -> str:
    """The URL without a user or password (``http://user:pass@host`` is allowed)."""
    parts = urlsplit(base)
    host = parts.hostname or ""
    shown = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{shown}{f':{parts.port}' if parts.port else ''}{parts.path}"


def _warning(base: str, why: str) -> str:
    return redact.scrub(f"the push to the Pushgateway {_public(base)} failed ({why}); the "
                        f"exit code is the gate's. See docs/monitoring.md, 'Batch mode'.")


class Push:
    """The push as a sink of :mod:`smoke.ci.publish` (``SINKS``: on with ``pushgateway``,
    on every CI; a config error is pushed too, category ``config``: the monitor must see
    it). A failed push is a warning line; the run's exit code is the gate's."""

    def publish(self, publisher: Any, result: GateResult) -> None:
        warning = push(result, str(publisher.setting("pushgateway")))
        if warning is not None:
            publisher.console.warning(warning)

"""Batch mode: push a run's metrics to a Prometheus Pushgateway (a Kubernetes CronJob, a
CI job) with ``chat-smoke run --pushgateway URL``.

The group is ``job=chat_smoke``, ``target`` and ``environment``
(``/metrics/job/chat_smoke/target@base64/…/environment@base64/…``: base64 path segments,
so any name and an empty environment are safe). The push is a POST: it replaces the
metrics of the same names in the group and keeps the others, and
``chat_smoke_last_success_timestamp_seconds`` is in it only when the run passed, so a
failed run never erases the last success. A push that fails is a warning: the run's exit
code is the gate's. The whole push is bounded in wall-clock time (:mod:`smoke.bounded`,
10 s), whatever the server does: one that never answers, or drips, costs the job 10 s.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from smoke import bounded
from smoke.output import redact
from smoke.reports import prometheus
from smoke.results import GateResult

if TYPE_CHECKING:
    from smoke.output.console import Console

JOB = "chat_smoke"
BUDGET_S = 10.0  # the whole push, connect included, whatever the server does


def _segment(name: str, value: str) -> str:
    encoded = base64.urlsafe_b64encode(value.encode("utf-8")).decode("ascii")
    return f"{name}@base64/{encoded or '='}"


def group_url(base: str, target: str, environment: str) -> str:
    return (f"{base.rstrip('/')}/metrics/job/{JOB}/{_segment('target', target)}/"
            f"{_segment('environment', environment)}")


def push(result: GateResult, base: str, seconds: float = BUDGET_S) -> str | None:
    """Push ``result`` within ``seconds`` of wall clock; None when the Pushgateway took
    it, else a warning line."""
    target = prometheus.target_of(result)
    url = group_url(base, target, result.environment)
    body = prometheus.render(result).encode("utf-8")

    def post(budget: bounded.Budget) -> tuple[int, str]:
        response = budget.session().post(url, data=body, timeout=budget.timeout(5.0),
                                         headers={"Content-Type": prometheus.CONTENT_TYPE})
        return response.status_code, response.text[:200]

    try:
        status, text = bounded.call(post, seconds, "the Pushgateway push")
    except bounded.BudgetExceeded as exc:
        return _warning(base, str(exc))
    except Exception as exc:  # the message could quote the URL: only the type is shown
        return _warning(base, type(exc).__name__)
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


class Publishing(Protocol):
    """What the push reads of the run's publisher (smoke.ci.publish.Publisher, which
    names this module in its SINKS: no import back)."""

    @property
    def console(self) -> Console: ...

    def setting(self, name: str) -> object: ...


class Push:
    """The push as a sink of :mod:`smoke.ci.publish` (``SINKS``: on with ``pushgateway``,
    on every CI; a config error is pushed too, category ``config``: the monitor must see
    it). A failed push is a warning line; the run's exit code is the gate's."""

    def publish(self, publisher: Publishing, result: GateResult) -> None:
        warning = push(result, str(publisher.setting("pushgateway")))
        if warning is not None:
            publisher.console.warning(warning)

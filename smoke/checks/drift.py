"""Drift against a baseline, ``--baseline report.json``: what changed since a previous run.

Compared per check present in both runs (``positive:MODEL``, ``stream:MODEL``, ...),
only where both recorded the fact:

- ``response_model``, ``system_fingerprint`` and ``finish_reason``: any change;
- latency: time to first byte and total (``details.wire``/``details.stream``; the check's
  duration when no total was recorded) at least ``drift_latency_factor`` times the
  baseline's, and only when the new value is over ``drift_latency_floor_ms`` (noise);
- usage: ``prompt_tokens``, ``completion_tokens`` or ``total_tokens`` at least
  ``drift_usage_factor`` times the baseline's;
- fields: the *request fields* are the top-level keys of the request body
  (``details.request_fields``); the *response fields* are the response facts the check
  recorded as present (``response_model``, ``system_fingerprint``, ``finish_reason``,
  ``request_id``, ``usage.<key>``). A field in one run and not the other appeared or
  vanished.

A baseline from another endpoint (host or path) or with another set of models is not
compared: the check says so, as a warning, even with ``--fail-on-drift``. Otherwise each
change is a warning, or with ``--fail-on-drift`` an ``assertion`` failure of the check
``drift:baseline``. The comparison is in the report as ``drift``.
"""

from __future__ import annotations

from collections.abc import Mapping

from smoke.categories import Category
from smoke.checks.task import Plan
from smoke.config import reportfile
from smoke.config.settings import Settings
from smoke.details import Change, Drift
from smoke.errors import BaselineError
from smoke.jsonvalue import JSONObject, as_object, child, items, objects
from smoke.output.textsafe import count
from smoke.results import Check, CheckDict, Step

CHECK_ID = "drift:baseline"
_FACTS = ("response_model", "system_fingerprint", "finish_reason")
_USAGE = ("prompt_tokens", "completion_tokens", "total_tokens")

_UNREADABLE = (
    "--baseline {path}: {problem}. Give a report.json written by chat-smoke run "
    "--report-json (e.g. the last good run's artifact). See https://github.com/chat-smoke/"
    "chat-smoke/blob/main/docs/monitoring.md#drift-against-a-baseline"
)
_OTHER = (
    "the baseline {path} is from {what} ({before}, now {after}), so nothing was compared: "
    "use a baseline of this endpoint and model set"
)


# What to do about each kind of change (issue 21: the assertion category's own hint,
# "check the model and the expect condition", is wrong for drift).
_HINTS = {
    "response_model": "Another model answered than in the baseline run (a gateway "
    "fallback, or an alias that moved): check the gateway's routing and model aliases, or "
    "pin the model id.",
    "system_fingerprint": "The provider changed the backend behind the model "
    "(system_fingerprint): answers may differ; re-check what depends on exact output.",
    "finish_reason": "The answers end differently (finish_reason): check the token limits "
    "(--max-tokens, --max-completion-tokens) and whether the model now stops early.",
    "latency": "The endpoint is slower than in the baseline run: check the provider's "
    "status page and the gateway; if this is the new normal, raise "
    "--drift-latency-factor.",
    "usage": "Token usage grew against the baseline run: a gateway may add a system prompt, "
    "or the model counts tokens differently; check the gateway's prompt settings.",
    "fields": "A request or response field appeared or vanished: a client or gateway "
    "upgrade changed the wire format; check that your parser still finds what it needs.",
}
_ACCEPT = (" If the change is intended, make this run's report.json the new baseline.")


def _kind(change: Change) -> str:
    if change["kind"] == "changed":
        return change["field"]
    return "fields" if change["kind"] in ("appeared", "vanished") else change["kind"]


def hint(changes: list[Change]) -> str:
    """One hint per kind of change, in the order the changes are listed."""
    kinds = dict.fromkeys(_kind(c) for c in changes)
    return " ".join(_HINTS[k] for k in kinds if k in _HINTS) + _ACCEPT


def load_baseline(path: str) -> JSONObject:
    """The baseline: untrusted JSON, checked against smoke/schema/report.schema.json."""
    try:
        return reportfile.load(path)
    except reportfile.ReportFileError as exc:
        raise BaselineError(_UNREADABLE.format(path=path, problem=str(exc))) from None


def preflight(context: Plan) -> list[Check]:
    """Registered in ``checks.registry`` (on with ``baseline``): a baseline that cannot be
    read is a ``config`` failure before anything is sent."""
    path = context.settings.baseline
    if not path:
        return []
    try:
        load_baseline(path)
    except BaselineError as exc:
        check = Check(CHECK_ID, "drift", "drift against the baseline")
        check.steps.append(Step("baseline", "fail", str(exc)))
        return [check.fail(Category.CONFIG, str(exc))]
    return []


def postflight(settings: Settings, checks: list[Check]) -> list[Check]:
    """Registered in ``checks.registry`` (on with ``baseline``): compare and report."""
    if not settings.baseline or any(c.id == CHECK_ID for c in checks):
        return []  # no baseline, or the preflight already failed on it
    check = Check(CHECK_ID, "drift", "drift against the baseline")
    try:  # read again: the preflight does not run when an earlier one stopped the run
        baseline = load_baseline(settings.baseline)
    except BaselineError as exc:
        check.steps.append(Step("baseline", "fail", str(exc)))
        return [check.fail(Category.CONFIG, str(exc))]
    drift = compare(baseline, [c.to_dict() for c in checks], settings)
    drift["baseline"] = settings.baseline
    check.details["drift"] = drift
    reason = drift.get("reason")
    if reason is not None:  # not comparable
        check.outcome, check.message = "pass", reason
        check.warnings.append(reason)
        return [check]
    changes = drift.get("changes", [])
    if not changes:
        check.outcome = "pass"
        check.message = f"nothing changed since the baseline ({drift.get('baseline_started_at')})"
        return [check]
    check.message = f"{count(len(changes), 'change')} since the baseline: " + "; ".join(
        c["message"] for c in changes)
    if settings.fail_on_drift:
        check.steps.append(Step("drift", "fail", check.message))
        check.situation_hint = hint(changes)
        return [check.fail(Category.ASSERTION, check.message)]
    check.outcome = "pass"
    check.warnings += [f"drift: {c['message']}" for c in changes]
    return [check]


def compare(baseline: Mapping[str, object], checks: list[CheckDict],
            settings: Settings) -> Drift:
    """The ``drift`` section of the report: comparable or why not, and the changes of
    ``checks`` (this run's, as report.json has them) against the baseline report's."""
    changes: list[Change] = []
    result: Drift = {"baseline_started_at": baseline.get("started_at"),
                     "comparable": True, "reason": None, "changes": changes}
    before = child(baseline, "endpoint") or {}
    after = {"host": settings.host, "path": settings.path}
    for what in ("host", "path"):
        if (before.get(what) or "") != (after[what] or ""):
            result["comparable"] = False
            result["reason"] = _OTHER.format(
                path=settings.baseline, what=f"another endpoint {what}",
                before=before.get(what) or "-", after=after[what] or "-")
            return result
    old_models = sorted(str(m) for m in items(child(baseline, "config") or {}, "models") or [])
    new_models = sorted(settings.models)
    if old_models != new_models:
        result["comparable"] = False
        result["reason"] = _OTHER.format(
            path=settings.baseline, what="another model set",
            before=", ".join(old_models) or "-", after=", ".join(new_models))
        return result
    old_checks = {c.get("id"): c for c in objects(baseline, "checks")}
    for check in checks:
        old = old_checks.get(check["id"])
        if old is not None and check["kind"] != "drift":
            changes += _changes(old, check, settings)
    return result


def _change(check: CheckDict, field: str, kind: str, before: object, after: object,
            message: str) -> Change:
    return {"check": check["id"], "model": check["model"], "field": field, "kind": kind,
            "before": before, "after": after, "message": f"{check['id']}: {message}"}


def _changes(old: Mapping[str, object], new: CheckDict, s: Settings) -> list[Change]:
    found: list[Change] = []
    for name in _FACTS:
        a, b = old.get(name), new.get(name)
        if a is not None and b is not None and a != b:
            found.append(_change(new, name, "changed", a, b, f"{name} {a} → {b}"))
    for name, (a_ms, b_ms) in _latency(old, new).items():
        if a_ms is None or b_ms is None or b_ms <= s.drift_latency_floor_ms:
            continue
        if b_ms >= s.drift_latency_factor * max(a_ms, 1):
            found.append(_change(new, name, "latency", a_ms, b_ms,
                                 f"{name.replace('_ms', '')} {a_ms} ms → {b_ms} ms "
                                 f"({b_ms / max(a_ms, 1):.1f}x, over "
                                 f"{s.drift_latency_factor:g}x and {s.drift_latency_floor_ms} ms)"))
    old_usage, new_usage = child(old, "usage") or {}, new["usage"] or {}
    for name in _USAGE:
        a, b = old_usage.get(name), new_usage.get(name)
        if isinstance(a, int) and isinstance(b, int) and a > 0 \
                and b >= s.drift_usage_factor * a:
            found.append(_change(new, f"usage.{name}", "usage", a, b,
                                 f"usage {name} {a} → {b} ({b / a:.1f}x, over "
                                 f"{s.drift_usage_factor:g}x)"))
    for side, names in (("request", _request_fields), ("response", _response_fields)):
        a_set, b_set = names(old), names(new)
        if a_set is None or b_set is None:
            continue
        for name in sorted(b_set - a_set):
            found.append(_change(new, name, "appeared", None, name,
                                 f"{side} field {name} appeared"))
        for name in sorted(a_set - b_set):
            found.append(_change(new, name, "vanished", name, None,
                                 f"{side} field {name} vanished"))
    return found


def _latency(old: Mapping[str, object],
             new: Mapping[str, object]) -> dict[str, tuple[int | None, int | None]]:
    def facts(check: Mapping[str, object]) -> tuple[int | None, int | None]:
        details = child(check, "details") or {}
        # details is open: a baseline may hold anything
        timing = as_object(details.get("wire") or details.get("stream")) or {}
        ttfb, total = timing.get("ttfb_ms"), timing.get("total_ms")
        if total is None and check.get("outcome") == "pass":
            total = check.get("duration_ms")
        return (int(ttfb) if isinstance(ttfb, int | float) else None,
                int(total) if isinstance(total, int | float) else None)

    (a_ttfb, a_total), (b_ttfb, b_total) = facts(old), facts(new)
    return {"ttfb_ms": (a_ttfb, b_ttfb), "total_ms": (a_total, b_total)}


def _request_fields(check: Mapping[str, object]) -> set[str] | None:
    fields = items(child(check, "details") or {}, "request_fields")
    return {str(f) for f in fields} if fields is not None else None


def _response_fields(check: Mapping[str, object]) -> set[str] | None:
    if check.get("outcome") != "pass":
        return None  # a failed answer's missing facts are the failure, not drift
    names = {name for name in (*_FACTS, "request_id") if check.get(name) is not None}
    names |= {f"usage.{key}" for key in (child(check, "usage") or {})}
    return names

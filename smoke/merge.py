"""``chat-smoke merge REPORT.json...``: one verdict over the reports of a CI matrix.

Each leg (one matrix job: an environment and its models) wrote its own ``report.json``.
The merged verdict and exit code follow the gate's precedence over the legs' codes:
2, 3, 4, 6 (a person must act), then 1 (a bug in chat-smoke), then a cancelled or
incomplete leg (merged verdict ``cancelled``, the exit code of that leg, e.g. 130 or 143),
then 5 (transient), then 0. A report that is missing or not a chat-smoke report makes the
merge itself fail with ``config`` (exit 2), naming the file.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import TypeVar, cast, get_args

from smoke._version import __version__
from smoke.categories import EXIT_PRECEDENCE, Category
from smoke.config import reportfile
from smoke.details import Details
from smoke.errors import MergeError
from smoke.jsonvalue import JSONObject, child, integer, items, objects, text
from smoke.output.textsafe import count
from smoke.owners import Owner
from smoke.reports.json_report import SCHEMA_VERSION, Job, Merged
from smoke.results import Attempt, Check, GateResult, Outcome, Step, Verdict, timestamp

# The order in which a leg decides the merged exit code ("cancelled" stands for a
# cancelled or incomplete leg, whatever its code).
MERGE_PRECEDENCE: tuple[int | str, ...] = (
    *(c for c in EXIT_PRECEDENCE if c != 5), 1, "cancelled", 5, 0)
_STOPPED = ("cancelled", "incomplete")
# The exit code of a leg whose report is still the provisional one (verdict incomplete,
# exit_code null): its process was killed before it finished (128 + SIGKILL).
KILLED = 137

_BAD_REPORT = (
    "merge: {path}: {problem}. Give the report.json files the matrix jobs wrote with "
    "--report-json (download them all into one folder, e.g. actions/download-artifact "
    "with merge-multiple: true). See "
    "https://github.com/chat-smoke/chat-smoke/blob/main/docs/ci.md#gate-a-matrix"
)


def bad_report(path: str, problem: str) -> MergeError:
    return MergeError(_BAD_REPORT.format(path=path, problem=problem), path)


@dataclasses.dataclass
class Leg:
    """One matrix job's report: foreign JSON (checked against the report schema by
    :func:`load`), read through :mod:`smoke.jsonvalue`."""

    path: str
    report: JSONObject

    @property
    def code(self) -> int:
        code = integer(self.report, "exit_code")
        # None: a provisional report, the job was killed.
        return KILLED if code is None else code

    @property
    def stopped(self) -> bool:
        return self.report.get("verdict") in _STOPPED

    @property
    def rank(self) -> int:
        key: int | str = "cancelled" if self.stopped else self.code
        # An exit code the gate does not give (a runner's kill, 137) ranks as a bug (1).
        return MERGE_PRECEDENCE.index(key if key in MERGE_PRECEDENCE else 1)

    @property
    def checks(self) -> list[JSONObject]:
        return objects(self.report, "checks")

    @property
    def models(self) -> list[str]:
        models = items(child(self.report, "config") or {}, "models")
        if models:
            return [str(m) for m in models]
        return sorted({str(c["model"]) for c in self.checks if c.get("model")})

    @property
    def job(self) -> str:
        return f"{self.report.get('environment') or '–'} × {', '.join(self.models) or '–'}"

    def deciding(self) -> JSONObject | None:
        """The failed check that decided this leg's exit code (by category, as the gate)."""
        failed = [c for c in self.checks if c.get("outcome") == "fail"]
        category = self.report.get("category")
        return next((c for c in failed if c.get("category") == category),
                    failed[0] if failed else None)


def load(path: str) -> Leg:
    """A leg's report: untrusted JSON, checked against smoke/schema/report.schema.json
    (strict JSON: no NaN or Infinity; an exit code within 0-255), issue 26."""
    try:
        data = reportfile.load(path)
    except reportfile.ReportFileError as exc:
        raise bad_report(path, str(exc)) from None
    if data["exit_code"] is None and data["verdict"] != "incomplete":
        # Only a provisional report has no exit code yet.
        raise bad_report(path, "not a chat-smoke report: $.exit_code: null, but the verdict "
                         f"is {data['verdict']!r} (only an incomplete report has none)")
    return Leg(path, data)


def order(legs: list[Leg]) -> list[Leg]:
    """Deciding leg first, then the other legs by precedence, then passes (stable)."""
    return sorted(legs, key=lambda leg: leg.rank)


_DUPLICATE = ("{path}: the same report as {first} (one job given twice, e.g. a glob and a "
              "name that match the same file): counted once")


def unique(legs: list[Leg]) -> tuple[list[Leg], list[str]]:
    """``legs`` without repeats (the same file, or a copy of the same report), and a
    warning for each one dropped: a job counted twice would skew the merged counts."""
    kept: dict[str, Leg] = {}
    warnings: list[str] = []
    for leg in legs:
        key = json.dumps(leg.report, sort_keys=True, default=str)
        first = kept.get(key)
        if first is None:
            kept[key] = leg
        else:
            warnings.append(_DUPLICATE.format(path=leg.path, first=first.path))
    return list(kept.values()), warnings


def merge(legs: list[Leg]) -> Merged:
    """The merged report: the gate's report shape, plus ``jobs`` (one row per leg, each
    job once: see :func:`unique`)."""
    legs, repeated = unique(legs)
    ranked = order(legs)
    decider = ranked[0] if ranked else None
    code = decider.code if decider else 2
    verdict: Verdict = ("pass" if code == 0 and decider is not None and not decider.stopped
               else "cancelled" if decider is not None and decider.stopped else "fail")
    checks: list[JSONObject] = []
    jobs: list[Job] = []
    for leg in ranked:
        deciding = leg.deciding()
        jobs.append({
            "job": leg.job, "file": leg.path, "environment": text(leg.report, "environment"),
            "models": leg.models, "verdict": str(leg.report["verdict"]), "exit_code": leg.code,
            "category": text(leg.report, "category"),
            "deciding_check": text(deciding, "id") if deciding else None,
            "message": text(deciding, "message") if deciding else None,
            "hint": text(deciding, "hint") if deciding else None,
            "duration_ms": integer(leg.report, "duration_ms"),
            "started_at": text(leg.report, "started_at"),
        })
        checks += [{**c, "job": leg.job} for c in leg.checks]
    started = sorted(str(leg.report.get("started_at") or "") for leg in legs)
    usage = [leg.report.get("usage_total_tokens") for leg in legs]
    shas = {text(leg.report, "deployment_sha") for leg in legs}
    endpoint = (child(decider.report, "endpoint") or {}) if decider else {}
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "chat-smoke", "version": __version__},
        "merged": True,
        "verdict": verdict,
        "exit_code": code,
        "category": text(decider.report, "category") if decider else "config",
        "started_at": started[0] if started and started[0] else timestamp(),
        "duration_ms": max((integer(leg.report, "duration_ms") or 0 for leg in legs),
                           default=0),
        "environment": ", ".join(dict.fromkeys(
            str(leg.report.get("environment")) for leg in legs
            if leg.report.get("environment"))),
        "deployment_sha": shas.pop() if len(shas) == 1 else None,
        "endpoint": {k: v for k, v in endpoint.items() if isinstance(v, str)},
        "usage_total_tokens": sum(u for u in usage if isinstance(u, int)) or None,
        "warnings": [*repeated, *(f"{leg.job}: {w}" for leg in legs
                                   for w in items(leg.report, "warnings") or [])],
        "jobs": jobs,
        "checks": checks,
    }


def failed(path: str, message: str) -> Merged:
    """The merged report when the merge itself failed (``config``, exit 2)."""
    report = merge([])
    report["verdict"], report["exit_code"], report["category"] = "fail", 2, "config"
    report["jobs"] = []
    report["checks"] = [{
        **_check_dict(Check("merge:config", "preflight", "merge the matrix reports")
                      .fail(Category.CONFIG, message)), "job": "merge"}]
    if path:
        report["failed_file"] = path
    return report


def _check_dict(check: Check) -> JSONObject:
    return dict(check.to_dict())


def as_result(merged: Merged) -> GateResult:
    """A :class:`GateResult` view of the merged report, for the JUnit writer: every check
    named ``job: id``."""
    checks = [_check(c) for c in merged["checks"]]
    return GateResult(
        verdict=merged["verdict"], exit_code=merged["exit_code"],
        category=_category(merged["category"]),
        started_at=merged["started_at"], duration_ms=merged["duration_ms"],
        environment=merged["environment"], deployment_sha=merged["deployment_sha"],
        endpoint=merged["endpoint"], checks=checks,
        warnings=list(merged["warnings"]), usage_total=merged["usage_total_tokens"])


def _category(value: object) -> Category | None:
    return Category(value) if isinstance(value, str) and value in set(Category) else None


_OUTCOMES: dict[object, Outcome] = {outcome: outcome for outcome in get_args(Outcome)}
_T = TypeVar("_T")


def _outcome(value: object, default: Outcome) -> Outcome:
    return _OUTCOMES.get(value, default)


def _or(value: _T | None, default: _T) -> _T:
    return default if value is None else value


def _step(data: JSONObject) -> Step:
    return Step(name=str(data.get("name")), outcome=_outcome(data.get("outcome"), "skip"),
                message=_or(text(data, "message"), ""))


def _attempt(data: JSONObject) -> Attempt:
    return Attempt(
        number=_or(integer(data, "number"), 0), http_status=integer(data, "http_status"),
        category=text(data, "category"), duration_ms=_or(integer(data, "duration_ms"), 0),
        message=_or(text(data, "message"), ""), wait_s=_wait(data.get("wait_s")),
        client_request_id=text(data, "client_request_id"))


def _wait(value: object) -> float | None:
    """``wait_s`` as the report holds it (an int stays an int, as the leg's JUnit shows it)."""
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _check(data: JSONObject) -> Check:
    """A check of a leg's report, field by field (the report is valid against the schema:
    a field that is there has its type; one that is not keeps the default)."""
    ident = str(data["id"])
    trace_ids = child(data, "trace_ids") or {}
    return Check(
        id=f"{data.get('job')}: {ident}" if data.get("job") else ident,
        kind=_or(text(data, "kind"), "check"), name=_or(text(data, "name"), ident),
        model=text(data, "model"), outcome=_outcome(data.get("outcome"), "skip"),
        category=_category(data.get("category")), http_status=integer(data, "http_status"),
        attempts=_or(integer(data, "attempts"), 0),
        duration_ms=_or(integer(data, "duration_ms"), 0),
        request_id=text(data, "request_id"),
        client_request_id=text(data, "client_request_id"),
        trace_ids={k: v for k, v in trace_ids.items() if isinstance(v, str)},
        finish_reason=text(data, "finish_reason"), usage=child(data, "usage"),
        message=_or(text(data, "message"), ""), response_model=text(data, "response_model"),
        system_fingerprint=text(data, "system_fingerprint"), answer=text(data, "answer"),
        expected_category=text(data, "expected_category"),
        output_excerpt=text(data, "output_excerpt"), reproduce=text(data, "reproduce"),
        objective=text(data, "objective"), owner=Owner.from_dict(data.get("owner")),
        steps=[_step(s) for s in objects(data, "steps")],
        attempt_log=[_attempt(a) for a in objects(data, "attempt_log")],
        # As the leg wrote them (Check.to_dict; the schema checked an object): read back
        # only to be written again, never narrowed key by key.
        details=cast(Details, child(data, "details") or {}),
        warnings=[w for w in items(data, "warnings") or [] if isinstance(w, str)])


@dataclasses.dataclass(frozen=True)
class Lifecycle:
    """``chat-smoke merge``'s incident settings: the same lifecycle as a run's, over the
    merged verdict (in a matrix, only the merge job should open issues)."""

    incident_issue: bool = False
    previous_report: str | None = None
    incident_after: int = 1
    incident_reopen_days: int = 7
    gitlab_token_env: str = "GITLAB_TOKEN"


def with_streak(report: Merged, lifecycle: Lifecycle) -> GateResult:
    """The merged report as a result for the lifecycle, with ``consecutive_failures``
    counted against the previous merged report (also put into ``report``)."""
    from smoke.reports import streak

    previous = streak.Previous(lifecycle.previous_report)
    result = as_result(report)
    result.previous = previous.data
    result.consecutive_failures = streak.count(result, previous.data)
    report["consecutive_failures"] = result.consecutive_failures
    if previous.warning:
        report["warnings"] = [*report["warnings"], previous.warning]
    return result


def alerts(result: GateResult, lifecycle: Lifecycle, env: dict[str, str],
           warn: Callable[[str], None], say: Callable[[str], None]) -> None:
    """Incident issues over the merged verdict (never raises)."""
    if not lifecycle.incident_issue:
        return
    from smoke.alerts import incidents

    incidents.publish(result, incidents.Options(
        lifecycle.incident_after, lifecycle.incident_reopen_days,
        lifecycle.gitlab_token_env), env, warn, say)


def render(kind: str, report: Merged) -> str:
    """The merged ``report_json``, ``report_junit`` or ``summary``."""
    if kind == "report_json":
        return json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    if kind == "report_junit":
        from smoke.reports import junit

        return junit.render(as_result(report))
    if kind == "summary":
        from smoke.reports.summary import merged as summary

        return summary.render(report)
    raise ValueError(kind)


def describe(report: Merged) -> str:
    """The merged verdict and a line per job, for the log."""
    return (f"chat-smoke merge: {report['verdict']} (exit {report['exit_code']}) over "
            f"{count(len(report['jobs']), 'job')}"
            + "".join(f"\n  {j['verdict']:<9} exit {j['exit_code']}  {j['job']}"
                      + (f"  {j['deciding_check']}: {j['category']}"
                         if j["deciding_check"] else "") for j in report["jobs"]))


def write(report: Merged, targets: dict[str, str]) -> list[str]:
    """Write every target. One that cannot be written becomes a failed ``report:<kind>``
    check (``config``; it decides the exit code only when the jobs passed), every other
    report is still written, and those written before it are rewritten to name it."""
    from smoke.errors import ReportError
    from smoke.reports.files import replaceable, write_text

    order = sorted(targets, key=lambda kind: (not replaceable(targets[kind]),
                                              kind == "report_json"))
    problems: list[str] = []
    written: list[str] = []
    for kind in order:
        try:
            write_text(targets[kind], render(kind, report))
        except ReportError as exc:
            problems.append(str(exc))
            _report_failed(report, kind, str(exc))
            for earlier in written:
                if replaceable(targets[earlier]):
                    try:
                        write_text(targets[earlier], render(earlier, report))
                    except ReportError:  # pragma: no cover - written a moment ago
                        pass
        else:
            written.append(kind)
    return problems


_REPORT_NAMES = {"report_json": "json", "report_junit": "junit", "summary": "summary"}


def _report_failed(report: Merged, kind: str, message: str) -> None:
    name = _REPORT_NAMES.get(kind, kind)
    check = Check(f"report:{name}", "report", f"merged {name} report")
    report["checks"].append({**_check_dict(check.fail(Category.CONFIG, message)),
                             "job": "merge"})
    if report["exit_code"] == 0:
        report["verdict"], report["exit_code"], report["category"] = "fail", 2, "config"

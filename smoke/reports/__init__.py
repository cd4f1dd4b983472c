"""Reports: JSON (the contract), JUnit XML, Markdown summary, dotenv."""

from __future__ import annotations

from collections.abc import Mapping

from smoke.categories import Category
from smoke.config.settings import Settings
from smoke.config.targets import distinct
from smoke.errors import ReportError
from smoke.reports import json_report
from smoke.reports.files import replaceable, write_text
from smoke.results import Check, GateResult

KINDS = ("report_json", "report_junit", "summary", "report_dotenv", "report_prometheus")
# The check a report that cannot be written becomes: report:json, report:junit, ...
CHECK_NAMES = {"report_json": "json", "report_junit": "junit", "summary": "summary",
               "report_dotenv": "dotenv", "report_prometheus": "prometheus"}


def paths(settings: Settings | None, flags: Mapping[str, object]) -> dict[str, str]:
    """Where to write each report: from the settings, or (when the configuration did not
    load) from the flags alone, so a config failure is still reported."""
    found: dict[str, str] = {}
    for kind in KINDS:
        value = getattr(settings, kind, None) if settings is not None else flags.get(kind)
        if value:
            found[kind] = str(value)
    return found


def render(kind: str, result: GateResult, template: str | None = None,
           budget: float | None = None) -> str:
    if kind == "report_json":
        return json_report.render(result)
    if kind == "report_junit":
        from smoke.reports import junit

        return junit.render(result)
    if kind == "summary":
        from smoke.reports.summary import markdown

        return markdown.render(result, template, budget=budget)
    if kind == "report_dotenv":
        from smoke.reports import dotenv

        return dotenv.render(result)
    if kind == "report_prometheus":
        from smoke.reports import prometheus

        return prometheus.render(result)
    raise ValueError(kind)


def write_all(
    result: GateResult, targets: Mapping[str, str], template: str | None = None,
    budget: float | None = None,
) -> tuple[GateResult, list[ReportError]]:
    """Write every report. One that cannot be written becomes a failed check of its own
    (``report:junit``, category ``config``) that joins the verdict, and every other report
    is still written. Returns the result the reports carry, and the problems.

    Order: regular files first, the JSON report last among them (it then names a failure
    of the others without a rewrite), streams and devices after; a regular file written
    before a failure is rewritten so that every report names every failure."""
    # Two kinds on one place is a config error; its own reports go to the place once
    # (the JSON report first), never one over the other.
    targets = distinct(dict(sorted(targets.items(), key=lambda item: item[0] != "report_json")))
    order = sorted(targets, key=lambda kind: (not replaceable(targets[kind]),
                                              kind == "report_json"))
    problems: list[ReportError] = []
    written: list[str] = []
    for kind in order:
        try:
            write_text(targets[kind], render(kind, result, template, budget))
        except ReportError as exc:
            problems.append(exc)
            result = failed_report(result, kind, str(exc))
            for earlier in written:
                if replaceable(targets[earlier]):
                    try:
                        write_text(targets[earlier], render(earlier, result, template,
                                                            budget))
                    except ReportError:  # pragma: no cover - written a moment ago
                        pass
        else:
            written.append(kind)
    return result, problems


def failed_report(result: GateResult, kind: str, message: str) -> GateResult:
    """``result`` with a failed ``report:<kind>`` check (``config``) and the verdict decided
    again: it decides the exit code only when the gate's own checks passed (so an auth
    failure still exits 3, a pass exits 2); a cancelled run keeps 128 + the signal."""
    from smoke.verdict import reconsider

    name = CHECK_NAMES.get(kind, kind)
    check = Check(id=f"report:{name}", kind="report", name=f"{name} report")
    return reconsider(result, [*result.checks, check.fail(Category.CONFIG, message)])

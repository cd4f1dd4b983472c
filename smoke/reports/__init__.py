"""Reports: JSON (the contract), JUnit XML, Markdown summary, dotenv."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from smoke.reports import json_report
from smoke.reports.files import write_text
from smoke.results import GateResult

KINDS = ("report_json", "report_junit", "summary", "report_dotenv", "report_prometheus")


def paths(settings: Any, flags: Mapping[str, Any]) -> dict[str, str]:
    """Where to write each report: from the settings, or (when the configuration did not
    load) from the flags alone, so a config failure is still reported."""
    found: dict[str, str] = {}
    for kind in KINDS:
        value = getattr(settings, kind, None) if settings is not None else flags.get(kind)
        if value:
            found[kind] = str(value)
    return found


def render(kind: str, result: GateResult, template: str | None = None) -> str:
    if kind == "report_json":
        return json_report.render(result)
    if kind == "report_junit":
        from smoke.reports import junit

        return junit.render(result)
    if kind == "summary":
        from smoke.reports.summary import markdown

        return markdown.render(result, template)
    if kind == "report_dotenv":
        from smoke.reports import dotenv

        return dotenv.render(result)
    if kind == "report_prometheus":
        from smoke.reports import prometheus

        return prometheus.render(result)
    raise ValueError(kind)


def write_all(
    result: GateResult, targets: Mapping[str, str], template: str | None = None
) -> list[Path]:
    return [write_text(path, render(kind, result, template)) for kind, path in targets.items()]

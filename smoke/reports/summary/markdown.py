"""The Markdown summary (GitHub's job summary, and ``--summary`` anywhere else).

Rendered from a Jinja2 template (``smoke/reports/summary/templates/summary.md.j2``, or the user's
``summary_template``), with escaping on by default: every ``{{ value }}`` passes
through :func:`md` unless a filter already made it safe. Text from outside (error
bodies, model answers, request ids) therefore cannot add Markdown, HTML, links or table
cells. In a user's template:

- ``{{ x }}``: inline Markdown text, escaped (the default);
- ``{{ x | pre }}``: text for inside ``<pre>…</pre>``, HTML-escaped, lines kept;
- ``{{ x | code }}``: an inline code span that no backtick can break;
- ``{{ x | raw }}``: no escaping (only for text the template itself controls).

The context is the JSON report (``report.json``, schema_version 2) plus ``report``,
``failures``, ``incidents``, ``next_steps``, ``banner`` and ``config_rows``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from smoke.errors import ReportError
from smoke.reports import json_report
from smoke.reports.summary.filters import (  # re-exported for templates' users
    Safe as Safe,
)
from smoke.reports.summary.filters import (
    code as code,
)
from smoke.reports.summary.filters import (
    environment as environment,
)
from smoke.reports.summary.filters import (
    md as md,
)
from smoke.reports.summary.filters import (
    pre as pre,
)
from smoke.reports.summary.filters import (
    raw as raw,
)
from smoke.results import GateResult

if TYPE_CHECKING:
    import jinja2

# GitHub keeps at most 1 MiB per step summary; leave room for other steps' summaries.
BUDGET = 512 * 1024
TEMPLATE = "summary.md.j2"

_TEMPLATE_ERROR = (
    "summary template {path}: {problem}. Fix the template (the context is described in "
    "smoke/reports/summary/markdown.py), or remove summary_template to use the built-in summary"
)


def context(result: GateResult) -> dict[str, Any]:
    """What a summary template sees (the built-in one and a user's alike)."""
    report = json_report.as_dict(result)
    failures = [c for c in report["checks"] if c["outcome"] == "fail"]
    config = report["config"] or {}
    incidents = [_incident(report, check) for check in failures]
    seen: dict[str, dict[str, str]] = {}
    for check in failures:
        category = check["category"] or "internal"
        if category not in seen:
            seen[category] = {
                "category": category,
                "hint": check["hint"] or "A bug in chat-smoke, not a finding about the "
                "endpoint: report it with report.json.",
                "docs_url": _docs_url(check["category"]),
                "checks": ", ".join(c["id"] for c in failures
                                    if (c["category"] or "internal") == category),
            }
    rows = [(k, ", ".join(map(str, v)) if isinstance(v, list) else v)
            for k, v in config.items() if v not in (None, "", [])]
    return {
        **report,
        "report": report,
        "failures": failures,
        "incidents": incidents,
        "next_steps": list(seen.values()),
        "config_rows": rows,
        "banner": _banner(report),
    }


def _docs_url(category: str | None) -> str:
    from smoke.categories import DOCS_URL, Category

    return Category(category).docs_url if category else DOCS_URL


def _banner(report: dict[str, Any]) -> str:
    where = f" on {report['environment']}" if report["environment"] else ""
    if report["verdict"] == "pass":
        return f"✅ chat-smoke passed{where}"
    if report["verdict"] == "cancelled":
        return (f"⏹️ chat-smoke was cancelled{where} (exit {report['exit_code']}): the checks "
                "that finished are below")
    category = report["category"] or "internal error"
    return f"❌ chat-smoke failed{where}: {category} (exit {report['exit_code']})"


def _incident(report: dict[str, Any], check: dict[str, Any]) -> dict[str, Any]:
    """The facts a ticket needs, in a fixed order; values are raw (the template escapes)."""
    endpoint = report["endpoint"] or {}
    path = endpoint.get("path") or ""
    if check["id"].startswith("models:"):
        path += "/models"
    elif check["kind"] != "preflight":
        path += "/chat/completions"
    return {
        "check": check["id"],
        "facts": [
            ("timestamp", report["started_at"]),
            ("environment", report["environment"] or "-"),
            ("endpoint", f"{endpoint.get('host') or '-'} {path or '-'}"),
            ("model", check["model"] or "-"),
            ("check", check["id"]),
            ("category", check["category"] or "internal error"),
            ("http status", check["http_status"] if check["http_status"] is not None else "-"),
            ("error", check["message"] or "-"),
            ("attempts", check["attempts"]),
            ("duration", f"{check['duration_ms']} ms"),
            ("deployment sha", report["deployment_sha"] or "-"),
            ("request id", check["request_id"] or "-"),
            ("chat-smoke", report["tool"]["version"]),
        ],
    }


def _load(env: jinja2.Environment, template: str | None) -> jinja2.Template:
    import jinja2

    if template is None:
        from smoke.reports.summary.precompiled import builtin

        return builtin(env)
    path = Path(template)
    try:
        return env.from_string(path.read_text("utf-8"))
    except OSError as exc:
        raise ReportError(_TEMPLATE_ERROR.format(
            path=path, problem=f"cannot be read ({exc.strerror})")) from None
    except jinja2.TemplateSyntaxError as exc:
        raise ReportError(_TEMPLATE_ERROR.format(
            path=path, problem=f"line {exc.lineno}: {exc.message}")) from None


def render(result: GateResult, template: str | None = None) -> str:
    """The summary for ``result``, always under :data:`BUDGET` bytes of UTF-8."""
    import jinja2

    loader = jinja2.FileSystemLoader(str(Path(template).parent)) if template else None
    env = environment(loader)
    tpl = _load(env, template)
    try:
        text = tpl.render(context(result))
    except jinja2.TemplateError as exc:
        raise ReportError(_TEMPLATE_ERROR.format(
            path=template or TEMPLATE, problem=f"{type(exc).__name__}: {exc}")) from None
    return cap(text)


def cap(text: str, budget: int = BUDGET) -> str:
    """Cut ``text`` at a line boundary so it stays under ``budget`` bytes, saying so.
    Cutting between lines keeps every escape whole (none spans a line)."""
    if len(text.encode("utf-8")) < budget:
        return text
    note = ("\n\n> The summary was cut to stay under GitHub's size limit; report.json has "
            "every check.\n")
    room = budget - len(note.encode("utf-8")) - 16
    kept = text.encode("utf-8")[:room].decode("utf-8", errors="ignore")
    kept = kept[: kept.rfind("\n") + 1] if "\n" in kept else ""
    if kept.count("<pre>") > kept.count("</pre>"):
        kept += "</pre>\n"
    return kept + note

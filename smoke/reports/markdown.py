"""The Markdown summary (GitHub's job summary, and ``--summary`` anywhere else).

Rendered from a Jinja2 template (``smoke/templates/summary.md.j2``, or the user's
``summary_template``), with escaping on by default: every ``{{ value }}`` passes
through :func:`md` unless a filter already made it safe. Text from outside (error
bodies, model answers, request ids) therefore cannot add Markdown, HTML, links or table
cells. In a user's template:

- ``{{ x }}``: inline Markdown text, escaped (the default);
- ``{{ x | pre }}``: text for inside ``<pre>…</pre>``, HTML-escaped, lines kept;
- ``{{ x | code }}``: an inline code span that no backtick can break;
- ``{{ x | raw }}``: no escaping (only for text the template itself controls).

The context is the JSON report (``report.json``, schema_version 1) plus ``report``,
``failures``, ``incidents``, ``next_steps``, ``banner`` and ``config_rows``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smoke import redact
from smoke.errors import ReportError
from smoke.reports import json_report
from smoke.results import GateResult

if TYPE_CHECKING:
    import jinja2

# GitHub keeps at most 1 MiB per step summary; leave room for other steps' summaries.
BUDGET = 512 * 1024
TEXT_LIMIT = 2000  # characters of one outside value in the summary; report.json has all
TEMPLATE = "summary.md.j2"

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029\ud800-\udfff\ufffe\uffff]")
_NEWLINES = re.compile(r"\s*(\r\n|\r|\n)\s*")
# Backslash-escaped wherever they are: the characters that open or close inline syntax
# (code, emphasis, links and images through "[", table cells, strikethrough, headings,
# math), plus ":" and "@" so that no URL or e-mail address becomes a link (cmark-gfm's
# autolink extension triggers on them); "www." gets its "." escaped for the same reason.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]#|~:@$])")
# At the start of a value, which a template may put at the start of a line: list items
# ("- ", "+ ", "1. "), thematic breaks and setext underlines ("---", "==="). (A block
# quote's ">" is an entity already.)
_LINE_START = re.compile(r"^(\s*)([-+=]|\d{1,9}[.)])(?=\s|$|[-=]+\s*$)")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
_HTML = re.compile(r'[&<>"]')

_TEMPLATE_ERROR = (
    "summary template {path}: {problem}. Fix the template (the context is described in "
    "smoke/reports/markdown.py), or remove summary_template to use the built-in summary"
)


class Safe(str):
    """Text that is already escaped for where it goes; the autoescape leaves it alone."""


def _text(value: Any, limit: int = TEXT_LIMIT) -> str:
    # Scrubbed here, before escaping: an escape inside a secret ("sk\\_live") would hide
    # it from the writer's final scrub, and the mask "***" must be escaped like the rest.
    text = redact.scrub("" if value is None else str(value))
    text = _CONTROL.sub("", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _html(text: str) -> str:
    return _HTML.sub(lambda m: _ENTITIES[m.group(0)], text)


def md(value: Any) -> Safe:
    """Escape ``value`` as inline Markdown text: one line, no syntax, no HTML, no link,
    safe inside a table cell."""
    if isinstance(value, Safe):
        return value
    if isinstance(value, bool) or value is None:
        return Safe("" if value is None else str(value).lower())
    text = _NEWLINES.sub(" ", _text(value)).replace("\t", " ")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    text = _LINE_START.sub(lambda m: m.group(1) + m.group(2)[:-1] + "\\" + m.group(2)[-1], text)
    text = re.sub(r"(?i)www\.", lambda m: m.group(0)[:3] + "\\.", text)
    return Safe(_html(text))


def pre(value: Any) -> Safe:
    """Escape ``value`` for inside ``<pre>…</pre>``: GFM passes an HTML block that starts
    with ``<pre`` through untouched up to the line holding ``</pre>``, so escaping
    ``<`` is what keeps text from ending it (or opening ``<script>``)."""
    return Safe(_html(_text(value, 4 * TEXT_LIMIT).replace("\r\n", "\n").replace("\r", "\n")))


def code(value: Any) -> Safe:
    """An inline code span (``<code>``, HTML-escaped, so no backtick run can close it)."""
    return Safe(f"<code>{md(value)}</code>")


def raw(value: Any) -> Safe:
    return Safe("" if value is None else str(value))


def _finalize(value: Any) -> Any:
    return md(value)


def _ms(value: Any) -> str:
    if value is None:
        return "–"
    ms = int(value)
    return f"{ms} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def environment(loader: jinja2.BaseLoader | None = None) -> jinja2.Environment:
    """The Jinja environment every summary template runs in (imported lazily: only runs
    that render a summary pay for Jinja2)."""
    import jinja2

    env = jinja2.Environment(
        loader=loader,
        autoescape=False,  # Markdown, not HTML: escaping is done by _finalize instead
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,  # a typo in a template is an error, not a blank
    )
    env.filters.update(md=md, pre=pre, code=code, raw=raw, ms=_ms)
    return env


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
        from smoke.reports.precompiled import builtin

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

"""The Markdown summary (GitHub's job summary, and ``--summary`` anywhere else).

Rendered from a Jinja2 template (``smoke/reports/summary/templates/summary.md.j2``, or the user's
``summary_template``), with escaping on by default: every ``{{ value }}`` passes
through :func:`md` unless a filter already made it safe. Text from outside (error
bodies, model answers, request ids) therefore cannot add Markdown, HTML, links or table
cells. In a user's template:

- ``{{ x }}``: inline Markdown text, escaped (the default);
- ``{{ x | pre }}``: text for inside ``<pre>…</pre>``, HTML-escaped, lines kept;
- ``{{ x | code }}``: an inline code span that no backtick can break;
- ``{{ x | raw }}``: no escaping (only for text the template itself controls);
- ``{{ x | cell }}``: like the default, with invisible break opportunities (``<wbr>``)
  inside long tokens, so that no table cell pushes the table past the page;
- ``{{ x | brief }}``: one line cut at a sentence or about 160 characters, with ``…``;
- ``{{ x | ms }}``: a duration in milliseconds for people (``17 ms``, ``1.2 s``).

The context is the JSON report (``report.json``, schema_version 3) plus:

- ``report``: the same report as one value;
- ``banner``: the heading; ``tally``: "7 checks passed, 1 skipped (1 of them
  configuration)", every check counted as in the JUnit file;
- ``lead``: the deciding check (check, outcome, category, http_status, cause, fix, owner,
  docs_url), or None for a run that passed;
- ``rows``: the table rows (outcome, check, category, http, time, details), deciding
  check first; ``passed``: the passes folded into ``<details>`` (empty when few);
- ``failures``: the failed checks in the table's order;
- ``incidents``: one per way of failing (check, checks, title, facts, lines: the facts
  as ``<pre>`` lines wrapped at 100 columns; reproduce: the curl command as ``<pre>``
  lines of at most 100 columns that still paste as the same command, or None);
- ``next_steps`` (category, checks, hint, owner, docs_url) and ``config_rows``;
- ``drift``: the comparison with ``--baseline`` (None without one); each check also
  has ``ttfb_ms``, ``total_ms`` and ``ttft_ms`` (None when not measured);
- ``compact``: true for the short form (a pull-request comment); ``run_url``: the link
  to the full summary, or None.

What goes where (order, folding, grouping) is decided in
:mod:`smoke.reports.summary.digest`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from smoke.errors import ReportError
from smoke.jsonvalue import child
from smoke.reports import json_report
from smoke.reports.summary import digest
from smoke.reports.summary import text as text_
from smoke.reports.summary.filters import (  # re-exported for templates' users
    Safe as Safe,
)
from smoke.reports.summary.filters import (
    cell as cell,
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

# GitHub keeps at most 1 MiB per step summary; leave room for other steps' summaries.
BUDGET = 512 * 1024
# A pull-request comment holds at most 65,536 characters; a byte budget is stricter.
COMPACT_BUDGET = 60_000
# A link to the full summary is only ever a plain http(s) URL: nothing that could end
# the Markdown link or add another.
_RUN_URL = re.compile(r"\Ahttps?://[A-Za-z0-9._~:/?#@!$&'*+,;=%-]+\Z")
TEMPLATE = "summary.md.j2"

_TEMPLATE_ERROR = (
    "summary template {path}: {problem}. Fix the template (the context is described in "
    "smoke/reports/summary/markdown.py), or remove summary_template to use the built-in summary"
)


def context(result: GateResult, compact: bool = False,
            run_url: str | None = None) -> dict[str, object]:
    """What a summary template sees (the built-in one and a user's alike)."""
    written = json_report.as_dict(result)
    report: dict[str, object] = {
        **written, "checks": [{**c, **latency(c)} for c in written["checks"]]}
    checks = digest.ordered(report)
    kept = [c for c in checks if digest.bookkeeping(c)]
    shown = [c for c in checks if not digest.bookkeeping(c)]
    passes = [c for c in shown if digest.status(c) == "pass"]
    folded = passes if len(passes) > digest.FOLD_OVER else []
    fold = {id(c) for c in folded}
    failures = [c for c in shown if c["outcome"] == "fail"]
    incidents = [_incident(incident) for incident in digest.incidents(report, failures)]
    return {
        **report,
        "report": report,
        "banner": _banner(report),
        "lead": digest.lead(report, shown),
        # Every check, as JUnit counts them (issue 21); the bookkeeping ones are named.
        "tally": digest.tally(checks) + (f" ({len(kept)} of them configuration)"
                                         if kept else ""),
        "rows": [digest.row(c) for c in shown if id(c) not in fold],
        "passed": [digest.row(c) for c in folded],
        "failures": failures,
        "incidents": incidents,
        "next_steps": digest.next_steps(failures),
        "config_rows": digest.config_rows(report, kept),
        "compact": compact,
        "run_url": run_url if run_url and _RUN_URL.fullmatch(run_url) else None,
    }


def _incident(incident: digest.Incident) -> dict[str, object]:
    """An incident as a template sees it: its facts also as ``<pre>`` lines, and the
    command as lines that still paste (``reproduce``, or None)."""
    return {"check": incident["check"], "checks": incident["checks"],
            "title": incident["title"], "facts": incident["facts"],
            "lines": text_.facts(incident["facts"]),
            "reproduce": text_.command_lines(incident["command"])}


def latency(check: Mapping[str, object]) -> dict[str, int | None]:
    """``ttfb_ms``, ``total_ms`` and (streaming) ``ttft_ms``, the time to the first content
    token, as the check recorded them (``details.wire``, ``details.stream``)."""
    details = child(check, "details") or {}
    timing = {**(child(details, "wire") or {}), **(child(details, "stream") or {})}

    def whole(value: object) -> int | None:
        return int(value) if isinstance(value, int | float) else None

    return {"ttfb_ms": whole(timing.get("ttfb_ms")), "total_ms": whole(timing.get("total_ms")),
            "ttft_ms": whole(timing.get("first_token_ms"))}



def _banner(report: Mapping[str, object]) -> str:
    where = f" on {report['environment']}" if report["environment"] else ""
    if report["verdict"] == "pass":
        return f"✅ chat-smoke passed{where}"
    if report["verdict"] == "cancelled":
        return f"⏹️ chat-smoke was cancelled{where} (exit {report['exit_code']})"
    category = report["category"] or "internal error"
    return f"❌ chat-smoke failed{where}: {category} (exit {report['exit_code']})"


def render(result: GateResult, template: str | None = None, *, compact: bool = False,
           run_url: str | None = None, budget: float | None = None) -> str:
    """The summary for ``result``, always under :data:`BUDGET` bytes of UTF-8. With
    ``compact``, the short form under :data:`COMPACT_BUDGET` for a pull-request comment:
    verdict, the deciding check, the table, what to do next and a link to ``run_url``
    (no incident blocks, no configuration). A user's ``template`` runs sandboxed, within
    ``budget`` seconds (:mod:`smoke.reports.summary.sandbox`); any failure of it is a
    :class:`ReportError` naming the template and the line."""
    import jinja2

    if template is not None:
        text = _user(result, template, compact, run_url, budget)
    else:
        from smoke.reports.summary.precompiled import builtin

        try:
            text = builtin(environment()).render(context(result, compact, run_url))
        except jinja2.TemplateError as exc:  # pragma: no cover - the built-in template
            raise ReportError(_TEMPLATE_ERROR.format(
                path=TEMPLATE, problem=f"{type(exc).__name__}: {exc}")) from None
    return cap(text, COMPACT_BUDGET if compact else BUDGET)


_STOPPED = (
    "> The summary template {path} was stopped by a signal; this is the built-in "
    "summary.\n\n"
)


def _user(result: GateResult, template: str, compact: bool, run_url: str | None,
          budget: float | None) -> str:
    import jinja2

    from smoke import cancel
    from smoke.reports.summary import sandbox

    path = Path(template)
    try:
        source = path.read_text("utf-8")
    except OSError as exc:
        raise ReportError(_TEMPLATE_ERROR.format(
            path=path, problem=f"cannot be read ({exc.strerror})")) from None
    except UnicodeDecodeError:
        raise ReportError(_TEMPLATE_ERROR.format(path=path, problem="not UTF-8 text")) from None
    known = _FAILED.get((str(path), source))
    if known is not None:  # the same template failed a moment ago (the job summary
        raise ReportError(known)  # renders it again): no second wait for its budget
    seconds = sandbox.BUDGET_S if budget is None else budget
    seconds = max(sandbox.MIN_BUDGET_S, min(sandbox.BUDGET_S, seconds))
    loader = jinja2.FileSystemLoader(str(path.parent))
    env = sandbox.environment(lambda cls: environment(loader, cls), seconds,
                              cancel.requested)
    try:
        return sandbox.render(env, source, context(result, compact, run_url))
    except sandbox.TemplateFailure as exc:
        if exc.stopped_by_signal:  # the run is ending: the evidence that can exist
            return _STOPPED.format(path=md(str(path))) + render(
                result, None, compact=compact, run_url=run_url)
        message = _TEMPLATE_ERROR.format(path=path, problem=str(exc))
        _FAILED[(str(path), source)] = message
        raise ReportError(message) from None


# Templates that failed in this process, by (path, source): at most a few per run.
_FAILED: dict[tuple[str, str], str] = {}


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
    kept += "\n</details>\n" * (kept.count("<details>") - kept.count("</details>"))
    return kept + note

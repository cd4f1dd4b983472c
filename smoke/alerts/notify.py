"""Notifications on state changes (setting ``notify: {webhook: URL, format: …}``).

A post goes out only when the state changes against ``previous_report``: pass to fail,
fail to pass, or a failure whose category or owner changed. Without a previous report a
failure notifies and a pass does not; a cancelled run decided nothing and never does.

Formats, each the receiver's own incoming-webhook format:

- ``slack``: ``text`` (the fallback a notification shows) and Block Kit ``blocks``
  (header, section, fields, context), mrkdwn escaped (``&``, ``<``, ``>``);
- ``teams``: a ``message`` with one attachment of content type
  ``application/vnd.microsoft.card.adaptive`` holding an Adaptive Card (``type``,
  ``version``, ``body``), as Teams' incoming webhooks and Workflows take it;
- ``json``: the report's verdict block (report.json without checks and configuration),
  with ``change`` and ``run_url``.

The URL may hold ``${VAR}`` (read from the environment: keep the secret there); the
expanded URL and its path are registered for redaction and never printed, not even in an
error. Problems are warnings, bounded in time, never the exit code. Monitors on
Prometheus use Alertmanager for this instead (docs/owners.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from smoke import bounded
from smoke._version import __version__
from smoke.output import redact
from smoke.reports import json_report
from smoke.reports.summary import text as text_
from smoke.results import GateResult

BUDGET_S = 5.0
TITLE = "chat-smoke: notify"
ADAPTIVE = "application/vnd.microsoft.card.adaptive"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# The report's verdict block: every top-level field but the per-check and config detail.
_LEFT_OUT = ("checks", "config", "drift", "warnings")
_CANNOT = "chat-smoke could not notify the {format} webhook ({problem}). The gate's result " \
          "is unchanged. See https://github.com/chat-smoke/chat-smoke/blob/main/docs/" \
          "owners.md#notifications-on-state-changes"


def change(result: GateResult) -> str | None:
    """``failing``, ``recovered``, ``changed`` (category or owner) or None (no change)."""
    if result.verdict not in ("pass", "fail"):
        return None
    before = result.previous if result.previous is not None and \
        result.previous.get("verdict") in ("pass", "fail") else None
    if before is None:
        return "failing" if result.verdict == "fail" else None
    if before["verdict"] != result.verdict:
        return "failing" if result.verdict == "fail" else "recovered"
    if result.verdict == "pass":
        return None
    category = result.category.value if result.category else None
    owner = result.owner.team if result.owner else None
    was = before.get("owner")
    was_team = was.get("team") if isinstance(was, dict) else None
    if before.get("category") != category or (was_team is not None and was_team != owner):
        return "changed"
    return None


def expand(url: str, env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The URL with ``${VAR}`` read from ``env``, or None and why not."""
    missing = [name for name in _VAR.findall(url) if not env.get(name, "").strip()]
    if missing:
        return None, f"notify.webhook names ${{{missing[0]}}}, which is not set"
    expanded = _VAR.sub(lambda m: env[m.group(1)].strip(), url)
    if urlsplit(expanded).scheme not in ("http", "https") or not urlsplit(expanded).hostname:
        return None, "notify.webhook is not an http(s) URL"
    return expanded, None


def _headline(result: GateResult, what: str) -> str:
    env = result.environment or "default"
    if what == "recovered":
        return f"✅ chat-smoke recovered on {env}"
    category = result.category.value if result.category else "internal error"
    prefix = "⚠️ chat-smoke failure changed" if what == "changed" else "❌ chat-smoke failed"
    return f"{prefix} on {env}: {category} (exit {result.exit_code})"


def _facts(result: GateResult, run_url: str | None) -> list[tuple[str, str]]:
    owner = result.owner
    deciding = result.deciding
    facts = [("Environment", result.environment or "-"),
             ("Verdict", f"{result.verdict} (exit {result.exit_code})"),
             ("Category", result.category.value if result.category else "-"),
             ("Owner", owner.label if owner else "-"),
             ("Endpoint", f"{result.endpoint.get('host') or '-'} "
                          f"{result.endpoint.get('path') or ''}".strip()),
             ("Deployment", result.deployment_sha or "-")]
    if deciding is not None:
        facts.insert(3, ("Check", deciding.id))
        facts.append(("Cause", text_.brief(deciding.message or "-", 300)))
    if owner is not None and owner.runbook:
        facts.append(("Runbook", owner.runbook))
    if run_url:
        facts.append(("Run", run_url))
    return [(name, text_.clean(value, 500)) for name, value in facts]


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack(result: GateResult, what: str, run_url: str | None) -> dict[str, object]:
    headline = _headline(result, what)
    fields = [{"type": "mrkdwn", "text": f"*{name}*\n{_slack_escape(value)}"[:2000]}
              for name, value in _facts(result, run_url) if name not in ("Cause", "Run")][:10]
    blocks: list[dict[str, object]] = [
        {"type": "header", "text": {"type": "plain_text", "text": headline[:150],
                                    "emoji": True}},
        {"type": "section", "fields": fields},
    ]
    deciding = result.deciding
    if deciding is not None and deciding.message:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _slack_escape(
            text_.brief(text_.clean(deciding.message), 2000))}})
    context = f"chat-smoke {__version__}"
    if run_url:
        context = f"<{_slack_escape(run_url)}|The run> · {context}"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    return {"text": _slack_escape(headline), "blocks": blocks}


def _card_text(text: str) -> str:
    """Adaptive Card TextBlocks read a little Markdown: escape what would become a link
    or emphasis, so outside text stays text."""
    return re.sub(r"([\\\[\]*_`])", r"\\\1", text)


def teams(result: GateResult, what: str, run_url: str | None) -> dict[str, object]:
    facts = _facts(result, run_url)
    card: dict[str, object] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {"type": "TextBlock", "text": _card_text(_headline(result, what)), "size": "Medium",
             "weight": "Bolder", "wrap": True},
            {"type": "FactSet", "facts": [{"title": name, "value": _card_text(value)}
                                          for name, value in facts if name != "Run"]},
        ],
    }
    if run_url:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open the run", "url": run_url}]
    return {"type": "message", "attachments": [
        {"contentType": ADAPTIVE, "contentUrl": None, "content": card}]}


def verdict_block(result: GateResult, what: str, run_url: str | None) -> dict[str, object]:
    report = json_report.as_dict(result)
    block = {k: v for k, v in report.items() if k not in _LEFT_OUT}
    block.update(change=what, run_url=run_url)
    found: dict[str, object] = json_report.finite(block)
    return found


PAYLOADS: dict[str, Callable[[GateResult, str, str | None], dict[str, object]]] = {
    "slack": slack, "teams": teams, "json": verdict_block}


def publish(result: GateResult, notify: Mapping[str, str], env: Mapping[str, str],
            run_url: str | None, warn: Callable[[str], None], say: Callable[[str], None],
            seconds: float = BUDGET_S) -> str | None:
    """Post when the state changed; return the change posted, or None. Never raises."""
    fmt = str(notify.get("format") or "json")
    what = change(result)
    if what is None or not notify.get("webhook"):
        return None
    url, problem = expand(str(notify["webhook"]), env)
    if url is None:
        warn(_CANNOT.format(format=fmt, problem=problem))
        return None
    redact.register(url)  # a webhook URL is a credential: never shown
    redact.register(urlsplit(url).path if len(urlsplit(url).path) > 8 else None)
    body = PAYLOADS[fmt](result, what, run_url)

    def post(budget: bounded.Budget) -> int:
        response = budget.session().post(url, json=body, timeout=budget.timeout(5.0),
                                         headers={"User-Agent": "chat-smoke"})
        return response.status_code

    try:
        status = bounded.call(post, seconds, "the notification")
    except bounded.BudgetExceeded as exc:
        warn(_CANNOT.format(format=fmt, problem=str(exc)))
        return None
    except Exception as exc:  # the message could quote the URL: only the type is shown
        warn(_CANNOT.format(format=fmt, problem=type(exc).__name__))
        return None
    if status >= 300:
        warn(_CANNOT.format(format=fmt, problem=f"HTTP {status}"))
        return None
    say(f"chat-smoke: notified the {fmt} webhook ({what})")
    return what

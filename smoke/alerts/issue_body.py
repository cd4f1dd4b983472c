"""The incident issue's title, body and comments, and the state the body carries.

The body starts with two HTML comments GitHub and GitLab do not render: the dedup key's
marker (``<!-- chat-smoke:incident prod/team:platform -->``), found again by later runs,
and the state (``<!-- chat-smoke:state {...} -->``: first seen, last seen, failed runs,
categories and models), so a later run knows what changed. The rest is Markdown built
from the run's report, every outside value escaped as in the summary (smoke.reports.
summary.filters), under GitHub's 65,536-character limit for a body or a comment.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime

from smoke.owners import Owner
from smoke.reports import json_report
from smoke.reports.summary import digest
from smoke.reports.summary import text as text_
from smoke.reports.summary.filters import cell, code, link, md, pre
from smoke.reports.summary.markdown import cap
from smoke.results import Check, GateResult

BODY_LIMIT = 65_536  # characters: GitHub's limit for an issue body or a comment
_BUDGET = 60_000  # bytes of UTF-8 (never fewer than characters), well under the limit
_MARKER = "<!-- chat-smoke:incident {key} -->"
_STATE = re.compile(r"<!-- chat-smoke:state (\{.*?\}) -->")


def marker(key: str) -> str:
    return _MARKER.format(key=key)


def env_prefix(env_part: str) -> str:
    """What every marker of an environment starts with (``streak.env_part``)."""
    return _MARKER.format(key=env_part + "/").removesuffix(" -->")


def key_in(body: str) -> str | None:
    found = re.search(r"<!-- chat-smoke:incident ([a-z0-9._/:-]+) -->", body or "")
    return found.group(1) if found else None


@dataclass
class State:
    """What the issue body remembers between runs."""

    first_seen: str
    last_seen: str
    failed_runs: int = 1
    categories: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)

    def dump(self) -> str:
        text = json.dumps(self.__dict__, ensure_ascii=True, separators=(",", ":"))
        # No "-->" (or "<"/">") inside the HTML comment, whatever a model id holds.
        return text.replace("<", "\\u003c").replace(">", "\\u003e")

    @classmethod
    def parse(cls, body: str) -> State | None:
        found = _STATE.search(body or "")
        if not found:
            return None
        try:
            data = json.loads(found.group(1))
            return cls(first_seen=str(data["first_seen"]), last_seen=str(data["last_seen"]),
                       failed_runs=max(1, int(data.get("failed_runs") or 1)),
                       categories=[str(c) for c in data.get("categories") or []],
                       models=[str(m) for m in data.get("models") or []])
        except (ValueError, KeyError, TypeError):
            return None


def facts_of(checks: list[Check]) -> tuple[list[str], list[str]]:
    """The failing categories and models of a key's checks, in order, each once."""
    categories = list(dict.fromkeys(c.category.value for c in checks if c.category))
    models = list(dict.fromkeys(c.model for c in checks if c.model))
    return categories, models


def who(key: str, owner: Owner) -> str:
    """The key's owner as a title names it: the team, or the category group."""
    return owner.team if owner.source == "owners" else key.split("group:", 1)[-1]


def title(key: str, owner: Owner, environment: str) -> str:
    """No date: one issue per key, reopened rather than duplicated."""
    name = who(key, owner)
    kind = "" if owner.source == "owners" else " failures"
    return text_.one_line(f"chat-smoke: {name}{kind} on {environment or 'default'}")[:250]


def body(result: GateResult, key: str, checks: list[Check], owner: Owner, state: State,
         consecutive: int, run_url: str | None) -> str:
    """The whole issue body: markers, the facts, the failing checks, the incident block."""
    report = json_report.as_dict(result)
    ids = {c.id for c in checks}
    failed = [c for c in report["checks"] if c["id"] in ids]
    lines = [marker(key), f"<!-- chat-smoke:state {state.dump()} -->", "",
             f"## ❌ {md(title(key, owner, result.environment))}", ""]
    owner_line = f"**Owner:** {md(owner.team)}"
    if owner.mention:  # a real mention: the issue is how the team hears of it
        owner_line += " " + owner.mention
    if owner.runbook:
        owner_line += f" · [Runbook]({link(owner.runbook)})"
    lines += [owner_line, "", f"| Incident key | {code(key)} |", "|---|---|",
              f"| First seen | {md(state.first_seen)} |",
              f"| Last seen | {md(state.last_seen)} |",
              f"| Consecutive failed runs | {consecutive} |",
              f"| Failed runs while open | {state.failed_runs} |",
              f"| Categories | {cell(', '.join(state.categories) or '-')} |",
              f"| Models | {cell(', '.join(state.models) or '-')} |",
              f"| Environment | {md(result.environment or '-')} |",
              f"| Deployment | {md(result.deployment_sha or '-')} |"]
    if run_url:
        lines.append(f"| Last failed run | [{md(run_url)}]({link(run_url)}) |")
    lines += ["", "### Failing checks", "", "| Check | Category | HTTP | Details |",
              "|---|---|---|---|"]
    for check in failed:
        status = check["http_status"] if check["http_status"] is not None else "–"
        lines.append(f"| {cell(check['id'])} | {md(check['category'])} | {status} | "
                     f"{cell(text_.brief(check['message'] or '-'))} |")
    for incident in digest.incidents(report, failed):
        lines += ["", f"### Incident: {cell(incident['title'])}", "", "<pre>"]
        lines += [str(pre(line)) for line in text_.facts(incident["facts"])]
        lines += ["</pre>"]
    lines += ["", "_Opened and kept up to date by chat-smoke: updated on every failed run, "
              "closed when a run passes again._", ""]
    return cap("\n".join(lines), _BUDGET)


def changed(before: State, categories: list[str], models: list[str]) -> str | None:
    """A comment when the state changed (a new category or new failing models), else None:
    never one comment per run."""
    new_categories = [c for c in categories if c not in before.categories]
    new_models = [m for m in models if m not in before.models]
    if not new_categories and not new_models:
        return None
    parts = []
    if new_categories:
        parts.append("new categor" + ("ies " if len(new_categories) > 1 else "y ")
                     + ", ".join(str(code(c)) for c in new_categories))
    if new_models:
        parts.append("new failing model" + ("s " if len(new_models) > 1 else " ")
                     + ", ".join(str(code(m)) for m in new_models[:50]))
    return cap("**Changed:** " + "; ".join(parts) + ".", _BUDGET)


def reopened(closed_at: datetime | None, run_url: str | None) -> str:
    when = closed_at.isoformat(timespec="seconds") if closed_at else "recently"
    return (f"**Failing again**, after it was closed at {md(when)}. The counters start "
            f"over." + _run(run_url))


def recovered(state: State | None, now: datetime, run_url: str | None) -> str:
    """The closing comment: how long it lasted and how many runs failed."""
    lasted, runs = "an unknown time", "?"
    if state is not None:
        runs = str(state.failed_runs)
        try:
            since = datetime.fromisoformat(state.first_seen.replace("Z", "+00:00"))
            lasted = duration((now - since).total_seconds())
        except ValueError:
            pass
    return (f"**Recovered** at {md(stamp(now))}: it lasted {lasted} over {runs} failed "
            f"run{'s' if runs != '1' else ''}. Closing." + _run(run_url))


def duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "",
             f"{minutes} min" if minutes else "", f"{secs} s" if secs and not days else ""]
    return " ".join(p for p in parts if p) or "0 s"


def stamp(now: datetime) -> str:
    return now.isoformat(timespec="seconds").replace("+00:00", "Z")


def run_link(run_url: str | None) -> str:
    return f" [The run]({link(run_url)})." if run_url else ""


_run = run_link

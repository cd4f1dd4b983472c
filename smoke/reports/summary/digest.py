"""What the summary says, in what order: the deciding check first, then the table rows
(failures by verdict precedence, then warnings, skips and passes), the passes folded,
bookkeeping checks moved to the configuration block, identical failures grouped into
one incident. Plain data from the JSON report; the template escapes it.

A report and its checks are read as ``Mapping[str, object]`` and narrowed with
:mod:`smoke.jsonvalue`: the run's own report (``json_report.as_dict``), and a check's
``details`` as the check wrote them."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TypedDict

from smoke.categories import CANCELLED_HINT, DOCS_URL, EXIT_PRECEDENCE, INTERNAL_HINT, Category
from smoke.jsonvalue import JSONObject, child, integer, items, objects, text
from smoke.output.textsafe import shown
from smoke.reports.summary.text import ms

# Checks that record what the run set up, not a finding about the endpoint: when they
# pass they live in the configuration block, not in the table.
BOOKKEEPING = frozenset({"preflight:config", "spend:budget"})
FOLD_OVER = 3  # more passed checks than this fold into a <details>
# A no-break space keeps the mark with its word in a narrow column.
OUTCOMES = {"pass": "✅\u00a0pass", "warn": "⚠️\u00a0pass", "fail": "❌\u00a0fail",
            "skip": "⏭️\u00a0skip", "cancelled": "⏹️\u00a0cancelled"}
CANCELLED_FIX = CANCELLED_HINT


# Failures rank by exit code as the verdict does (2, 3, 4, 6, 5); a cancelled check goes
# before the transient group 5, as in the merged verdict of matrix legs (issue 15).
_CANCELLED = -1
_FAILURE_ORDER = [*EXIT_PRECEDENCE]
_FAILURE_ORDER.insert(_FAILURE_ORDER.index(5), _CANCELLED)
_WARN, _SKIP, _PASS = range(len(_FAILURE_ORDER) + 2, len(_FAILURE_ORDER) + 5)

# A report, or one of its checks: read-only, each value narrowed where it is used.
Doc = Mapping[str, object]
# What the summary shows of a thing: values of any JSON type, the template escapes them.
Fact = tuple[str, object]


class Incident(TypedDict):
    """One way of failing (:func:`incidents`): the facts a ticket needs."""

    check: str
    checks: list[str]
    title: str
    facts: list[Fact]
    command: str | None


def rank(check: Doc, cancelled_run: bool) -> int:
    """Where a check's row goes: failures by the exit code precedence (2, 3, 4, 6, then
    cancelled, then 5, then a failure without a category), then passes with warnings,
    skips and passes. In a cancelled run the cancelled checks lead."""
    outcome = check["outcome"]
    if outcome == "cancelled":
        return 0 if cancelled_run else 1 + _FAILURE_ORDER.index(_CANCELLED)
    if outcome == "fail":
        category = text(check, "category")
        code = Category(category).exit_code if category else None
        return 1 + (_FAILURE_ORDER.index(code) if code in _FAILURE_ORDER
                    else len(_FAILURE_ORDER))
    if outcome == "pass":
        return _WARN if check["warnings"] else _PASS
    return _SKIP  # skip, or an outcome this version does not know


def ordered(report: Doc) -> list[JSONObject]:
    """Every check, in the order the summary shows them (plan order within a rank)."""
    cancelled_run = report["verdict"] == "cancelled"
    return sorted(objects(report, "checks"), key=lambda c: rank(c, cancelled_run))


def bookkeeping(check: Doc) -> bool:
    return check["id"] in BOOKKEEPING and check["outcome"] in ("pass", "skip")


def status(check: Doc) -> str:
    if check["outcome"] == "pass" and check["warnings"]:
        return "warn"
    return str(check["outcome"])


def lead(report: Doc, checks: Sequence[Doc]) -> dict[str, object] | None:
    """The deciding check and what to do about it, or None for a run that passed."""
    first = checks[0] if checks else None
    if first is None or first["outcome"] not in ("fail", "cancelled"):
        return None
    category = text(first, "category")
    fix: str
    owner: str | None
    docs: str | None
    mention = runbook = None
    if first["outcome"] == "cancelled":
        fix, owner, docs = CANCELLED_FIX, None, None
    elif category:
        spec = Category(category)
        fix, docs = text(first, "hint") or spec.hint, spec.docs_url
        owner, mention, runbook = owner_of(first)
    else:
        fix, owner, docs = INTERNAL_HINT, "the chat-smoke maintainers", DOCS_URL
    return {"check": first["id"], "outcome": first["outcome"],
            "category": category or ("cancelled" if first["outcome"] == "cancelled"
                                     else "internal error"),
            "http_status": first["http_status"], "cause": first["message"] or "-",
            "fix": fix, "owner": owner, "mention": mention, "runbook": runbook,
            "docs_url": docs}


def owner_of(check: Doc) -> tuple[str, str | None, str | None]:
    """A failed check's owner: (team, mention, runbook URL), from the report's ``owner``
    (the owners map), else the category's role name (an older report, or one written
    without the map). The template shows the mention as code: GitHub turns even an escaped
    ``\\@team`` into a notification, and only the PR comment's owners line may notify."""
    owner = child(check, "owner") or {}
    team = text(owner, "team")
    if team is not None:
        return team, text(owner, "mention") or None, text(owner, "runbook") or None
    category = text(check, "category")
    return (Category(category).owner if category else "the chat-smoke maintainers"), None, None


def timing(check: Doc) -> str:
    """``TTFB / total``, and the first token of a stream."""
    details = child(check, "details") or {}
    wire = child(details, "stream") or child(details, "wire") or {}
    ttfb = wire.get("ttfb_ms")
    if ttfb is None and not check["duration_ms"]:
        return "–"
    line = f"{ms(ttfb)} / {ms(check['duration_ms'])}"
    first_token = wire.get("first_token_ms")
    return line + (f", first\u00a0token {ms(first_token)}" if first_token is not None else "")


def row(check: Doc) -> dict[str, object]:
    message = check["message"]
    warnings = items(check, "warnings")
    if check["outcome"] == "pass" and warnings:
        message = warnings[0]
    return {"outcome": OUTCOMES.get(status(check), check["outcome"]), "check": check["id"],
            "category": check["category"] or "–",
            "http": check["http_status"] if check["http_status"] is not None else "–",
            "time": timing(check), "details": message or "–"}


_TALLY_WORDS = {"pass": "passed", "warn": "passed with warnings", "fail": "failed",
                "skip": "skipped", "cancelled": "cancelled"}


def tally(checks: Sequence[Doc]) -> str:
    """``6 checks passed, 1 skipped``: how the shown checks ended, largest group first."""
    counts: dict[str, int] = {}
    for check in checks:
        word = _TALLY_WORDS.get(status(check), str(check["outcome"]))
        counts[word] = counts.get(word, 0) + 1
    if not counts:
        return "no checks ran"
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    (word, n), rest = ranked[0], ranked[1:]
    return ", ".join([f"{n} check{'' if n == 1 else 's'} {word}",
                      *(f"{m} {other}" for other, m in rest)])


def _shape(message: str, models: re.Pattern[str] | None) -> str:
    return models.sub("<model>", message) if models else message


def _path(report: Doc, check: Doc) -> str:
    path = text(child(report, "endpoint") or {}, "path") or ""
    if str(check["id"]).startswith("models:"):
        return path + "/models"
    if check["kind"] != "preflight":
        return path + "/chat/completions"
    return path


def incidents(report: Doc, failures: Sequence[Doc]) -> list[Incident]:
    """One incident per way of failing: checks with the same category, HTTP status,
    endpoint path and message (model ids removed) share one block."""
    ids = sorted({m for c in objects(report, "checks") if (m := text(c, "model"))}, key=len,
                 reverse=True)
    models = re.compile("|".join(map(re.escape, ids))) if ids else None
    groups: dict[tuple[object, ...], list[Doc]] = {}
    for check in failures:
        key = (check["category"], check["http_status"], _path(report, check),
               _shape(text(check, "message") or "", models))
        groups.setdefault(key, []).append(check)
    return [_incident(report, group) for group in groups.values()]


def _spread(values: list[int], unit: str = "") -> str:
    distinct = sorted(set(values))
    if len(distinct) == 1:
        return f"{distinct[0]}{unit}"
    return f"{distinct[0]}–{distinct[-1]}{unit}"


def _incident(report: Doc, group: list[Doc]) -> Incident:
    """The facts a ticket needs, in a fixed order; values are raw (the template escapes)."""
    first = group[0]
    endpoint = child(report, "endpoint") or {}
    many = len(group) > 1
    models = list(dict.fromkeys(m for c in group if (m := text(c, "model"))))
    ids = list(dict.fromkeys(i for c in group if (i := text(c, "request_id"))))
    category = text(first, "category") or "internal error"
    status = integer(first, "http_status")
    title = str(first["id"]) if not many else (
        f"{category}{f', HTTP {status}' if status is not None else ''} in {len(group)} checks")
    facts: list[Fact] = [
        ("timestamp", report["started_at"]),
        ("environment", report["environment"] or "-"),
        ("endpoint", f"{endpoint.get('host') or '-'} {_path(report, first) or '-'}"),
        ("models" if len(models) > 1 else "model", ", ".join(models) or "-"),
        ("checks" if many else "check", ", ".join(str(c["id"]) for c in group)),
        ("category", category),
        ("owner", _owner_fact(first)),
        ("http status", status if status is not None else "-"),
        ("error", first["message"] or "-"),
        ("attempts", _spread([integer(c, "attempts") or 0 for c in group])),
        ("duration", _spread([integer(c, "duration_ms") or 0 for c in group], " ms")),
        ("deployment sha", report["deployment_sha"] or "-"),
        ("request ids" if len(ids) > 1 else "request id", ", ".join(ids) or "-"),
        *_traced(report, group),
        ("chat-smoke", text(child(report, "tool") or {}, "version")),
    ]
    return {"check": str(first["id"]), "checks": [str(c["id"]) for c in group],
            "title": title, "facts": facts, "command": reproduce(first)}


def _owner_fact(check: Doc) -> str:
    """The owner's team, mention and runbook on one line (a <pre> block never notifies)."""
    team, mention, runbook = owner_of(check)
    return " ".join(part for part in (team, mention, runbook) if part)


def _traced(report: Doc, group: list[Doc]) -> list[Fact]:
    """Issue 13's facts: the client request ids, gateway ids, the prompt version, the
    answer's excerpt and the first check's curl reproduction (its shell comments become
    "export first" lines: no line of the summary may start with "#")."""
    first = group[0]
    clients = [str(c["client_request_id"]) for c in group if c.get("client_request_id")]
    # Names of at most 14 characters, like the others: the values stay aligned.
    gateway = [f"{name} {value}" for name, value in (child(first, "trace_ids") or {}).items()
               if value != first["request_id"]]
    facts: list[Fact] = [
        ("client req ids" if len(clients) > 1 else "client req id", ", ".join(clients) or "-"),
        *([("gateway ids", ", ".join(gateway))] if gateway else []),
        ("prompt version", report.get("prompt_version") or "-"),
    ]
    limits = ratelimits(first)
    if limits:
        facts.append(("rate limits", limits))
    if first.get("output_excerpt"):
        facts.append(("output", first["output_excerpt"]))
    lines = (text(first, "reproduce") or "").splitlines()
    facts += [("export first", line.lstrip("# ")) for line in lines if line.startswith("#")]
    if any(not line.startswith("#") for line in lines):
        # The command itself is not a fact: wrapped with the others it would no longer
        # paste (issue 21). It gets a block of its own (reproduce()).
        facts.append(("reproduce", "the curl command below"))
    return facts


def ratelimits(check: Doc) -> str | None:
    """``requests 25/500 left, reset 6m0s; tokens ...; retry after 1 s``, from the rate-limit
    headers of the check's last answer (issue 22), or None when it carried none."""
    limits = child(child(check, "details") or {}, "ratelimit") or {}
    parts = []
    for resource, entry in limits.items():
        if not isinstance(entry, dict):
            continue
        left = f"{entry.get('remaining', '?')}/{entry.get('limit', '?')} left"
        reset = f", reset {entry['reset']}" if entry.get("reset") else ""
        parts.append(f"{resource} {left}{reset}")
    wait = limits.get("retry_after_s")
    if isinstance(wait, int | float):
        parts.append(f"retry after {wait:g} s")
    return "; ".join(parts) or None


def reproduce(check: Doc) -> str | None:
    """The check's curl command without its comment lines (they are "export first"
    facts), or None when there is none."""
    lines = (text(check, "reproduce") or "").splitlines()
    command = [line for line in lines if not line.startswith("#")]
    return "\n".join(command) if command else None


def next_steps(failures: Sequence[Doc]) -> list[dict[str, str | None]]:
    """One step per failing category, in the order the table shows them."""
    seen: dict[str, dict[str, str | None]] = {}
    for check in failures:
        category = text(check, "category") or "internal"
        if category not in seen:
            known = text(check, "category")
            seen[category] = {
                "category": category,
                "hint": text(check, "hint") or INTERNAL_HINT,
                "owner": owner_of(check)[0],
                "mention": owner_of(check)[1],
                "runbook": owner_of(check)[2],
                "docs_url": Category(known).docs_url if known else DOCS_URL,
                "checks": ", ".join(str(c["id"]) for c in failures
                                    if (text(c, "category") or "internal") == category),
            }
    return list(seen.values())


def config_rows(report: Doc, kept: Sequence[Doc]) -> list[Fact]:
    """The redacted configuration, then what the bookkeeping checks recorded."""
    config = child(report, "config") or {}
    rows: list[Fact] = [
        (k, shown(v)) for k, v in config.items() if v not in (None, "", [])]
    rows += [(f"{c['id']} ({c['outcome']})", c["message"] or "-") for c in kept]
    rows += [(f"rate limits ({c['id']})", limits) for c in objects(report, "checks")
             if (limits := ratelimits(c))]
    return rows

"""What the summary says, in what order: the deciding check first, then the table rows
(failures by verdict precedence, then warnings, skips and passes), the passes folded,
bookkeeping checks moved to the configuration block, identical failures grouped into
one incident. Plain data from the JSON report; the template escapes it."""

from __future__ import annotations

import re
from typing import Any

from smoke.categories import CANCELLED_HINT, DOCS_URL, EXIT_PRECEDENCE, INTERNAL_HINT, Category
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


def rank(check: dict[str, Any], cancelled_run: bool) -> int:
    """Where a check's row goes: failures by the exit code precedence (2, 3, 4, 6, then
    cancelled, then 5, then a failure without a category), then passes with warnings,
    skips and passes. In a cancelled run the cancelled checks lead."""
    outcome = check["outcome"]
    if outcome == "cancelled":
        return 0 if cancelled_run else 1 + _FAILURE_ORDER.index(_CANCELLED)
    if outcome == "fail":
        category = check["category"]
        code = Category(category).exit_code if category else None
        return 1 + (_FAILURE_ORDER.index(code) if code in _FAILURE_ORDER
                    else len(_FAILURE_ORDER))
    if outcome == "pass":
        return _WARN if check["warnings"] else _PASS
    return _SKIP  # skip, or an outcome this version does not know


def ordered(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Every check, in the order the summary shows them (plan order within a rank)."""
    cancelled_run = report["verdict"] == "cancelled"
    return sorted(report["checks"], key=lambda c: rank(c, cancelled_run))


def bookkeeping(check: dict[str, Any]) -> bool:
    return check["id"] in BOOKKEEPING and check["outcome"] in ("pass", "skip")


def status(check: dict[str, Any]) -> str:
    if check["outcome"] == "pass" and check["warnings"]:
        return "warn"
    return str(check["outcome"])


def lead(report: dict[str, Any], checks: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The deciding check and what to do about it, or None for a run that passed."""
    first = checks[0] if checks else None
    if first is None or first["outcome"] not in ("fail", "cancelled"):
        return None
    category = first["category"]
    mention = runbook = None
    if first["outcome"] == "cancelled":
        fix, owner, docs = CANCELLED_FIX, None, None
    elif category:
        spec = Category(category)
        fix, docs = first.get("hint") or spec.hint, spec.docs_url
        owner, mention, runbook = owner_of(first)
    else:
        fix, owner, docs = INTERNAL_HINT, "the chat-smoke maintainers", DOCS_URL
    return {"check": first["id"], "outcome": first["outcome"],
            "category": category or ("cancelled" if first["outcome"] == "cancelled"
                                     else "internal error"),
            "http_status": first["http_status"], "cause": first["message"] or "-",
            "fix": fix, "owner": owner, "mention": mention, "runbook": runbook,
            "docs_url": docs}


def owner_of(check: dict[str, Any]) -> tuple[str, str | None, str | None]:
    """A failed check's owner: (team, mention, runbook URL), from the report's ``owner``
    (the owners map), else the category's role name (an older report, or one written
    without the map). The template shows the mention as code: GitHub turns even an escaped
    ``\\@team`` into a notification, and only the PR comment's owners line may notify."""
    owner = check.get("owner")
    if isinstance(owner, dict) and isinstance(owner.get("team"), str):
        mention, runbook = owner.get("mention"), owner.get("runbook")
        return (owner["team"], mention if isinstance(mention, str) and mention else None,
                runbook if isinstance(runbook, str) and runbook else None)
    category = check.get("category")
    return (Category(category).owner if category else "the chat-smoke maintainers"), None, None


def timing(check: dict[str, Any]) -> str:
    """``TTFB / total``, and the first token of a stream."""
    details = check.get("details") or {}
    wire = details.get("stream") or details.get("wire") or {}
    ttfb = wire.get("ttfb_ms")
    if ttfb is None and not check["duration_ms"]:
        return "–"
    text = f"{ms(ttfb)} / {ms(check['duration_ms'])}"
    first_token = wire.get("first_token_ms")
    return text + (f", first\u00a0token {ms(first_token)}" if first_token is not None else "")


def row(check: dict[str, Any]) -> dict[str, Any]:
    message = check["message"]
    if check["outcome"] == "pass" and check["warnings"]:
        message = check["warnings"][0]
    return {"outcome": OUTCOMES.get(status(check), check["outcome"]), "check": check["id"],
            "category": check["category"] or "–",
            "http": check["http_status"] if check["http_status"] is not None else "–",
            "time": timing(check), "details": message or "–"}


_TALLY_WORDS = {"pass": "passed", "warn": "passed with warnings", "fail": "failed",
                "skip": "skipped", "cancelled": "cancelled"}


def tally(checks: list[dict[str, Any]]) -> str:
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


def _path(report: dict[str, Any], check: dict[str, Any]) -> str:
    path = (report["endpoint"] or {}).get("path") or ""
    if check["id"].startswith("models:"):
        return path + "/models"
    if check["kind"] != "preflight":
        return path + "/chat/completions"
    return path


def incidents(report: dict[str, Any], failures: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One incident per way of failing: checks with the same category, HTTP status,
    endpoint path and message (model ids removed) share one block."""
    ids = sorted({c["model"] for c in report["checks"] if c["model"]}, key=len, reverse=True)
    models = re.compile("|".join(map(re.escape, ids))) if ids else None
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for check in failures:
        key = (check["category"], check["http_status"], _path(report, check),
               _shape(check["message"] or "", models))
        groups.setdefault(key, []).append(check)
    return [_incident(report, group) for group in groups.values()]


def _spread(values: list[Any], unit: str = "") -> str:
    distinct = sorted(set(values))
    if len(distinct) == 1:
        return f"{distinct[0]}{unit}"
    return f"{distinct[0]}–{distinct[-1]}{unit}"


def _incident(report: dict[str, Any], group: list[dict[str, Any]]) -> dict[str, Any]:
    """The facts a ticket needs, in a fixed order; values are raw (the template escapes)."""
    first = group[0]
    endpoint = report["endpoint"] or {}
    many = len(group) > 1
    models = list(dict.fromkeys(c["model"] for c in group if c["model"]))
    ids = list(dict.fromkeys(c["request_id"] for c in group if c["request_id"]))
    category = first["category"] or "internal error"
    status = first["http_status"]
    title = first["id"] if not many else (
        f"{category}{f', HTTP {status}' if status is not None else ''} in {len(group)} checks")
    facts: list[tuple[str, Any]] = [
        ("timestamp", report["started_at"]),
        ("environment", report["environment"] or "-"),
        ("endpoint", f"{endpoint.get('host') or '-'} {_path(report, first) or '-'}"),
        ("models" if len(models) > 1 else "model", ", ".join(models) or "-"),
        ("checks" if many else "check", ", ".join(c["id"] for c in group)),
        ("category", category),
        ("owner", _owner_fact(first)),
        ("http status", status if status is not None else "-"),
        ("error", first["message"] or "-"),
        ("attempts", _spread([c["attempts"] for c in group])),
        ("duration", _spread([c["duration_ms"] for c in group], " ms")),
        ("deployment sha", report["deployment_sha"] or "-"),
        ("request ids" if len(ids) > 1 else "request id", ", ".join(ids) or "-"),
        *_traced(report, group),
        ("chat-smoke", report["tool"]["version"]),
    ]
    return {"check": first["id"], "checks": [c["id"] for c in group], "title": title,
            "facts": facts, "command": reproduce(first)}


def _owner_fact(check: dict[str, Any]) -> str:
    """The owner's team, mention and runbook on one line (a <pre> block never notifies)."""
    team, mention, runbook = owner_of(check)
    return " ".join(part for part in (team, mention, runbook) if part)


def _traced(report: dict[str, Any], group: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    """Issue 13's facts: the client request ids, gateway ids, the prompt version, the
    answer's excerpt and the first check's curl reproduction (its shell comments become
    "export first" lines: no line of the summary may start with "#")."""
    first = group[0]
    clients = [str(c["client_request_id"]) for c in group if c.get("client_request_id")]
    # Names of at most 14 characters, like the others: the values stay aligned.
    gateway = [f"{name} {value}" for name, value in (first.get("trace_ids") or {}).items()
               if value != first["request_id"]]
    facts: list[tuple[str, Any]] = [
        ("client req ids" if len(clients) > 1 else "client req id", ", ".join(clients) or "-"),
        *([("gateway ids", ", ".join(gateway))] if gateway else []),
        ("prompt version", report.get("prompt_version") or "-"),
    ]
    limits = ratelimits(first)
    if limits:
        facts.append(("rate limits", limits))
    if first.get("output_excerpt"):
        facts.append(("output", first["output_excerpt"]))
    lines = (first.get("reproduce") or "").splitlines()
    facts += [("export first", line.lstrip("# ")) for line in lines if line.startswith("#")]
    if any(not line.startswith("#") for line in lines):
        # The command itself is not a fact: wrapped with the others it would no longer
        # paste (issue 21). It gets a block of its own (reproduce()).
        facts.append(("reproduce", "the curl command below"))
    return facts


def ratelimits(check: dict[str, Any]) -> str | None:
    """``requests 25/500 left, reset 6m0s; tokens ...; retry after 1 s``, from the rate-limit
    headers of the check's last answer (issue 22), or None when it carried none."""
    limits = (check.get("details") or {}).get("ratelimit") or {}
    parts = []
    for resource, entry in limits.items():
        if not isinstance(entry, dict):
            continue
        left = f"{entry.get('remaining', '?')}/{entry.get('limit', '?')} left"
        reset = f", reset {entry['reset']}" if entry.get("reset") else ""
        parts.append(f"{resource} {left}{reset}")
    if isinstance(limits.get("retry_after_s"), int | float):
        parts.append(f"retry after {limits['retry_after_s']:g} s")
    return "; ".join(parts) or None


def reproduce(check: dict[str, Any]) -> str | None:
    """The check's curl command without its comment lines (they are "export first"
    facts), or None when there is none."""
    lines = (check.get("reproduce") or "").splitlines()
    command = [line for line in lines if not line.startswith("#")]
    return "\n".join(command) if command else None


def next_steps(failures: list[dict[str, Any]]) -> list[dict[str, str | None]]:
    """One step per failing category, in the order the table shows them."""
    seen: dict[str, dict[str, str | None]] = {}
    for check in failures:
        category = check["category"] or "internal"
        if category not in seen:
            known = check["category"]
            seen[category] = {
                "category": category,
                "hint": check["hint"] or INTERNAL_HINT,
                "owner": owner_of(check)[0],
                "mention": owner_of(check)[1],
                "runbook": owner_of(check)[2],
                "docs_url": Category(known).docs_url if known else DOCS_URL,
                "checks": ", ".join(c["id"] for c in failures
                                    if (c["category"] or "internal") == category),
            }
    return list(seen.values())


def config_rows(report: dict[str, Any], kept: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    """The redacted configuration, then what the bookkeeping checks recorded."""
    config = report["config"] or {}
    rows: list[tuple[str, Any]] = [
        (k, shown(v)) for k, v in config.items() if v not in (None, "", [])]
    rows += [(f"{c['id']} ({c['outcome']})", c["message"] or "-") for c in kept]
    rows += [(f"rate limits ({c['id']})", limits) for c in report["checks"]
             if (limits := ratelimits(c))]
    return rows

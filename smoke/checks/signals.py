"""What a check makes of the signals on every answer: the response contract, rate limits,
retirement (Deprecation, Sunset) and latency objectives.

All of it reads the :class:`Settings` the check runs with (a model's own, where it has
them), and records on the :class:`Check`: facts in ``details`` (``contract``,
``ratelimit``, ``retirement``, ``latency``), warnings in ``warnings``, and a failure only
where a setting asks for one (``contract: strict``, ``sunset_fail_days``, a latency
objective's ``fail`` bound).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from smoke.categories import Category
from smoke.config.objectives import LATENCY
from smoke.config.settings import Settings
from smoke.details import DeviationEntry, LatencyEntry
from smoke.http import signals
from smoke.output.textsafe import count
from smoke.results import Check, Step

if TYPE_CHECKING:  # the contract module is imported on the first answer, not at start-up
    from smoke.http.contract import Deviation

SHOWN = 3  # deviations named in the warning or the failure; report.json has them all

_CONTRACT = (
    "{n} from the Chat Completions response contract: {first}{more} "
    "(contract: {mode}; report.json lists each with its path and rule)"
)
_LOW = (
    "rate limit: {remaining:g} of {limit:g} {resource} left ({share:.0%}, under ratelimit_warn "
    "{warn:.0%}){reset}: the traffic sharing this key may soon be throttled"
)
_DEPRECATED = (
    "the endpoint marks {model} deprecated{since} (Deprecation header){sunset}: plan the "
    "move to its successor{link}"
)
_SUNSET = "; it is retired on {date} (Sunset header, {days})"
_SUNSET_ONLY = (
    "the endpoint retires {model} on {date} (Sunset header, {days}): plan the move to its "
    "successor{link}"
)
_SUNSET_FAIL = (
    "{model} is retired on {date} (Sunset header, {days}), closer than sunset_fail_days "
    "{limit}: move to another model, or lower sunset_fail_days to let this run pass"
)
_SLOW = (
    "{what} {value} ms is over the {bound} bound of its objective ({limit} ms, "
    "latency.{name}{where})"
)


class ContractLog:
    """The contract's findings over one check's answer or stream chunks (deduplicated:
    one entry per path and rule, with the first chunk that showed it and a count)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.checked = 0
        self.found: dict[tuple[str, str], DeviationEntry] = {}

    @property
    def on(self) -> bool:
        return self.mode != "off"

    def answer(self, data: object) -> None:
        if self.on:
            from smoke.http import contract  # loaded on the first answer

            self._add(contract.answer(data), None)

    def chunk(self, number: int, data: object) -> None:
        if self.on:
            from smoke.http import contract

            self._add(contract.chunk(data), number)

    def _add(self, deviations: list[Deviation], chunk: int | None) -> None:
        self.checked += 1
        for deviation in deviations:
            key = (deviation.path, deviation.rule)
            entry = self.found.get(key)
            if entry is None:
                entry = self.found[key] = {"path": deviation.path, "rule": deviation.rule,
                                           "found": deviation.found}
                if chunk is not None:
                    entry["chunk"], entry["chunks"] = chunk, 0
            if chunk is not None:
                entry["chunks"] = entry.get("chunks", 0) + 1

    def record(self, check: Check, decide: bool = True) -> bool:
        """Record on ``check``; False when ``strict`` failed it. ``decide=False``: only the
        facts, for a check that has failed already (an answer that could not be parsed)."""
        if not self.on or not self.checked:
            return True
        if not decide:
            check.details["contract"] = {"mode": self.mode, "checked": self.checked,
                                         "deviations": list(self.found.values())}
            return True
        found = list(self.found.values())
        check.details["contract"] = {"mode": self.mode, "checked": self.checked,
                                     "deviations": found}
        if not found:
            check.steps.append(Step("contract", "pass", f"{self.checked} checked"))
            return True
        named = "; ".join(_describe(entry) for entry in found[:SHOWN])
        more = f"; and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
        text = _CONTRACT.format(n=count(len(found), "deviation"), first=named, more=more,
                                mode=self.mode)
        if self.mode == "strict":
            check.steps.append(Step("contract", "fail", text))
            check.fail(Category.PROTOCOL, text)
            return False
        check.steps.append(Step("contract", "pass", text))
        check.warnings.append(f"contract: {text}")
        return True


def _describe(entry: DeviationEntry) -> str:
    where = f"chunk {entry['chunk']}: " if "chunk" in entry else ""
    return (f"{where}{entry.get('path') or '(the answer)'}: {entry.get('found')} "
            f"(rule: {entry.get('rule')})")


def observe(check: Check, headers: Mapping[str, str]) -> None:
    """Keep the rate limits and retirement notices of the latest answer (any status)."""
    limits = signals.ratelimit(headers)
    if limits is not None:
        check.details["ratelimit"] = limits
    notice = signals.retirement(headers)
    if notice is not None:
        check.details["retirement"] = notice


def warn(check: Check, settings: Settings) -> None:
    """Warnings for a rate limit running low and a model being retired (once a check's
    sending is over, whatever came of it)."""
    limits = check.details.get("ratelimit") or {}
    for resource, entry in limits.items():
        if isinstance(entry, float):  # retry_after_s
            continue
        share = signals.share_left(entry)
        if share is None or share >= settings.ratelimit_warn:
            continue
        reset = f", reset in {entry['reset']}" if entry.get("reset") else ""
        check.warnings.append(_LOW.format(
            remaining=entry.get("remaining"), limit=entry.get("limit"), share=share,
            resource=resource if resource != "any" else "units", warn=settings.ratelimit_warn,
            reset=reset))
    notice = check.details.get("retirement") or {}
    if not notice:
        return
    model = repr(check.model or "the model")
    links = notice.get("links") or {}
    link = f" (see {links.get('sunset') or links.get('deprecation')})" if links else ""
    sunset = ""
    if "sunset" in notice:
        sunset = _SUNSET.format(date=notice["sunset"][:10], days=_days(notice["sunset_days"]))
    if "deprecation" in notice:
        since = notice["deprecation"]
        if isinstance(since, str):  # RFC 9745 allows a date still to come
            future = since > _now_iso()
            since = f" {'from' if future else 'since'} {since[:10]}"
        else:
            since = ""
        check.warnings.append(_DEPRECATED.format(model=model, since=since, sunset=sunset,
                                                 link=link))
    elif sunset:
        check.warnings.append(_SUNSET_ONLY.format(
            model=model, date=notice["sunset"][:10], days=_days(notice["sunset_days"]),
            link=link))


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _days(days: float) -> str:
    if days < 0:
        return f"{count(round(-days), 'day')} ago"
    return f"in {count(round(days), 'day')}" if days >= 1 else "today"


def judge(check: Check, settings: Settings, measured: Mapping[str, object]) -> None:
    """After a parsed answer: ``sunset_fail_days``, then the latency objectives of the
    measures this check took (``ttfb_ms``, ``total_ms``, ``first_token_ms``). A failure
    here is only ever made on a check that has passed so far; on one that has failed
    already, a missed objective is a warning beside its own failure."""
    notice = check.details.get("retirement") or {}
    limit = settings.sunset_fail_days
    if limit is not None and "sunset_days" in notice and notice["sunset_days"] < limit:
        message = _SUNSET_FAIL.format(model=repr(check.model or "the model"),
                                      date=notice["sunset"][:10],
                                      days=_days(notice["sunset_days"]), limit=limit)
        check.steps.append(Step("sunset", "fail", message))
        if check.outcome != "fail":
            check.fail(Category.MODEL, message)
    _latency(check, settings, measured)


def _latency(check: Check, settings: Settings, measured: Mapping[str, object]) -> None:
    objectives = settings.latency
    if not objectives:
        return
    where = f" for {check.model}" if check.model else ""
    record: dict[str, LatencyEntry] = {}
    missed: list[tuple[str, str]] = []
    for name, bounds in objectives.items():
        value = measured.get(name)
        if not isinstance(value, int | float):
            continue
        verdict = "met"
        for bound in ("fail", "warn"):
            limit = bounds.get(bound)
            if limit is not None and value > limit:
                verdict = bound
                missed.append((bound, _SLOW.format(what=LATENCY[name], value=int(value),
                                                   bound=bound, limit=limit, name=name,
                                                   where=where)))
                break
        entry: LatencyEntry = {"value_ms": int(value)}
        for bound, limit in bounds.items():  # in the configuration's order
            if bound == "warn":
                entry["warn"] = limit
            elif bound == "fail":
                entry["fail"] = limit
        entry["verdict"] = verdict
        record[name] = entry
    check.details["latency"] = record
    failed = [text for bound, text in missed if bound == "fail"]
    check.warnings += [text for bound, text in missed if bound == "warn"]
    if not failed:
        if record:
            check.steps.append(Step("latency", "pass", ", ".join(
                f"{name} {entry.get('value_ms')} ms" for name, entry in record.items())))
        return
    message = "; ".join(failed)
    check.steps.append(Step("latency", "fail", message))
    if check.outcome == "fail":
        check.warnings.append(message)
        return
    check.fail(Category.TIMEOUT, message)
    check.objective = "latency"

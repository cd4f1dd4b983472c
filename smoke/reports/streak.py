"""Incident keys and the run-to-run state: ``consecutive_failures`` per key.

A failure's **key** is its environment plus its owner's team (from the owners map), or
its environment plus its category group when no rule of the map names an owner:
``prod/team:platform``, ``prod/group:credentials``. Incident issues are deduplicated by
it (one issue per key), and ``report.json`` counts, per key, how many runs in a row have
failed (``consecutive_failures``), so ``incident_after: N`` can wait for N.

The previous state is the last run's report.json, whatever its verdict
(``previous_report``), not the baseline (the last *good* run, for drift). It is read
once, before the run writes anything (the monitor examples restore it to its own path,
but a provisional report written over the same path must not lose it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

from smoke.categories import Category
from smoke.jsonvalue import JSONObject, as_object, child, items, text
from smoke.owners import Owner
from smoke.results import Check, GateResult

MAX_PREVIOUS_BYTES = 64 * 1024 * 1024  # a report of 10,000 checks is far below this
_SLUG = re.compile(r"[^a-z0-9._-]+")

_MISSING = ("previous_report {path}: no such file yet (the first run of a monitor): every "
            "failure counts as its first")
_UNUSABLE = ("previous_report {path}: {problem}; every failure counts as its first. Restore "
             "the last run's report.json there (actions/cache or an artifact)")


def slug(text: str) -> str:
    """``text`` as a key part: lower case, runs of other characters as ``-``."""
    return _SLUG.sub("-", text.lower()).strip("-") or "-"


def env_part(environment: str) -> str:
    """The environment's part of a key (what every key of the environment starts with)."""
    return slug(environment or "default")


def key_of(environment: str, owner: Owner, category: Category) -> str:
    """The dedup key of a failure (see the module's docstring)."""
    who = f"team:{slug(owner.team)}" if owner.source == "owners" else f"group:{category.group}"
    return f"{env_part(environment)}/{who}"


def failing(result: GateResult) -> dict[str, list[Check]]:
    """The keys that fail in ``result``, each with its failed checks (categorised ones:
    an internal error is a bug in chat-smoke, never an incident of the endpoint)."""
    found: dict[str, list[Check]] = {}
    for check in result.failures:
        owner = check.responsible
        if check.category is None or owner is None:
            continue
        found.setdefault(key_of(result.environment, owner, check.category), []).append(check)
    return found


class Previous:
    """The previous report as read: ``data`` (a dict with ``verdict`` and ``checks``), or
    None and why not: ``note`` (a first run has none) or ``warning`` (unusable; never an
    error: the gate's verdict does not depend on it)."""

    def __init__(self, path: str | None, cwd: Path | None = None) -> None:
        self.data: JSONObject | None = None
        self.note: str | None = None
        self.warning: str | None = None
        if not path:
            return
        try:
            self.data, self.warning = _load(path, cwd)
        except FileNotFoundError:
            self.note = _MISSING.format(path=path)


def _load(path: str, cwd: Path | None) -> tuple[JSONObject | None, str | None]:
    target = Path(path) if cwd is None else cwd / path
    if not target.exists():
        raise FileNotFoundError(path)
    try:
        if target.stat().st_size > MAX_PREVIOUS_BYTES:
            return None, _UNUSABLE.format(path=path, problem="larger than 64 MiB")
        data = as_object(json.loads(target.read_text("utf-8")))
    except OSError as exc:
        return None, _UNUSABLE.format(path=path, problem=f"cannot be read ({exc.strerror})")
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None, _UNUSABLE.format(path=path, problem="not a JSON report")
    if data is None or items(data, "checks") is None or text(data, "verdict") is None:
        return None, _UNUSABLE.format(path=path, problem="not a chat-smoke report")
    return data, None


def previous_counts(previous: Mapping[str, object] | None) -> dict[str, int]:
    """The previous run's ``consecutive_failures``; for a report written before it existed
    (schema_version 2), 1 for each key its failed checks map to."""
    if previous is None:
        return {}
    counts = child(previous, "consecutive_failures")
    if counts is not None:
        return {k: v for k, v in counts.items()
                if isinstance(v, int) and not isinstance(v, bool) and v > 0}
    found: dict[str, int] = {}
    for check in items(previous, "checks") or []:
        if not isinstance(check, dict) or check.get("outcome") != "fail":
            continue
        try:
            category = Category(str(check.get("category")))
        except ValueError:
            continue
        owner = Owner.from_dict(check.get("owner")) or Owner(category.owner)
        found[key_of(str(previous.get("environment") or ""), owner, category)] = 1
    return found


def count(result: GateResult, previous: Mapping[str, object] | None) -> dict[str, int]:
    """``consecutive_failures`` of ``result``: each failing key one more than in the
    previous run (1 without one); a key that passed is gone. A cancelled or provisional
    run decides nothing: it carries the previous counts on unchanged."""
    before = previous_counts(previous)
    if result.verdict in ("cancelled", "incomplete"):
        return before
    return {key: before.get(key, 0) + 1 for key in failing(result)}

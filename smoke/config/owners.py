"""The owners map (``owners:`` in chat-smoke.yml), parsed into :class:`smoke.owners.Rule`.

The schema checks the shape (a list of mappings with known keys); this module checks what
the schema cannot say: the required keys, the names a rule matches and the model glob."""

from __future__ import annotations

from urllib.parse import urlsplit

from smoke.errors import ConfigError
from smoke.owners import ANY, Owner, Rule, names

_FIX = ("a category, a group (config, credentials, endpoint, contract, transient, answer) "
        "or *; see docs/failures.md")


def parse(value: object, where: str) -> tuple[Rule, ...]:
    """The rules of ``value`` (already validated against the schema), in file order."""
    if not value:
        return ()
    if not isinstance(value, list):
        raise ConfigError(f"{where}: expected a list of rules (- match: auth, team: ...)")
    known = names()
    rules: list[Rule] = []
    for index, item in enumerate(value):
        at = f"{where}[{index}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{at}: expected a mapping (match: ..., team: ...)")
        for key in ("match", "team"):
            if not item.get(key):
                raise ConfigError(f"{at}: {key} is required (match: {_FIX}; team: a name)")
        match = item["match"]
        matched = (match,) if isinstance(match, str) else tuple(str(m) for m in match)
        for name in matched:
            if name not in known:
                raise ConfigError(f"{at}.match: {name!r} is not {_FIX}")
        runbook = item.get("runbook")
        if runbook and urlsplit(str(runbook)).scheme not in ("http", "https"):
            raise ConfigError(f"{at}.runbook: {runbook!r} is not an http(s) URL")
        model = item.get("model")
        owner = Owner(team=str(item["team"]), mention=item.get("mention") or None,
                      runbook=str(runbook) if runbook else None,
                      labels=tuple(item.get("labels") or ()),
                      assignees=tuple(item.get("assignees") or ()), source="owners")
        rules.append(Rule(match=matched, owner=owner, model=str(model) if model else None,
                          index=index, where=at))
    return tuple(rules)


__all__ = ["ANY", "parse"]

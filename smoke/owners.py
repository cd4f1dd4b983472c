"""Who owns a failure: the owners map of ``chat-smoke.yml`` and its resolution.

A rule maps a category, a category group (:data:`smoke.categories.GROUPS`) or ``*``, and
optionally a model glob, to an :class:`Owner`. For a failed check, the most specific
matching rule wins (a rule with a model glob before one without; then a category before
a group before ``*``), then the first in the file. Without a matching rule the owner is the
category's role name (:attr:`Category.owner`), as before the map existed.

The map is parsed and validated in :mod:`smoke.config.owners`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Literal, TypedDict

from smoke.categories import GROUPS, Category

ANY = "*"
Source = Literal["owners", "default"]


class OwnerDict(TypedDict):
    """An :class:`Owner` as report.json holds it (``Owner.to_dict``)."""

    team: str
    mention: str | None
    runbook: str | None
    labels: list[str]
    assignees: list[str]
    source: Source


@dataclass(frozen=True)
class Owner:
    """Who has to act on a failure, and how to reach them."""

    team: str
    mention: str | None = None
    runbook: str | None = None
    labels: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()
    source: Source = "default"  # "owners": from the owners map; "default": the role name

    def to_dict(self) -> OwnerDict:
        return {"team": self.team, "mention": self.mention, "runbook": self.runbook,
                "labels": list(self.labels), "assignees": list(self.assignees),
                "source": self.source}

    @classmethod
    def from_dict(cls, data: object) -> Owner | None:
        """The owner a report.json holds (``to_dict``), or None for anything else."""
        if not isinstance(data, dict) or not isinstance(data.get("team"), str):
            return None
        return cls(team=data["team"], mention=_text(data.get("mention")),
                   runbook=_text(data.get("runbook")),
                   labels=tuple(str(x) for x in data.get("labels") or () if isinstance(x, str)),
                   assignees=tuple(str(x) for x in data.get("assignees") or ()
                                   if isinstance(x, str)),
                   source="owners" if data.get("source") == "owners" else "default")

    @property
    def label(self) -> str:
        """The owner as one short text: the team and, when there is one, the mention."""
        return f"{self.team} ({self.mention})" if self.mention else self.team


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class Rule:
    """One entry of the owners map."""

    match: tuple[str, ...]  # category names, group names, or "*"
    owner: Owner
    model: str | None = None  # a glob (fnmatch, case-sensitive) on the check's model id
    index: int = 0  # its place in the file
    where: str = field(default="", compare=False)

    def rank(self, category: Category, model: str | None) -> tuple[int, int] | None:
        """How specifically this rule matches (higher wins), or None when it does not."""
        if self.model is not None and (model is None or not fnmatchcase(model, self.model)):
            return None
        level = -1
        for name in self.match:
            if name == category.value:
                level = max(level, 2)
            elif name == category.group:
                level = max(level, 1)
            elif name == ANY:
                level = max(level, 0)
        if level < 0:
            return None
        return (1 if self.model is not None else 0), level


def default(category: Category) -> Owner:
    """The owner without a map: the category's role name."""
    return Owner(team=category.owner)


def resolve(rules: tuple[Rule, ...], category: Category, model: str | None) -> Owner:
    """The owner of a failure of ``category`` on ``model`` (None: no model, e.g. config)."""
    best: tuple[tuple[int, int], int] | None = None
    found: Owner | None = None
    for rule in rules:
        rank = rule.rank(category, model)
        if rank is None:
            continue
        key = (rank, -rule.index)
        if best is None or key > best:
            best, found = key, rule.owner
    return found if found is not None else default(category)


def names() -> list[str]:
    """Every name a rule may match: the categories, the groups and ``*``."""
    return [c.value for c in Category] + [g for g in GROUPS if g not in Category.__members__
                                          and g not in {c.value for c in Category}] + [ANY]

"""docs/failures.md has a section for every category, at the anchor the console and the
summary link to (GitHub's heading slugs keep "_": "## rate_limit" is "#rate_limit")."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from smoke.categories import DOCS_URL, Category

DOC = Path(__file__).resolve().parents[1] / "docs" / "failures.md"


def _github_slug(heading: str) -> str:
    # github-slugger: lower case, drop punctuation except "-" and "_", spaces become "-".
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _sections() -> dict[str, str]:
    parts = re.split(r"^## (.+)$", DOC.read_text("utf-8"), flags=re.MULTILINE)
    return {_github_slug(title): body for title, body in zip(parts[1::2], parts[2::2],
                                                             strict=True)}


@pytest.mark.parametrize("category", list(Category), ids=lambda c: c.value)
def test_every_category_has_its_section(category: Category) -> None:
    url, _, anchor = category.docs_url.partition("#")
    assert url == DOCS_URL
    body = _sections()[anchor]
    assert f"**Exit code:** {category.exit_code}." in body
    assert "**Owner:**" in body and "**Check first:**" in body and "**Retry later?**" in body
    assert re.findall(r"^(\d)\. ", body, re.MULTILINE) == ["1", "2", "3"]
    verdict = re.search(r"\*\*Retry later\?\*\* (\w+)", body)
    assert verdict is not None
    if category.transient:
        assert verdict.group(1) == "Yes"


# Not categories, but what a run can end as besides them (issue 11): a signal, and a bug.
NOT_CATEGORIES = {"cancelled": "130, 143 or 129", "internal": "1"}


def test_no_section_without_a_category() -> None:
    assert set(_sections()) == {c.value for c in Category} | set(NOT_CATEGORIES)


@pytest.mark.parametrize("name", sorted(NOT_CATEGORIES))
def test_cancelled_and_internal_have_their_section(name: str) -> None:
    body = _sections()[name]
    assert "**Means:**" in body and "**Exit code:**" in body
    for code in re.findall(r"\d+", NOT_CATEGORIES[name]):
        assert code in body


def test_the_owner_column_is_what_the_summary_says() -> None:
    # The summary's lead line names the owner from Category.owner; the guide's table
    # says the same.
    rows = re.findall(r"^\| \[(\w+)\]\(#\w+\) \| \d \| \w+ \| (.+?) \|$", DOC.read_text("utf-8"),
                      re.MULTILINE)
    assert {name: owner for name, owner in rows} == {c.value: c.owner for c in Category}


def test_the_group_table_is_the_code_s() -> None:
    from smoke.categories import GROUPS

    rows = re.findall(r"^\| `(\w+)` \| ([\w, ]+) \|$", DOC.read_text("utf-8"), re.MULTILINE)
    assert {group: tuple(m.strip() for m in members.split(",")) for group, members in rows} \
        == {group: tuple(c.value for c in members) for group, members in GROUPS.items()}

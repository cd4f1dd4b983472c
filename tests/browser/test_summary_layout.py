"""The job summary as a reviewer sees it: rendered by GitHub's Markdown engine with
GitHub's stylesheet in headless Chromium at GitHub's 1012 px. Nothing may scroll
sideways, and a failing run's first table row is the check that decided the verdict
(issue 17)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from smoke.reports.summary import markdown
from smoke.results import GateResult
from smoke.stub import StubServer
from tests.support.browser import harness, scenarios

NAMES = ("pass", "auth", "wrong-answer", "sixteen-models", "hostile", "cancelled")


@pytest.fixture(scope="module")
def results() -> Iterator[dict[str, GateResult]]:
    with StubServer(key=scenarios.KEY) as stub:
        yield {name: build() for name, build in scenarios.all_scenarios(stub).items()}


@pytest.fixture(scope="module")
def summaries(results: dict[str, GateResult]) -> dict[str, str]:
    found = {}
    for name, result in results.items():
        found[name] = markdown.render(result)
        found[f"{name}-compact"] = markdown.render(
            result, compact=True, run_url="https://github.com/o/r/actions/runs/1")
    return found


@pytest.fixture(scope="module")
def measured(browser: harness.Browser, summaries: dict[str, str]) -> dict[str, Any]:
    return browser.measure(summaries)


def _deciding(result: GateResult) -> str:
    """The check the verdict rests on: the first cancelled check of a cancelled run, else
    the first failed check (in plan order) of the deciding category."""
    if result.verdict == "cancelled":
        return next(c.id for c in result.checks if c.outcome == "cancelled")
    return next(c.id for c in result.checks
                if c.outcome == "fail" and c.category == result.category)


def test_the_scenarios_are_what_they_claim(results: dict[str, GateResult]) -> None:
    assert set(results) == set(NAMES)
    assert results["pass"].verdict == "pass"
    assert results["auth"].category is not None and results["auth"].category.value == "auth"
    wrong = results["wrong-answer"]
    assert {c.kind for c in wrong.checks} >= {"positive", "stream", "negative"}
    assert len({c.model for c in wrong.failures}) == 4
    assert len([c for c in results["sixteen-models"].checks if c.kind == "positive"]) == 16
    assert results["cancelled"].verdict == "cancelled"  # type: ignore[comparison-overlap]


@pytest.mark.parametrize("name", [n + suffix for n in NAMES for suffix in ("", "-compact")])
def test_nothing_scrolls_sideways(measured: dict[str, Any], name: str) -> None:
    box = measured[name]
    assert box["boxWidth"] == harness.WIDTH
    assert box["tables"] >= 1
    assert box["wide"] == [], f"{name}: these scroll sideways: {box['wide']}"
    assert box["scrollWidth"] <= box["boxWidth"]


@pytest.mark.parametrize("name", [n for n in NAMES if n != "pass"])
def test_the_first_row_is_the_deciding_check(measured: dict[str, Any],
                                             results: dict[str, GateResult], name: str) -> None:
    expected = _deciding(results[name])
    for form in (name, f"{name}-compact"):
        first = measured[form]["firstRow"]
        assert first is not None and first[1] == expected, (form, first)
        assert first[0] in ("❌\u00a0fail", "⏹️\u00a0cancelled")


@pytest.mark.parametrize("name", [n for n in NAMES if n != "pass"])
def test_the_lead_line_names_the_deciding_check(summaries: dict[str, str],
                                                results: dict[str, GateResult],
                                                name: str) -> None:
    html = harness.to_html(summaries[name])
    quote = re.search(r"<blockquote>(.*?)</blockquote>", html, re.S)
    assert quote is not None
    text = re.sub(r"<[^>]+>", "", quote.group(1))
    assert _deciding(results[name]) in text
    assert "Fix:" in text
    category = results[name].category
    if category is not None:
        assert f"Owner: {category.owner}" in text.replace("\n", " ")


@pytest.mark.parametrize("name", NAMES)
def test_only_html_github_keeps(summaries: dict[str, str], name: str) -> None:
    assert harness.foreign_tags(harness.to_html(summaries[name])) == set()


def test_identical_failures_share_one_incident(summaries: dict[str, str],
                                               results: dict[str, GateResult]) -> None:
    # Eight checks (four models, plain and stream) failed the same way: one block.
    text = summaries["wrong-answer"]
    assert text.count("<pre>") == 2  # the incident's facts, and its curl command apart
    assert len(results["wrong-answer"].failures) == 8
    assert text.count("### Incident:") == 1 and "in 8 checks" in text


def test_the_passes_fold_and_bookkeeping_leaves_the_table(summaries: dict[str, str]) -> None:
    html = harness.to_html(summaries["pass"])
    assert "<strong>7 checks passed (1 of them configuration)</strong>" in html
    assert "<details><summary>6 checks passed</summary>" in html
    top = html.split("<details>")[0]
    assert "<table>" not in top  # every pass is folded
    assert "preflight:config" not in re.sub(r"<[^>]+>", "", html.split("checks passed")[1]
                                            .split("Configuration")[0])

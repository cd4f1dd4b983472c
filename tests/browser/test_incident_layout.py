"""The incident issue's body as GitHub shows it (issue 23): rendered by GitHub's Markdown
engine with its stylesheet in headless Chromium. Nothing scrolls sideways, GitHub's
sanitiser keeps every element, the markers stay hidden, and the owner is mentioned."""

from __future__ import annotations

from pathlib import Path

from smoke.stub import StubServer
from tests.support.browser import harness, scenarios


def test_the_incident_issue_renders_cleanly(browser: harness.Browser, tmp_path: Path) -> None:
    with StubServer(key=scenarios.KEY) as stub:
        body = scenarios.incident(stub, tmp_path)
    rendered = harness.to_html(body)
    assert harness.foreign_tags(rendered) == set()
    measured = browser.measure({"issue": body})["issue"]
    assert measured["wide"] == [], measured["wide"]
    assert measured["scrollWidth"] <= measured["boxWidth"]
    assert measured["tables"] == 2 and measured["pres"] >= 1
    # The markers are HTML comments: in the page's source, not in its text.
    assert "<!-- chat-smoke:incident production/team:platform -->" in rendered
    assert "@acme/platform" in rendered and "Runbook" in rendered
    shot = browser.screenshot(body, tmp_path / "incident.png")
    assert shot.stat().st_size > 10_000

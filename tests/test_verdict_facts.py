"""smoke.verdict.Facts names every GateResult field the checks do not decide: reconsider()
copies them by name, so a new field missing from Facts would be lost on a re-decided run."""

from __future__ import annotations

import dataclasses

from smoke.categories import Category
from smoke.results import Check, GateResult
from smoke.verdict import Facts, conclude, reconsider

DECIDED = {"verdict", "exit_code", "category", "checks"}


def test_facts_name_every_field_the_checks_do_not_decide() -> None:
    named = Facts.__required_keys__ | Facts.__optional_keys__
    assert named == {f.name for f in dataclasses.fields(GateResult)} - DECIDED


def test_reconsider_keeps_every_fact() -> None:
    passed = Check("positive:m", "positive", "chat completion (m)", "m")
    passed.outcome = "pass"
    result = conclude([passed], started_at="2026-01-01T00:00:00.000Z", duration_ms=5,
                      environment="prod", deployment_sha="abc", endpoint={"host": "h"},
                      config={"model": ["m"]}, proxy="http://proxy", warnings=["w"],
                      usage_total=7, prompt_version="v", consecutive_failures={"k": 2},
                      previous={"verdict": "pass"}, category_owners={"auth": "team"})
    broken = Check("report:junit", "report", "report").fail(Category.CONFIG, "unwritable")
    again = reconsider(result, [passed, broken])
    assert (again.verdict, again.exit_code, again.category) == ("fail", 2, Category.CONFIG)
    for name in Facts.__required_keys__ | Facts.__optional_keys__:
        assert getattr(again, name) == getattr(result, name), name

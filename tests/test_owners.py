"""The owners map (issue 23): category groups, rule resolution, and the owner in the reports."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from smoke import config, pipeline
from smoke.categories import GROUPS, Category
from smoke.errors import ConfigError
from smoke.output.console import Console
from smoke.owners import Owner, resolve
from smoke.reports.summary import markdown
from smoke.stub.server import StubServer
from tests.support.cli import KEY
from tests.support.gatekit import run_gate

OWNERS_YML = """\
model: [stub-model, scenario/wrong-answer]
environment: prod
owners:
  - match: credentials
    team: Platform
    mention: "@acme/platform"
    runbook: https://runbooks.example/platform
    labels: [incident, platform]
    assignees: [alice]
  - match: answer
    team: Prompts
    mention: "@acme/prompts"
  - match: assertion
    model: "scenario/*"
    team: Model owners
    mention: "@acme/models"
  - match: "*"
    team: On call
"""


def _settings(tmp_path: Path, text: str) -> config.Settings:
    (tmp_path / "chat-smoke.yml").write_text(text)
    return config.load({}, {"COMETAPI_API_KEY": KEY}, tmp_path)


def test_every_category_is_in_exactly_one_group() -> None:
    members = [c for group in GROUPS.values() for c in group]
    assert sorted(members) == sorted(Category) and len(members) == len(set(members))
    assert Category.AUTH.group == "credentials" and Category.UPSTREAM.group == "transient"
    assert Category.PROTOCOL.group == "contract" and Category.ASSERTION.group == "answer"
    assert Category.TLS.group == "endpoint" and Category.CONFIG.group == "config"


def test_more_specific_rules_win_then_file_order(tmp_path: Path) -> None:
    rules = _settings(tmp_path, OWNERS_YML).owners
    # A model glob beats a category, a category beats a group, a group beats *.
    assert resolve(rules, Category.ASSERTION, "scenario/wrong-answer").team == "Model owners"
    assert resolve(rules, Category.ASSERTION, "stub-model").team == "Prompts"
    assert resolve(rules, Category.QUOTA, "stub-model").team == "Platform"
    assert resolve(rules, Category.UPSTREAM, "stub-model").team == "On call"
    assert resolve(rules, Category.CONFIG, None).team == "On call"
    platform = resolve(rules, Category.AUTH, None)
    assert platform == Owner("Platform", "@acme/platform", "https://runbooks.example/platform",
                             ("incident", "platform"), ("alice",), "owners")
    # Two rules equally specific: the first in the file.
    twice = _settings(tmp_path, "model: m\nowners:\n  - {match: auth, team: A}\n"
                      "  - {match: auth, team: B}\n").owners
    assert resolve(twice, Category.AUTH, "m").team == "A"


def test_without_a_map_the_role_names_stay(tmp_path: Path) -> None:
    rules = _settings(tmp_path, "model: m\n").owners
    assert rules == ()
    for category in Category:
        owner = resolve(rules, category, "m")
        assert owner.team == category.owner and owner.source == "default"


@pytest.mark.parametrize(("rule", "message"), [
    ("{match: nonsense, team: A}", "owners[0].match: 'nonsense' is not a category, a group"),
    ("{team: A}", "owners[0]: match is required"),
    ("{match: auth}", "owners[0]: team is required"),
    ("{match: auth, team: A, mention: 'not a mention'}", "owners[0].mention"),
    ("{match: auth, team: A, runbook: 'javascript:alert(1)'}",
     "owners[0].runbook: 'javascript:alert(1)' is not an http(s) URL"),
    ("{match: auth, team: A, labels: bug}", "owners[0].labels: expected array"),
    ("{match: auth, team: A, colour: red}", "owners[0].colour: unknown key"),
])
def test_a_bad_rule_is_one_line_naming_it(tmp_path: Path, rule: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _settings(tmp_path, f"model: m\nowners:\n  - {rule}\n")
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_owner_in_the_json_report_per_check_and_for_the_verdict(
        tmp_path: Path, stub: StubServer) -> None:
    (tmp_path / "chat-smoke.yml").write_text(OWNERS_YML)
    out = run_gate(tmp_path, base_url=stub.url())
    assert out.code == 6
    failed = out.check("positive:scenario/wrong-answer")
    assert failed["owner"] == {"team": "Model owners", "mention": "@acme/models",
                               "runbook": None, "labels": [], "assignees": [],
                               "source": "owners"}
    assert out.check("positive:stub-model")["owner"] is None  # a pass has no owner
    assert out.report["owner"] == failed["owner"]


def test_owner_defaults_to_the_role_name_in_the_report(stub: StubServer) -> None:
    out = run_gate(base_url=stub.url("bad-key"), model="m")
    assert out.report["owner"] == {"team": Category.AUTH.owner, "mention": None,
                                   "runbook": None, "labels": [], "assignees": [],
                                   "source": "default"}
    passed = run_gate(base_url=stub.url(), model="stub-model")
    assert passed.report["owner"] is None


def test_summary_lead_line_names_the_team_mention_and_runbook(
        tmp_path: Path, stub: StubServer) -> None:
    (tmp_path / "chat-smoke.yml").write_text(OWNERS_YML.replace("stub-model, scenario/wrong-answer",
                                                                "stub-model"))
    result, _ = pipeline.check({"base_url": stub.url("bad-key")}, {"COMETAPI_API_KEY": KEY},
                         tmp_path, Console(out=io.StringIO()))
    lead = markdown.render(result).split("\n\n")[1]
    # As code: GitHub notifies even an escaped "\\@team" (only the PR comment mentions).
    assert "**Owner:** Platform (<code>\\@acme/platform</code>)." in lead
    assert "[Runbook](https://runbooks.example/platform)" in lead


def test_the_owner_in_every_output_of_a_github_run(tmp_path: Path, stub: StubServer) -> None:
    """One failing run on GitHub with a map: annotations, JUnit, dotenv, Prometheus,
    the step's outputs and the summary all name the team."""
    import xml.etree.ElementTree as ET

    from tests.support.cli import run_cli
    from tests.support.runner_rules import parse_output_file, run_commands

    (tmp_path / "chat-smoke.yml").write_text(OWNERS_YML.replace(
        "stub-model, scenario/wrong-answer", "stub-model"))
    env = {"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(tmp_path),
           "GITHUB_OUTPUT": str(tmp_path / "out.txt"),
           "GITHUB_STEP_SUMMARY": str(tmp_path / "step-summary.md")}
    run = run_cli(tmp_path, "--base-url", stub.url("bad-key"), "--report-junit", "junit.xml",
                  "--report-dotenv", "gate.env", "--report-prometheus", "gate.prom", env=env)
    assert run.code == 3, run.stdout + run.stderr
    errors = [c for c in run_commands(run.stdout) if c.name == "error"]
    assert "Owner: Platform (@acme/platform) (runbook https://runbooks.example/platform)" \
        in errors[0].data
    outputs = dict(parse_output_file(run.files["out.txt"]))
    assert outputs["owner"] == "Platform"
    failure = ET.fromstring(run.files["junit.xml"]).find(".//failure")
    assert failure is not None and failure.text is not None
    assert "owner: Platform (@acme/platform)" in failure.text
    assert "runbook: https://runbooks.example/platform" in failure.text
    assert "CHAT_SMOKE_OWNER=Platform\n" in run.files["gate.env"]
    prom = run.files["gate.prom"]
    assert ('chat_smoke_failure_category{target="default",environment="prod",'
            'category="auth",group="credentials",owner="Platform"} 1') in prom
    assert "**Owner:** Platform (<code>\\@acme/platform</code>)." \
        in run.files["step-summary.md"]
    assert run.report is not None and run.report["owner"]["team"] == "Platform"


def test_a_pass_names_no_owner(tmp_path: Path, stub: StubServer) -> None:
    from tests.support.cli import run_cli

    (tmp_path / "chat-smoke.yml").write_text(OWNERS_YML.replace(
        "stub-model, scenario/wrong-answer", "stub-model"))
    run = run_cli(tmp_path, "--base-url", stub.url(), "--report-dotenv", "gate.env",
                  "--report-prometheus", "gate.prom")
    assert run.code == 0
    assert "CHAT_SMOKE_OWNER=\n" in run.files["gate.env"]
    # The metrics' owner label is the same on a pass: one series per category.
    assert ('chat_smoke_failure_category{target="default",environment="prod",'
            'category="quota",group="credentials",owner="Platform"} 0') in run.files["gate.prom"]
    assert run.report is not None and run.report["owner"] is None


def test_the_incident_block_names_the_owner(tmp_path: Path, stub: StubServer) -> None:
    (tmp_path / "chat-smoke.yml").write_text(OWNERS_YML.replace(
        "stub-model, scenario/wrong-answer", "stub-model"))
    result, _ = pipeline.check({"base_url": stub.url("bad-key")}, {"COMETAPI_API_KEY": KEY},
                         tmp_path, Console(out=io.StringIO()))
    block = markdown.render(result).split("### Incident:")[1].split("</pre>")[0]
    assert "owner:          Platform @acme/platform https://runbooks.example/platform" \
        in block

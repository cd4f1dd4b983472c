"""``chat-smoke merge`` (issue 15): the reports of real runs against the loopback stub,
merged by the command in a subprocess; the outputs read back by their consumers' parsers."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import cmarkgfm
import pytest
from junitparser import Failure, JUnitXml

from smoke.reports.files import write_text
from smoke.stub import StubServer
from tests.support.ci_parsers import azure_commands
from tests.support.cli import KEY
from tests.support.env import scrubbed
from tests.support.gatekit import run_gate
from tests.support.platforms import agent_calls, platform_env
from tests.support.runner_rules import run_commands


def _leg(tmp_path: Path, stub: StubServer, name: str, scenario: str | None,
         environment: str, **flags: Any) -> str:
    outcome = run_gate(base_url=stub.url(scenario), model="stub-model", retries="0",
                       environment=environment, **flags)
    path = tmp_path / "legs" / f"{name}.json"
    write_text(path, json.dumps(outcome.report))  # scrubbed, as chat-smoke run writes it
    return str(path)


def _merge(tmp_path: Path, *reports: str, env: dict[str, str] | None = None
           ) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path / "merged"
    env = scrubbed(**(env or {}))
    proc = subprocess.run(
        [sys.executable, "-m", "smoke", "merge", *reports, "--report-json",
         str(out / "report.json"), "--report-junit", str(out / "junit.xml"),
         "--summary", str(out / "summary.md")],
        capture_output=True, text=True, env=env, timeout=60)
    return proc, out


def _rows(summary: str) -> list[list[str]]:
    html = cmarkgfm.github_flavored_markdown_to_html(summary)
    table = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
    assert table, html
    return [re.findall(r"<td>(.*?)</td>", row, re.S)
            for row in re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)]


def _report(verdict: str, code: int, category: str | None, environment: str) -> dict[str, Any]:
    return {"schema_version": 1, "verdict": verdict, "exit_code": code, "category": category,
            "environment": environment, "started_at": "2026-11-27T02:04:05.123Z",
            "duration_ms": 10, "config": {"models": ["m"]}, "checks": []}


def test_pass_auth_and_timeout_give_exit_3_with_the_auth_row_first(
        tmp_path: Path, stub: StubServer) -> None:
    legs = [
        _leg(tmp_path, stub, "pass", None, "eu"),
        _leg(tmp_path, stub, "timeout", "hang:5", "us", timeout="0.5"),
        _leg(tmp_path, stub, "auth", "bad-key", "ap"),
    ]
    assert [json.loads(Path(p).read_text())["exit_code"] for p in legs] == [0, 5, 3]
    proc, out = _merge(tmp_path, *legs)
    assert proc.returncode == 3, proc.stderr
    merged = json.loads((out / "report.json").read_text("utf-8"))
    assert (merged["verdict"], merged["exit_code"], merged["category"]) == ("fail", 3, "auth")
    assert [j["job"] for j in merged["jobs"]] == [
        "ap × stub-model", "us × stub-model", "eu × stub-model"]
    assert merged["jobs"][0]["deciding_check"] == "positive:stub-model"
    assert {c["job"] for c in merged["checks"]} == {j["job"] for j in merged["jobs"]}

    rows = _rows((out / "summary.md").read_text("utf-8"))
    assert [(r[1], r[2], r[3], r[4]) for r in rows] == [
        ("ap × stub-model", "fail", "3", "auth"),
        ("us × stub-model", "fail", "5", "timeout"),
        ("eu × stub-model", "pass", "0", "–"),
    ]
    summary = (out / "summary.md").read_text("utf-8")
    assert summary.startswith("## ❌ chat-smoke failed on 2 of 3 jobs\\: auth (exit 3)")

    xml = JUnitXml.fromfile(str(out / "junit.xml"))
    cases = {case.name: case for suite in xml for case in suite}
    auth = cases["ap × stub-model: positive:stub-model"]
    assert any(isinstance(r, Failure) and r.type == "auth" for r in auth.result)
    assert cases["eu × stub-model: positive:stub-model"].is_passed
    assert "auth" in proc.stdout.splitlines()[1]
    assert all(KEY not in p.read_text("utf-8") for p in out.iterdir())


@pytest.mark.parametrize(("codes", "expected"), [
    ([("pass", 0, None), ("fail", 5, "timeout"), ("cancelled", 143, None)],
     ("cancelled", 143)),
    ([("cancelled", 130, None), ("fail", 6, "assertion")], ("fail", 6)),
    ([("incomplete", 130, None), ("fail", 5, "upstream")], ("cancelled", 130)),
    ([("fail", 5, "upstream"), ("fail", 4, "model"), ("fail", 2, "config")], ("fail", 2)),
    ([("fail", 5, "upstream"), ("pass", 0, None)], ("fail", 5)),
    ([("pass", 0, None), ("pass", 0, None)], ("pass", 0)),
])
def test_precedence(tmp_path: Path, codes: list[tuple[str, int, str | None]],
                    expected: tuple[str, int]) -> None:
    paths = []
    for number, (verdict, code, category) in enumerate(codes):
        path = tmp_path / f"leg{number}.json"
        path.write_text(json.dumps(_report(verdict, code, category, f"env{number}")))
        paths.append(str(path))
    proc, out = _merge(tmp_path, *paths)
    merged = json.loads((out / "report.json").read_text("utf-8"))
    assert (merged["verdict"], proc.returncode) == expected, proc.stdout


@pytest.mark.parametrize(("content", "problem"), [
    (None, "no such file"),
    ("{not json", "not JSON (line 1"),
    ('["a list"]', "not a JSON object"),
    ('{"verdict": "pass", "checks": []}',
     "not a chat-smoke report: $.schema_version: missing"),
    ('{"schema_version": 3, "verdict": "pass", "exit_code": 0, "checks": [{"id": 5}]}',
     "not a chat-smoke report: $.checks[0].id: expected string, got 5"),
])
def test_a_missing_or_malformed_report_is_a_config_failure(
        tmp_path: Path, stub: StubServer, content: str | None, problem: str) -> None:
    good = _leg(tmp_path, stub, "pass", None, "eu")
    bad = tmp_path / "broken.json"
    if content is not None:
        bad.write_text(content, "utf-8")
    proc, out = _merge(tmp_path, good, str(bad))
    assert proc.returncode == 2
    assert f"merge: {bad}: {problem}" in proc.stderr
    assert "Traceback" not in proc.stderr
    merged = json.loads((out / "report.json").read_text("utf-8"))
    assert (merged["verdict"], merged["category"], merged["failed_file"]) == (
        "fail", "config", str(bad))
    assert str(bad) in merged["checks"][0]["message"]
    assert str(bad) in (out / "summary.md").read_text("utf-8").replace("\\", "")
    JUnitXml.fromfile(str(out / "junit.xml"))


def test_merge_without_reports_is_a_config_failure(tmp_path: Path) -> None:
    proc, _ = _merge(tmp_path)
    assert proc.returncode == 2
    assert "no report given" in proc.stderr


def test_the_gitlab_matrix_example_merges_after_the_gate_jobs() -> None:
    import yaml

    pipeline = yaml.safe_load((Path(__file__).parents[1] / "examples" /
                               "gitlab-ci-matrix.yml").read_text("utf-8"))
    gate, merge = pipeline["chat-smoke"], pipeline["chat-smoke-merge"]
    matrix = gate["parallel"]["matrix"][0]
    assert set(matrix) == {"SMOKE_ENVIRONMENT", "COMETAPI_MODEL"}
    assert gate["image"]["entrypoint"] == merge["image"]["entrypoint"] == [""]
    assert merge["needs"] == [{"job": "chat-smoke", "artifacts": True}]
    assert merge["when"] == "always" and gate["artifacts"]["when"] == "always"
    assert "chat-smoke merge chat-smoke-reports/*/report.json" in merge["script"][0]


def test_the_github_matrix_example_downloads_with_merge_multiple() -> None:
    import yaml

    workflow = yaml.safe_load((Path(__file__).parents[1] / ".github" / "workflows" /
                               "example-matrix.yml").read_text("utf-8"))
    gate, merge = workflow["jobs"]["gate"], workflow["jobs"]["merge"]
    assert set(gate["strategy"]["matrix"]) == {"environment", "model"}
    assert gate["strategy"]["fail-fast"] is False
    download = next(s for s in merge["steps"]
                    if s.get("uses", "").startswith("actions/download-artifact@"))
    assert download["with"]["merge-multiple"] is True
    assert merge["needs"] == "gate" and merge["if"] == "${{ !cancelled() }}"
    assert any("chat-smoke merge reports/*/report.json" in s.get("run", "")
               for s in merge["steps"])


# -- the merged summary goes through the platform layer (issue 20) ------------------------
def _hostile_legs(tmp_path: Path, stub: StubServer) -> list[str]:
    """A passing leg and a failing one whose environment name is a workflow command."""
    return [_leg(tmp_path, stub, "pass", None, "eu"),
            _leg(tmp_path, stub, "auth", "bad-key", "::error title=pwned::x ##vso[task.complete]")]


def test_merge_on_github_appends_the_summary_inside_the_console(
        tmp_path: Path, stub: StubServer) -> None:
    env = {**platform_env("github", tmp_path), "COMETAPI_API_KEY": KEY}
    proc, out = _merge(tmp_path, *_hostile_legs(tmp_path, stub), env=env)
    assert proc.returncode == 3, proc.stderr
    page = (tmp_path / "summary").read_text("utf-8")
    assert page == (out / "summary.md").read_text("utf-8")
    assert page.startswith("## ❌ chat-smoke failed on 1 of 2 jobs")
    # Through the console: the key masked first, the job names (outside text) inside a
    # stop-commands block, so none of them runs a command.
    commands = run_commands(proc.stdout)
    assert [(c.name, c.data) for c in commands] == [("add-mask", KEY)]
    assert "::error title=pwned::x" in proc.stdout
    assert proc.stdout.splitlines()[1].startswith("::stop-commands::")


def test_merge_on_azure_uploads_the_summary(tmp_path: Path, stub: StubServer) -> None:
    proc, out = _merge(tmp_path, *_hostile_legs(tmp_path, stub),
                       env=platform_env("azure", tmp_path))
    assert proc.returncode == 3, proc.stderr
    commands = azure_commands(proc.stdout)
    assert [c.name for c in commands] == ["task.uploadsummary"]  # the job name ran nothing
    page = Path(commands[0].data)
    assert page.parent == tmp_path / "agent-temp"
    assert page.read_text("utf-8") == (out / "summary.md").read_text("utf-8")


def test_merge_on_buildkite_annotates_the_build(tmp_path: Path, stub: StubServer) -> None:
    proc, out = _merge(tmp_path, *_hostile_legs(tmp_path, stub),
                       env=platform_env("buildkite", tmp_path))
    assert proc.returncode == 3, proc.stderr
    args, body = agent_calls(tmp_path)[-1]
    assert args == ["annotate", "--style", "error", "--context", "chat-smoke"]
    assert body == (out / "summary.md").read_text("utf-8")
    passing = [_leg(tmp_path, stub, "pass2", None, "us")]
    (tmp_path / "b").mkdir()
    proc, _ = _merge(tmp_path, *passing, env=platform_env("buildkite", tmp_path / "b"))
    assert proc.returncode == 0, proc.stderr
    args, body = agent_calls(tmp_path / "b")[-1]
    assert args[:3] == ["annotate", "--style", "success"] and "chat-smoke passed" in body

"""Mistakes are config errors (issue 21): a near miss of a setting's syntax (within two
edits of a keyword) fails as ``config``, exit 2, with "did you mean", before anything is
sent; other text keeps its meaning. And ``merge`` counts a job given twice once."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from smoke.config import nearmiss
from smoke.config.expect import Expectation
from smoke.errors import ConfigError
from smoke.stub import StubServer
from tests.support.cli import Run, run_cli


def _posts(stub: StubServer, scenario: str) -> int:
    return sum(1 for r in stub.requests if r["scenario"] == scenario and r["method"] == "POST")


def _config_error(run: Run) -> str:
    assert run.code == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    lines = [line for line in run.stderr.splitlines() if "error" in line]
    assert len(lines) == 1, run.stderr
    return lines[0]


@pytest.mark.parametrize(("given", "meant"), [
    ("equal:pong", "equals:pong"),
    ("Contains:pong", "contains:pong"),
    ("regexp:^p", "regex:^p"),
    ("rgex:^p", "regex:^p"),
    ("non-empty", "nonempty"),
    ("nonemtpy", "nonempty"),
    ("tool-call:get_weather", "tool_call:get_weather"),
    ("toolcall", "tool_call"),
    ("tool_cal:lookup", "tool_call:lookup"),
])
def test_a_near_miss_of_expect_is_a_config_error(given: str, meant: str, tmp_path: Path,
                                                  stub: StubServer) -> None:
    scenario = f"pass~typo{abs(hash(given))}"
    run = run_cli(tmp_path, "--base-url", stub.url(scenario), "--model", "stub-model",
                  "--expect", given)
    line = _config_error(run)
    assert f"--expect: {given!r}" in line and f"did you mean {meant!r}?" in line
    assert f"write contains:{given}" in line  # the way to mean the text itself
    assert _posts(stub, scenario) == 0  # nothing was sent: the model is not blamed
    assert run.report is not None and run.report["category"] == "config"


def test_the_same_rule_in_the_config_file(tmp_path: Path, stub: StubServer) -> None:
    (tmp_path / "chat-smoke.yml").write_text("expect: 'equal:pong'\n")
    line = _config_error(run_cli(tmp_path, "--base-url", stub.url(), "--model", "stub-model"))
    assert "did you mean 'equals:pong'?" in line
    (tmp_path / "chat-smoke.yml").write_text("expect:\n  equal: pong\n")
    line = _config_error(run_cli(tmp_path, "--base-url", stub.url(), "--model", "stub-model"))
    assert "expect.equal: unknown key (did you mean 'equals'?)" in line


@pytest.mark.parametrize("text", ["Note: pong", "reply: ok", "pong", "content: hi",
                                  "Answer is pong", "a:b", "no:thing"])
def test_other_text_still_means_contains(text: str) -> None:
    assert Expectation.parse(text, "--expect") == Expectation("contains", text)


@pytest.mark.parametrize(("flags", "meant"), [
    (("--negative", "invalid-modle"), "'invalid-model'"),
    (("--ci", "gitlba"), "'gitlab'"),
    (("--temperature", "nnoe"), "'none'"),
    (("--max-tokens", "Nnone"), "'none'"),
    (("--auth-header", "nnoe"), "'none'"),
    (("--auth-header", "Authorisation"), "'Authorization'"),
])
def test_every_setting_with_a_syntax_says_did_you_mean(flags: tuple[str, str], meant: str,
                                                       tmp_path: Path,
                                                       stub: StubServer) -> None:
    line = _config_error(run_cli(tmp_path, "--base-url", stub.url(), "--model", "stub-model",
                                 *flags))
    assert f"{flags[0]}" in line and f"did you mean {meant}?" in line


def test_a_boolean_from_the_environment(tmp_path: Path, stub: StubServer) -> None:
    line = _config_error(run_cli(tmp_path, "--base-url", stub.url(), "--model", "stub-model",
                                 env={"SMOKE_STREAM": "ture"}))
    assert "SMOKE_STREAM" in line and "did you mean 'true'?" in line


def test_a_header_two_edits_away_is_a_header(tmp_path: Path, stub: StubServer) -> None:
    # X-Authorization is a header of its own (two edits from Authorization), not a typo.
    run = run_cli(tmp_path, "--base-url", stub.url(), "--model", "stub-model",
                  "--auth-header", "X-Authorization")
    assert run.code == 3, run.stderr  # sent, and the stub wants Authorization
    assert "did you mean" not in run.stdout + run.stderr


def test_edit_distance() -> None:
    assert nearmiss.distance("equal", "equals") == 1
    assert nearmiss.distance("nonemtpy", "nonempty") == 1  # a swap is one edit
    assert nearmiss.distance("note", "nonempty") == 3  # over the limit: reported as 3
    assert nearmiss.near("Regex", ["regex"]) == "regex"
    assert nearmiss.near("regex", ["regex"]) is None
    with pytest.raises(ConfigError, match="did you mean 'equals:x'"):
        Expectation.parse({"equal": "x"}, "expect")


# -- merge: a job given twice ------------------------------------------------------------
def test_merge_counts_a_job_given_twice_once(tmp_path: Path, stub: StubServer) -> None:
    import subprocess

    leg = tmp_path / "leg"
    leg.mkdir()
    run = run_cli(leg, "--base-url", stub.url(), "--model", "stub-model,scenario/bad-key")
    assert run.code == 3
    a = leg / "report.json"
    copy = tmp_path / "copy.json"
    copy.write_text(a.read_text())
    merged = tmp_path / "merged.json"
    proc = subprocess.run([sys.executable, "-m", "smoke", "merge", str(a), str(a), str(copy),
                           "--report-json", str(merged), "--report-junit",
                           str(tmp_path / "m.xml")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3, proc.stderr
    report = json.loads(merged.read_text())
    assert len(report["jobs"]) == 1
    assert len(report["checks"]) == len(run.report["checks"]) if run.report else False
    warnings = [w for w in report["warnings"] if "counted once" in w]
    assert len(warnings) == 2 and str(copy) in warnings[1]
    assert (proc.stdout + proc.stderr).count("warning:") == 2
    assert "over 1 job\n" in proc.stdout
    assert "(s)" not in proc.stdout

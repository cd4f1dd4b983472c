"""Issue 26, class 7: report targets are distinct. Two kinds on one path is a config error
(before: exit 0 and one report silently lost); with ``-`` for a report the console goes
to stderr, so stdout holds only that report (before: console lines mixed into the JSON,
``| jq`` failed); only one report may be ``-``. For ``run`` and ``merge``."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from smoke.stub import StubServer
from tests.support.cli import KEY
from tests.support.env import scrubbed
from tests.support.hardkit import strict_json
from tests.support.reportschema import problems


def _run(tmp_path: Path, *args: str, env: dict[str, str] | None = None,
         command: str = "run") -> subprocess.CompletedProcess[str]:
    full = scrubbed()
    full.update({"COMETAPI_API_KEY": KEY, **(env or {})})
    return subprocess.run([sys.executable, "-m", "smoke", command, *args], cwd=tmp_path,
                          env=full, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("scenario", "code"), [(None, 0), ("bad-key", 3)])
def test_a_report_on_stdout_has_stdout_to_itself(tmp_path: Path, stub: StubServer,
                                                 scenario: str | None, code: int) -> None:
    proc = _run(tmp_path, "--base-url", stub.url(scenario), "--model", "stub-model",
                "--report-json", "-", "--summary", "summary.md", "--retries", "0")
    assert proc.returncode == code, proc.stderr
    report = strict_json(proc.stdout)  # nothing but the report: | jq works
    assert report["exit_code"] == code and problems(report) == []
    assert "chat-smoke: " in proc.stderr  # the console, on stderr
    assert "positive:stub-model" in proc.stderr


def test_junit_on_stdout_too(tmp_path: Path, stub: StubServer) -> None:
    proc = _run(tmp_path, "--base-url", stub.url(), "--model", "stub-model",
                "--report-junit", "/dev/stdout")
    assert proc.returncode == 0, proc.stderr
    ET.fromstring(proc.stdout)


@pytest.mark.parametrize(("args", "named"), [
    (("--report-json", "r.out", "--report-junit", "r.out"), ("--report-json", "--report-junit")),
    (("--report-json", "r.out", "--summary", "./sub/../r.out"), ("--report-json", "--summary")),
    (("--report-dotenv", "x.env", "--report-prometheus", "link.env"),
     ("--report-dotenv", "--report-prometheus")),
])
def test_two_kinds_on_one_path_is_a_config_error(tmp_path: Path, stub: StubServer,
                                                 args: tuple[str, ...],
                                                 named: tuple[str, str]) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "x.env").write_text("", "utf-8")
    (tmp_path / "link.env").symlink_to(tmp_path / "x.env")
    proc = _run(tmp_path, "--base-url", stub.url(), "--model", "stub-model", *args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "same file" in proc.stdout + proc.stderr
    assert all(flag in proc.stderr for flag in named), proc.stderr
    if args[0] == "--report-json":  # the JSON report is the one written there
        report = strict_json((tmp_path / "r.out").read_text("utf-8"))
        assert report["category"] == "config" and problems(report) == []


def test_the_same_path_from_the_file_and_the_environment(tmp_path: Path,
                                                         stub: StubServer) -> None:
    (tmp_path / "chat-smoke.yml").write_text(
        f"base_url: {stub.url()}\nmodel: stub-model\nreport_json: out/r.json\n", "utf-8")
    proc = _run(tmp_path, env={"SMOKE_REPORT_JUNIT": "out/r.json"})
    assert proc.returncode == 2
    assert "chat-smoke.yml: report_json and SMOKE_REPORT_JUNIT" in proc.stderr, proc.stderr
    assert strict_json((tmp_path / "out" / "r.json").read_text("utf-8"))["exit_code"] == 2


@pytest.mark.parametrize("other", ["-", "/dev/stdout", "/dev/fd/1"])
def test_only_one_report_may_be_stdout(tmp_path: Path, stub: StubServer, other: str) -> None:
    proc = _run(tmp_path, "--base-url", stub.url(), "--model", "stub-model",
                "--report-json", "-", "--summary", other)
    assert proc.returncode == 2
    report = strict_json(proc.stdout)  # still only the JSON report on stdout
    assert report["category"] == "config"
    assert "only one report may go to stdout" in report["checks"][0]["message"]


def test_devices_may_take_several_reports(tmp_path: Path, stub: StubServer) -> None:
    proc = _run(tmp_path, "--base-url", stub.url(), "--model", "stub-model",
                "--report-json", "/dev/null", "--report-junit", "/dev/null")
    assert proc.returncode == 0, proc.stdout


def test_merge_targets_are_distinct_and_stdout_is_the_reports(tmp_path: Path,
                                                             stub: StubServer) -> None:
    leg = tmp_path / "leg.json"
    first = _run(tmp_path, "--base-url", stub.url(), "--model", "stub-model",
                 "--report-json", str(leg))
    assert first.returncode == 0
    same = _run(tmp_path, str(leg), "--report-json", "m.out", "--report-junit", "m.out",
                command="merge")
    assert same.returncode == 2 and "same file" in same.stderr, same.stderr
    merged = strict_json((tmp_path / "m.out").read_text("utf-8"))
    assert merged["exit_code"] == 2 and problems(merged) == []
    piped = _run(tmp_path, str(leg), "--report-json", "-", "--summary", "s.md",
                 command="merge")
    assert piped.returncode == 0, piped.stderr
    assert json.loads(piped.stdout)["merged"] is True
    assert "chat-smoke merge: pass" in piped.stderr

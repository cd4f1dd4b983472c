"""Issue 26, class 6: a user's summary template is bounded and contained. Any exception in
it is a ``report:summary`` failure naming the template and the line, and the other reports
are written; it runs in Jinja's sandbox, within a time budget inside the deadline (and an
output cap); a signal while it renders still ends the run with the evidence that exists.
Before: ``{{ 1/0 }}`` or a type error was exit 1 with no summary and an ``incomplete``
report; a template that never ended held the job past its deadline and ignored SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from smoke.reports.summary import sandbox
from smoke.stub import StubServer
from tests.support.cli import KEY, run_cli
from tests.support.env import scrubbed
from tests.support.hardkit import strict_json
from tests.support.reportschema import problems

HEAD = "## {{ banner }}\n\n"
ENDLESS = ("{% for a in range(100000) %}{% for b in range(100000) %}{{ '' }}"
           "{% endfor %}{% endfor %}")


def _gate(tmp_path: Path, stub: StubServer, template: str, *more: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "mine.md.j2"
    path.write_text(template, "utf-8")
    started = time.monotonic()
    run = run_cli(tmp_path, "--base-url", stub.url(), "--model", "stub-model",
                  "--summary-template", str(path), "--summary", str(tmp_path / "summary.md"),
                  "--report-junit", str(tmp_path / "junit.xml"), *more)
    return run, path, time.monotonic() - started


@pytest.mark.parametrize(("template", "line", "problem"), [
    (HEAD + "x\n{{ 1/0 }}\n", 4, "ZeroDivisionError"),
    (HEAD + "{{ checks + 1 }}\n", 3, "TypeError"),
    (HEAD + "{{ checks[99].id }}\n", 3, "UndefinedError"),
    (HEAD + "{% for c in checks %}\n{{ c.duration_ms / (c.attempts - 1) }}\n{% endfor %}", 4,
     "ZeroDivisionError"),
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", 1, "SecurityError"),
    ("{{ 'x' * 100000000 }}", 1, "too large"),
    ("{{ 'x' | center(1000000000) }}", 1, "too large"),
    ("{{ 2 ** 100000000 }}", 1, "too large"),
    ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", None, "RecursionError"),
    (HEAD + "{% if %}", 3, "line 3"),
])
def test_any_exception_is_a_summary_failure_naming_template_and_line(
        tmp_path: Path, stub: StubServer, template: str, line: int | None,
        problem: str) -> None:
    run, path, _ = _gate(tmp_path, stub, template)
    assert run.code == 2, run.stdout + run.stderr  # the gate passed: the report decides
    assert "Traceback" not in run.stdout + run.stderr
    assert run.report is not None and problems(run.report) == []
    assert run.report["verdict"] == "fail"  # final, not incomplete
    check = run.check("report:summary")
    assert check["category"] == "config"
    assert str(path) in check["message"] and problem in check["message"], check["message"]
    if line is not None:
        assert f"line {line}" in check["message"], check["message"]
    junit = ET.fromstring((tmp_path / "junit.xml").read_bytes())
    assert any(c.get("name") == "report:summary" or "report:summary" in (c.get("name") or "")
               for c in junit.iter("testcase"))


def test_a_template_that_never_ends_is_stopped_within_the_deadline(
        tmp_path: Path, stub: StubServer) -> None:
    run, path, wall = _gate(tmp_path, stub, HEAD + ENDLESS, "--deadline", "3")
    assert run.code == 2
    message = run.check("report:summary")["message"]
    assert "still rendering after" in message and str(path) in message, message
    assert "line 3" in message
    # The gate itself takes well under a second; the template gets what is left of the
    # 3 s deadline (at least 1 s); start-up and writing add a little on a loaded machine.
    assert wall < 3 + 4, wall
    assert run.report is not None and problems(run.report) == []


def test_the_budget_is_capped_and_a_good_template_still_renders(
        tmp_path: Path, stub: StubServer) -> None:
    run, _, _ = _gate(tmp_path, stub, HEAD + "{% for c in checks %}- {{ c.id }}\n{% endfor %}"
                      "{{ range(3) | list | length }}")
    assert run.code == 0, run.stdout
    text = (tmp_path / "summary.md").read_text("utf-8")
    assert "chat-smoke passed" in text and "positive:stub-model" in text.replace("\\", "")
    assert sandbox.BUDGET_S <= 5.0


def test_a_signal_while_the_template_renders_ends_the_run_with_its_evidence(
        tmp_path: Path, stub: StubServer) -> None:
    path = tmp_path / "mine.md.j2"
    path.write_text(HEAD + ENDLESS, "utf-8")
    env = scrubbed()
    env["COMETAPI_API_KEY"] = KEY
    proc = subprocess.Popen(
        [sys.executable, "-m", "smoke", "run", "--base-url", stub.url(), "--model",
         "stub-model", "--summary-template", str(path), "--summary", "summary.md",
         "--report-json", "report.json", "--report-junit", "junit.xml", "--deadline", "60"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    # The last check's line is printed before the reports are written (the verdict line
    # after them, once: issue 21).
    for line in proc.stdout:
        if line.startswith("PASS positive:stub-model"):
            break
    time.sleep(0.5)  # rendering now (its budget is 5 s)
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    took = time.monotonic() - sent
    assert took < 2.5, took  # not the template's whole budget
    report = strict_json((tmp_path / "report.json").read_text("utf-8"))
    assert problems(report) == []
    # The gate had finished: its verdict stands, and every output agrees with the code.
    assert proc.returncode == report["exit_code"] == 0, out + err
    summary = (tmp_path / "summary.md").read_text("utf-8")
    assert "was stopped by a signal" in summary and "chat-smoke passed" in summary
    ET.fromstring((tmp_path / "junit.xml").read_bytes())

"""Cancellation keeps the evidence (issue 11, item 1): real processes, real signals, the stub
on loopback. A model ``scenario/hang`` never gets an answer, so the run is still going when
the signal arrives; the deadline (60 s) is far away, so only the signal can end it."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from smoke.ci import github, github_comment
from smoke.ci.github import GitHubConsole
from smoke.ci.publish import Publisher
from smoke.gate import PROGRESS_EVERY_S
from smoke.results import Check
from smoke.stub import StubServer
from tests.support.action_runner import ENTRYPOINT, runner_env
from tests.support.action_runner import require as _require
from tests.support.action_runner import skip_off_ci as _skip_off_ci
from tests.support.cli import KEY
from tests.support.env import scrubbed
from tests.support.results import gate_result
from tests.support.runner_rules import parse_output_file, run_commands

# Generous: the aim is 1 s (bench/bench_cancel.py measures it); a loaded machine is slower.
BOUND_S = 8.0
CODES = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}


@dataclass
class Gate:
    proc: subprocess.Popen[str]
    folder: Path

    @property
    def report_path(self) -> Path:
        return self.folder / "report.json"

    def report(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.report_path.read_text("utf-8"))
        return loaded

    def wait_for(self, ready: Any, timeout: float = 30) -> dict[str, Any]:
        """Poll the provisional report until ``ready(report)``."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            assert self.proc.poll() is None, self.proc.communicate()
            try:
                report = self.report()
            except (OSError, ValueError):
                report = None
            if report is not None and ready(report):
                return report
            time.sleep(0.05)
        raise AssertionError(f"not ready after {timeout}s")

    def wait_hanging(self) -> dict[str, Any]:
        """Until the finished model is in the provisional report: the hang is in flight."""
        return self.wait_for(lambda r: any(c["id"] == "positive:stub-model"
                                           and c["outcome"] == "pass" for c in r["checks"]))

    def stop(self, sig: int) -> tuple[int, float, str, str]:
        started = time.monotonic()
        self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=30)
        return self.proc.returncode, time.monotonic() - started, out, err

    def everything(self) -> str:
        return "\n".join(p.read_text("utf-8", errors="replace")
                         for p in self.folder.rglob("*") if p.is_file())


def start(tmp_path: Path, stub: StubServer, *args: str, models: str = "stub-model,scenario/hang",
          prefix: tuple[str, ...] = (), stdout: Any = subprocess.PIPE) -> Gate:
    folder = tmp_path / "out"
    argv = [*prefix, sys.executable, "-m", "smoke", "run", "--base-url", stub.url(),
            "--model", models, "--deadline", "60", "--timeout", "60", "--retries", "0",
            "--report-json", str(folder / "report.json"),
            "--report-junit", str(folder / "junit.xml"), "--summary", str(folder / "summary.md"),
            "--report-dotenv", str(folder / "gate.env"),
            "--report-prometheus", str(folder / "m.prom"), *args]
    proc = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.PIPE, text=True,
                            env=scrubbed(COMETAPI_API_KEY=KEY), cwd=tmp_path)
    return Gate(proc, folder)


@pytest.fixture
def gates() -> Iterator[list[Gate]]:
    """Every process a test starts is killed at the end, whatever happened."""
    started: list[Gate] = []
    yield started
    for gate in started:
        if gate.proc.poll() is None:
            gate.proc.kill()
            gate.proc.communicate()


def assert_cancelled(gate: Gate, code: int, sig: signal.Signals) -> dict[str, Any]:
    report = gate.report()
    assert report["verdict"] == "cancelled" and report["exit_code"] == code
    assert report["schema_version"] == 3
    by_id = {c["id"]: c for c in report["checks"]}
    assert by_id["positive:stub-model"]["outcome"] == "pass"  # the finished check is kept
    hung = by_id["positive:scenario/hang"]
    assert hung["outcome"] == "cancelled" and hung["category"] is None
    assert hung["duration_ms"] > 0  # its elapsed time
    assert f"cancelled by {sig.name}" in hung["message"]
    junit = ET.parse(gate.folder / "junit.xml").getroot()
    errors = junit.findall(".//testcase/error")
    assert [e.get("type") for e in errors] == ["cancelled"]
    # Cancelled in every output, never "internal" (GitLab shows only the body, issue 21).
    assert (errors[0].text or "").startswith(f"cancelled: {hung['message']}")
    assert (errors[0].get("message") or "").startswith("cancelled: ")
    for name in ("junit.xml", "summary.md", "gate.env"):
        assert "internal" not in (gate.folder / name).read_text("utf-8"), name
    metrics = (gate.folder / "m.prom").read_text("utf-8")
    assert (f"chat_smoke_gate_exit_code{{target=\"default\",environment=\"\"}} {code}\n"
            in metrics)
    assert "129 cancelled by SIGINT, SIGTERM and SIGHUP" in metrics  # its HELP says so
    assert junit.find(".//property[@name='verdict']").get("value") == "cancelled"  # type: ignore[union-attr]
    assert "cancelled" in (gate.folder / "summary.md").read_text("utf-8")
    dotenv = (gate.folder / "gate.env").read_text("utf-8")
    assert "CHAT_SMOKE_VERDICT=cancelled\n" in dotenv
    assert f"CHAT_SMOKE_EXIT_CODE={code}\n" in dotenv
    assert KEY not in gate.everything()
    return report


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP],
                         ids=lambda s: s.name)
def test_a_signal_cancels_the_run_and_keeps_the_evidence(
    tmp_path: Path, stub: StubServer, gates: list[Gate], sig: signal.Signals
) -> None:
    gate = start(tmp_path, stub)
    gates.append(gate)
    gate.wait_hanging()
    code, took, out, err = gate.stop(sig)
    assert code == CODES[sig], err
    assert took < BOUND_S
    assert_cancelled(gate, code, sig)
    assert "CANCELLED positive:scenario/hang" in out
    assert f"CANCELLED exit {code}" in out
    assert "Traceback" not in err and KEY not in out + err


def test_the_category_still_names_the_deciding_finished_failure(
    tmp_path: Path, stub: StubServer, gates: list[Gate]
) -> None:
    gate = start(tmp_path, stub, models="scenario/bad-key,scenario/hang")
    gates.append(gate)
    gate.wait_for(lambda r: any(c["category"] == "auth" for c in r["checks"]))
    code, _, _, err = gate.stop(signal.SIGTERM)
    assert code == 143, err  # not 3: the run did not complete and the CI asked it to stop
    report = gate.report()
    assert report["verdict"] == "cancelled" and report["category"] == "auth"
    assert gate.folder.joinpath("gate.env").read_text().count("CHAT_SMOKE_CATEGORY=auth\n") == 1


def test_a_provisional_report_is_there_while_the_run_hangs_and_after_sigkill(
    tmp_path: Path, stub: StubServer, gates: list[Gate]
) -> None:
    gate = start(tmp_path, stub)
    gates.append(gate)
    report = gate.wait_hanging()
    assert report["verdict"] == "incomplete" and report["exit_code"] is None
    hung = next(c for c in report["checks"] if c["id"] == "positive:scenario/hang")
    assert hung["outcome"] == "cancelled" and "provisional" in hung["message"]
    gate.proc.kill()
    gate.proc.communicate()
    after = gate.report()  # SIGKILL leaves the last provisional report, valid JSON
    assert after["verdict"] == "incomplete"
    assert [p.name for p in gate.folder.iterdir()] == ["report.json"]  # no temp file left
    assert KEY not in gate.report_path.read_text()


def test_a_killed_jobs_provisional_report_merges_as_stopped(
    tmp_path: Path, stub: StubServer, gates: list[Gate]
) -> None:
    gate = start(tmp_path, stub)
    gates.append(gate)
    gate.wait_hanging()
    gate.proc.kill()
    gate.proc.communicate()
    merged = tmp_path / "merged.json"
    proc = subprocess.run([sys.executable, "-m", "smoke", "merge", str(gate.report_path),
                           "--report-json", str(merged)], capture_output=True, text=True,
                          timeout=60, env=scrubbed(), cwd=tmp_path)
    report = json.loads(merged.read_text())
    assert (report["verdict"], report["exit_code"], proc.returncode) == ("cancelled", 137, 137)
    assert report["jobs"][0]["verdict"] == "incomplete"


def test_the_provisional_report_is_written_before_the_first_request(
    tmp_path: Path, stub: StubServer, gates: list[Gate]
) -> None:
    gate = start(tmp_path, stub, models="scenario/hang")
    gates.append(gate)
    report = gate.wait_for(lambda r: True)
    assert report["verdict"] == "incomplete"
    assert [c["id"] for c in report["checks"]] == ["preflight:config", "positive:scenario/hang"]
    code, _, _, _ = gate.stop(signal.SIGTERM)
    assert code == 143 and gate.report()["verdict"] == "cancelled"


def test_no_provisional_report_goes_to_stdout(
    tmp_path: Path, stub: StubServer, gates: list[Gate]
) -> None:
    seen = len(stub.requests)
    gate = start(tmp_path, stub, "--report-json", "-", "--report-junit",
                 str(tmp_path / "junit.xml"))
    gates.append(gate)
    # The provisional report comes before the first request: once both checks reached the
    # stub it would have been written, and a rewrite follows within one progress interval.
    end = time.monotonic() + 30
    while sum(1 for r in stub.requests[seen:] if r["path"].endswith("/chat/completions")) < 2:
        assert time.monotonic() < end and gate.proc.poll() is None, "the checks never began"
        time.sleep(0.02)
    time.sleep(PROGRESS_EVERY_S + 0.5)  # the rewrite, were it written
    code, _, out, err = gate.stop(signal.SIGTERM)
    assert code == 143, err
    assert out.count('"schema_version"') == 1  # only the final report
    report, _ = json.JSONDecoder().raw_decode(out[out.index('{\n  "schema_version"'):])
    assert report["verdict"] == "cancelled"
    assert not (tmp_path / "-").exists()


def test_a_second_signal_exits_at_once(
    tmp_path: Path, stub: StubServer, gates: list[Gate]
) -> None:
    # The JUnit report goes to a FIFO nobody reads: after the first signal the gate writes
    # report.json, then blocks opening the FIFO. Only a second signal can end it now.
    fifo = tmp_path / "fifo.xml"
    os.mkfifo(fifo)
    gate = start(tmp_path, stub, "--report-junit", str(fifo))
    gates.append(gate)
    gate.wait_hanging()
    gate.proc.send_signal(signal.SIGTERM)
    gate.wait_for(lambda r: r["verdict"] == "cancelled", timeout=BOUND_S)
    time.sleep(0.3)
    assert gate.proc.poll() is None  # stuck on the FIFO, as planned
    code, took, _, err = gate.stop(signal.SIGINT)
    assert code == 143, err  # the code of the first signal
    assert took < BOUND_S


def test_action_mode_writes_outputs_and_fail_on_error_false_still_fails(
    tmp_path: Path, stub: StubServer, gates: list[Gate]
) -> None:
    workspace, files = tmp_path / "workspace", tmp_path / "files"
    for folder in (workspace, files, files / "home", files / "temp"):
        folder.mkdir()
    env = runner_env(workspace, files, {
        "api-key": KEY, "base-url": stub.url(), "model": "stub-model,scenario/hang",
        "deadline": "60", "timeout": "60", "retries": "0", "fail-on-error": "false"})
    proc = subprocess.Popen([sys.executable, str(ENTRYPOINT)], cwd=workspace, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    gate = Gate(proc, workspace / "chat-smoke-reports")
    gates.append(gate)
    gate.wait_hanging()
    code, took, out, err = gate.stop(signal.SIGTERM)
    assert code == 143, err  # fail-on-error: false does not turn a cancellation into success
    assert took < BOUND_S
    outputs = dict(parse_output_file(Path(env["GITHUB_OUTPUT"]).read_text("utf-8")))
    assert outputs["verdict"] == "cancelled" and outputs["exit-code"] == "143"
    assert outputs["report-json"] == "chat-smoke-reports/report.json"
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text("utf-8")
    assert "chat-smoke was cancelled" in summary and "⏹️\u00a0cancelled" in summary
    errors = [c for c in run_commands(out) if c.name == "error"]
    assert [c.properties.get("title") for c in errors] == ["chat-smoke: cancelled"]
    assert "positive:scenario/hang" in errors[0].data
    report = gate.report()
    assert report["verdict"] == "cancelled"
    assert (gate.folder / "junit.xml").exists() and (gate.folder / "summary.md").exists()
    assert "incomplete" not in "".join(outputs.values()) + summary
    log = "\n".join(line for line in out.splitlines() if not line.startswith("::add-mask::"))
    assert KEY not in log + err + summary + gate.everything() + "".join(outputs.values())


def _child_of(pid: int, timeout: float = 10) -> int:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.02)
    raise AssertionError("unshare started no child")


_PID_1 = "needs root and unshare for a PID namespace"
_CAN_PID_1 = os.geteuid() == 0 and shutil.which("unshare") is not None


@pytest.mark.root_only
@_skip_off_ci(_CAN_PID_1, _PID_1)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_as_pid_1_a_signal_is_not_ignored(
    tmp_path: Path, stub: StubServer, gates: list[Gate], sig: signal.Signals
) -> None:
    _require(_CAN_PID_1, _PID_1)
    # The kernel drops default-disposition signals sent to a namespace's init: without a
    # handler, SIGTERM would do nothing here and only SIGKILL could end the run.
    gate = start(tmp_path, stub, prefix=("unshare", "--pid", "--fork", "--mount-proc"))
    gates.append(gate)
    gate.wait_hanging()
    child = _child_of(gate.proc.pid)
    nspid = next(line for line in Path(f"/proc/{child}/status").read_text().splitlines()
                 if line.startswith("NSpid:"))
    assert nspid.split()[-1] == "1"  # it really is PID 1 in its namespace
    started = time.monotonic()
    os.kill(child, sig)
    out, err = gate.proc.communicate(timeout=30)
    assert gate.proc.returncode == CODES[sig], err
    assert time.monotonic() - started < BOUND_S
    assert_cancelled(gate, CODES[sig], sig)


def test_the_pull_request_comment_of_a_cancelled_run_has_a_short_budget(
    tmp_path: Path,
) -> None:
    # The GitHub API never answers: the comment gives up after the cancelled budget
    # (2 s), not the usual 10 s, since the CI is about to kill the step.
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    accepting = True

    def hold() -> None:
        while accepting:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=hold, daemon=True).start()
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"number": 7, "pull_request": {"number": 7}}))
    env = {"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event),
           "GITHUB_API_URL": f"http://127.0.0.1:{listener.getsockname()[1]}",
           "GITHUB_REPOSITORY": "acme/shop", "GITHUB_RUN_ID": "1",
           "INPUT_COMMENT-ON-PR": "true", "INPUT_GITHUB-TOKEN": "ghs_" + "t" * 36}
    check = Check("positive:m", "positive", "m", "m").cancel("cancelled by SIGTERM")
    result = gate_result(check, stopped="cancelled", stop_code=143,
                         started_at="2026-11-29T11:00:00.000Z", duration_ms=5, environment="",
                         deployment_sha=None,
                         endpoint={"base_url": "http://x/v1", "host": "x", "path": "/v1"})
    out = io.StringIO()
    started = time.monotonic()
    try:
        publisher = Publisher(github.PLATFORM, GitHubConsole(out), env)
        done = github_comment.comment_on_pr(result, env, publisher)
        publisher.close()
    finally:
        accepting = False
        listener.close()
        for conn in held:
            conn.close()
    took = time.monotonic() - started
    assert done is None and "no answer within 2 s" in out.getvalue()
    assert took < 2 + BOUND_S / 2
    assert github_comment.CANCELLED_BUDGET_S < github_comment.BUDGET_S

"""Cancelling the image while a request hangs, as each CI does, keeps the evidence.

The contract (issue 11, "Cancellation keeps the evidence"): on SIGINT, SIGTERM or SIGHUP,
also as PID 1, the gate stops waiting, marks unfinished checks ``cancelled``, writes every
report, the outputs and the summary with verdict ``cancelled``, and exits 128 + the signal
number. Here it is proven in the image, three ways:

- ``stop -t 5``: SIGTERM to PID 1 (the gate itself), SIGKILL after a 5 s grace (GitLab
  sends SIGTERM; Jenkins allows about 1 s);
- SIGINT (GitHub cancels a container step with SIGINT, then SIGTERM 7.5 s later);
- ``--init``: an init process as PID 1 forwards the ``stop``'s SIGTERM to the gate.

Each must end well inside the grace: the bound below is generous (machines are loaded);
the 1 s aim is measured in bench/, not asserted here.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from junitparser import JUnitXml

from smoke.stub import StubServer
from tests.support.container import (
    Engine,
    Image,
    Result,
    assert_key_nowhere,
    collect_github,
    github_args,
    github_dirs,
    load_json,
    note,
)

GRACE = 5  # seconds the engine waits after SIGTERM before SIGKILL
BOUND = 4.0  # the gate must be gone well before the grace ends
HANG = "hang:60"  # the stub reads the request and sends nothing for 60 s


def _hanging_requests(stub: StubServer) -> int:
    return sum(1 for r in stub.requests if str(r.get("scenario", "")).startswith("hang"))


@pytest.mark.parametrize(("how", "signal_name", "expected"), [
    ("stop", "TERM", 143),
    ("sigint", "INT", 130),
    ("init-stop", "TERM", 143),
])
def test_cancel_a_hanging_request(engine: Engine, image: Image, stub: StubServer,
                                  tmp_path: Path, how: str, signal_name: str,
                                  expected: int) -> None:
    dirs = github_dirs(tmp_path / "github")
    args, env = github_args(dirs, stub.url(HANG), timeout="60", deadline="120", retries="0")
    name = f"chat-smoke-cancel-{how}-{os.getpid()}"
    extra = ["--init"] if how == "init-stop" else []
    before = _hanging_requests(stub)
    engine.cmd("run", "-d", "--name", name, *extra, *args, image.ref, env=env, check=True)
    try:
        waited = time.monotonic()
        while _hanging_requests(stub) == before:
            running = engine.cmd("inspect", "-f", "{{.State.Running}}", name).stdout.strip()
            assert running == "true", engine.cmd("logs", name).stdout
            assert time.monotonic() - waited < 60, "the request never reached the stub"
            time.sleep(0.1)
        time.sleep(0.5)  # the gate is now blocked reading the response

        started = time.monotonic()
        if how == "sigint":
            engine.cmd("kill", "--signal", signal_name, name, check=True)
            try:
                engine.cmd("wait", name, timeout=GRACE + 10)
            except subprocess.TimeoutExpired:
                engine.cmd("stop", "-t", "0", name)
                pytest.fail(f"SIGINT: still running after {GRACE + 10} s", pytrace=False)
        else:
            engine.cmd("stop", "-t", str(GRACE), name, timeout=GRACE + 30, check=True)
        elapsed = time.monotonic() - started

        code = int(engine.cmd("inspect", "-f", "{{.State.ExitCode}}", name,
                              check=True).stdout.strip())
        logs = engine.cmd("logs", name)
        result = Result(code, logs.stdout, logs.stderr, elapsed, tmp_path / "github")
        run = collect_github(result, dirs)
        note(f"cancel {how:9} (SIG{signal_name}{' via --init' if extra else ''}): "
             f"exit {code} after {elapsed:.2f} s")

        assert elapsed < BOUND, f"SIG{signal_name} took {elapsed:.1f} s (exit {code})"
        assert code == expected, f"exit {code}, not 128+SIG{signal_name}\n{result.output}"
        reports = run.workspace / "chat-smoke-reports"
        assert (reports / "report.json").is_file(), f"no report.json\n{result.output}"
        report = load_json(reports / "report.json")
        assert report["verdict"] == "cancelled", report
        outcomes = {c["id"]: c["outcome"] for c in report["checks"]}
        assert "cancelled" in outcomes.values(), outcomes
        junit = JUnitXml.fromfile(str(reports / "junit.xml"))
        assert junit.tests >= 1
        assert run.outputs.get("verdict") == "cancelled", run.outputs
        assert run.outputs.get("exit-code") == str(expected), run.outputs
        assert "cancel" in run.summary.lower(), run.summary
        assert_key_nowhere(result)
    finally:
        engine.cmd("rm", "-f", name)

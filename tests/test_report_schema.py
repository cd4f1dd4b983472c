"""smoke/schema/report.schema.json (issue 26): a valid draft 2020-12 schema, shipped in the
package, that every kind of report validates against: pass, each failure, a config error,
a cancelled run, the provisional report, a merge and a failed merge. The suite-wide guard
(tests/conftest.py, tests/support/reportschema.py) checks every report any test writes; the last
tests here show that the guard itself catches a report that breaks the schema."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

from smoke.config.validate import schema
from smoke.stub import StubServer
from tests.support.cli import KEY, run_cli
from tests.support.env import scrubbed
from tests.support.reportschema import HEAD, problems, sweep

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "smoke" / "schema" / "report.schema.json"


def test_the_report_schema_is_valid_and_shipped() -> None:
    loaded = json.loads(SCHEMA_FILE.read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(loaded)
    assert schema("report") == loaded  # read from the installed package


@pytest.mark.parametrize(("name", "args", "code"), [
    ("pass", ("--model", "stub-model"), 0),
    ("auth", ("--model", "stub-model", "--base-url", "{bad-key}"), 3),
    ("negative+stream", ("--model", "stub-model", "--negative",
                         "invalid-model,missing-field,invalid-key", "--stream"), 0),
    ("config", ("--model", "stub-model", "--timeout", "-1"), 2),
    ("no-model", (), 2),
])
def test_each_kind_of_run_writes_a_valid_report(tmp_path: Path, stub: StubServer, name: str,
                                                args: tuple[str, ...], code: int) -> None:
    argv = [a.replace("{bad-key}", stub.url("bad-key")) for a in args]
    if "--base-url" not in argv:
        argv += ["--base-url", stub.url()]
    run = run_cli(tmp_path, *argv, "--retries", "0")
    assert run.code == code, run.stderr
    assert run.report is not None
    assert problems(run.report) == []


def test_a_cancelled_and_a_provisional_report_are_valid(tmp_path: Path,
                                                         stub: StubServer) -> None:
    report = tmp_path / "report.json"
    env = scrubbed()
    env["COMETAPI_API_KEY"] = KEY
    proc = subprocess.Popen(
        [sys.executable, "-m", "smoke", "run", "--base-url", stub.url("hang:20"),
         "--model", "stub-model", "--report-json", str(report), "--retries", "0"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    for _ in range(200):
        if report.exists():
            break
        time.sleep(0.05)
    provisional = json.loads(report.read_text("utf-8"))
    assert provisional["verdict"] == "incomplete" and provisional["exit_code"] is None
    assert problems(provisional) == []
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 143
    final = json.loads(report.read_text("utf-8"))
    assert final["verdict"] == "cancelled" and problems(final) == []


def test_a_merge_and_a_failed_merge_are_valid(tmp_path: Path, stub: StubServer) -> None:
    legs = []
    for name, scenario in (("ok", None), ("auth", "bad-key")):
        (tmp_path / name).mkdir()
        run = run_cli(tmp_path / name, "--base-url", stub.url(scenario), "--model",
                      "stub-model")
        legs.append(str(tmp_path / name / "report.json"))
        assert run.report is not None
    env = scrubbed()
    for name, given in (("merged", legs), ("failed", [*legs, str(tmp_path / "missing.json")])):
        out = tmp_path / f"{name}.json"
        subprocess.run([sys.executable, "-m", "smoke", "merge", *given, "--report-json",
                        str(out)], env=env, capture_output=True, timeout=60, check=False)
        assert problems(json.loads(out.read_text("utf-8"))) == [], name


# -- the guard ------------------------------------------------------------------------
def test_the_guard_finds_a_report_that_breaks_the_schema(tmp_path: Path) -> None:
    since = time.time() - 1
    good = {"schema_version": 2, "verdict": "pass", "exit_code": 0,
                         "checks": [{"id": "positive:m", "outcome": "pass"}]}
    bad = {**good, "exit_code": 300, "checks": [{"id": "x", "outcome": "maybe"}]}
    crafted = {**good, "exit_code": -4}
    (tmp_path / "good.json").write_text(json.dumps(good, indent=2), "utf-8")
    (tmp_path / "bad.json").write_text(json.dumps(bad, indent=2), "utf-8")
    # A test's own compact JSON (a crafted leg or baseline) is not a report chat-smoke wrote.
    (tmp_path / "crafted.json").write_text(json.dumps(crafted), "utf-8")
    found = sweep(tmp_path, since)
    assert (tmp_path / "bad.json").read_bytes().startswith(HEAD)
    assert any("bad.json" in f and "exit_code" in f for f in found), found
    assert any("bad.json" in f and "maybe" in f for f in found), found
    assert not any("good.json" in f or "crafted.json" in f for f in found), found
    (tmp_path / "bad.json").unlink()  # this test's own teardown sweeps the folder too


def test_the_guard_refuses_nan_in_a_report(tmp_path: Path) -> None:
    since = time.time() - 1
    (tmp_path / "nan.json").write_text(
        '{\n  "schema_version": 2, "verdict": "pass", "exit_code": 0, "duration_ms": NaN,'
        ' "checks": []}', "utf-8")
    found = sweep(tmp_path, since)
    assert len(found) == 1 and "NaN" in found[0]
    (tmp_path / "nan.json").unlink()

"""Issue 26, class 3: baselines and merge legs are untrusted JSON. Before use each is strict
JSON (no NaN, Infinity or 1e999) and valid against smoke/schema/report.schema.json; any
violation is a config error (exit 2) naming the file and the JSON path, and every report
is still written, valid. An exit code outside 0–255 is invalid. A merged report that
cannot be written is a ``report:<kind>`` failure while the others are still written.
Hypothesis mutates a real report at any path with any JSON value: never exit 1, always
valid output."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smoke import pipeline
from smoke.output.console import Console
from smoke.reports import json_report
from smoke.stub import StubServer
from tests.support.cli import KEY, run_cli
from tests.support.env import scrubbed
from tests.support.fuzz import examples
from tests.support.hardkit import strict_json
from tests.support.reportschema import problems

GATE_CODES = {0, 2, 3, 4, 5, 6, 130, 137, 143, 129}


def _real_report(stub: StubServer, scenario: str | None = None) -> dict[str, Any]:
    result, _ = pipeline.check({"base_url": stub.url(scenario), "model": "stub-model",
                                "retries": "0", "environment": "staging"},
                               {"COMETAPI_API_KEY": KEY}, None, Console(out=io.StringIO()))
    report: dict[str, Any] = json.loads(json_report.render(result))
    return report


@pytest.fixture(scope="module")
def base(stub: StubServer) -> dict[str, Any]:
    return _real_report(stub)


def _merge_cli(tmp_path: Path, *legs: str, **targets: str) -> subprocess.CompletedProcess[str]:
    out = tmp_path / "merged"
    argv = [sys.executable, "-m", "smoke", "merge", *legs]
    paths = {"report_json": str(out / "report.json"), "report_junit": str(out / "junit.xml"),
             "summary": str(out / "summary.md"), **targets}
    for kind, path in paths.items():
        argv += [f"--{kind.replace('_', '-')}", path]
    env = scrubbed()
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)


def _assert_merged_outputs(folder: Path) -> dict[str, Any]:
    report = strict_json((folder / "report.json").read_text("utf-8"))
    assert problems(report) == []
    ET.fromstring((folder / "junit.xml").read_bytes())
    assert (folder / "summary.md").read_text("utf-8").strip()
    return dict(report)


def _set(report: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    mutated = copy.deepcopy(report)
    node: Any = mutated
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return mutated


# Each: a change to a real report, and the JSON path the message must name.
BROKEN: list[tuple[str, tuple[Any, ...], Any, str]] = [
    ("NaN duration", ("duration_ms",), float("nan"), "NaN"),
    ("Infinity tokens", ("usage_total_tokens",), float("inf"), "Infinity"),
    ("1e999", ("checks", 1, "duration_ms"), "1e999", "too large"),
    ("a string where an object belongs", ("endpoint",), "https://x", "$.endpoint"),
    ("a list where a string belongs", ("environment",), ["a", "b"], "$.environment"),
    ("a string where a check belongs", ("checks", 0), "positive", "$.checks[0]"),
    ("a number as the verdict", ("verdict",), 5, "$.verdict"),
    ("exit code 300", ("exit_code",), 300, "$.exit_code"),
    ("exit code -1", ("exit_code",), -1, "$.exit_code"),
    ("a boolean exit code", ("exit_code",), True, "$.exit_code"),
    ("a list of models holding an object", ("config", "models"), [{"a": 1}],
     "$.config.models[0]"),
    ("a step without an outcome", ("checks", 1, "steps"), [{"name": "send"}],
     "$.checks[1].steps[0].outcome"),
]


def _write_leg(tmp_path: Path, report: dict[str, Any], name: str,
               raw: str | None = None) -> str:
    path = tmp_path / name
    text = json.dumps(report, allow_nan=True)
    if raw is not None:
        text = text.replace('"__RAW__"', raw)
    path.write_text(text, "utf-8")
    return str(path)


@pytest.mark.parametrize(("name", "path", "value", "named"), BROKEN,
                         ids=[b[0] for b in BROKEN])
def test_a_broken_leg_is_a_config_error_naming_file_and_path(
        tmp_path: Path, base: dict[str, Any], name: str, path: tuple[Any, ...], value: Any,
        named: str) -> None:
    raw = value if value == "1e999" else None
    bad = _write_leg(tmp_path, _set(base, path, "__RAW__" if raw else value), "bad.json", raw)
    good = _write_leg(tmp_path, base, "good.json")
    proc = _merge_cli(tmp_path, good, bad)
    assert proc.returncode == 2, f"{name}: exit {proc.returncode}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr
    line = [x for x in proc.stderr.splitlines() if "config error" in x]
    assert len(line) == 1 and bad in line[0] and named in line[0], proc.stderr
    merged = _assert_merged_outputs(tmp_path / "merged")
    assert merged["failed_file"] == bad and merged["category"] == "config"


@pytest.mark.parametrize(("name", "path", "value", "named"), BROKEN,
                         ids=[b[0] for b in BROKEN])
def test_a_broken_baseline_is_a_config_error_naming_file_and_path(
        tmp_path: Path, stub: StubServer, base: dict[str, Any], name: str,
        path: tuple[Any, ...], value: Any, named: str) -> None:
    raw = value if value == "1e999" else None
    baseline = _write_leg(tmp_path, _set(base, path, "__RAW__" if raw else value),
                          "baseline.json", raw)
    run = run_cli(tmp_path, "--base-url", stub.url(), "--model", "stub-model",
                  "--environment", "staging", "--baseline", baseline,
                  "--report-junit", str(tmp_path / "junit.xml"),
                  "--summary", str(tmp_path / "summary.md"))
    assert run.code == 2, f"{name}: exit {run.code}\n{run.stdout}{run.stderr}"
    assert "Traceback" not in run.stdout + run.stderr
    assert run.report is not None and problems(run.report) == []
    check = run.check("drift:baseline")
    assert check["category"] == "config"
    assert baseline in check["message"] and named in check["message"], check["message"]
    ET.fromstring((tmp_path / "junit.xml").read_bytes())


def test_a_null_exit_code_is_only_for_an_incomplete_report(tmp_path: Path,
                                                           base: dict[str, Any]) -> None:
    bad = _write_leg(tmp_path, {**base, "exit_code": None}, "bad.json")
    proc = _merge_cli(tmp_path, bad)
    assert proc.returncode == 2 and "$.exit_code" in proc.stderr, proc.stderr
    killed = _write_leg(tmp_path, {**base, "exit_code": None, "verdict": "incomplete"},
                        "killed.json")
    proc = _merge_cli(tmp_path, killed)
    assert proc.returncode == 137, proc.stderr


def test_an_unwritable_merged_report_is_a_failure_and_the_others_are_written(
        tmp_path: Path, base: dict[str, Any]) -> None:
    leg = _write_leg(tmp_path, base, "leg.json")
    folder = tmp_path / "a-folder"
    folder.mkdir()
    proc = _merge_cli(tmp_path, leg, report_json=str(folder))
    assert proc.returncode == 2, proc.stderr  # the legs passed: the report decides
    assert "Traceback" not in proc.stderr
    assert f"cannot write {folder}" in proc.stderr
    out = tmp_path / "merged"
    summary = (out / "summary.md").read_text("utf-8")
    junit = ET.fromstring((out / "junit.xml").read_bytes())
    assert "report:json" in summary.replace("\\", "")
    assert any("report:json" in (case.get("name") or "") for case in junit.iter("testcase"))
    # An unwritable JUnit, the JSON report still written and naming it.
    proc = _merge_cli(tmp_path, leg, report_junit=str(folder))
    assert proc.returncode == 2
    merged = _assert_merged_outputs_partial(out)
    assert [c["id"] for c in merged["checks"] if c["outcome"] == "fail"] == ["report:junit"]
    assert merged["verdict"] == "fail" and merged["exit_code"] == 2


def _assert_merged_outputs_partial(folder: Path) -> dict[str, Any]:
    report = strict_json((folder / "report.json").read_text("utf-8"))
    assert problems(report) == []
    return dict(report)


# -- fuzz: any JSON value at any path --------------------------------------------------------
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats() | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=6)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _mutate(report: dict[str, Any], data: st.DataObject) -> Any:
    if data.draw(st.integers(0, 20)) == 0:
        return data.draw(_JSON)  # the whole file
    path = data.draw(st.sampled_from(_paths(report)))
    mutated = copy.deepcopy(report)
    node: Any = mutated
    for step in path[:-1]:
        node = node[step]
    if data.draw(st.booleans()) and isinstance(node, dict):
        del node[path[-1]]
    else:
        node[path[-1]] = data.draw(_JSON)
    return mutated


@examples(150)
@given(data=st.data())
def test_fuzzed_legs_never_exit_1_and_always_give_valid_reports(
        base: dict[str, Any], data: st.DataObject) -> None:
    mutated = _mutate(base, data)
    with tempfile.TemporaryDirectory() as folder:
        good, bad = Path(folder, "good.json"), Path(folder, "bad.json")
        good.write_text(json.dumps(base), "utf-8")
        bad.write_text(json.dumps(mutated, allow_nan=True), "utf-8")
        out = Path(folder, "merged")
        targets = {"report_json": str(out / "report.json"),
                   "report_junit": str(out / "junit.xml"), "summary": str(out / "summary.md")}
        err = io.StringIO()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            code = pipeline.merge([str(good), str(bad)], targets, {}, out=err)
        assert code in GATE_CODES, (code, err.getvalue())
        merged = _assert_merged_outputs(out)
        assert merged["exit_code"] == code
        if code == 2 and merged.get("failed_file"):
            assert str(bad) in err.getvalue()


@examples(100)
@given(data=st.data())
def test_fuzzed_baselines_never_exit_1_and_always_give_valid_reports(
        stub: StubServer, base: dict[str, Any], data: st.DataObject) -> None:
    mutated = _mutate(base, data)
    with tempfile.TemporaryDirectory() as folder:
        baseline = Path(folder, "baseline.json")
        baseline.write_text(json.dumps(mutated, allow_nan=True), "utf-8")
        result, _ = pipeline.check({"base_url": stub.url(), "model": "stub-model",
                                    "retries": "0", "environment": "staging",
                                    "baseline": str(baseline), "fail_on_drift": True},
                                   {"COMETAPI_API_KEY": KEY}, None, Console(out=io.StringIO()))
        report = strict_json(json_report.render(result))
        assert problems(report) == []
        assert result.exit_code in (0, 2, 6), [c.message for c in result.failures]


def test_fuzzed_legs_through_the_real_program(tmp_path: Path, base: dict[str, Any]) -> None:
    """A few mutations through ``python -m smoke merge`` (the fuzz above is in-process)."""
    seen: list[int] = []

    @examples(12)
    @given(data=st.data())
    def one(data: st.DataObject) -> None:
        mutated = _mutate(base, data)
        with tempfile.TemporaryDirectory(dir=tmp_path) as folder:
            bad = Path(folder, "bad.json")
            bad.write_text(json.dumps(mutated, allow_nan=True), "utf-8")
            proc = _merge_cli(Path(folder), str(bad))
            assert proc.returncode in GATE_CODES and "Traceback" not in proc.stderr, \
                proc.stderr
            _assert_merged_outputs(Path(folder, "merged"))
            seen.append(proc.returncode)

    one()
    assert seen

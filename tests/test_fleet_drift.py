"""Drift against a baseline (issue 15): a real run's report.json, modified, as the baseline
of another real run against the loopback stub."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cmarkgfm

from smoke.stub import StubServer
from tests.support.cli import run_cli
from tests.support.gatekit import Outcome, run_gate

SLOW = "slow:0.3"  # the stub answers after 300 ms: over the 250 ms floor


def _baseline(tmp_path: Path, report: dict[str, Any], name: str = "baseline.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(report), "utf-8")
    return str(path)


def _first(stub: StubServer, scenario: str | None = SLOW, **flags: Any) -> Outcome:
    return run_gate(base_url=stub.url(scenario), model="stub-model", retries="0",
                    environment="staging", **flags)


def test_another_fingerprint_and_a_5x_ttfb_show_as_drift(tmp_path: Path,
                                                         stub: StubServer) -> None:
    first = _first(stub)
    assert first.code == 0
    old = first.report
    positive = next(c for c in old["checks"] if c["id"] == "positive:stub-model")
    assert positive["system_fingerprint"] == "fp_stub"
    ttfb = positive["details"]["wire"]["ttfb_ms"]
    assert ttfb >= 250
    positive["system_fingerprint"] = "fp_0123abcd"
    positive["details"]["wire"]["ttfb_ms"] = ttfb // 5  # the new run is 5x slower
    path = _baseline(tmp_path, old)

    second = _first(stub, baseline=path)
    assert second.code == 0  # a warning without --fail-on-drift
    drift = second.report["drift"]
    assert drift["comparable"] is True and drift["baseline"] == path
    found = {(c["check"], c["field"]): c for c in drift["changes"]}
    assert set(found) == {("positive:stub-model", "system_fingerprint"),
                          ("positive:stub-model", "ttfb_ms")}, drift["changes"]
    assert (found["positive:stub-model", "system_fingerprint"]["before"],
            found["positive:stub-model", "system_fingerprint"]["after"]) == ("fp_0123abcd",
                                                                              "fp_stub")
    latency = found["positive:stub-model", "ttfb_ms"]
    assert latency["kind"] == "latency" and latency["after"] >= 3 * latency["before"]
    check = second.check("drift:baseline")
    assert check["outcome"] == "pass" and len(check["warnings"]) == 2
    assert any("system_fingerprint fp_0123abcd → fp_stub" in w
               for w in second.report["warnings"])


def test_the_summary_says_what_changed(tmp_path: Path, stub: StubServer) -> None:
    first = _first(stub)
    old = first.report
    positive = next(c for c in old["checks"] if c["id"] == "positive:stub-model")
    positive["system_fingerprint"] = "fp_old"
    positive["details"]["wire"]["ttfb_ms"] = 10
    run = run_cli(tmp_path, "--base-url", stub.url(SLOW), "--model", "stub-model",
                  "--retries", "0", "--baseline", _baseline(tmp_path, old),
                  "--summary", str(tmp_path / "summary.md"))
    assert run.code == 0, run.stderr
    html = cmarkgfm.github_flavored_markdown_to_html(run.files["summary.md"])
    assert "<h3>What changed since the baseline</h3>" in html
    assert "system_fingerprint fp_old → fp_stub" in html
    assert "ttfb 10 ms →" in html


def test_fail_on_drift_is_an_assertion_failure(tmp_path: Path, stub: StubServer) -> None:
    old = _first(stub).report
    for check in old["checks"]:
        if check["id"] == "positive:stub-model":
            check["response_model"] = "stub-model-2024"
    second = _first(stub, baseline=_baseline(tmp_path, old), fail_on_drift=True)
    assert second.code == 6
    check = second.check("drift:baseline")
    assert (check["outcome"], check["category"]) == ("fail", "assertion")
    assert "response_model stub-model-2024 → stub-model" in check["message"]


def test_latency_under_the_floor_is_noise(tmp_path: Path, stub: StubServer) -> None:
    old = _first(stub, scenario=None).report  # the fast stub: a few ms
    for check in old["checks"]:
        if check["id"] == "positive:stub-model":
            check["details"]["wire"].update(ttfb_ms=0, total_ms=0)
    second = _first(stub, scenario=None, baseline=_baseline(tmp_path, old),
                    fail_on_drift=True)
    assert second.code == 0, second.report["drift"]
    assert second.report["drift"]["changes"] == []


def test_usage_and_fields_that_appeared_or_vanished(tmp_path: Path, stub: StubServer) -> None:
    old = _first(stub, scenario=None).report
    for check in old["checks"]:
        if check["id"] == "positive:stub-model":
            check["usage"] = {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6,
                              "reasoning_tokens": 0}
            check["details"]["request_fields"].remove("temperature")
            check["details"]["request_fields"].append("top_p")
    second = _first(stub, scenario=None, baseline=_baseline(tmp_path, old))
    changes = {(c["kind"], c["field"]) for c in second.report["drift"]["changes"]}
    assert changes == {
        ("usage", "usage.prompt_tokens"), ("usage", "usage.total_tokens"),  # 19 vs 5, 20 vs 6
        ("vanished", "usage.reasoning_tokens"),
        ("appeared", "temperature"), ("vanished", "top_p"),
    }, second.report["drift"]["changes"]


def test_another_endpoint_is_not_compared_even_with_fail_on_drift(
        tmp_path: Path, stub: StubServer) -> None:
    old = _first(stub).report
    old["endpoint"]["path"] = "/other/v1"
    second = _first(stub, baseline=_baseline(tmp_path, old), fail_on_drift=True)
    assert second.code == 0
    drift = second.report["drift"]
    assert drift["comparable"] is False and drift["changes"] == []
    assert "another endpoint path (/other/v1, now /s/slow:0.3/v1)" in drift["reason"]
    assert drift["reason"] in second.report["warnings"]


def test_another_model_set_is_not_compared(tmp_path: Path, stub: StubServer) -> None:
    old = _first(stub).report
    old["config"]["models"] = ["stub-model", "gpt-4o"]
    second = _first(stub, baseline=_baseline(tmp_path, old), fail_on_drift=True)
    assert second.code == 0
    assert "another model set (gpt-4o, stub-model, now stub-model)" in \
        second.report["drift"]["reason"]


def test_a_bad_baseline_is_a_config_failure_before_sending(tmp_path: Path,
                                                           stub: StubServer) -> None:
    bad = tmp_path / "baseline.json"
    bad.write_text("{not json", "utf-8")
    outcome = _first(stub, scenario="pass~drift-bad", baseline=str(bad))
    assert outcome.code == 2
    check = outcome.check("drift:baseline")
    assert check["category"] == "config"
    assert f"--baseline {bad}: not JSON (line 1" in check["message"]
    assert outcome.check("positive:stub-model")["outcome"] == "skip"
    assert all(r["scenario"] != "pass~drift-bad" for r in stub.requests)


def test_a_missing_baseline_names_the_file(tmp_path: Path) -> None:
    run = run_cli(tmp_path, "--base-url", "http://127.0.0.1:9/v1", "--model", "m",
                  "--baseline", "nowhere.json")
    assert run.code == 2
    assert "--baseline: nowhere.json: no such file" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_bad_baseline_after_another_preflight_stopped_the_run(
        tmp_path: Path, stub: StubServer) -> None:
    bad = tmp_path / "baseline.json"
    bad.write_text('{"checks": []}', "utf-8")
    outcome = _first(stub, baseline=str(bad), max_total_tokens="1")  # spend:budget fails
    assert outcome.code == 2
    assert outcome.check("spend:budget")["category"] == "config"
    check = outcome.check("drift:baseline")
    assert check["category"] == "config" and "not a chat-smoke report" in check["message"]

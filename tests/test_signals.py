"""The contract and the operational signals on every answer (issue 22, items 5-7), over real
sockets against the stub: contract deviations (warn, strict, off; answers and stream
chunks), rate-limit headers, Deprecation and Sunset, a retired model behind GET /models,
and latency objectives."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from smoke.categories import OBJECTIVE_HINT, Category
from smoke.stub import StubServer
from tests.support.cli import KEY, run_cli
from tests.support.env import scrubbed
from tests.support.gatekit import run_gate


def plain(markdown: str) -> str:
    """The summary's text without its Markdown escapes and break opportunities."""
    return markdown.replace("<wbr>", "").replace("\\", "")


BROKEN_RULES = {("object", "enum"), ("created", "type"), ("choices[0].logprobs", "required"),
                ("choices[0].message.refusal", "required"), ("choices[0].finish_reason", "enum"),
                ("usage.total_tokens", "required"), ("system_fingerprint", "type")}


# -- the contract -----------------------------------------------------------------------------
def test_a_deviation_is_a_warning_by_default_with_its_path_and_rule(
        tmp_path: Path, stub: StubServer) -> None:
    run = run_cli(tmp_path, "--base-url", stub.url("contract-broken"), "--model", "stub-model",
                  "--summary", str(tmp_path / "summary.md"))
    assert run.code == 0, run.stdout
    check = run.check("positive:stub-model")
    assert check["outcome"] == "pass" and check["answer"] == "pong"
    found = check["details"]["contract"]
    assert (found["mode"], found["checked"]) == ("warn", 1)
    assert {(d["path"], d["rule"]) for d in found["deviations"]} == BROKEN_RULES
    [warning] = check["warnings"]
    assert warning.startswith("contract: 7 deviations from the Chat Completions response "
                              "contract: object: string \"chat_completion\" is not one of "
                              "chat.completion (rule: enum)")
    assert warning in run.report["warnings"]
    summary = plain(run.files["summary.md"])
    assert "⚠️\u00a0pass" in summary and "(rule: enum)" in summary
    assert "contract: 7 deviations" in run.stdout + run.stderr


def test_a_strict_contract_fails_a_deviating_answer_as_protocol(
        tmp_path: Path, stub: StubServer) -> None:
    before = len(stub.requests)
    run = run_cli(tmp_path, "--base-url", stub.url("contract-broken"), "--model", "stub-model",
                  "--contract", "strict")
    assert run.code == Category.PROTOCOL.exit_code == 4, run.stdout
    check = run.check("positive:stub-model")
    assert (check["outcome"], check["category"], check["transient"]) == (
        "fail", "protocol", False)
    assert check["message"].startswith("7 deviations from the Chat Completions response "
                                       "contract: object: ")
    assert "; and 4 more (contract: strict;" in check["message"]
    assert [s["name"] for s in check["steps"]][-1] == "contract"
    assert check["steps"][-1]["outcome"] == "fail"
    assert len(stub.requests) == before + 1  # a broken contract is not retried


def test_a_strict_contract_passes_an_answer_that_keeps_it(stub: StubServer) -> None:
    run = run_gate(base_url=stub.base_url, model="stub-model", contract="strict", stream=True)
    assert run.code == 0, run.console
    for check_id in ("positive:stub-model", "stream:stub-model"):
        check = run.check(check_id)
        assert check["details"]["contract"]["deviations"] == []
        assert check["warnings"] == []


def test_every_stream_chunk_is_checked_and_deviations_counted_once(stub: StubServer) -> None:
    run = run_gate(base_url=stub.url("stream-contract-broken"), model="stub-model",
                   stream=True)
    assert run.code == 0, run.console
    found = run.check("stream:stub-model")["details"]["contract"]
    assert found["checked"] == 5  # role, "po", "ng", finish, usage
    by_rule = {(d["path"], d["rule"]): d for d in found["deviations"]}
    assert set(by_rule) == {("object", "required"), ("created", "required"),
                            ("choices[0].finish_reason", "required"),
                            ("choices[0].delta.role", "enum"),
                            ("choices[0].finish_reason", "enum")}
    assert (by_rule[("object", "required")]["chunk"], by_rule[("object", "required")]["chunks"]
            ) == (1, 4)  # the usage chunk (the stub's own) has its object
    assert by_rule[("choices[0].finish_reason", "enum")]["chunk"] == 4
    strict = run_gate(base_url=stub.url("stream-contract-broken"), model="stub-model",
                      stream=True, contract="strict")
    assert strict.code == 4
    check = strict.check("stream:stub-model")
    assert check["category"] == "protocol" and "chunk 1: object: absent" in check["message"]


def test_contract_off_checks_nothing(stub: StubServer) -> None:
    run = run_gate(base_url=stub.url("contract-broken"), model="stub-model", contract="off")
    assert run.code == 0
    check = run.check("positive:stub-model")
    assert "contract" not in check["details"] and check["warnings"] == []
    assert "contract" not in [s["name"] for s in check["steps"]]


def test_litellm_usage_chunk_shape_is_a_warning_not_a_failure(stub: StubServer) -> None:
    run = run_gate(base_url=stub.url("stream-litellm"), model="stub-model", stream=True)
    assert run.code == 0
    [deviation] = run.check("stream:stub-model")["details"]["contract"]["deviations"]
    assert (deviation["path"], deviation["rule"], deviation["chunk"]) == (
        "choices[0].finish_reason", "required", 5)


@pytest.mark.parametrize(("given", "message"), [
    ("loose", "--contract: 'loose' is not one of warn, strict, off"),
])
def test_a_bad_contract_mode_is_one_config_line(tmp_path: Path, given: str,
                                                message: str) -> None:
    run = run_cli(tmp_path, "--base-url", "http://127.0.0.1:9/v1", "--model", "m",
                  "--contract", given)
    assert run.code == 2
    assert message in run.stdout + run.stderr
    assert "Traceback" not in run.stderr


def _modules(tmp_path: Path, stub: StubServer, *flags: str) -> set[str]:
    listing = tmp_path / "modules.txt"
    probe = ("import atexit, os, sys\n"
             "atexit.register(lambda: open(os.environ['MODULES'], 'w').write("
             "'\\n'.join(m for m in sys.modules if m.startswith('smoke'))))\n"
             "from smoke.cli import main\nsys.argv[0] = 'chat-smoke'\nmain()\n")
    env = scrubbed(COMETAPI_API_KEY=KEY)
    env.update(MODULES=str(listing), NO_PROXY="*")
    proc = subprocess.run([sys.executable, "-c", probe, "run", "--base-url", stub.base_url,
                           "--model", "stub-model", *flags], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return set(listing.read_text().split())


def test_the_contract_is_loaded_on_the_first_answer_and_not_when_off(
        tmp_path: Path, stub: StubServer) -> None:
    assert "smoke.http.contract" in _modules(tmp_path, stub)
    assert "smoke.http.contract" not in _modules(tmp_path, stub, "--contract", "off")
    # Not at start-up: importing the whole gate does not import it.
    proc = subprocess.run([sys.executable, "-c", "import smoke.pipeline, sys; "
                           "print('smoke.http.contract' in sys.modules)"],
                          capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "False", proc.stderr


# -- rate limits --------------------------------------------------------------------------------
def test_rate_limits_in_report_summary_and_metrics_with_a_warning_when_low(
        tmp_path: Path, stub: StubServer) -> None:
    run = run_cli(tmp_path, "--base-url", stub.url("rate-limit-headers:0.05"), "--model",
                  "stub-model", "--summary", str(tmp_path / "summary.md"),
                  "--report-prometheus", str(tmp_path / "gate.prom"))
    assert run.code == 0, run.stdout
    check = run.check("positive:stub-model")
    assert check["details"]["ratelimit"] == {
        "requests": {"limit": 500, "remaining": 25, "reset": "6m0s", "reset_s": 360.0},
        "tokens": {"limit": 200000, "remaining": 150000, "reset": "1s", "reset_s": 1.0}}
    assert check["warnings"] == [
        "rate limit: 25 of 500 requests left (5%, under ratelimit_warn 10%), reset in 6m0s: "
        "the traffic sharing this key may soon be throttled"]
    summary = plain(run.files["summary.md"])
    assert "rate limits (positive:stub-model)" in summary
    assert "requests 25/500 left, reset 6m0s; tokens 150000/200000 left, reset 1s" in summary
    samples = {(s.name, s.labels.get("resource")): s.value
               for family in text_string_to_metric_families(run.files["gate.prom"])
               for s in family.samples if s.labels.get("check") == "positive:stub-model"}
    assert samples[("chat_smoke_ratelimit_remaining", "requests")] == 25
    assert samples[("chat_smoke_ratelimit_limit", "tokens")] == 200000
    assert samples[("chat_smoke_ratelimit_reset_seconds", "requests")] == 360
    assert samples[("chat_smoke_contract_deviations", None)] == 0


@pytest.mark.parametrize(("share", "threshold", "warned"), [
    ("0.5", None, False), ("0.5", "0.6", True), ("0.05", "0", False)])
def test_ratelimit_warn_sets_the_threshold(stub: StubServer, share: str, threshold: str | None,
                                           warned: bool) -> None:
    flags = {"ratelimit_warn": threshold} if threshold is not None else {}
    run = run_gate(base_url=stub.url(f"rate-limit-headers:{share}"), model="stub-model",
                   **flags)
    assert run.code == 0
    assert bool(run.check("positive:stub-model")["warnings"]) is warned


def test_retry_after_is_recorded_on_a_rate_limited_answer(tmp_path: Path,
                                                          stub: StubServer) -> None:
    run = run_cli(tmp_path, "--base-url", stub.url("rate-limit-forever"), "--model",
                  "stub-model", "--retries", "0", "--summary", str(tmp_path / "summary.md"),
                  "--report-prometheus", str(tmp_path / "gate.prom"))
    assert run.code == 5
    check = run.check("positive:stub-model")
    assert check["details"]["ratelimit"] == {"retry_after_s": 1.0}
    assert "rate limits (positive:stub-model) | retry after 1 s" in plain(run.files["summary.md"])
    assert 'chat_smoke_retry_after_seconds{target="default",environment="",model="stub-model",' \
           'check="positive:stub-model"} 1' in run.files["gate.prom"]


# -- retirement -----------------------------------------------------------------------------------
def test_deprecation_and_sunset_are_a_warning_with_the_dates(stub: StubServer) -> None:
    run = run_gate(base_url=stub.url("sunset:30"), model="stub-model", stream=True)
    assert run.code == 0, run.console
    for check_id in ("positive:stub-model", "stream:stub-model"):
        check = run.check(check_id)
        notice = check["details"]["retirement"]
        assert 29.9 < notice["sunset_days"] <= 30
        assert notice["links"] == {"sunset": "https://stub.invalid/deprecations"}
        [warning] = check["warnings"]
        assert warning.startswith(f"the endpoint marks 'stub-model' deprecated since "
                                  f"{notice['deprecation'][:10]} (Deprecation header); it is "
                                  f"retired on {notice['sunset'][:10]} (Sunset header, in 30 "
                                  "days)")
    assert run.report["verdict"] == "pass"


def test_sunset_fail_days_fails_a_model_retired_sooner(tmp_path: Path,
                                                      stub: StubServer) -> None:
    run = run_cli(tmp_path, "--base-url", stub.url("sunset:5"), "--model", "stub-model",
                  "--sunset-fail-days", "10", "--report-prometheus", str(tmp_path / "g.prom"))
    assert run.code == Category.MODEL.exit_code
    check = run.check("positive:stub-model")
    assert (check["outcome"], check["category"]) == ("fail", "model")
    assert "closer than sunset_fail_days 10" in check["message"]
    assert "chat_smoke_sunset_timestamp_seconds" in run.files["g.prom"]
    later = run_gate(base_url=stub.url("sunset:30"), model="stub-model", sunset_fail_days=10)
    assert later.code == 0 and later.check("positive:stub-model")["warnings"]


@pytest.mark.parametrize("status", ["404", "410"])
def test_a_listed_model_not_found_is_retired_or_not_enabled(stub: StubServer,
                                                            status: str) -> None:
    run = run_gate(base_url=stub.url(f"retired:{status}"), model="stub-model",
                   check_models=True)
    assert run.code == 4
    check = run.check("positive:stub-model")
    assert check["category"] == "model" and check["http_status"] == int(status)
    assert check["message"].startswith(
        f"GET /models lists 'stub-model', yet the completion answered HTTP {status} "
        "model_not_found: the model is retired (or being retired) upstream, or not enabled "
        "for this key")
    plain = run_gate(base_url=stub.url(f"retired:{status}"), model="stub-model")
    assert "GET /models lists" not in plain.check("positive:stub-model")["message"]


# -- latency objectives ----------------------------------------------------------------------
def test_over_a_fail_bound_is_timeout_with_its_own_hint_and_not_retried(
        tmp_path: Path, stub: StubServer) -> None:
    before = len(stub.requests)
    (tmp_path / "chat-smoke.yml").write_text(
        f"base_url: {stub.url('slow:0.4')}\nmodel: stub-model\n"
        "latency: {ttfb_ms: {warn: 100, fail: 300}}\n")
    run = run_cli(tmp_path, "--summary", str(tmp_path / "summary.md"))
    assert run.code == Category.TIMEOUT.exit_code == 5, run.stdout
    check = run.check("positive:stub-model")
    assert (check["outcome"], check["category"], check["objective"]) == (
        "fail", "timeout", "latency")
    assert check["transient"] is False and check["hint"] == OBJECTIVE_HINT
    assert check["attempts"] == 1 and len(stub.requests) == before + 1
    assert check["message"].startswith("time to first byte ")
    assert "is over the fail bound of its objective (300 ms, latency.ttfb_ms for " \
           "stub-model)" in check["message"]
    assert check["details"]["latency"]["ttfb_ms"]["verdict"] == "fail"
    assert f"**Fix:** {OBJECTIVE_HINT}" in plain(run.files["summary.md"])


def test_over_a_warn_bound_passes_with_a_warning(stub: StubServer) -> None:
    run = run_gate(base_url=stub.url("slow-body:0.4"), model="stub-model",
                   latency={"ttfb_ms": {"warn": 300}, "total_ms": {"warn": 300, "fail": 5000}})
    assert run.code == 0, run.console
    check = run.check("positive:stub-model")
    assert check["details"]["latency"]["ttfb_ms"]["verdict"] == "met"
    assert check["details"]["latency"]["total_ms"]["verdict"] == "warn"
    [warning] = check["warnings"]
    assert warning.startswith("total time ") and "over the warn bound" in warning


def test_first_token_objective_on_a_stream(stub: StubServer) -> None:
    run = run_gate(base_url=stub.url("stream-slow-first-token:0.4"), model="stub-model",
                   stream=True, latency={"first_token_ms": {"warn": 50, "fail": 300}})
    assert run.code == 5, run.console
    check = run.check("stream:stub-model")
    assert (check["category"], check["objective"]) == ("timeout", "latency")
    assert check["message"].startswith("time to first token ")
    # The plain answer has no first token to time: its objective does not apply.
    positive = run.check("positive:stub-model")
    assert positive["outcome"] == "pass" and "first_token_ms" not in positive["details"][
        "latency"]


def test_a_wrong_answer_that_is_also_slow_stays_an_assertion(stub: StubServer) -> None:
    run = run_gate(base_url=stub.url("slow:0.2"), model="stub-model",
                   expect="contains:no-such-word", latency={"total_ms": {"fail": 50}})
    check = run.check("positive:stub-model")
    assert check["category"] == "assertion" and check["objective"] is None
    assert any("over the fail bound" in w for w in check["warnings"])


def test_a_warn_bound_over_its_fail_bound_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "chat-smoke.yml").write_text(
        "model: m\nlatency: {total_ms: {warn: 9000, fail: 2000}}\n")
    run = run_cli(tmp_path)
    assert run.code == 2
    assert ("chat-smoke.yml: latency: latency.total_ms: warn 9000 ms is over fail 2000 ms"
            in run.stdout + run.stderr)


def test_the_settings_are_shown_in_the_resolved_configuration(stub: StubServer) -> None:
    run = run_gate(base_url=stub.base_url, model="stub-model", contract="strict",
                   ratelimit_warn=0.2, sunset_fail_days=7,
                   latency={"total_ms": {"warn": 1000, "fail": 9000}})
    config = run.report["config"]
    assert (config["contract"], config["ratelimit_warn"], config["sunset_fail_days"]) == (
        "strict", 0.2, 7)
    assert config["latency"] == {"total_ms": {"warn": 1000, "fail": 9000}}
    assert json.dumps(config)  # plain data


# -- warnings reach the CI as warning annotations --------------------------------------------
def test_deviations_and_signals_are_warning_annotations(tmp_path: Path,
                                                        stub: StubServer) -> None:
    from tests.support.github import gate, publish, runner_files
    from tests.support.runner_rules import run_commands

    out = io.StringIO()
    result = gate(stub, "contract-broken", out)
    publish(out, result, runner_files(tmp_path))
    commands = run_commands(out.getvalue())
    assert not [c for c in commands if c.name == "error"]
    warnings = [c.data for c in commands if c.name == "warning"]
    assert len(warnings) == 1 and warnings[0].startswith("contract: 7 deviations")
    assert "object: string \"chat_completion\" is not one of chat.completion (rule: enum)" \
        in warnings[0]


# -- per model ----------------------------------------------------------------------------------
def test_a_models_own_latency_objective_replaces_the_global_one(
        tmp_path: Path, stub: StubServer) -> None:
    """Each model is judged by its own settings (Settings.for_model): the slow one's own,
    looser objective passes it; the other keeps the global, tighter one and fails."""
    (tmp_path / "chat-smoke.yml").write_text(
        f"base_url: {stub.url('slow:0.3')}\n"
        "latency: {ttfb_ms: {warn: 50, fail: 200}}\n"
        "model:\n"
        "  - stub-model\n"
        "  - id: gpt-4o-mini\n"
        "    latency: {ttfb_ms: {warn: 250, fail: 5000}}\n")
    run = run_cli(tmp_path)
    assert run.code == 5, run.stdout
    strict, loose = run.check("positive:stub-model"), run.check("positive:gpt-4o-mini")
    assert (strict["outcome"], strict["category"], strict["objective"]) == (
        "fail", "timeout", "latency")
    assert "(200 ms, latency.ttfb_ms for stub-model)" in strict["message"]
    assert loose["outcome"] == "pass"
    assert loose["details"]["latency"]["ttfb_ms"]["fail"] == 5000
    assert loose["warnings"][0].startswith("time to first byte ")
    assert "(250 ms, latency.ttfb_ms for gpt-4o-mini)" in loose["warnings"][0]
    assert run.report["config"]["per_model"]["gpt-4o-mini"]["latency"] == {
        "ttfb_ms": {"warn": 250, "fail": 5000}}


def test_a_models_own_latency_is_checked_like_the_global_one(tmp_path: Path) -> None:
    (tmp_path / "chat-smoke.yml").write_text(
        "model:\n  - id: gpt-4o-mini\n    latency: {total_ms: {warn: 9000, fail: 2000}}\n")
    run = run_cli(tmp_path)
    assert run.code == 2
    assert "model 'gpt-4o-mini': latency: latency.total_ms: warn 9000 ms is over fail " \
           "2000 ms" in run.stdout + run.stderr


def test_json_that_is_no_answer_keeps_its_parse_failure_and_lists_what_it_lacks(
        stub: StubServer) -> None:
    run = run_gate(base_url=stub.url("wrong-shape"), model="stub-model", contract="strict")
    check = run.check("positive:stub-model")
    assert check["category"] == "protocol" and check["message"] == (
        "HTTP 200, but the answer has no choices")
    found = {(d["path"], d["rule"]) for d in check["details"]["contract"]["deviations"]}
    assert found == {("id", "required"), ("object", "required"), ("created", "required"),
                     ("model", "required"), ("choices", "required")}


def test_a_deprecation_still_to_come_says_from(stub: StubServer) -> None:
    from smoke.checks import signals
    from smoke.config import load
    from smoke.results import Check

    check = Check("positive:m", "positive", "x", "m")
    signals.observe(check, {"deprecation": "@4102444800"})  # 2100-01-01
    signals.warn(check, load({"model": "m"}, {"COMETAPI_API_KEY": KEY}))
    assert check.warnings == ["the endpoint marks 'm' deprecated from 2100-01-01 (Deprecation "
                              "header): plan the move to its successor"]

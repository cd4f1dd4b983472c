"""The spend guard, --max-total-tokens: before the run (config, nothing sent) and after it
(assertion, from the usage the endpoint reported)."""

from __future__ import annotations

from pathlib import Path

from smoke.stub import StubServer
from tests.support.cli import run_cli
from tests.support.gatekit import run_gate

# The default request's budget: a prompt estimate of 25 tokens plus max_tokens 16.
EACH = 41


def test_a_plan_that_could_exceed_the_limit_sends_nothing(tmp_path: Path,
                                                          stub: StubServer) -> None:
    before = len(stub.requests)
    # 2 models x 2 paths (stream) x 3 attempts x 41 tokens = 492 > 400
    run = run_cli(tmp_path, "--base-url", stub.base_url, "--model", "stub-model,gpt-4o-mini",
                  "--stream", "--check-models", "--max-total-tokens", "400")
    assert run.report is not None, run.stderr
    assert (run.code, run.report["category"]) == (2, "config")
    check = run.check("spend:budget")
    assert (check["kind"], check["category"]) == ("preflight", "config")
    assert "could spend up to 492 tokens" in check["message"]
    assert "4 checks x 3 attempts (retries 2) x 41 tokens" in check["message"]
    assert "nothing was sent" in check["message"]
    assert check["details"]["ceiling"] == 4 * 3 * EACH
    skipped = [c for c in run.report["checks"] if c["kind"] in ("positive", "stream")]
    assert len(skipped) == 4 and {c["outcome"] for c in skipped} == {"skip"}
    assert "models:list" not in [c["id"] for c in run.report["checks"]]  # nor a GET /models
    assert len(stub.requests) == before


def test_a_plan_within_the_limit_runs_and_the_total_is_checked(stub: StubServer) -> None:
    run = run_gate(base_url=stub.base_url, model="stub-model", max_total_tokens="123")
    assert run.code == 0, run.console
    assert run.check("spend:budget")["details"]["ceiling"] == 3 * EACH
    total = run.check("spend:total")
    assert (total["kind"], total["outcome"], total["details"]["total"]) == ("spend", "pass", 20)
    assert run.ids[-1] == "spend:total"


def test_reported_usage_over_the_limit_is_assertion(stub: StubServer) -> None:
    # The "hidden-prompt" gateway reports 901 tokens for the small request.
    run = run_gate(base_url=stub.url("hidden-prompt"), model="stub-model",
                   max_total_tokens="500", retries="0")
    assert (run.code, run.report["category"]) == (6, "assertion")
    assert run.check("spend:budget")["outcome"] == "pass"
    assert run.check("positive:stub-model")["outcome"] == "pass"
    total = run.check("spend:total")
    assert total["category"] == "assertion"
    assert "reported 901 tokens" in total["message"] and "500" in total["message"]
    assert run.report["usage_total_tokens"] == 901


def test_no_token_limit_means_no_bound(stub: StubServer) -> None:
    before = len(stub.requests)
    run = run_gate(base_url=stub.base_url, model="stub-model", max_total_tokens="10000",
                   max_tokens="none")
    assert (run.code, run.check("spend:budget")["category"]) == (2, "config")
    assert "--max-tokens" in run.check("spend:budget")["message"]
    assert len(stub.requests) == before


def test_usage_not_reported_is_a_warning(stub: StubServer) -> None:
    run = run_gate(base_url=stub.url("no-usage"), model="stub-model", max_total_tokens="500")
    assert run.code == 0, run.console
    total = run.check("spend:total")
    assert total["outcome"] == "skip" and "could not be confirmed" in total["message"]
    assert total["message"] in run.report["warnings"]


def test_the_guard_from_the_config_file(tmp_path: Path, stub: StubServer) -> None:
    (tmp_path / "chat-smoke.yml").write_text(
        f"base_url: {stub.base_url}\nmodel: [stub-model]\nmax_total_tokens: 100\nretries: 2\n")
    run = run_cli(tmp_path)
    assert run.report is not None, run.stderr
    assert (run.code, run.check("spend:budget")["category"]) == (2, "config")

"""Several models at once (--model a,b,c) and the models list (--check-models)."""

from __future__ import annotations

from pathlib import Path

from smoke.stub import StubServer
from tests.support.cli import run_cli
from tests.support.gatekit import run_gate

FOUR = ["scenario/pass~1", "scenario/pass~2", "scenario/wrong-answer", "scenario/pass~3"]


def test_four_models_one_fails(tmp_path: Path, stub: StubServer) -> None:
    run = run_cli(tmp_path, "--base-url", stub.base_url, "--model", ",".join(FOUR),
                  "--report-junit", str(tmp_path / "junit.xml"))
    assert run.report is not None, run.stderr
    assert (run.code, run.report["category"]) == (6, "assertion")
    outcomes = {c["model"]: c["outcome"] for c in run.report["checks"]
                if c["kind"] == "positive"}
    assert outcomes == {"scenario/pass~1": "pass", "scenario/pass~2": "pass",
                        "scenario/wrong-answer": "fail", "scenario/pass~3": "pass"}
    failed = run.check("positive:scenario/wrong-answer")
    assert failed["category"] == "assertion" and "does not satisfy" in failed["message"]
    assert "FAIL positive:scenario/wrong-answer [assertion]" in run.stdout
    assert run.report["usage_total_tokens"] == 80  # 4 x 20, summed over the models


def test_several_models_exit_code_follows_the_precedence(stub: StubServer) -> None:
    # assertion (6), upstream (5) and model (4) at once: 4 comes first.
    run = run_gate(base_url=stub.base_url, retries="0", model=",".join(
        ["scenario/pass", "scenario/wrong-answer", "scenario/server-error",
         "scenario/unknown-model"]))
    categories = {c["model"]: c["category"] for c in run.report["checks"]
                  if c["kind"] == "positive"}
    assert categories == {"scenario/pass": None, "scenario/wrong-answer": "assertion",
                          "scenario/server-error": "upstream",
                          "scenario/unknown-model": "model"}
    assert (run.code, run.report["category"]) == (4, "model")


def test_models_run_concurrently_under_the_concurrency_bound(stub: StubServer) -> None:
    # Each model sleeps 0.5 s at the stub; with one at a time the four would need 2 s,
    # which the deadline of 1.6 s does not allow. Concurrency 4 fits them all.
    models = ",".join(f"scenario/slow:0.5~c{i}" for i in range(4))
    run = run_gate(base_url=stub.base_url, model=models, deadline="1.6", concurrency="4")
    assert run.code == 0, run.console
    serial = run_gate(base_url=stub.base_url, model=models, deadline="1.6", concurrency="1",
                      retries="0")
    assert (serial.code, serial.report["category"]) == (5, "timeout")


def test_check_models_confirms_listed_models(stub: StubServer) -> None:
    run = run_gate(base_url=stub.base_url, model="stub-model,gpt-4o-mini", check_models=True)
    assert run.code == 0, run.console
    check = run.check("models:list")
    assert (check["kind"], check["outcome"], check["http_status"]) == ("preflight", "pass", 200)
    assert run.ids == ["preflight:config", "models:list", "positive:stub-model",
                       "positive:gpt-4o-mini"]


def test_check_models_names_the_missing_model_and_spends_nothing_on_it(
        stub: StubServer) -> None:
    before = len(stub.requests)
    run = run_gate(base_url=stub.base_url, model="stub-model,gpt-4o-mni", check_models=True,
                   stream=True)
    assert (run.code, run.report["category"]) == (4, "model")
    check = run.check("models:list")
    assert check["category"] == "model"
    assert "'gpt-4o-mni' (did you mean 'gpt-4o-mini'" in check["message"]
    assert check["details"]["missing"] == ["gpt-4o-mni"]
    for skipped in ("positive:gpt-4o-mni", "stream:gpt-4o-mni"):
        assert run.check(skipped)["outcome"] == "skip"
        assert "does not list 'gpt-4o-mni'" in run.check(skipped)["message"]
    assert run.check("positive:stub-model")["outcome"] == "pass"
    sent = [r["payload"]["model"] for r in stub.requests[before:] if r["method"] == "POST"]
    assert "gpt-4o-mni" not in sent and sent.count("stub-model") == 2


def test_an_endpoint_without_models_list_is_a_warning(stub: StubServer) -> None:
    # The path prefix answers GET /models with 404; the model id routes the completion.
    run = run_gate(base_url=stub.url("no-models"), model="scenario/pass", check_models=True)
    assert run.code == 0, run.console
    check = run.check("models:list")
    assert (check["outcome"], check["category"], check["http_status"]) == ("skip", None, 404)
    assert check["warnings"] and "no models list" in check["warnings"][0]
    assert check["warnings"][0] in run.report["warnings"]


def test_a_rejected_key_on_models_list_is_auth(stub: StubServer) -> None:
    run = run_gate(base_url=stub.base_url, model="stub-model", check_models=True,
                   env={"COMETAPI_API_KEY": "sk-wrong-key-0000000000000000"})
    assert (run.code, run.check("models:list")["category"]) == (3, "auth")

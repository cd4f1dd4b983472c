"""The response contract and the operational signals on REAL gateways (issue 22): LiteLLM's
proxy (its own mock answers, serialised by LiteLLM) and Portkey's gateway (forwarding to the
bundled stub as its custom host). What each deviates on is in docs/compatibility.md, "The
response contract"; these tests fail when that changes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from smoke.stub import StubServer
from tests.support.cli import KEY, Run, run_cli
from tests.support.litellm_proxy import LiteLLMProxy
from tests.support.portkey_gateway import PortkeyGateway

# LiteLLM 1.108.7 leaves out what is null: a choice's logprobs and the message's refusal,
# and in a stream every finish_reason until the last content chunk (and the usage chunk's).
LITELLM_ANSWER = {("choices[0].logprobs", "required"), ("choices[0].message.refusal", "required")}
LITELLM_STREAM = {("choices[0].finish_reason", "required")}
# The stub's contract-broken answer, which Portkey forwards as it is.
BROKEN = {("object", "enum"), ("created", "type"), ("choices[0].logprobs", "required"),
          ("choices[0].message.refusal", "required"), ("choices[0].finish_reason", "enum"),
          ("usage.total_tokens", "required"), ("system_fingerprint", "type")}


@pytest.fixture(scope="module")
def upstream() -> Iterator[StubServer]:
    with StubServer(key=KEY) as server:
        yield server


def _run(tmp_path: Path, base_url: str, model: str, *args: str, key: str) -> Run:
    run = run_cli(tmp_path, "--base-url", base_url, "--model", model, "--deadline", "60",
                  *args, key=key)
    assert run.report is not None, run.stdout + run.stderr
    assert "Traceback" not in run.stderr and key not in run.all_output
    return run


def _deviations(run: Run, check_id: str) -> set[tuple[str, str]]:
    found = run.check(check_id)["details"]["contract"]["deviations"]
    return {(d["path"], d["rule"]) for d in found}


# -- LiteLLM ------------------------------------------------------------------------------------
def test_litellm_deviations_are_warnings_by_default(litellm: LiteLLMProxy,
                                                    tmp_path: Path) -> None:
    model = litellm.models.pong
    run = _run(tmp_path, litellm.base_url, model, "--stream", key=litellm.master_key)
    assert run.code == 0, run.stdout
    assert _deviations(run, f"positive:{model}") == LITELLM_ANSWER
    assert _deviations(run, f"stream:{model}") == LITELLM_STREAM
    stream = run.check(f"stream:{model}")["details"]["contract"]
    [entry] = stream["deviations"]
    assert (entry["chunk"], entry["chunks"]) == (1, 3)  # "pon", "g", then the usage chunk
    assert all(run.check(f"{kind}:{model}")["warnings"][0].startswith("contract: ")
               for kind in ("positive", "stream"))


def test_litellm_under_a_strict_contract_fails_as_protocol(litellm: LiteLLMProxy,
                                                           tmp_path: Path) -> None:
    model = litellm.models.pong
    run = _run(tmp_path, litellm.base_url, model, "--stream", "--contract", "strict",
               key=litellm.master_key)
    assert run.code == 4
    for kind in ("positive", "stream"):
        check = run.check(f"{kind}:{model}")
        assert (check["outcome"], check["category"]) == ("fail", "protocol")
        assert "(contract: strict;" in check["message"]
    assert "choices[0].message.refusal: absent (rule: required)" in run.check(
        f"positive:{model}")["message"]


# -- Portkey --------------------------------------------------------------------------------------
def _portkey(tmp_path: Path, portkey: PortkeyGateway, upstream: StubServer, scenario: str,
             *args: str) -> Run:
    return _run(tmp_path, portkey.base_url, "stub-model",
                "--header", "x-portkey-provider: openai",
                "--header", f"x-portkey-custom-host: {upstream.url(scenario)}", *args, key=KEY)


def test_portkey_forwards_an_answer_that_keeps_the_contract_unchanged(
        portkey: PortkeyGateway, upstream: StubServer, tmp_path: Path) -> None:
    run = _portkey(tmp_path, portkey, upstream, "pass~pkcontract", "--contract", "strict")
    assert run.code == 0, run.stdout
    assert _deviations(run, "positive:stub-model") == set()


def test_portkey_forwards_a_broken_answer_as_it_is(
        portkey: PortkeyGateway, upstream: StubServer, tmp_path: Path) -> None:
    warned = _portkey(tmp_path, portkey, upstream, "contract-broken")
    assert warned.code == 0, warned.stdout
    assert _deviations(warned, "positive:stub-model") == BROKEN
    strict = _portkey(tmp_path, portkey, upstream, "contract-broken", "--contract", "strict")
    assert strict.code == 4
    assert strict.check("positive:stub-model")["category"] == "protocol"


def test_portkey_passes_the_rate_limit_and_sunset_headers_through(
        portkey: PortkeyGateway, upstream: StubServer, tmp_path: Path) -> None:
    limits = _portkey(tmp_path, portkey, upstream, "rate-limit-headers:0.05")
    check = limits.check("positive:stub-model")
    assert check["details"]["ratelimit"]["requests"] == {
        "limit": 500, "remaining": 25, "reset": "6m0s", "reset_s": 360.0}
    assert check["warnings"][0].startswith("rate limit: 25 of 500 requests left")
    sunset = _portkey(tmp_path, portkey, upstream, "sunset:5", "--sunset-fail-days", "10")
    assert sunset.code == 4
    check = sunset.check("positive:stub-model")
    assert check["category"] == "model" and "closer than sunset_fail_days 10" in check["message"]


def test_portkey_streaming_from_a_custom_host_fails_in_its_own_layer(
        portkey: PortkeyGateway, upstream: StubServer, tmp_path: Path) -> None:
    """Portkey 1.15.2 on Node cannot stream from a custom host ("TypeError: immutable" in
    its updateHeaders, Portkey-AI/gateway#1389 and #1550): its own 500, so no stream chunk
    reaches the contract. When a later version fixes it, this test fails: then check the
    stream's deviations and update docs/compatibility.md."""
    run = _portkey(tmp_path, portkey, upstream, "pass~pkstream", "--stream", "--retries", "0")
    check = run.check("stream:stub-model")
    assert (check["outcome"], check["http_status"]) == ("fail", 500)
    assert "Something went wrong" in check["message"]
    assert run.check("positive:stub-model")["outcome"] == "pass"

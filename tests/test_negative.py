"""Controlled negative checks (issue 4), against the stub over loopback."""

from __future__ import annotations

import string
import uuid
from pathlib import Path

import pytest

from smoke.checks.negative import nonexistent_model, random_key_like
from smoke.stub import StubServer
from tests.support.cli import KEY, Run, run_cli
from tests.support.faultkit import assert_no_key

ALL = "invalid-model,missing-field,invalid-key"
EXPECTED = {"invalid-model": "model", "missing-field": "request", "invalid-key": "auth"}


def _run(tmp_path: Path, url: str, negative: str = ALL, *args: str) -> Run:
    run = run_cli(tmp_path, "--base-url", url, "--model", "stub-model", "--deadline", "10",
                  "--negative", negative, *args)
    assert run.report is not None, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    assert_no_key(run)
    return run


def test_all_pass_against_a_well_behaved_endpoint(tmp_path: Path, stub: StubServer) -> None:
    run = _run(tmp_path, stub.url())
    assert run.code == 0, run.stdout
    for name, expected in EXPECTED.items():
        check = run.check(f"negative:{name}")
        assert (check["kind"], check["outcome"], check["category"]) == ("negative", "pass", None)
        assert check["expected_category"] == expected
        assert check["details"]["got_category"] == expected
        assert check["attempts"] == 1 and check["http_status"] in (400, 401, 404)
        assert f"rejected as expected ({expected})" in check["message"]
    assert run.check("negative:invalid-model")["model"].startswith("chat-smoke-nonexistent-")


def test_all_fail_with_protocol_against_an_endpoint_that_accepts_everything(
    tmp_path: Path, stub: StubServer
) -> None:
    run = _run(tmp_path, stub.url("accept-all"))
    assert (run.code, run.report and run.report["category"]) == (4, "protocol"), run.stdout
    assert run.check("positive:stub-model")["outcome"] == "pass"
    for name in EXPECTED:
        check = run.check(f"negative:{name}")
        assert (check["outcome"], check["category"], check["http_status"]) == (
            "fail", "protocol", 200)
        assert check["attempts"] == 1
        assert "the endpoint did not enforce its contract: it accepted" in check["message"]


def test_a_rejection_in_the_wrong_category_fails(tmp_path: Path, stub: StubServer) -> None:
    # lax-errors answers good requests, but an unknown model with a generic 400 and a
    # wrong key with a bare 403.
    run = _run(tmp_path, stub.url("lax-errors"))
    assert (run.code, run.report and run.report["category"]) == (4, "protocol"), run.stdout
    assert run.check("positive:stub-model")["outcome"] == "pass"
    assert run.check("negative:missing-field")["outcome"] == "pass"
    for name, got in (("invalid-model", "request"), ("invalid-key", "permission")):
        check = run.check(f"negative:{name}")
        assert (check["outcome"], check["category"]) == ("fail", "protocol")
        assert f"expected {EXPECTED[name]}, got {got}" in check["message"]
        assert check["details"]["got_category"] == got


def test_never_retried_and_an_outage_keeps_its_category(
    tmp_path: Path, stub: StubServer
) -> None:
    run = _run(tmp_path, stub.url("rate-limit-forever"), "invalid-model", "--retries", "1")
    assert run.code == 5 and run.report is not None
    assert run.check("positive:stub-model")["attempts"] == 2
    check = run.check("negative:invalid-model")
    assert (check["attempts"], check["category"], check["outcome"]) == (1, "rate_limit", "fail")
    assert "could not be judged: expected model, got rate_limit" in check["message"]


def test_invalid_key_never_sends_the_real_key(tmp_path: Path, stub: StubServer) -> None:
    scenario = f"pass~{uuid.uuid4().hex[:10]}"
    run = _run(tmp_path, stub.url(scenario), "invalid-key")
    assert run.code == 0, run.stdout
    sent = [r["headers"].get("Authorization", "") for r in stub.requests
            if r["scenario"] == scenario]
    assert len(sent) == 2 and sent.count(f"Bearer {KEY}") == 1  # the positive check's
    fake = next(h for h in sent if h != f"Bearer {KEY}").removeprefix("Bearer ")
    _assert_same_shape(fake, KEY)


def _assert_same_shape(fake: str, key: str) -> None:
    assert fake != key and len(fake) == len(key)
    assert fake.startswith("sk-")
    allowed = set(string.ascii_letters + string.digits + "-")
    assert set(fake) <= allowed
    # Nothing of the real key beyond its "sk-" scheme: no 6-character piece in common.
    pieces = {key[i : i + 6] for i in range(3, len(key) - 5)}
    assert not any(fake[i : i + 6] in pieces for i in range(len(fake) - 5))


@pytest.mark.parametrize(
    ("key", "prefix"),
    [(KEY, "sk-"), ("sk-proj-" + "Ab1" * 30, "sk-"), ("sk_live_" + "x9" * 20, "sk_"),
     ("0123456789abcdef" * 2, ""), ("AIzaSyD-" + "Q" * 31, "")],
)
def test_random_key_has_the_same_shape(key: str, prefix: str) -> None:
    fakes = {random_key_like(key) for _ in range(20)}
    assert len(fakes) == 20  # random, not derived
    for fake in fakes:
        assert len(fake) == len(key) and fake.startswith(prefix) and fake != key
        classes = [string.ascii_lowercase, string.ascii_uppercase, string.digits]
        for chars in classes:
            if not any(c in chars for c in key[len(prefix):]):
                assert not any(c in chars for c in fake)


def test_nonexistent_model_is_fresh() -> None:
    assert nonexistent_model() != nonexistent_model()

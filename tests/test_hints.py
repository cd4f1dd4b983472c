"""Hints that are true (issue 21): each one tested against the situation that produces
it, through the real gate and the stub. Where chat-smoke cannot know the cause the hint
says so and lists the likely ones; it never states a wrong one."""

from __future__ import annotations

import io
import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from smoke import pipeline
from smoke.categories import Category
from smoke.output.console import Console
from smoke.results import GateResult
from smoke.stub import StubServer
from smoke.stub.scenarios import SCENARIOS
from tests.support.cli import KEY, run_cli

# Category hints that are wrong for a 404 (issue 21's report).
_WRONG_FOR_404 = ("Check the payload fields", "ends in /v1")


def _gate(**flags: Any) -> GateResult:
    result, _ = pipeline.check({"api_key_env": "K", "retries": "0", **flags}, {"K": KEY},
                         console=Console(io.StringIO()))
    return result


def _positive(result: GateResult) -> Any:
    return next(c for c in result.checks if c.kind == "positive")


def test_a_404_on_an_azure_style_url_says_it_cannot_tell(stub: StubServer) -> None:
    base = f"http://127.0.0.1:{stub.port}/openai/deployments/gpt-4o?api-version=2024-10-21"
    check = _positive(_gate(base_url=base, model="stub-model", auth_header="api-key"))
    assert (check.category, check.http_status) == (Category.REQUEST, 404)
    assert check.hint.startswith("HTTP 404 on a URL with a query string")
    assert "cannot tell" in check.hint
    for cause in ("deployment name", "api-version", "resource name"):
        assert cause in check.hint
    for wrong in _WRONG_FOR_404:
        assert wrong not in check.hint + check.message


def test_a_404_on_a_path_without_v1_says_so(stub: StubServer) -> None:
    check = _positive(_gate(base_url=f"http://127.0.0.1:{stub.port}/api", model="stub-model"))
    assert (check.category, check.http_status) == (Category.REQUEST, 404)
    assert "base_url's path /api has no /v1" in check.hint
    assert "Check the payload fields" not in check.hint + check.message


def test_a_404_on_a_v1_path_lists_the_likely_causes(stub: StubServer) -> None:
    base = f"http://127.0.0.1:{stub.port}/gateway/v1"
    check = _positive(_gate(base_url=base, model="stub-model"))
    assert check.http_status == 404
    assert check.hint.startswith("HTTP 404: chat-smoke cannot tell why. Likely causes:")
    for wrong in _WRONG_FOR_404:
        assert wrong not in check.hint + check.message


def test_the_hint_reaches_every_output(tmp_path: Path, stub: StubServer) -> None:
    run = run_cli(tmp_path, "--base-url", f"http://127.0.0.1:{stub.port}/api",
                  "--model", "stub-model", "--summary", str(tmp_path / "s.md"),
                  "--report-junit", str(tmp_path / "j.xml"))
    assert run.code == 4
    hint = run.check("positive:stub-model")["hint"]
    assert "has no /v1" in hint
    assert f"hint: {hint}" in run.stdout
    assert hint in run.files["s.md"].replace("\\", "")
    assert f"hint: {hint}" in run.files["j.xml"]


# -- drift: a hint per kind of change ---------------------------------------------------
MODEL = "scenario/slow:0.3"  # ~300 ms to the first byte: over the default 250 ms floor


@pytest.fixture(scope="module")
def baseline_report(stub: StubServer, tmp_path_factory: pytest.TempPathFactory
                    ) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("baseline")
    run = run_cli(folder, "--base-url", stub.url(), "--model", MODEL)
    assert run.code == 0 and run.report is not None, run.stderr
    return run.report


def _mutate(report: dict[str, Any], change: str) -> dict[str, Any]:
    """The baseline as it would be if the endpoint had been different in one way."""
    mutated = json.loads(json.dumps(report))
    check = next(c for c in mutated["checks"] if c["id"] == f"positive:{MODEL}")
    if change == "response_model":
        check["response_model"] = "gpt-4o-2024-08-06"
    elif change == "system_fingerprint":
        check["system_fingerprint"] = "fp_older"
    elif change == "finish_reason":
        check["finish_reason"] = "length"
    elif change == "latency":
        check["details"]["wire"].update(ttfb_ms=1, total_ms=1)
        check["duration_ms"] = 1
    elif change == "usage":
        check["usage"] = {k: 1 for k in check["usage"]}
    elif change == "fields":
        check["details"]["request_fields"] = [*check["details"]["request_fields"], "top_p"]
    return mutated


HINTS = {
    "response_model": "Another model answered than in the baseline run",
    "system_fingerprint": "The provider changed the backend behind the model",
    "finish_reason": "The answers end differently (finish_reason)",
    "latency": "The endpoint is slower than in the baseline run",
    "usage": "Token usage grew against the baseline run",
    "fields": "A request or response field appeared or vanished",
}


@pytest.mark.parametrize("change", list(HINTS))
def test_drift_has_a_hint_per_kind(change: str, stub: StubServer, tmp_path: Path,
                                   baseline_report: dict[str, Any]) -> None:
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(_mutate(baseline_report, change)))
    run = run_cli(tmp_path, "--base-url", stub.url(), "--model", MODEL, "--baseline",
                  str(path), "--fail-on-drift")
    assert run.code == 6, run.stdout + run.stderr
    drift = run.check("drift:baseline")
    kinds = {c["field"] if c["kind"] == "changed" else c["kind"]
             for c in drift["details"]["drift"]["changes"]}
    assert kinds == ({"vanished"} if change == "fields" else {change})
    assert drift["hint"].startswith(HINTS[change])
    assert Category.ASSERTION.hint not in drift["hint"]
    assert "the expect condition" not in drift["hint"] + run.stdout
    others = [text for kind, text in HINTS.items() if kind != change]
    assert not any(text in drift["hint"] for text in others)
    n = len(drift["details"]["drift"]["changes"])
    assert drift["message"].startswith(f"{n} change{'' if n == 1 else 's'} since the baseline")
    assert "(s)" not in drift["message"]


def test_two_kinds_of_drift_give_both_hints(stub: StubServer, tmp_path: Path,
                                            baseline_report: dict[str, Any]) -> None:
    both = _mutate(_mutate(baseline_report, "response_model"), "finish_reason")
    (tmp_path / "b.json").write_text(json.dumps(both))
    run = run_cli(tmp_path, "--base-url", stub.url(), "--model", MODEL, "--baseline",
                  str(tmp_path / "b.json"), "--fail-on-drift")
    drift = run.check("drift:baseline")
    assert drift["message"].startswith("2 changes since the baseline")
    assert HINTS["response_model"] in drift["hint"] and HINTS["finish_reason"] in drift["hint"]


# -- a printed fix works ----------------------------------------------------------------
_SLOW = {"slow", "hang", "drip"}


def _fix_flags(message: str) -> dict[str, str]:
    """The settings a "Fix:" names (``--temperature none``, ``--max-tokens none
    --max-completion-tokens 1000``), as the gate's flags."""
    fix = message.split("Fix:", 1)[1]
    words = shlex.split(re.sub(r"\(.*?\)", "", fix))
    return {word[2:].replace("-", "_"): words[i + 1] for i, word in enumerate(words)
            if word.startswith("--") and i + 1 < len(words)}


def test_every_printed_fix_makes_the_next_run_pass(stub: StubServer) -> None:
    fixed = []
    for name in sorted(set(SCENARIOS) - _SLOW):
        first = _positive(_gate(base_url=stub.url(name), model="stub-model", timeout="3",
                                deadline="8"))
        if "Fix:" not in first.message:
            continue
        assert ".. Fix:" not in first.message  # no double period before the fix
        flags = _fix_flags(first.message)
        assert flags, first.message
        again = _gate(base_url=stub.url(name), model="stub-model", **flags)
        assert again.exit_code == 0, (name, flags, _positive(again).message)
        fixed.append(name)
    assert {"rejects-temperature", "rejects-max-tokens"} <= set(fixed)

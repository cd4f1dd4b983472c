"""The summaries the browser test renders: real gate runs against the bundled stub where a
server can produce the case, hand-made results only for what no single run gives (text
longer than any server sends in one piece; a cancelled run)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from smoke import pipeline
from smoke.categories import Category
from smoke.output.console import Console
from smoke.results import Check, GateResult
from smoke.stub import StubServer
from smoke.stub.scenarios import HOSTILE
from tests.support.results import gate_result

KEY = "sk-test-" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6"
# Model ids as long as real ones get (region, date and deployment suffixes).
LONG_MODELS = tuple(
    f"scenario/{name}~{family}-2024-07-18-{region}"
    for name, family, region in [
        ("pass", "gpt-4o-mini", "eu-west-1"), ("pass", "gpt-4o", "us-east-2"),
        ("pass", "claude-3-5-sonnet", "eu-central-1"), ("pass", "gemini-1.5-pro", "asia-se1"),
        ("pass", "llama-3.1-405b-instruct", "us-west-2"), ("pass", "mistral-large", "eu-west-3"),
        ("pass", "qwen2.5-72b-instruct", "ap-northeast-1"), ("pass", "deepseek-chat", "cn-n1"),
        ("pass", "gpt-4.1-nano", "eu-north-1"), ("pass", "o3-mini", "us-central-1"),
        ("pass", "command-r-plus", "ca-central-1"), ("pass", "gpt-5-mini", "sa-east-1"),
        ("server-error", "gpt-5", "eu-west-2"), ("wrong-answer", "gpt-4.1", "us-east-1"),
        ("unknown-model", "gpt-4o-audio", "me-south-1"), ("pass", "phi-4", "af-south-1"),
    ])


def run(stub: StubServer, models: str, scenario: str | None = None, **flags: str) -> GateResult:
    """One real gate run against ``stub`` (what ``chat-smoke run`` does, without the CLI)."""
    result, _ = pipeline.check({"base_url": stub.url(scenario), "model": models,
                                "api_key_env": "K", "environment": "staging", "retries": "0",
                                **flags}, {"K": KEY, "GITHUB_SHA": "4f1c2a9"},
                               console=Console(io.StringIO()))
    return result


def hostile(stub: StubServer) -> GateResult:
    """Everything a server may put in a summary, at its longest: a hostile answer from a
    real run, plus bodies, ids and model names far past any column's width."""
    real = run(stub, "stub-model,scenario/hostile", expect="no-such-word")
    word = "A" * 3000
    long_model = "accounts/" + "fireworks-" * 12 + "models/llama-v3p1-405b-instruct"
    extra = [
        Check(f"positive:{long_model}", "positive", f"chat completion ({long_model})",
              long_model, http_status=502, attempts=3, duration_ms=61_234,
              request_id="req_" + "0123456789abcdef" * 12).fail(
            Category.UPSTREAM, f"HTTP 502: <html><body>{word}</body></html> " + HOSTILE * 20),
        Check("positive:spaces", "positive", "chat completion (spaces)", "spaces",
              http_status=400, attempts=1, duration_ms=3).fail(
            Category.REQUEST, "Invalid value for 'messages': " + "word " * 2000),
        Check("positive:url", "positive", "chat completion (url)", "url", http_status=404,
              attempts=1, duration_ms=5).fail(
            Category.MODEL, "see https://gw.example.test/" + "path/" * 400 + " for details"),
    ]
    warning = "warn " + word + " <img src=x onerror=alert(1)>"
    return gate_result(*real.checks, *extra, warnings=[warning], config=real.config)


def cancelled() -> GateResult:
    """A run stopped by a signal: checks that never finished are ``cancelled``. (Made by
    hand: the outcome exists once the cancellation work lands; the summary must lead with
    the first cancelled check either way.)"""
    done = Check("positive:gpt-4o-mini", "positive", "chat completion (gpt-4o-mini)",
                 "gpt-4o-mini", outcome="pass", http_status=200, attempts=1, duration_ms=812)
    checks = [Check("preflight:config", "preflight", "configuration", outcome="pass"), done]
    for model in ("gpt-4o", "gpt-5-mini"):
        check = Check(f"positive:{model}", "positive", f"chat completion ({model})", model,
                      attempts=1, duration_ms=30_000)
        check.outcome = "cancelled"  # type: ignore[assignment]
        check.message = "cancelled by SIGTERM after 30.0 s (the job was cancelled)"
        checks.append(check)
    return gate_result(*checks, stopped="cancelled", stop_code=130)


def all_scenarios(stub: StubServer) -> dict[str, Callable[[], GateResult]]:
    four = "stub-model,gpt-4o-mini,gpt-5-mini,scenario/wrong-answer~d"
    return {
        "pass": lambda: run(stub, "stub-model,gpt-4o-mini,gpt-5-mini", stream="true"),
        "auth": lambda: run(stub, "stub-model,gpt-4o-mini,gpt-5-mini", "bad-key", stream="true",
                            check_models="true", max_total_tokens="5000"),
        "wrong-answer": lambda: run(stub, four, "wrong-answer", stream="true",
                                    negative="invalid-model,missing-field,invalid-key"),
        "sixteen-models": lambda: run(stub, ",".join(LONG_MODELS), stream="true"),
        "hostile": lambda: hostile(stub),
        "cancelled": cancelled,
    }


INCIDENT_OWNERS = """\
environment: production
owners:
  - match: credentials
    team: Platform
    mention: "@acme/platform"
    runbook: https://runbooks.example.test/llm-gateway
    labels: [incident, llm-gateway]
    assignees: [alice]
"""


def incident(stub: StubServer, folder: Any) -> str:
    """An incident issue's body as chat-smoke writes it (issue 23): a real run with an
    owners map where the key was revoked for one model and another was refused, on its
    third failed run in a row."""
    from datetime import UTC, datetime

    from smoke.alerts import issue_body
    from smoke.reports import streak

    (folder / "chat-smoke.yml").write_text(INCIDENT_OWNERS, "utf-8")
    result, _ = pipeline.check({"base_url": stub.url(), "api_key_env": "K", "retries": "0",
                          "model": "gpt-4o-mini,scenario/bad-key~gpt-4o,scenario/forbidden"},
                         {"K": KEY, "GITHUB_SHA": "4f1c2a9"}, folder,
                         console=Console(io.StringIO()))
    key, checks = next(iter(streak.failing(result).items()))
    owner = checks[0].responsible
    assert owner is not None
    categories, models = issue_body.facts_of(checks)
    now = datetime(2026, 11, 27, 2, 4, 5, tzinfo=UTC)
    state = issue_body.State("2026-11-27T00:04:02Z", issue_body.stamp(now), 3, categories,
                             models)
    return issue_body.body(result, key, checks, owner, state, 3,
                           "https://github.com/acme/shop/actions/runs/9123456789")

"""``chat-smoke demo``: the stub on a free port, the gate run twice against it."""

from __future__ import annotations

from smoke import pipeline
from smoke.output import redact
from smoke.output.console import Console
from smoke.results import GateResult


def demo(key: str) -> int:
    """A passing run, then a failing one (a revoked key); 0 when both behaved."""
    from smoke.stub import StubServer

    console = Console()
    env = {"CHAT_SMOKE_DEMO_KEY": key}
    with redact.scope(key), StubServer(key=key) as stub:
        console.line(f"chat-smoke demo: stub listening at {stub.base_url}\n")
        console.line("== 1. a healthy endpoint: the gate passes ==")
        passing, _ = pipeline.check(_demo_flags(stub.url()), env, console=console)
        console.line("\n== 2. a revoked key: the gate fails, classified ==")
        failing, _ = pipeline.check(_demo_flags(stub.url("bad-key")), env, console=console)
    ok = passing.verdict == "pass" and failing.exit_code == 3
    console.line(
        "\ndemo: "
        + ("both runs behaved as a release gate should (exit 0, then exit 3 auth)."
           if ok else f"unexpected results: {_brief(passing)}, {_brief(failing)}")
    )
    return 0 if ok else 1


def _demo_flags(url: str) -> dict[str, object]:
    return {"base_url": url, "model": "stub-model", "api_key_env": "CHAT_SMOKE_DEMO_KEY",
            "environment": "demo", "deadline": "20", "timeout": "5"}


def _brief(result: GateResult) -> str:
    return f"{result.verdict}/{result.category.value if result.category else '-'}"

"""Between the CLI and the gate: run it, write the reports, publish to GitHub."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from smoke import gate, reports
from smoke.errors import ReportError
from smoke.output import redact
from smoke.output.console import Console
from smoke.results import GateResult


def execute(
    flags: Mapping[str, Any],
    env: Mapping[str, str],
    cwd: Path | None = None,
    console: Console | None = None,
) -> int:
    """Run the gate with ``flags`` and write every report; return the exit code."""
    with redact.scope():  # the run's secrets, forgotten when it is over
        return _execute(flags, env, cwd, console)


def _execute(
    flags: Mapping[str, Any],
    env: Mapping[str, str],
    cwd: Path | None,
    console: Console | None,
) -> int:
    on_github = env.get("GITHUB_ACTIONS") == "true"
    if console is None:
        if on_github:
            from smoke.ci.github import GitHubConsole

            console = GitHubConsole()
        else:
            console = Console()
    result, settings = gate.run(flags, env, cwd, console)
    template = settings.summary_template if settings else None
    targets = reports.paths(settings, flags)
    code = result.exit_code
    try:
        reports.write_all(result, targets, template)
    except ReportError as exc:
        console.line(f"chat-smoke: error: {exc}")
        code = code or 1
    if on_github:
        # Outputs, annotations and the summary go out even when a report file could not
        # be written: a later step still learns the verdict.
        from smoke.ci.github import publish

        publish(result, env, template, targets)
    if result.checks[0].outcome == "fail":
        line = f"chat-smoke: config error: {result.checks[0].message}"
        if on_github:
            console.line(line)  # inside the console's command protection
        else:
            # The one clear line for bad input, on stderr, where a terminal shows it.
            print(redact.scrub(line), file=sys.stderr)
    return code


_INTERNAL = (
    "chat-smoke: internal error: {error}. This is a bug in chat-smoke, not your endpoint "
    "(exit 1); set CHAT_SMOKE_DEBUG=1 for the traceback and report it."
)


def execute_safely(flags: Mapping[str, Any], env: Mapping[str, str]) -> int:
    """:func:`execute`, with a bug reported as one scrubbed line and exit 1."""
    try:
        return execute(flags, env)
    except Exception as exc:
        if env.get("CHAT_SMOKE_DEBUG"):
            import traceback

            print(redact.scrub(traceback.format_exc()), file=sys.stderr)
        print(redact.scrub(_INTERNAL.format(error=f"{type(exc).__name__}: {exc}")),
              file=sys.stderr)
        return 1


def demo(key: str) -> int:
    """The built-in default: the stub on a free port, the gate run twice against it."""
    from smoke.stub import StubServer

    console = Console()
    env = {"CHAT_SMOKE_DEMO_KEY": key}
    with redact.scope(key), StubServer(key=key) as stub:
        console.line(f"chat-smoke demo: stub listening at {stub.base_url}\n")
        console.line("== 1. a healthy endpoint: the gate passes ==")
        passing, _ = gate.run(_demo_flags(stub.url()), env, console=console)
        console.line("\n== 2. a revoked key: the gate fails, classified ==")
        failing, _ = gate.run(_demo_flags(stub.url("bad-key")), env, console=console)
    ok = passing.verdict == "pass" and failing.exit_code == 3
    console.line(
        "\ndemo: "
        + ("both runs behaved as a release gate should (exit 0, then exit 3 auth)."
           if ok else f"unexpected results: {_brief(passing)}, {_brief(failing)}")
    )
    return 0 if ok else 1


def _demo_flags(url: str) -> dict[str, Any]:
    return {"base_url": url, "model": "stub-model", "api_key_env": "CHAT_SMOKE_DEMO_KEY",
            "environment": "demo", "deadline": "20", "timeout": "5"}


def _brief(result: GateResult) -> str:
    return f"{result.verdict}/{result.category.value if result.category else '-'}"

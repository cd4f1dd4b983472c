"""Between the CLI and the gate: pick the CI platform, run the gate, write the reports,
publish to the platform."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from smoke import ci, config, gate, reports
from smoke.ci.platform import Platform
from smoke.config.settings import Settings
from smoke.errors import ConfigError, ReportError
from smoke.output import redact
from smoke.output.console import Console, error_line
from smoke.reports import json_report
from smoke.reports.files import replaceable, write_text
from smoke.results import GateResult


def choose_platform(flags: Mapping[str, Any], env: Mapping[str, str],
                    cwd: Path | None = None) -> str:
    """The platform to print for: ``ci`` from the flags, the environment or the config
    file (``auto``: detected). Read before the gate runs, because the console must exist
    before its first line; when the configuration is broken, the flag or SMOKE_CI still
    counts and the gate reports the problem."""
    try:
        # peek, not load: the key is read once, by the gate (a key file may be a pipe)
        choice: str | None = config.peek("ci", flags, env, cwd)
    except ConfigError:
        choice = str(flags.get("ci") or env.get("SMOKE_CI", "")).strip() or None
    return ci.resolve(choice, env)


class Provisional:
    """The provisional ``report.json`` (verdict ``incomplete``): written before the first
    request and rewritten as checks finish, so even a SIGKILL leaves evidence. Only to a
    regular file (never ``-`` or a device); closed before the final reports are written,
    so a late rewrite can never replace them."""

    def __init__(self, flags: Mapping[str, Any], defaults: Mapping[str, str]) -> None:
        self.flags = flags
        self.defaults = defaults
        self._lock = threading.Lock()
        self._closed = False

    def __call__(self, result: GateResult, settings: Settings | None) -> None:
        path = {**self.defaults, **reports.paths(settings, self.flags)}.get("report_json")
        if not path or not replaceable(path):
            return
        with self._lock:
            if self._closed:
                return
            try:
                write_text(path, json_report.render(result))
            except ReportError:
                self._closed = True  # the final write says what is wrong with the path

    def close(self) -> None:
        with self._lock:
            self._closed = True


def execute(
    flags: Mapping[str, Any],
    env: Mapping[str, str],
    cwd: Path | None = None,
    platform: Platform | None = None,
) -> int:
    """Run the gate with ``flags`` and write every report; return the exit code."""
    with redact.scope():  # the run's secrets, forgotten when it is over
        return _execute(flags, env, cwd, platform)


def _execute(
    flags: Mapping[str, Any],
    env: Mapping[str, str],
    cwd: Path | None,
    platform: Platform | None,
) -> int:
    if platform is None:
        platform = ci.make(choose_platform(flags, env, cwd))
    provisional = Provisional(flags, platform.default_reports)
    result, settings = gate.run(flags, env, cwd, platform, provisional,
                                print_verdict=False)
    provisional.close()
    template = settings.summary_template if settings else None
    # Where the CI collects reports by itself (Bitbucket's test-results/), unless given.
    targets = {**platform.default_reports, **reports.paths(settings, flags)}
    # Local evidence first: every report, then the outputs, annotations and job summary.
    # A report that cannot be written becomes a check of its own (report:junit, config).
    result, problems = reports.write_all(result, targets, template)
    for problem in problems:
        platform.line(f"chat-smoke: error: {problem}")
    if settings is not None:
        platform.verdict(result)  # once, after the reports: it knows of their problems
    # Outputs, annotations and the summary go out even when a report file could not be
    # written: a later step still learns the verdict.
    if settings is not None and (settings.incident_issue or settings.notify):
        from smoke.alerts import publish as alerts  # their warnings join the annotations

        alerts.publish(result, settings, env, platform)
    platform.publish(result, env, template, targets)
    # A config error is pushed too (category config): the monitor must see it.
    gateway = settings.pushgateway if settings is not None else flags.get("pushgateway")
    if gateway:
        from smoke.serve import push  # only the runs that push pay for it

        warning = push.push(result, str(gateway))
        if warning is not None:
            platform.warning(warning)
    if result.checks[0].outcome == "fail":
        platform.report_error(f"chat-smoke: config error: {result.checks[0].message}")
    return result.exit_code


_INTERNAL = (
    "chat-smoke: internal error: {error}. This is a bug in chat-smoke, not your endpoint "
    "(exit 1); set CHAT_SMOKE_DEBUG=1 for the traceback and report it."
)


def execute_safely(flags: Mapping[str, Any], env: Mapping[str, str],
                   platform: Platform | None = None) -> int:
    """:func:`execute`, with a bug reported as one scrubbed line and exit 1."""
    with redact.scope():  # the same run as execute's: the key stays masked in the error
        try:
            return execute(flags, env, platform=platform)
        except Exception as exc:
            if env.get("CHAT_SMOKE_DEBUG"):
                import traceback

                error_line(traceback.format_exc())
            error_line(_INTERNAL.format(error=f"{type(exc).__name__}: {exc}"))
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

"""One pipeline owns a run: merge the configuration's layers once, choose the platform,
run the gate, conclude the :class:`GateResult` (:func:`smoke.verdict.conclude`), write
the reports, publish.

The entry points are thin adapters over it: ``cli`` (flags), ``action`` (``INPUT_*``),
``api`` (``smoke.run``: no platform, nothing published), ``merge`` (a matrix's reports,
published through the same platform layer) and ``demo``. A new way to finish a run (a
notification, a metrics push) is a sink of :mod:`smoke.ci.publish`, not a new tail here.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO, TypedDict

from smoke import cancel as cancellation
from smoke import ci, config, gate, reports
from smoke.cancel import CancelToken
from smoke.ci.platform import PlatformConsole, PlatformStream
from smoke.ci.publish import Platform, Publisher
from smoke.config.settings import Settings
from smoke.config.targets import to_stdout
from smoke.errors import ConfigError, ReportError
from smoke.output import redact
from smoke.output.console import Console, error_line
from smoke.reports import json_report
from smoke.reports.files import replaceable, write_text
from smoke.results import GateResult, timestamp

_INTERNAL = (
    "chat-smoke: internal error: {error}. This is a bug in chat-smoke, not your endpoint "
    "(exit 1); set CHAT_SMOKE_DEBUG=1 for the traceback and report it."
)


class Outcome:
    """What a run left: its result (as the reports carry it), its settings (None after a
    config error), the reports that could not be written."""

    __slots__ = ("result", "settings", "problems")

    def __init__(self, result: GateResult, settings: Settings | None,
                 problems: list[ReportError] | None = None) -> None:
        self.result, self.settings, self.problems = result, settings, problems or []

    @property
    def exit_code(self) -> int:
        return self.result.exit_code


def layers(flags: Mapping[str, object], env: Mapping[str, str], cwd: Path | None = None,
           problem: str | None = None) -> config.Layers | ConfigError:
    """The configuration's layers merged once, or the error that stops the run (``problem``:
    one the adapter found in what it was given, e.g. an empty action input)."""
    if problem is not None:
        return ConfigError(problem)
    try:
        return config.merge(flags, env, cwd)
    except ConfigError as exc:
        return exc


def report_paths(source: config.Layers | ConfigError,
                 flags: Mapping[str, object]) -> dict[str, str]:
    """Where the reports go before the settings exist (or when building them failed):
    from the merged layers (the file's and the environment's too), else the flags."""
    if isinstance(source, ConfigError):
        return {k: str(flags[k]) for k in reports.KINDS if flags.get(k)}
    return {k: str(source.get(k)) for k in reports.KINDS if source.get(k)}


def choose_platform(source: config.Layers | ConfigError, flags: Mapping[str, object],
                    env: Mapping[str, str]) -> Platform:
    """The platform to print for: ``ci`` from the merged layers (``auto``: detected). When
    the configuration is broken, the flag or SMOKE_CI still counts and the gate reports
    the problem on that platform."""
    if isinstance(source, ConfigError):
        choice = str(flags.get("ci") or env.get("SMOKE_CI", "")).strip() or None
    else:
        chosen = source.get("ci")
        choice = chosen if isinstance(chosen, str) else None
    return ci.make(ci.resolve(choice, env))


class LifecycleFields(TypedDict, total=False):
    """The fields of :class:`smoke.merge.Lifecycle` (``chat-smoke merge``'s incident
    settings), as the command line gives them: an entry point does not import the merge."""

    incident_issue: bool
    previous_report: str | None
    incident_after: int
    incident_reopen_days: int
    gitlab_token_env: str


class Provisional:
    """The provisional ``report.json`` (verdict ``incomplete``): written before the first
    request and rewritten as checks finish, so even a SIGKILL leaves evidence. Only to a
    regular file (never ``-`` or a device); closed before the final reports are written,
    so a late rewrite can never replace them."""

    def __init__(self, targets: Callable[[Settings | None], Mapping[str, str]]) -> None:
        self.targets = targets
        self._lock = threading.Lock()
        self._closed = False

    def __call__(self, result: GateResult, settings: Settings | None) -> None:
        path = self.targets(settings).get("report_json")
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


class Run:
    """One run from its start: the layers merged once and the platform chosen (its
    console made) here; :meth:`finish` does the rest."""

    def __init__(self, flags: Mapping[str, object], env: Mapping[str, str],
                 cwd: Path | None = None, *, publish: bool = True,
                 problem: str | None = None, console: Console | None = None) -> None:
        self.flags, self.env, self.cwd = flags, env, cwd
        self.started = (timestamp(), time.monotonic())  # merging the layers counts
        self.problem = problem
        self.source = layers(flags, env, cwd, problem)
        self.target: tuple[Platform, PlatformConsole] | None = None
        cancellation.settle(None)  # nothing decided yet: a signal now cancels the run
        if publish:
            platform = choose_platform(self.source, flags, env)
            # A report on stdout ("-") keeps stdout to itself: the console goes to stderr.
            out = sys.stderr if to_stdout(report_paths(self.source, flags)) else None
            self.target = (platform, platform.make_console(out))
        self.console: Console = (self.target[1] if self.target
                                 else console or Console(quiet=True))

    @contextmanager
    def stderr_routed(self, route: bool = True) -> Iterator[None]:
        """Lines on stderr go through the platform's console meanwhile, so a message
        that quotes outside text (an internal error) is as inert as the rest."""
        if not route or self.target is None:
            yield
            return
        stderr, sys.stderr = sys.stderr, PlatformStream(self.target[1])
        try:
            yield
        finally:
            sys.stderr.flush()
            sys.stderr = stderr
            self.target[1].close()

    def finish(self, cancel: CancelToken | None = None, soft: bool = False) -> Outcome:
        """Gate → result → reports → publish."""
        defaults = dict(self.target[0].default_reports) if self.target else {}
        folder = self.cwd if self.target is None and self.cwd is not None else None

        def targets(settings: Settings | None) -> dict[str, str]:
            # Where the CI collects reports by itself (Bitbucket's test-results/), unless
            # given; without a platform (smoke.run), relative to the run's folder.
            # A configuration that failed after its layers merged (a bad value, two reports
            # on one path) still names its reports: the file's and the environment's too.
            chosen = (reports.paths(settings, self.flags) if settings is not None
                      else report_paths(self.source, self.flags))
            found = {**defaults, **chosen}
            return {k: str(folder / v) for k, v in found.items()} if folder else found

        console = self.console
        provisional = Provisional(targets)
        result, settings = gate.run(self.source, self.env, console, provisional, cancel,
                                    flags=self.flags, started=self.started,
                                    print_verdict=False)
        provisional.close()
        if self.problem is not None:  # the adapter's own finding: shown as a check too
            console.check(result.checks[0])
            console.verdict(result)
        template = settings.summary_template if settings else None
        written = targets(settings)
        # Local evidence first: every report, then the outputs, annotations and summary.
        # A report that cannot be written becomes a check of its own (report:junit).
        # A summary template renders within what the deadline leaves (at least a second).
        left = settings.deadline - result.duration_ms / 1000 if settings else None
        # From here a late signal cuts publishing short, never the verdict.
        cancellation.settle(result.exit_code)
        result, problems = reports.write_all(result, written, template, left)
        cancellation.settle(result.exit_code)  # a report that could not be written decided
        if self.target is not None:
            for problem in problems:
                console.line(f"chat-smoke: error: {problem}")
        if settings is not None:
            console.verdict(result)  # once, after the reports: it knows of their problems
        if self.target is not None:
            # Outputs, annotations and the summary go out even when a report file could
            # not be written: a later step still learns the verdict.
            Publisher(*self.target, self.env, soft=soft, settings=settings,
                      template=template, reports=written, flags=self.flags).publish(result)
        if settings is None:  # a config error: one line, where a person reads it
            console.report_error(f"chat-smoke: config error: {result.checks[0].message}")
        return Outcome(result, settings, problems)


def execute(flags: Mapping[str, object], env: Mapping[str, str], cwd: Path | None = None, *,
            cancel: CancelToken | None = None, publish: bool = True, soft: bool = False,
            problem: str | None = None, console: Console | None = None) -> Outcome:
    """Run the gate once, end to end: layers → platform → gate → result → reports →
    publish. ``publish``: to the CI platform (outputs, annotations, summary page); without
    it, ``console`` prints (quiet by default) and report paths are relative to ``cwd``.
    ``soft``: failures are published as warnings (the action's ``fail-on-error: false``).
    ``problem``: a config error the adapter found in what it was given."""
    with redact.scope():  # the run's secrets, forgotten when it is over
        run = Run(flags, env, cwd, publish=publish, problem=problem, console=console)
        return run.finish(cancel, soft)


def execute_safely(flags: Mapping[str, object], env: Mapping[str, str],
                   cwd: Path | None = None, *, cancel: CancelToken | None = None,
                   soft: bool = False, problem: str | None = None,
                   route_stderr: bool = False) -> int:
    """:func:`execute` for a process: the exit code, a bug reported as one scrubbed line
    and exit 1. ``route_stderr``: stderr goes through the platform's console meanwhile."""
    with redact.scope():  # the run's secrets: the key stays masked in the error too
        try:
            run = Run(flags, env, cwd, problem=problem)
        except Exception as exc:
            return _bug(exc, env)
        with run.stderr_routed(route_stderr):
            try:
                return run.finish(cancel, soft).exit_code
            except Exception as exc:
                return _bug(exc, env)


def _bug(exc: Exception, env: Mapping[str, str]) -> int:
    if env.get("CHAT_SMOKE_DEBUG"):
        import traceback

        error_line(traceback.format_exc())
    error_line(_INTERNAL.format(error=f"{type(exc).__name__}: {exc}"))
    return 1


def check(flags: Mapping[str, object], env: Mapping[str, str] | None = None,
          cwd: Path | None = None, console: Console | None = None,
          cancel: CancelToken | None = None) -> tuple[GateResult, Settings | None]:
    """The gate alone over ``flags`` (layers merged here): no report, nothing published.
    For the demo, tests and benches."""
    import os

    env = os.environ if env is None else env
    return gate.run(layers(flags, env, cwd), env, console, None, cancel, flags=flags)


def merge(paths: list[str], targets: Mapping[str, str], env: Mapping[str, str],
          lifecycle: LifecycleFields | None = None, out: TextIO | None = None) -> int:
    """``chat-smoke merge``: merge ``paths``, write the ``targets`` (report_json,
    report_junit, summary), print the jobs through the platform's console and put the
    merged summary on every summary page the CI has, then the incident issues over the
    merged verdict (``lifecycle``: the fields of :class:`smoke.merge.Lifecycle`); return
    the exit code.
    Raises :class:`ReportError` when a target cannot be written."""
    from smoke import merge as matrix
    from smoke.config import targets as places
    from smoke.config.key import preregister
    from smoke.errors import MergeError

    with redact.scope():
        preregister({}, env)  # a key in the job's environment is masked in the log too
        platform = ci.make(ci.resolve(env.get("SMOKE_CI"), env))
        # A merged report on stdout keeps stdout to itself: the console goes to stderr.
        console = platform.make_console(out or (sys.stderr if places.to_stdout(targets)
                                                else None))
        publisher = Publisher(platform, console, env, reports=targets)
        try:
            try:
                places.check_distinct(targets, {kind: "--" + kind.replace("_", "-")
                                                for kind in targets})
                if not paths:
                    raise matrix.bad_report("(none)", "no report given")
                report = matrix.merge([matrix.load(path) for path in paths])
            except (MergeError, ConfigError) as exc:
                report = matrix.failed(exc.path if isinstance(exc, MergeError) else "",
                                       str(exc))
                console.report_error(f"chat-smoke: config error: {exc}")
            incidents = matrix.Lifecycle(**(lifecycle or {}))
            result = matrix.with_streak(report, incidents)
            # Two kinds on one place (a config error above): the JSON report goes there.
            written = places.distinct(dict(sorted(targets.items(),
                                                  key=lambda item: item[0] != "report_json")))
            # A report that cannot be written is a report:<kind> failure; the others are
            # still written (issue 26).
            for problem in matrix.write(report, written):
                console.report_error(f"chat-smoke: error: {problem}")
            code: int = report["exit_code"]
            for warning in report["warnings"]:
                console.warning(warning)  # a job given twice, counted once; a job's own
            console.line(matrix.describe(report))
            publisher.page(matrix.render("summary", report), report["verdict"] == "pass")
            matrix.alerts(result, incidents, dict(env),
                          lambda text: console.line(f"chat-smoke: warning: {text}"),
                          console.line)
        finally:
            publisher.close()
        return code

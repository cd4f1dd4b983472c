"""The gate: build the settings, plan the checks, run them, decide the verdict.

Orchestration only: each step lives in its package (``config``, ``checks``, ``verdict``).
The gate is given the configuration's layers, merged once by :mod:`smoke.pipeline` (or
the error that merging them raised): it only builds :class:`Settings` and reads the key.
Reports and publishing are the pipeline's, from the :class:`GateResult` returned here.
"""

from __future__ import annotations

import contextvars
import copy
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from smoke import config
from smoke.cancel import POLL_S, CancelToken
from smoke.categories import Category
from smoke.checks import registry
from smoke.checks.pool import Pool
from smoke.checks.task import Plan
from smoke.config import url
from smoke.errors import ConfigError
from smoke.http.deadline import Deadline
from smoke.http.parse import total_tokens
from smoke.http.payload import prompt_version
from smoke.http.transport import endpoint_of, new_session, proxy_for, public_proxy
from smoke.jsonvalue import JSONObject
from smoke.output.console import Console
from smoke.owners import resolve
from smoke.reports import streak
from smoke.results import Check, GateResult, timestamp
from smoke.verdict import Stopped, conclude

SHA_VARIABLES = ("GITHUB_SHA", "CI_COMMIT_SHA", "GIT_COMMIT")


def deployment_sha(env: Mapping[str, str]) -> str | None:
    """The commit being deployed, from the first CI variable that names one."""
    for name in SHA_VARIABLES:
        if env.get(name, "").strip():
            return env[name].strip()
    return None


# The provisional report is rewritten at most this often while checks finish.
PROGRESS_EVERY_S = 1.0

Progress = Callable[[GateResult, config.Settings | None], None]


@dataclass
class _State:
    """What a run has so far: read by the thread that waits on it, to report a cancelled
    run or a provisional one."""

    source: config.Layers | ConfigError
    flags: Mapping[str, object]  # for a config error's report only: the endpoint and name
    env: Mapping[str, str]
    cancel: CancelToken
    started_at: str
    clock: float
    config_check: Check | None = None
    settings: config.Settings | None = None
    plan: Plan | None = None
    previous: JSONObject | None = None  # previous_report, read before anything is written
    pool: Pool | None = None
    proxy: str | None = None
    warnings: list[str] = field(default_factory=list)
    checks: list[Check] | None = None  # every check, once the run is over
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)

    def progress_mark(self) -> tuple[int, int]:
        preflights = len(self.plan.preflights) if self.plan else 0
        return preflights, self.pool.finished_count if self.pool else 0


def run(
    source: config.Layers | ConfigError,
    env: Mapping[str, str] | None = None,
    console: Console | None = None,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
    *,
    flags: Mapping[str, object] | None = None,
    started: tuple[str, float] | None = None,
    print_verdict: bool = True,
) -> tuple[GateResult, config.Settings | None]:
    """Run the whole gate over ``source``. Never raises for a problem of the endpoint or
    the config (a :class:`ConfigError` given as ``source`` is the run's config failure).
    ``print_verdict``: print the verdict line; a caller that writes reports afterwards
    prints it itself, once, when a report that could not be written has had its say.

    The checks run in a worker thread; this thread waits for them, and stops waiting when
    ``cancel`` (the run's token) is tripped: the result then holds every finished check as
    it is and every other one ``cancelled``. ``progress`` is called with a provisional
    result (verdict ``incomplete``) before the first request and then at most once a
    second as checks finish. ``flags`` name the endpoint in a config failure's report;
    ``started`` is (timestamp, ``time.monotonic()``) of the run's start when it began
    before the gate (merging the layers counts against the deadline)."""
    env = os.environ if env is None else env
    console = console or Console()
    token = cancel or CancelToken()
    started_at, clock = started or (timestamp(), time.monotonic())
    state = _State(source, flags or {}, env, token, started_at, clock)
    # In a copy of this context: the secrets the gate registers (the key, a proxy's
    # password) belong to the caller's redaction scope (redact.scope), not the process.
    worker = threading.Thread(target=contextvars.copy_context().run,
                              args=(_work, state, console, progress),
                              daemon=True, name="chat-smoke-gate")
    worker.start()
    mark = state.progress_mark()
    written, every = time.monotonic(), PROGRESS_EVERY_S
    while not state.done.wait(POLL_S):
        if token.cancelled:
            break
        if progress is not None and time.monotonic() - written >= every:
            now = state.progress_mark()
            if now != mark and not state.done.is_set():
                mark, began = now, time.monotonic()
                progress(_provisional(state), state.settings)
                written = time.monotonic()
                # A big run's report takes a while to render: spend at most a tenth of the
                # time on it, so the evidence never slows the checks down much.
                every = max(PROGRESS_EVERY_S, 9 * (written - began))
    stopped: Stopped | None = None
    if state.done.is_set() and state.checks is not None:
        checks = state.checks
    elif state.done.is_set() and state.error is not None:
        raise state.error
    else:
        reason = _CANCELLED.format(signal=token.name())
        checks, stopped = _so_far(state, reason), "cancelled"
        if state.settings is not None:
            checks += registry.postflight(state.settings, checks)
    result = _result(state, checks, stopped)
    if state.settings is not None:  # a config error is reported as one line by the caller
        for check in checks:
            console.check(check)
        if print_verdict:
            console.verdict(result)
    return result, state.settings


_CANCELLED = "cancelled by {signal}: the run was stopped before this check finished"
_PROVISIONAL = "not finished when this provisional report was written"


def _work(state: _State, console: Console, progress: Progress | None) -> None:
    try:
        _checks(state, console, progress)
    except BaseException as exc:  # a bug: re-raised in the waiting thread
        state.error = exc
    finally:
        state.done.set()


def _checks(state: _State, console: Console, progress: Progress | None) -> None:
    preflight = Check(id="preflight:config", kind="preflight", name="configuration")
    settings: config.Settings | None = None
    try:
        if isinstance(state.source, ConfigError):
            raise state.source
        settings = config.build(state.source)
    except ConfigError as exc:
        preflight.fail(Category.CONFIG, str(exc))
        preflight.steps = []
    else:
        preflight.outcome = "pass"
        preflight.message = (
            f"loaded (file: {settings.config_file or 'none'}; key from {settings.api_key_source})"
        )
    state.config_check = preflight
    if settings is None:
        state.checks = [preflight]
        return
    state.settings = settings
    console.configuration(settings)
    for note in settings.notes:
        state.warnings.append(note)
        console.warning(note)
    cwd = state.source.cwd if isinstance(state.source, config.Layers) else None
    previous = streak.Previous(settings.previous_report, cwd)
    state.previous = previous.data
    if previous.note:
        console.note(previous.note)
    if previous.warning:
        state.warnings.append(previous.warning)
        console.warning(previous.warning)
    state.proxy = public_proxy(proxy_for(settings.endpoint))
    if state.proxy:
        console.note(f"using proxy {state.proxy} (from the environment)")
    if settings.allow_plain_http and settings.base_url.startswith("http://"):
        warning = "--allow-plain-http: the key is sent unencrypted to " + settings.host
        state.warnings.append(warning)
        console.warning(warning)
    deadline = Deadline(settings.deadline, start=state.clock)  # config loading counts
    endpoint = endpoint_of(settings)  # once for the run (a model's own settings: Plan.target)
    context = Plan(settings, endpoint, new_session(endpoint), deadline, state.cancel)
    tasks = registry.plan(context)
    state.plan = context
    if progress is not None:  # evidence before the first request, even against SIGKILL
        progress(_provisional(state), state.settings)
    registry.preflight(context)
    if state.cancel.cancelled:
        return
    state.pool = Pool([t for t in tasks if t.skip is None], deadline, settings.concurrency,
                      state.cancel)
    state.pool.start()  # after it is in ``state``: a snapshot sees every check it starts
    state.pool.wait()
    if state.cancel.cancelled:  # even if every check finished meanwhile (a cancelled retry
        return  # wait finishes its check): the waiting thread reports a cancelled run
    ran = iter(state.pool.snapshot())
    checks = [preflight, *context.preflights]
    checks += [task.check if task.skip is not None else next(ran) for task in tasks]
    checks += registry.postflight(settings, checks)
    state.checks = checks


def _provisional(state: _State) -> GateResult:
    return _result(state, _so_far(state, _PROVISIONAL), "incomplete")


def _so_far(state: _State, reason: str) -> list[Check]:
    """Every check as it stands now: finished ones as they are, the others ``cancelled``
    with ``reason`` (copies: a worker that finishes later changes nothing here)."""
    if state.config_check is None:
        return [Check(id="preflight:config", kind="preflight", name="configuration")
                .cancel(f"{reason} (the configuration was loading)")]
    checks = [state.config_check]
    plan = state.plan
    if plan is None:
        return checks
    checks += list(plan.preflights)
    pool = state.pool
    if pool is None and plan.running is not None:
        checks.append(Check(id=f"preflight:{plan.running}", kind="preflight",
                            name=f"preflight {plan.running}").cancel(reason))
    ran = iter(pool.snapshot(reason)) if pool is not None else None
    for task in plan.tasks:
        if task.skip is not None:
            checks.append(task.check)
        elif ran is not None:
            checks.append(next(ran))
        else:
            checks.append(copy.copy(task.check).cancel(f"{reason} before this check began"))
    return checks


def _result(state: _State, checks: list[Check], stopped: Stopped | None) -> GateResult:
    """The run's result, through the one constructor (:func:`smoke.verdict.conclude`).
    ``cancelled``: exit 128 + the signal whatever the checks found."""
    settings = state.settings
    if settings is not None:
        for check in checks:
            if check.outcome == "fail" and check.category is not None:
                check.owner = resolve(settings.owners, check.category, check.model)
    # Never the URL as given: a config error may be about it (user info, a secret query).
    endpoint = url.public_endpoint(settings.public_base_url if settings
                                   else str(state.flags.get("base_url") or ""))
    warnings = list(state.warnings)
    for check in checks:
        warnings += check.warnings
    result = conclude(
        checks,
        stopped=stopped,
        stop_code=state.cancel.exit_code(),
        started_at=state.started_at,
        duration_ms=int((time.monotonic() - state.clock) * 1000),
        environment=settings.environment if settings else str(state.flags.get("environment")
                                                               or ""),
        deployment_sha=deployment_sha(state.env),
        endpoint=endpoint,
        config=settings.public() if settings else {},
        proxy=state.proxy,
        warnings=warnings,
        usage_total=_usage_total(checks),
        prompt_version=prompt_version(settings) if settings else None,
        previous=state.previous,
    )
    result.consecutive_failures = streak.count(result, state.previous)
    if settings is not None:
        result.category_owners = {c.value: resolve(settings.owners, c, None).team
                                  for c in Category}
    return result


def _usage_total(checks: list[Check]) -> int | None:
    totals = [total_tokens(c.usage) for c in checks]
    known = [t for t in totals if t is not None]
    return sum(known) if known else None

"""The gate: config → checks → verdict → reports. The library entry point."""

from __future__ import annotations

import copy
import importlib
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from smoke import __version__, config, redact, spend, wireinfo
from smoke.categories import Category
from smoke.checks import endpoint_of, positive
from smoke.console import Console
from smoke.deadline import Deadline
from smoke.errors import ConfigError
from smoke.parse import total_tokens
from smoke.results import Check, GateResult
from smoke.transport import new_session, proxy_for
from smoke.verdict import decide

SHA_VARIABLES = ("GITHUB_SHA", "CI_COMMIT_SHA", "GIT_COMMIT")
# A check that is still running this long after the deadline is declared timed out;
# the checks bound their own waits by the deadline, so this is only a backstop
# (name resolution, for one, has no timeout of its own).
_GRACE_S = 0.4

CheckFn = Callable[[Check], None]


@dataclass
class Task:
    check: Check
    run: CheckFn
    skip: str | None = None  # set by a preflight: why this check is not run
    # A check whose result this one reads (SDK parity reads the positive check of its
    # model): run_tasks begins this task only once that one has finished.
    after: Check | None = None


def _deployment_sha(env: Mapping[str, str]) -> str | None:
    for name in SHA_VARIABLES:
        if env.get(name, "").strip():
            return env[name].strip()
    return None


def run_tasks(tasks: list[Task], deadline: Deadline, concurrency: int) -> list[Check]:
    """Run each task's check in a daemon thread, at most ``concurrency`` at once, and
    stop waiting at the deadline (a hung thread cannot hold the process: it is a daemon)."""
    gate = threading.Semaphore(concurrency)
    finished = {id(task.check): threading.Event() for task in tasks}

    def work(task: Task) -> None:
        try:
            # Wait for the prerequisite outside the semaphore, so it can never starve it.
            after = task.after
            prior = finished.get(id(after)) if after is not None else None
            if after is not None and prior is not None and not prior.wait(deadline.remaining()):
                task.check.fail(Category.TIMEOUT, f"the deadline ran out before {after.id} "
                                "finished; this check reads its result, so it did not begin")
                return
            run_one(task)
        finally:
            finished[id(task.check)].set()

    def run_one(task: Task) -> None:
        with gate:
            if deadline.expired():
                task.check.fail(Category.TIMEOUT, "the deadline ran out before this check began")
                return
            try:
                task.run(task.check)
            except Exception as exc:  # a bug in chat-smoke, not the endpoint: exit 1
                task.check.outcome = "fail"
                task.check.category = None
                task.check.message = f"internal error: {type(exc).__name__}: {exc}"

    threads = [threading.Thread(target=work, args=(t,), daemon=True) for t in tasks]
    for thread in threads:
        thread.start()
    results: list[Check] = []
    for task, thread in zip(tasks, threads, strict=True):
        thread.join(timeout=deadline.remaining() + _GRACE_S)
        if thread.is_alive():
            late = copy.copy(task.check)
            late.attempt_log = list(task.check.attempt_log)
            late.steps = list(task.check.steps)
            late.attempts = max(late.attempts, 1)
            results.append(
                late.fail(
                    Category.TIMEOUT,
                    f"the gate's deadline of {deadline.seconds:g}s ran out before this check "
                    "finished",
                )
            )
        else:
            results.append(task.check)
    return results


def plan(settings: config.Settings, session: Any, deadline: Deadline) -> list[Task]:
    """The checks this configuration asks for, in report order."""
    tasks: list[Task] = []
    for model in settings.models:
        check = Check(f"positive:{model}", "positive", f"chat completion ({model})", model)
        tasks.append(Task(check, lambda c: positive(c, settings, session, deadline)))
    positives = [task.check for task in tasks]
    for extend in EXTENSIONS:
        tasks += extend(settings, session, deadline)
    # SDK parity compares with the positive check of its model, so it is planned from them.
    if settings.sdk_parity:
        from smoke import sdk_parity

        tasks += sdk_parity.tasks(settings, deadline, positives)
    return tasks


def _when(flag: str, module: str, name: str) -> Callable[..., list[Any]]:
    """``module.name``, imported and called only for runs whose settings turn ``flag`` on:
    start-up is paid on every deploy and every monitor tick, so a check kind that is off
    costs no import."""

    def step(settings: config.Settings, *args: Any) -> list[Any]:
        if not getattr(settings, flag):
            return []
        found: list[Any] = getattr(importlib.import_module(module), name)(settings, *args)
        return found

    return step


# Further check kinds register a planner here: (settings, session, deadline) -> tasks.
EXTENSIONS: list[Callable[..., list[Any]]] = [
    _when("negative", "smoke.negative", "tasks"),
    _when("stream", "smoke.streaming", "tasks"),
]

# Steps that run once, in this order, after planning and before any planned check: each
# returns checks for the report and may hold a planned check back (``task.skip = reason``:
# it is reported as skipped, not run). A preflight check that fails with ``config`` stops
# the run there: nothing further is sent.
Preflight = Callable[[config.Settings, Any, Deadline, list[Task]], list[Check]]
PREFLIGHTS: list[Preflight] = [
    spend.preflight,
    _when("check_models", "smoke.models_check", "preflight"),
    wireinfo.preflight,
]
# Steps that run once every check has finished; they see all the checks.
POSTFLIGHTS: list[Callable[[config.Settings, list[Check]], list[Check]]] = [spend.postflight]


def run_preflights(
    settings: config.Settings, session: Any, deadline: Deadline, tasks: list[Task]
) -> list[Check]:
    """Run the ``PREFLIGHTS``; mark the tasks they held back as skipped."""
    found: list[Check] = []
    for step in PREFLIGHTS:
        found += step(settings, session, deadline, tasks)
        if any(c.outcome == "fail" and c.category is Category.CONFIG for c in found):
            for task in tasks:
                task.skip = task.skip or f"not run: preflight {found[-1].id} failed"
            break
    for task in tasks:
        if task.skip is not None:
            task.check.outcome, task.check.message = "skip", task.skip
    return found


def run(
    flags: Mapping[str, Any],
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    console: Console | None = None,
) -> tuple[GateResult, config.Settings | None]:
    """Run the whole gate. Never raises for a problem of the endpoint or the config."""
    env = os.environ if env is None else env
    console = console or Console()
    started_at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    clock = time.monotonic()
    preflight = Check(id="preflight:config", kind="preflight", name="configuration")
    settings: config.Settings | None = None
    try:
        settings = config.load(flags, env, cwd)
    except ConfigError as exc:
        preflight.fail(Category.CONFIG, str(exc))
        preflight.steps = []
    else:
        preflight.outcome = "pass"
        preflight.message = (
            f"loaded (file: {settings.config_file or 'none'}; key from {settings.api_key_source})"
        )
    checks = [preflight]
    proxy: str | None = None
    warnings: list[str] = []
    if settings is not None:
        console.configuration(settings)
        proxy = _public_proxy(proxy_for(settings.endpoint))
        if proxy:
            console.note(f"using proxy {proxy} (from the environment)")
        if settings.allow_plain_http and settings.base_url.startswith("http://"):
            warning = "--allow-plain-http: the key is sent unencrypted to " + settings.host
            warnings.append(warning)
            console.warning(warning)
        deadline = Deadline(settings.deadline)
        session = new_session(endpoint_of(settings))
        tasks = plan(settings, session, deadline)
        checks += run_preflights(settings, session, deadline, tasks)
        ran = iter(run_tasks([t for t in tasks if t.skip is None], deadline, settings.concurrency))
        checks += [task.check if task.skip is not None else next(ran) for task in tasks]
        for postflight in POSTFLIGHTS:
            checks += postflight(settings, checks)
        for check in checks:
            warnings += check.warnings
    exit_code, category = decide(checks)
    if settings is not None:  # a config error is reported as one line by the caller
        for check in checks:
            console.check(check)
    base_url = settings.base_url if settings else str(flags.get("base_url") or "")
    parts = urlsplit(base_url)
    result = GateResult(
        verdict="pass" if exit_code == 0 else "fail",
        exit_code=exit_code,
        category=category,
        started_at=started_at,
        duration_ms=int((time.monotonic() - clock) * 1000),
        environment=settings.environment if settings else "",
        deployment_sha=_deployment_sha(env),
        endpoint={"base_url": base_url, "host": parts.hostname or "", "path": parts.path},
        checks=checks,
        config=settings.public() if settings else {},
        proxy=proxy,
        warnings=warnings,
        usage_total=_usage_total(checks),
    )
    if settings is not None:
        console.verdict(result)
    return result, settings


def _public_proxy(url: str | None) -> str | None:
    """The proxy URL with its credentials masked; the password is registered as a secret
    too, in case a proxy's error page echoes it."""
    if not url:
        return None
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.password:
        redact.register(parts.password)
    if parts.username or parts.password:
        host = parts.netloc.rpartition("@")[2]
        parts = parts._replace(netloc=f"{redact.MASK}@{host}")
    return parts.geturl()


def _usage_total(checks: list[Check]) -> int | None:
    totals = [total_tokens(c.usage) for c in checks]
    known = [t for t in totals if t is not None]
    return sum(known) if known else None


def tool_info() -> dict[str, str]:
    return {"name": "chat-smoke", "version": __version__}

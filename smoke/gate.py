"""The gate: load the configuration, plan the checks, run them, decide the verdict.

Orchestration only: each step lives in its package (``config``, ``checks``, ``verdict``);
reports are written by the caller (``runner``) from the :class:`GateResult` returned here.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from smoke import config
from smoke.categories import Category
from smoke.checks import registry
from smoke.checks.pool import run_tasks
from smoke.checks.send import endpoint_of
from smoke.checks.task import Plan
from smoke.errors import ConfigError
from smoke.http.deadline import Deadline
from smoke.http.parse import total_tokens
from smoke.http.payload import prompt_version
from smoke.http.transport import new_session, proxy_for, public_proxy
from smoke.output.console import Console
from smoke.results import Check, GateResult
from smoke.verdict import decide

SHA_VARIABLES = ("GITHUB_SHA", "CI_COMMIT_SHA", "GIT_COMMIT")


def _deployment_sha(env: Mapping[str, str]) -> str | None:
    for name in SHA_VARIABLES:
        if env.get(name, "").strip():
            return env[name].strip()
    return None


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
        for note in settings.notes:
            warnings.append(note)
            console.warning(note)
        proxy = public_proxy(proxy_for(settings.endpoint))
        if proxy:
            console.note(f"using proxy {proxy} (from the environment)")
        if settings.allow_plain_http and settings.base_url.startswith("http://"):
            warning = "--allow-plain-http: the key is sent unencrypted to " + settings.host
            warnings.append(warning)
            console.warning(warning)
        deadline = Deadline(settings.deadline, start=clock)  # config loading counts
        context = Plan(settings, new_session(endpoint_of(settings)), deadline)
        tasks = registry.plan(context)
        checks += registry.preflight(context)
        ran = iter(run_tasks([t for t in tasks if t.skip is None], deadline, settings.concurrency))
        checks += [task.check if task.skip is not None else next(ran) for task in tasks]
        checks += registry.postflight(settings, checks)
        for check in checks:
            warnings += check.warnings
    exit_code, category = decide(checks)
    if settings is not None:  # a config error is reported as one line by the caller
        for check in checks:
            console.check(check)
    base_url = settings.public_base_url if settings else str(flags.get("base_url") or "")
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
        prompt_version=prompt_version(settings) if settings else None,
    )
    if settings is not None:
        console.verdict(result)
    return result, settings


def _usage_total(checks: list[Check]) -> int | None:
    totals = [total_tokens(c.usage) for c in checks]
    known = [t for t in totals if t is not None]
    return sum(known) if known else None

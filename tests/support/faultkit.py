"""The fault matrix's one assertion: run the gate as a subprocess against a misbehaving
endpoint and check category, exit code, attempts, time bound and that the key never
leaks. Set CHAT_SMOKE_FAULT_TABLE=path to append each observation (for the closing
note's table)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from tests.support.cli import KEY, Run, run_cli

# A correctness bound, not a benchmark: the deadline plus the backstop grace and the
# interpreter's start-up, with room for a loaded 2-core CI runner.
SLACK_S = 1.5
MODEL = "stub-model"


def assert_no_key(run: Run) -> None:
    """The key, whole or in long pieces, is in no output: stdout, stderr, any file."""
    outputs = {"stdout": run.stdout, "stderr": run.stderr, **run.files}
    if run.report is not None:
        outputs["report (parsed)"] = json.dumps(run.report, ensure_ascii=False)
    pieces = [KEY] + [KEY[i : i + 12] for i in range(0, len(KEY) - 12, 6)]
    for where, text in outputs.items():
        for piece in pieces:
            assert piece not in text, f"{piece!r} leaked into {where}"


def gate(
    tmp_path: Path,
    base_url: str,
    *args: str,
    deadline: float = 5.0,
    model: str = MODEL,
    env: dict[str, str] | None = None,
) -> tuple[Run, float]:
    started = time.monotonic()
    run = run_cli(
        tmp_path, "--base-url", base_url, "--model", model, "--deadline", f"{deadline:g}",
        *args, env=env, timeout=deadline + 30,
    )
    return run, time.monotonic() - started


def expect_fault(
    tmp_path: Path,
    base_url: str,
    *args: str,
    category: str | None,
    code: int,
    attempts: int,
    deadline: float = 5.0,
    bound: float | None = None,
    name: str | None = None,
    env: dict[str, str] | None = None,
    logged: bool = True,
) -> tuple[Run, dict[str, Any], float]:
    """Run the gate and assert the outcome; returns the run, the positive check and the
    wall time. ``category=None`` means the gate passes."""
    run, wall = gate(tmp_path, base_url, *args, deadline=deadline, env=env)
    detail = f"\nstdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    assert run.report is not None, detail
    check = run.check(f"positive:{MODEL}")
    assert (run.code, run.report["exit_code"]) == (code, code), detail
    assert run.report["category"] == category, detail
    assert check["category"] == category, detail
    assert check["outcome"] == ("pass" if category is None else "fail"), detail
    assert check["attempts"] == attempts, detail
    assert len(check["attempt_log"]) in ((attempts,) if logged else (0, attempts)), detail
    assert wall < (bound if bound is not None else deadline + SLACK_S), f"took {wall:.2f}s"
    assert "Traceback" not in run.stdout + run.stderr, detail
    assert_no_key(run)
    table = os.environ.get("CHAT_SMOKE_FAULT_TABLE")
    if table:
        with open(table, "a", encoding="utf-8") as out:
            out.write(f"{name or base_url}|{category or 'pass'}|{code}|{attempts}|{wall:.2f}\n")
    return run, check, wall

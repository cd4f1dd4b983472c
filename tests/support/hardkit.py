"""Assertions of the hardening tests (issue 11): a gate run as a subprocess with every
report asked for, then "reports always valid" (report.json by strict RFC 8259, JUnit XML
that parses, a summary, a dotenv GitLab accepts) and "no secret in any output"."""

from __future__ import annotations

import json
import os
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from tests.support.cli import KEY, Run, run_cli

REPORTS = ("report.json", "junit.xml", "summary.md", "smoke.env")
_DOTENV_LINE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=[^\n]*$")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (RFC 8259)")


def strict_json(text: str) -> Any:
    """``json.loads`` that refuses NaN and Infinity, as every other JSON reader does."""
    return json.loads(text, parse_constant=_no_constant)


def pieces(secret: str) -> list[str]:
    """The secret and its long pieces (what a leak looks like)."""
    if len(secret) < 12:
        return [secret]
    return [secret] + [secret[i : i + 12] for i in range(0, len(secret) - 11, 4)]


def assert_no_secret(texts: dict[str, str], *secrets: str) -> None:
    for secret in secrets:
        for where, text in texts.items():
            for piece in pieces(secret):
                assert piece not in text, f"{piece!r} of a secret leaked into {where}"


def gate_all(tmp_path: Path, *args: str, env: dict[str, str] | None = None,
             key: str | None = KEY, timeout: float = 60,
             cwd: Path | None = None) -> tuple[Run, float]:
    """Run the gate asking for every report; return the run and its wall time."""
    started = time.monotonic()
    run = run_cli(tmp_path, "--report-junit", str(tmp_path / "junit.xml"),
                  "--summary", str(tmp_path / "summary.md"),
                  "--report-dotenv", str(tmp_path / "smoke.env"), *args,
                  env=env, key=key, timeout=timeout, cwd=cwd)
    return run, time.monotonic() - started


def assert_reports(run: Run, tmp_path: Path, *secrets: str) -> dict[str, Any]:
    """Every report written and valid; no secret anywhere; no traceback; never exit 1."""
    detail = f"\nexit {run.code}\nstdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    assert run.code != 1, detail
    assert "Traceback" not in run.stdout + run.stderr, detail
    for name in REPORTS:
        assert (tmp_path / name).is_file(), f"{name} not written{detail}"
    raw = {name: (tmp_path / name).read_bytes() for name in REPORTS}
    texts = {name: data.decode("utf-8") for name, data in raw.items()}  # UTF-8, or raises
    report = strict_json(texts["report.json"])
    assert report["exit_code"] == run.code, detail
    ET.fromstring(raw["junit.xml"])
    assert texts["summary.md"].strip(), "empty summary"
    for line in texts["smoke.env"].splitlines():
        assert _DOTENV_LINE.match(line), f"dotenv line {line!r}"
    outputs = {"stdout": run.stdout, "stderr": run.stderr, **texts}
    assert_no_secret(outputs, *secrets)
    return dict(report)


def record(name: str, category: str | None, code: int, wall: float,
           written: str = "json, junit, summary, dotenv") -> None:
    """Append one row to $CHAT_SMOKE_FAULT_TABLE (for the closing note's table)."""
    table = os.environ.get("CHAT_SMOKE_FAULT_TABLE")
    if not table:
        return
    with open(table, "a", encoding="utf-8") as out:
        out.write(f"{name}|{category or 'pass'}|{code}|{written}|{wall:.2f}\n")

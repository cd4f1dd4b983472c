"""Without Chromium the browser tests skip on a developer's machine and fail in CI,
naming the reason (run in a subprocess whose PATH has neither Chromium nor apt-get)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.env import scrubbed

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("ci", "outcome"), [(None, "1 skipped"), ("true", "1 error")])
def test_a_missing_browser_skips_only_outside_ci(tmp_path: Path, ci: str | None,
                                                 outcome: str) -> None:
    env = scrubbed(PATH=str(tmp_path), CHAT_SMOKE_BROWSER_CACHE=str(tmp_path / "cache"))
    if ci:
        env["CI"] = ci
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
         "tests/browser/test_harness.py::test_the_stylesheet_is_githubs_pinned_one"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert outcome in proc.stdout, proc.stdout + proc.stderr
    assert "chromium is not installed and there is no apt-get" in proc.stdout
    if ci:
        assert proc.returncode == 1 and "CI is set, so this fails" in proc.stdout
    else:
        assert proc.returncode == 0

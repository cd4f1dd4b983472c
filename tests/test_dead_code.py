"""Dead code stays out (issue 27): vulture over smoke/, with the commented whitelist of what
it cannot see is used. The same command runs in .github/workflows/ci.yml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Jinja's generated template module: the compiler's imports and variables, not our code.
COMMAND = ["smoke", "vulture_whitelist.py", "--exclude", "smoke/reports/summary/templates"]


def test_vulture_finds_no_dead_code() -> None:
    done = subprocess.run([sys.executable, "-m", "vulture", *COMMAND], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"vulture found dead code:\n{done.stdout}{done.stderr}"


def test_vulture_would_catch_dead_code(tmp_path: Path) -> None:
    dead = tmp_path / "dead.py"
    dead.write_text("def never_called() -> int:\n    return 1\n")
    done = subprocess.run([sys.executable, "-m", "vulture", str(dead)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode != 0 and "never_called" in done.stdout


def test_the_ci_workflow_runs_the_same_command() -> None:
    workflow = (REPO / ".github" / "workflows" / "ci.yml").read_text("utf-8")
    assert "vulture " + " ".join(COMMAND) in workflow

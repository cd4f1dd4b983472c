"""The gate as a user runs it: ``python -m smoke run ...`` in a child process with a scrubbed
environment (tests/support/env.py), and the test key every stub accepts."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support import env as env_scrub

KEY = "sk-test-" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6"


@dataclass
class Run:
    """One ``chat-smoke`` process: exit code, output, and the JSON report."""

    code: int
    stdout: str
    stderr: str
    report: dict[str, Any] | None
    files: dict[str, str]

    @property
    def all_output(self) -> str:
        return self.stdout + self.stderr + "".join(self.files.values())

    def check(self, check_id: str) -> dict[str, Any]:
        assert self.report is not None
        for check in self.report["checks"]:
            if check["id"] == check_id:
                return dict(check)
        raise KeyError(f"{check_id} not in {[c['id'] for c in self.report['checks']]}")


def run_cli(
    tmp_path: Path,
    *args: str,
    env: dict[str, str] | None = None,
    key: str | None = KEY,
    timeout: float = 60,
    cwd: Path | None = None,
) -> Run:
    """Run ``python -m smoke run ...`` as a subprocess and collect what it wrote."""
    report = tmp_path / "report.json"
    full_env = env_scrub.scrubbed()
    if key is not None:
        full_env["COMETAPI_API_KEY"] = key
    full_env.update(env or {})
    argv = [sys.executable, "-m", "smoke", "run", "--report-json", str(report), *args]
    proc = subprocess.run(argv, capture_output=True, text=True, env=full_env, timeout=timeout,
                          cwd=cwd or tmp_path)
    files = {p.name: p.read_text(errors="replace") for p in tmp_path.iterdir() if p.is_file()}
    loaded = json.loads(report.read_text()) if report.exists() else None
    return Run(proc.returncode, proc.stdout, proc.stderr, loaded, files)

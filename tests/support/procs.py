"""Stopping a server process the suite started: SIGTERM, a grace period, then SIGKILL."""

from __future__ import annotations

import subprocess


def terminate(proc: subprocess.Popen[str] | subprocess.Popen[bytes], grace: float = 10.0
              ) -> int:
    """Stop ``proc`` if it still runs (SIGTERM, then SIGKILL after ``grace`` seconds) and
    return its exit code."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return int(proc.returncode)

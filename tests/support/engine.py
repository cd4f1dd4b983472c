"""The engine suite's helpers (tests/engine/conftest.py holds its fixtures): Prometheus,
Alertmanager and the Pushgateway as processes on free loopback ports, a webhook receiver
for Alertmanager's notifications, and bounded polling."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.support.procs import terminate
from tests.support.servekit import get

REPO = Path(__file__).resolve().parents[2]
SUITE = REPO / "tests" / "engine"
DEPLOY = REPO / "deploy"
IN_CI = bool(os.environ.get("CI"))  # read at collection: clean_env drops CI per test


def unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"engine suite: {reason} (CI is set: this suite must run, it may not "
                    f"skip)", pytrace=False)
    pytest.skip(f"engine suite: {reason}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Process:
    """A server process, its output in a file (shown when a test fails)."""

    def __init__(self, name: str, argv: list[str], folder: Path, ready: str) -> None:
        self.name, self.log = name, folder / f"{name}.log"
        self._out = self.log.open("w")
        self.proc = subprocess.Popen(argv, stdout=self._out, stderr=subprocess.STDOUT,
                                     cwd=folder)
        until = time.monotonic() + 30
        while time.monotonic() < until:
            if self.proc.poll() is not None:
                raise AssertionError(f"{name} exited {self.proc.returncode}: {self.output()}")
            try:
                if get(ready, timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{name} not ready at {ready}: {self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        terminate(self.proc)
        self._out.close()


@dataclass
class Webhook:
    """Alertmanager's webhook receiver: every notification, by receiver (URL path)."""

    server: ThreadingHTTPServer
    received: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def alerts(self, name: str, status: str | None = None) -> list[tuple[str, dict[str, Any]]]:
        """(receiver, alert) for each alert named ``name`` in the notifications so far."""
        with self.lock:
            return [(n["_path"].strip("/"), a) for n in self.received for a in n["alerts"]
                    if a["labels"].get("alertname") == name
                    and (status is None or a["status"] == status)]


def query(prometheus: str, expr: str) -> list[dict[str, Any]]:
    status, text, _ = get(f"{prometheus}/api/v1/query?query={urllib.parse.quote(expr)}")
    assert status == 200, text
    result: list[dict[str, Any]] = json.loads(text)["data"]["result"]
    return result


def wait_for(what: str, check: Any, timeout: float, *logs: Process) -> Any:
    until = time.monotonic() + timeout
    while time.monotonic() < until:
        found = check()
        if found:
            return found
        time.sleep(0.25)
    shown = "\n".join(f"--- {p.name}:\n{p.output()}" for p in logs)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{shown}")

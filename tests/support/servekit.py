"""Helpers for the exporter's tests: a config file, an in-process exporter on a free port,
a ``chat-smoke serve`` subprocess, and plain HTTP calls (urllib: no client of ours)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

from smoke.serve.server import Exporter, Server
from smoke.stub import StubServer
from tests.support.cli import KEY
from tests.support.env import scrubbed
from tests.support.procs import terminate


def write_config(path: Path, targets: Mapping[str, Mapping[str, Any]],
                 modules: Mapping[str, Mapping[str, Any]] | None = None,
                 serve: Mapping[str, Any] | None = None, **top: Any) -> Path:
    data: dict[str, Any] = {"model": "stub-model", **top, "targets": dict(targets)}
    if modules:
        data["modules"] = dict(modules)
    if serve:
        data["serve"] = dict(serve)
    path.write_text(yaml.safe_dump(data), "utf-8")
    return path


def completions(stub: StubServer) -> int:
    return sum(1 for r in stub.requests if r["path"].endswith("/chat/completions"))


def eventually(condition: Callable[[], object], timeout: float = 10) -> bool:
    """Poll ``condition`` every 20 ms until it holds or ``timeout`` seconds pass; whether
    it held (the caller asserts what it waited for)."""
    until = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= until:
            return False
        time.sleep(0.02)
    return True


@contextmanager
def exporter(config: Path, env: Mapping[str, str] | None = None) -> Iterator[Server]:
    """An exporter on a free loopback port, served from a thread of this process."""
    full = {"COMETAPI_API_KEY": KEY, **(env or {})}
    server = Server(("127.0.0.1", 0), Exporter(str(config), full, config.parent))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def get(url: str, headers: Mapping[str, str] | None = None, method: str = "GET",
        timeout: float = 30) -> tuple[int, str, dict[str, str]]:
    request = urllib.request.Request(url, headers=dict(headers or {}), method=method)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as answer:
            return answer.status, answer.read().decode("utf-8"), dict(answer.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8"), dict(exc.headers)


def families(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return found


def value(found: dict[str, list[tuple[dict[str, str], float]]], name: str,
          **labels: str) -> float:
    matches = [v for got, v in found.get(name, [])
               if all(got.get(k) == x for k, x in labels.items())]
    assert len(matches) == 1, (name, labels, found.get(name))
    return matches[0]


PROMTOOL = shutil.which("promtool")


def check_metrics(text: str) -> None:
    """Every exposition parses (prometheus_client's parser), and promtool check metrics
    finds no problem where promtool is installed (the real-engine suite installs it)."""
    families(text)
    if PROMTOOL:
        done = subprocess.run([PROMTOOL, "check", "metrics"], input=text, text=True,
                              capture_output=True, timeout=30)
        assert done.returncode == 0, done.stdout + done.stderr


class ServeProcess:
    """``chat-smoke serve`` as a real process on a free port (read from its first line)."""

    def __init__(self, config: Path, env: Mapping[str, str] | None = None,
                 host: str = "127.0.0.1") -> None:
        argv = [sys.executable, "-m", "smoke", "serve", "--config", str(config), "--port", "0",
                "--host", host]
        self.proc = subprocess.Popen(argv, cwd=config.parent, stderr=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, text=True,
                                     env=scrubbed(COMETAPI_API_KEY=KEY, **(env or {})))
        assert self.proc.stderr is not None
        self.lines: list[str] = []
        first = self.proc.stderr.readline()
        self.lines.append(first)
        if "listening on" not in first:
            self.proc.kill()
            raise AssertionError(f"serve did not start: {first}{self.proc.stderr.read()}")
        self.url = first.split("listening on ", 1)[1].split(" ", 1)[0].rstrip("/")
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    def wait_for_line(self, text: str, timeout: float = 10) -> str:
        until = time.monotonic() + timeout
        while time.monotonic() < until:
            for line in self.lines:
                if text in line:
                    return line
            time.sleep(0.02)
        raise AssertionError(f"no line with {text!r} in {self.lines}")

    def stop(self) -> int:
        return terminate(self.proc)

"""The real engine (issue 24): Prometheus, Alertmanager and the Pushgateway from Debian,
installed by setup.sh (as root, once), each started here on a free loopback port with a
private data folder. Where they cannot be set up the suite fails if CI is set (it must run
there) and skips with the reason elsewhere (not root)."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.support.engine import SUITE, Webhook, unavailable


@pytest.fixture(scope="session")
def tools() -> dict[str, str]:
    try:
        done = subprocess.run(["bash", str(SUITE / "setup.sh")], capture_output=True,
                              text=True, timeout=900)
    except subprocess.TimeoutExpired:
        unavailable("setup.sh took more than 15 minutes")
    if done.returncode != 0:
        unavailable(done.stderr.strip().splitlines()[-1] if done.stderr.strip()
                    else f"setup.sh exited {done.returncode}")
    found = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    return found


@pytest.fixture()
def webhook() -> Iterator[Webhook]:
    hook: Webhook

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            body["_path"] = self.path
            with hook.lock:
                hook.received.append(body)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    hook = Webhook(server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield hook
    server.shutdown()
    server.server_close()

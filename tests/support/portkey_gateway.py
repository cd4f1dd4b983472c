"""Run Portkey's REAL open-source AI gateway (npm ``@portkey-ai/gateway``) on loopback.

It routes on headers (``x-portkey-provider``, ``x-portkey-config``,
``x-portkey-custom-host``) and refuses a request without them in its own envelope
(``{"status": "failure", "message": …}``), so it is the real test of ``--header``
(issue 13). Pointed at the bundled stub as a custom host, it needs no upstream.

The package is installed once, with ``--ignore-scripts``, into
``$CHAT_SMOKE_CACHE/portkey-gateway-<VERSION>`` (``npm`` from the npm registry; ``node``
20+). A failed install or start raises: nothing skips.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from tests.support.env import scrubbed
from tests.support.litellm_proxy import _child_setup, _stop, _tail, cache_root, free_port

PORTKEY_VERSION = "1.15.2"
PACKAGE = f"@portkey-ai/gateway@{PORTKEY_VERSION}"
MARKER_NAME = ".chat-smoke-installed"
INSTALL_TIMEOUT_S = 600.0
READY_TIMEOUT_S = 60.0


@dataclasses.dataclass(frozen=True)
class PortkeyGateway:
    base_url: str  # http://127.0.0.1:PORT/v1
    port: int
    pid: int
    log_path: Path
    version: str = PORTKEY_VERSION


def install_dir() -> Path:
    return cache_root() / f"portkey-gateway-{PORTKEY_VERSION}"


def server_script(root: Path) -> Path:
    return root / "node_modules" / "@portkey-ai" / "gateway" / "build" / "start-server.js"


def ensure_installed() -> Path:
    """Install the pinned gateway once (a marker is written only after a complete install)."""
    root = install_dir()
    root.parent.mkdir(parents=True, exist_ok=True)
    npm, node = shutil.which("npm"), shutil.which("node")
    if not npm or not node:
        raise RuntimeError("the Portkey gateway needs node and npm on PATH (apt-get install npm)")
    with open(root.parent / f".{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        marker = root / MARKER_NAME
        if marker.is_file() and server_script(root).is_file():
            return root
        if root.exists():
            shutil.rmtree(root)
        root.mkdir()
        proc = subprocess.run(
            [npm, "install", "--prefix", str(root), "--no-audit", "--no-fund",
             "--ignore-scripts", PACKAGE],
            capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S,
        )
        if proc.returncode != 0 or not server_script(root).is_file():
            raise RuntimeError(f"npm install {PACKAGE} failed (exit {proc.returncode}):\n"
                               f"{_tail(proc.stdout + proc.stderr)}")
        marker.write_text(PACKAGE + "\n")
        return root


def _answers(url: str) -> bool:
    """The gateway is up when it refuses a request without routing headers (its 400)."""
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=3):
            return True
    except urllib.error.HTTPError as exc:
        return exc.code == 400
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def portkey_gateway(ready_timeout: float = READY_TIMEOUT_S) -> Iterator[PortkeyGateway]:
    """Start the pinned gateway on a free 127.0.0.1 port; stop it on exit."""
    root = ensure_installed()
    node = shutil.which("node") or "node"
    with tempfile.TemporaryDirectory(prefix="chat-smoke-portkey-") as tmp:
        log_path = Path(tmp) / "portkey.log"
        port = free_port()
        env = {k: v for k, v in scrubbed().items()
               if not k.upper().endswith("_PROXY") and not k.startswith("PORTKEY_")}
        env.update(NODE_ENV="production", NO_PROXY="*")
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                [node, str(server_script(root)), f"--port={port}", "--headless"],
                cwd=tmp, env=env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, preexec_fn=_child_setup(os.getpid()),
            )
            try:
                url = f"http://127.0.0.1:{port}/v1"
                deadline = time.monotonic() + ready_timeout
                while not _answers(f"{url}/chat/completions"):
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(
                            f"the Portkey gateway did not start (exit {proc.poll()}):\n"
                            f"{_tail(log_path.read_text(errors='replace'))}")
                    time.sleep(0.2)
                yield PortkeyGateway(url, port, proc.pid, log_path)
            finally:
                _stop(proc)

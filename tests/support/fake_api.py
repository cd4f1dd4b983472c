"""What every fake JSON API of the suite shares (the issue trackers in
tests/support/fake_trackers.py, the pull-request comments in tests/test_pr_comment.py):
real HTTP on a free loopback port, every request recorded as a :class:`Call` on the fake,
JSON answers. Each fake adds its own API's rules in a :class:`JsonApiHandler` subclass."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


class JsonApiHandler(BaseHTTPRequestHandler):
    server: FakeApiServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def _record(self) -> Call:
        """The request as a :class:`Call` (a body that is not JSON kept as text), appended
        to the fake's ``calls``."""
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        call = Call(self.command, parts.path, parse_qs(parts.query), dict(self.headers), body)
        self.server.fake.calls.append(call)
        return call

    def _send(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


class FakeApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: Any, handler: type[JsonApiHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.fake = fake


@contextmanager
def running(fake: Any, handler: type[JsonApiHandler]) -> Iterator[FakeApiServer]:
    """``fake`` served by ``handler`` on a free loopback port (``fake.url`` set) until the
    block ends."""
    server = FakeApiServer(fake, handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()

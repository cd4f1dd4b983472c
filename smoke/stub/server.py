"""The stub's HTTP server: a real socket, the real wire format, and faults on demand.

A scenario is chosen, most specific first, by a path prefix ``/s/<scenario>/v1/...``,
by a model id ``scenario/<name>``, or by the server's default. ``name:arg`` passes an
argument (``slow:3``); ``name~tag`` keeps separate state (counters) per tag.
"""

from __future__ import annotations

import json
import ssl
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from smoke.stub import scenarios

DEFAULT_KEY = "sk-stub-not-a-secret-0123456789abcdef"
MODELS = ("stub-model", "gpt-4o-mini", "gpt-5-mini")


@dataclass
class StubState:
    key: str
    default: str
    models: tuple[str, ...]
    counters: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def count(self, tag: str) -> int:
        """How many requests this scenario tag has seen, this one included."""
        with self.lock:
            self.counters[tag] = self.counters.get(tag, 0) + 1
            return self.counters[tag]


class Handler(BaseHTTPRequestHandler):
    server: StubHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "chat-smoke-stub"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        if self.server.verbose:
            super().log_message(format, *args)

    # -- routing -----------------------------------------------------------------
    def _route(self) -> tuple[str, str]:
        path = self.path.split("?", 1)[0]
        scenario = self.server.state.default
        if path.startswith("/s/"):
            _, _, rest = path.partition("/s/")
            scenario, _, tail = rest.partition("/")
            path = "/" + tail
        return scenario, path

    def do_GET(self) -> None:  # noqa: N802
        scenario, path = self._route()
        if path.rstrip("/") in ("/v1/models", "/models"):
            scenarios.models(self, scenario)
        elif path in ("/", "/health", "/v1", "/v1/"):
            self.send_json(200, {"status": "ok"})
        else:
            scenarios.not_found(self)

    def do_POST(self) -> None:  # noqa: N802
        scenario, path = self._route()
        body = self.read_body()
        if path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
            scenarios.not_found(self)
            return
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            payload = None
        model = payload.get("model") if isinstance(payload, dict) else None
        if isinstance(model, str) and model.startswith("scenario/"):
            scenario = model.split("/", 1)[1]
        with self.server.state.lock:
            self.server.state.requests.append(
                {"scenario": scenario, "headers": dict(self.headers), "payload": payload}
            )
        scenarios.dispatch(self, scenario, payload, body)

    # -- writing ------------------------------------------------------------------
    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def bearer(self) -> str:
        value = self.headers.get("Authorization", "")
        return value[7:] if value.startswith("Bearer ") else ""

    def send_bytes(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-request-id", f"req_{uuid.uuid4().hex}")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def send_json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        self.send_bytes(status, json.dumps(data).encode("utf-8"), headers=headers)


class StubHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's listen backlog of 5 drops the SYNs of a burst of concurrent clients
    # (16 models at once): they retry a second later, or are reset.
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], state: StubState, verbose: bool = False
    ) -> None:
        super().__init__(address, Handler)
        self.state = state
        self.verbose = verbose


class StubServer:
    """Start with ``with StubServer() as stub: stub.base_url``."""

    def __init__(
        self,
        scenario: str = "pass",
        host: str = "127.0.0.1",
        port: int = 0,
        key: str = DEFAULT_KEY,
        models: tuple[str, ...] = MODELS,
        tls: ssl.SSLContext | None = None,
        verbose: bool = False,
    ) -> None:
        self.state = StubState(key=key, default=scenario, models=models)
        self.httpd = StubHTTPServer((host, port), self.state, verbose)
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.scheme = "https" if tls else "http"
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def host(self) -> str:
        return str(self.httpd.server_address[0])

    def url(self, scenario: str | None = None, host: str | None = None) -> str:
        prefix = f"/s/{scenario}" if scenario else ""
        return f"{self.scheme}://{host or self.host}:{self.port}{prefix}/v1"

    @property
    def base_url(self) -> str:
        return self.url()

    @property
    def requests(self) -> list[dict[str, Any]]:
        return self.state.requests

    def start(self) -> StubServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def serve_forever(self) -> None:
        try:
            self.httpd.serve_forever()
        finally:
            self.httpd.server_close()

    def __enter__(self) -> StubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

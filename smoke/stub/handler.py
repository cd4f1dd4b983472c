"""The stub's HTTP handler and server: routing, reading, writing. What each route answers
is up to the ``Routes`` it is given (``smoke.stub.scenarios``)."""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol, TypedDict


class Routes(Protocol):
    """What answers the stub's routes (the ``smoke.stub.scenarios`` module)."""

    def models(self, h: Handler, scenario: str) -> None: ...

    def not_found(self, h: Handler) -> None: ...

    def dispatch(self, h: Handler, scenario: str, payload: object, raw: bytes) -> None: ...


class Received(TypedDict):
    """A request as the stub received it (``StubServer.requests``): ``payload`` is the
    parsed JSON body (None for a GET or a body that is not JSON), foreign until narrowed."""

    scenario: str
    method: str
    path: str
    headers: dict[str, str]
    payload: object


@dataclass
class StubState:
    key: str
    default: str
    models: tuple[str, ...]
    # The header the stub reads the key from: Authorization ("Bearer KEY"), or another
    # name that carries the key as-is (Azure's api-key, x-api-key), or "none" (any key).
    auth_header: str = "Authorization"
    counters: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[Received] = field(default_factory=list)

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
    # TCP_NODELAY, as real servers set it: the headers and the body leave in separate
    # writes, and with Nagle's algorithm the body of an answer on a kept-alive connection
    # waits for the client's delayed ACK (40 ms on Linux), which only a stub would add.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
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

    def _record(self, scenario: str, payload: object) -> None:
        """What the server received: method, path with query, headers, payload."""
        with self.server.state.lock:
            self.server.state.requests.append(
                {"scenario": scenario, "method": self.command, "path": self.path,
                 "headers": dict(self.headers), "payload": payload}
            )

    def do_GET(self) -> None:  # noqa: N802
        scenario, path = self._route()
        self._record(scenario, None)
        if path.rstrip("/") in ("/v1/models", "/models"):
            self.server.routes.models(self, scenario)
        elif path in ("/", "/health", "/v1", "/v1/"):
            self.send_json(200, {"status": "ok"})
        else:
            self.server.routes.not_found(self)

    def do_POST(self) -> None:  # noqa: N802
        scenario, path = self._route()
        body = self.read_body()
        if path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
            self.server.routes.not_found(self)
            return
        payload: object
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            payload = None
        model = payload.get("model") if isinstance(payload, dict) else None
        if isinstance(model, str) and model.startswith("scenario/"):
            scenario = model.split("/", 1)[1]
        self._record(scenario, payload)
        self.server.routes.dispatch(self, scenario, payload, body)

    # -- writing ------------------------------------------------------------------
    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def bearer(self) -> str:
        """The key the client sent, read from the stub's auth header."""
        name = self.server.state.auth_header
        if name.lower() == "none":
            return self.server.state.key
        value = self.headers.get(name, "")
        if name.lower() != "authorization":
            return value
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

    def send_json(self, status: int, data: object, headers: dict[str, str] | None = None) -> None:
        self.send_bytes(status, json.dumps(data).encode("utf-8"), headers=headers)


class StubHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's listen backlog of 5 drops the SYNs of a burst of concurrent clients
    # (16 models at once): they retry a second later, or are reset.
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], state: StubState, routes: Routes, verbose: bool = False
    ) -> None:
        super().__init__(address, Handler)
        self.state = state
        self.routes = routes
        self.verbose = verbose

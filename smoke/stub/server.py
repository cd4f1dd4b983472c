"""The stub's HTTP server: a real socket, the real wire format, and faults on demand.

A scenario is chosen, most specific first, by a path prefix ``/s/<scenario>/v1/...``,
by a model id ``scenario/<name>``, or by the server's default. ``name:arg`` passes an
argument (``slow:3``); ``name~tag`` keeps separate state (counters) per tag.
"""

from __future__ import annotations

import ssl
import threading

from smoke.stub import scenarios
from smoke.stub.handler import Received, StubHTTPServer, StubState

DEFAULT_KEY = "sk-stub-not-a-secret-0123456789abcdef"
MODELS = ("stub-model", "gpt-4o-mini", "gpt-5-mini")


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
        auth_header: str = "Authorization",
    ) -> None:
        self.state = StubState(key=key, default=scenario, models=models,
                               auth_header=auth_header)
        self.httpd = StubHTTPServer((host, port), self.state, scenarios, verbose)
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
    def requests(self) -> list[Received]:
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

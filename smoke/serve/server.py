"""The exporter's HTTP side and its lifecycle.

Endpoints: ``/probe?target=NAME[&module=NAME]``, ``/metrics`` (the exporter's own
counters and process metrics), ``/-/healthy``, ``/-/ready``, ``POST /-/reload`` and ``/``
(an HTML index of the targets). The query names a target and a module, nothing else: any
other parameter, an unknown name or a missing target is a 400, so the exporter can't be
pointed anywhere (blackbox_exporter's rule for its own config-defined modules).

Signals: SIGTERM and SIGINT stop accepting, cancel the probes in flight (their scrapes
get a 503) and exit 0 within about a second; SIGHUP reloads the configuration like
``POST /-/reload``. A configuration that doesn't load leaves the running one in place and
says why, on stderr, in the reload's answer and in
``chat_smoke_exporter_config_last_reload_successful``.
"""

from __future__ import annotations

import html
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from urllib.parse import parse_qs, urlsplit

from smoke.errors import ConfigError
from smoke.output import redact
from smoke.output.textsafe import count
from smoke.serve import config as serve_config
from smoke.serve import selfmetrics
from smoke.serve.prober import Answer, Prober, Runner, run_gate

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_TEXT = "text/plain; charset=utf-8"


class Exporter:
    """The configuration, the prober and the reload, shared by every request."""

    def __init__(self, config_path: str, env: dict[str, str], cwd: Path,
                 runner: Runner = run_gate) -> None:
        self.config_path, self.env, self.cwd = config_path, env, cwd
        self._reload_lock = threading.Lock()
        with redact.scope():
            config = serve_config.load(config_path, env, cwd)  # the first load must work
        self.prober = Prober(config, env, cwd, runner)
        self.reload_ok = True
        self.reload_at = time.time()
        self.started = time.time()

    @property
    def config(self) -> serve_config.ServeConfig:
        return self.prober.config

    def reload(self) -> str | None:
        """Load the file again; None when it worked, else why it didn't (the running
        configuration stays)."""
        with self._reload_lock:
            try:
                with redact.scope():
                    config = serve_config.load(self.config_path, self.env, self.cwd)
            except ConfigError as exc:
                self.reload_ok = False
                reason = redact.scrub(str(exc))
                log(f"reload failed, keeping the previous configuration: {reason}")
                return reason
            self.prober.reconfigure(config)
            self.reload_ok, self.reload_at = True, time.time()
            log(f"configuration reloaded: {count(len(config.targets), 'target')}, "
                f"{count(len(config.modules), 'module')}")
            return None

    def probe(self, query: str, scrape_timeout: str | None) -> Answer:
        params = parse_qs(query, keep_blank_values=True)
        other = sorted(set(params) - {"target", "module"})
        if other:
            return _bad(f"unknown parameter {other[0]!r}: a probe takes target and module "
                        f"only; everything else is in the server's config file")
        if any(len(values) > 1 for values in params.values()):
            return _bad("target and module may be given once each")
        config = self.config
        name = params.get("target", [""])[0]
        if not name:
            return _bad("target is missing: /probe?target=NAME (the names: GET /)")
        target = config.targets.get(name)
        if target is None:
            return _bad(f"unknown target {_shown(name)}: only the targets of the server's "
                        f"config file are probed (the names: GET /)")
        module = params.get("module", [""])[0]
        if module and module not in config.modules:
            return _bad(f"unknown module {_shown(module)} (the names: GET /)")
        timeout = _seconds(scrape_timeout)
        return self.prober.probe(target, module, timeout)

    def index(self) -> str:
        config = self.config
        rows = "".join(
            f"<li><a href=\"probe?target={html.escape(name)}\">{html.escape(name)}</a> "
            f"({html.escape(t.environment or '-')})</li>" for name, t in config.targets.items())
        modules = "".join(f"<li>{html.escape(name)}</li>" for name in config.modules)
        return ("<!doctype html><html><head><meta charset=\"utf-8\"><title>chat-smoke serve"
                "</title></head><body><h1>chat-smoke serve</h1>"
                f"<h2>Targets</h2><ul>{rows}</ul><h2>Modules</h2><ul>{modules or '<li>-</li>'}"
                "</ul><p><a href=\"metrics\">metrics</a></p></body></html>\n")


def _shown(name: str) -> str:
    return repr(name[:64] + ("..." if len(name) > 64 else ""))


def _bad(reason: str) -> Answer:
    return Answer(400, f"chat-smoke serve: {reason}\n", _TEXT)


def _seconds(text: str | None) -> float | None:
    try:
        value = float(text) if text else None
    except ValueError:
        return None
    return value if value is not None and 0 < value < 86400 else None


class Handler(BaseHTTPRequestHandler):
    server: Server
    protocol_version = "HTTP/1.1"
    server_version = "chat-smoke-serve"
    sys_version = ""
    # Headers and body leave in two writes: with Nagle's algorithm the body waits for the
    # scraper's delayed ACK on a kept-alive connection (40 ms on Linux) on every scrape.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # no access log: the exporter's counters say what happened

    def _send(self, answer: Answer) -> None:
        body = answer.text.encode("utf-8")
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except OSError:
            pass  # the scraper gave up; nothing to tell it

    def do_GET(self) -> None:  # noqa: N802
        with self.server.answering():
            self._get()

    def _get(self) -> None:
        exporter = self.server.exporter
        parts = urlsplit(self.path)
        path = parts.path
        if path == "/probe":
            if self.server.stopping.is_set():
                self._send(Answer(503, "chat-smoke serve: stopping\n", _TEXT))
                return
            self._send(exporter.probe(parts.query,
                                      self.headers.get("X-Prometheus-Scrape-Timeout-Seconds")))
        elif path == "/metrics":
            self._send(Answer(200, selfmetrics.render(exporter.prober, exporter.reload_ok,
                                                      exporter.reload_at, exporter.started)))
        elif path == "/-/healthy":
            self._send(Answer(200, "Healthy.\n", _TEXT))
        elif path == "/-/ready":
            ready = not self.server.stopping.is_set()
            self._send(Answer(200 if ready else 503, "Ready.\n" if ready else "Stopping.\n",
                              _TEXT))
        elif path == "/":
            self._send(Answer(200, exporter.index(), "text/html; charset=utf-8"))
        elif path == "/-/reload":
            self._send(Answer(405, "chat-smoke serve: reload with POST /-/reload\n", _TEXT))
        else:
            self._send(Answer(404, "chat-smoke serve: not found (GET / lists the "
                                   "endpoints)\n", _TEXT))

    def do_HEAD(self) -> None:  # noqa: N802
        if urlsplit(self.path).path == "/probe":  # a probe costs money: GET only
            self._send(Answer(405, "", _TEXT))
            return
        self.do_GET()

    def do_POST(self) -> None:  # noqa: N802
        with self.server.answering():
            self._post()

    def _post(self) -> None:
        if urlsplit(self.path).path != "/-/reload":
            self._send(Answer(405, "chat-smoke serve: only POST /-/reload\n", _TEXT))
            return
        reason = self.server.exporter.reload()
        self._send(Answer(200, "Reloaded.\n", _TEXT) if reason is None else
                   Answer(500, f"chat-smoke serve: reload failed, the previous configuration "
                               f"stays: {reason}\n", _TEXT))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], exporter: Exporter) -> None:
        self.exporter = exporter
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self.busy = 0  # requests being answered (a kept-alive idle connection is not one)
        super().__init__(address, Handler)

    @contextmanager
    def answering(self) -> Iterator[None]:
        with self._lock:
            self.busy += 1
        try:
            yield
        finally:
            with self._lock:
                self.busy -= 1

    @property
    def port(self) -> int:
        return int(self.server_address[1])


def log(text: str) -> None:
    line = redact.scrub(f"chat-smoke serve: {text}").replace("\n", " ")
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def serve(config_path: str, host: str, port: int, env: dict[str, str], cwd: Path) -> int:
    """Run until SIGTERM or SIGINT; the exit code. The main thread waits for signals, a
    thread serves the requests."""
    try:
        exporter = Exporter(config_path, env, cwd)
    except ConfigError as exc:
        log(f"config error: {redact.scrub(str(exc))}")
        return 2
    try:
        server = Server((host, port), exporter)
    except OSError as exc:
        log(f"cannot listen on {host}:{port}: {exc.strerror}. Choose another --port, or "
            f"stop what listens there.")
        return 2
    stop = threading.Event()
    reload = threading.Event()
    signalled: list[int] = []

    def on_stop(signum: int, frame: FrameType | None) -> None:
        if signalled:
            os._exit(128 + signum)  # asked twice: go now
        signalled.append(signum)
        stop.set()

    def on_hup(signum: int, frame: FrameType | None) -> None:
        reload.set()

    for sig in STOP_SIGNALS:
        signal.signal(sig, on_stop)
    signal.signal(signal.SIGHUP, on_hup)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True, name="chat-smoke-serve")
    thread.start()
    shown = f"[{host}]" if ":" in host else host
    log(f"listening on http://{shown}:{server.port}/ "
        f"({count(len(exporter.config.targets), 'target')}; /probe?target=NAME, /metrics)")
    while not stop.is_set():
        if reload.wait(0.05):
            reload.clear()
            exporter.reload()
    server.stopping.set()
    # The probes in flight stop (the server's token: no other run of the process).
    signum = signalled[0] if signalled else signal.SIGTERM
    exporter.prober.cancel.cancel(signum, signal.Signals(signum).name)
    server.shutdown()
    _drain(server, 0.6)
    server.server_close()
    log(f"stopped ({signal.Signals(signalled[0]).name if signalled else 'stop'})")
    return 0


def _drain(server: Server, seconds: float) -> None:
    """Give the cancelled probes a moment to answer their scrapes, to the body's last byte.
    A probe runs inside its scrape's request, so waiting for the requests being answered
    covers the probes too; waiting for the probes alone let the process leave between an
    answer's headers and its body, handing the scraper a truncated answer."""
    until = time.monotonic() + seconds
    while server.busy and time.monotonic() < until:
        time.sleep(0.02)

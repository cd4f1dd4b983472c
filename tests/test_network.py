"""Proxies and redirects, over real loopback sockets."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from smoke.stub import StubServer
from tests.support.cli import KEY, run_cli

PROXY_PASSWORD = "pr0xy-Passw0rd-secret"


class _Proxy(BaseHTTPRequestHandler):
    """A forwarding HTTP proxy (absolute-form requests), recording what it saw."""

    seen: list[dict[str, str]] = []

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_POST(self) -> None:  # noqa: N802
        target = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        _Proxy.seen.append({"url": self.path, **dict(self.headers)})
        conn = http.client.HTTPConnection(target.hostname or "", target.port, timeout=10)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "proxy-authorization"}
        conn.request("POST", target.path, body, headers)
        answer = conn.getresponse()
        data = answer.read()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("transfer-encoding", "connection"):
                self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def proxy() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Proxy.seen = []
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def test_proxy_from_environment_is_used_and_masked(tmp_path: Path, stub: StubServer,
                                                   proxy: int) -> None:
    url = f"http://ops:{PROXY_PASSWORD}@127.0.0.1:{proxy}"
    run = run_cli(tmp_path, "--base-url", stub.base_url, "--model", "stub-model",
                  env={"HTTP_PROXY": url, "NO_PROXY": ""})
    assert run.code == 0, run.stdout + run.stderr
    assert len(_Proxy.seen) == 1 and _Proxy.seen[0]["url"].endswith("/v1/chat/completions")
    assert "Proxy-Authorization" in _Proxy.seen[0]  # requests sent the proxy credentials
    assert run.report is not None
    assert run.report["proxy"] == f"http://***@127.0.0.1:{proxy}"
    assert "using proxy http://***@127.0.0.1" in run.stdout
    assert PROXY_PASSWORD not in run.all_output and KEY not in run.all_output


def test_no_proxy_is_honoured(tmp_path: Path, stub: StubServer, proxy: int) -> None:
    run = run_cli(tmp_path, "--base-url", stub.base_url, "--model", "stub-model",
                  env={"HTTP_PROXY": f"http://127.0.0.1:{proxy}", "NO_PROXY": "127.0.0.1"})
    assert run.code == 0
    assert _Proxy.seen == [] and run.report is not None and run.report["proxy"] is None


def test_same_host_307_is_followed(tmp_path: Path, stub: StubServer) -> None:
    run = run_cli(tmp_path, "--base-url", stub.url("redirect-same-host"), "--model",
                  "stub-model")
    assert run.code == 0, run.stdout
    assert stub.requests[-1]["headers"]["Authorization"] == f"Bearer {KEY}"


def test_key_never_crosses_to_another_host(tmp_path: Path, stub: StubServer) -> None:
    before = len(stub.requests)
    run = run_cli(tmp_path, "--base-url", stub.url("redirect-other-host"), "--model",
                  "stub-model")
    assert run.code == 4 and run.report is not None
    assert run.report["category"] == "protocol"
    assert "not followed" in run.check("positive:stub-model")["message"]
    # Only the original request reached a server: nothing was sent to "localhost".
    assert len(stub.requests) == before + 1
    assert stub.requests[-1]["scenario"] == "redirect-other-host"


def test_one_session_reads_the_environment_per_host(stub: StubServer, proxy: int,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # The session's transport adapter keeps what the environment says per origin
    # (requests would scan it on every request): NO_PROXY still decides per host, the
    # same host asks once.
    import requests

    from smoke.http.transport import Endpoint, Transport, new_session

    asked: list[str] = []
    environ_proxies = requests.utils.get_environ_proxies

    def counted(url: str, no_proxy: str | None = None) -> dict[str, str]:
        asked.append(urlsplit(url).netloc)
        return environ_proxies(url, no_proxy)

    monkeypatch.setattr(requests.utils, "get_environ_proxies", counted)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    session = new_session(Endpoint(stub.base_url, KEY, 5, 5))
    assert session.trust_env is False  # requests itself reads nothing from the environment
    body = {"model": "stub-model", "messages": [{"role": "user", "content": "ping"}]}
    auth = {"Authorization": f"Bearer {KEY}"}
    for _ in range(2):
        direct = session.post(stub.url() + "/chat/completions", json=body, headers=auth,
                              timeout=10)
        assert direct.status_code == 200 and _Proxy.seen == []
    proxied = session.post(stub.url(host="localhost") + "/chat/completions", json=body,
                           headers=auth, timeout=10)
    assert proxied.status_code == 200
    assert [urlsplit(seen["url"]).hostname for seen in _Proxy.seen] == ["localhost"]
    adapter = session.get_adapter(stub.url(host="localhost"))
    assert isinstance(adapter, Transport)
    assert adapter.proxies_for(stub.url(host="localhost"))["http"].endswith(f":{proxy}")
    assert adapter.proxies_for(stub.url()) == {}
    assert sorted(asked) == sorted({urlsplit(stub.url()).netloc,
                                    urlsplit(stub.url(host="localhost")).netloc})


def test_a_netrc_entry_for_the_host_does_not_replace_the_key(tmp_path: Path,
                                                             stub: StubServer) -> None:
    # requests reads ~/.netrc when a session has no auth of its own, and its Basic
    # credentials then replace the Authorization header the gate set: a developer's or a
    # CI image's .netrc (written by many deploy tools) would turn every run into 401.
    home = tmp_path / "home"
    home.mkdir()
    netrc = home / ".netrc"
    netrc.write_text(f"machine {stub.host} login deploy password not-the-key\n")
    netrc.chmod(0o600)
    run = run_cli(tmp_path, "--base-url", stub.url(), "--model", "stub-model",
                  env={"HOME": str(home), "NETRC": str(netrc)})
    assert run.code == 0, run.stdout + run.stderr
    assert stub.requests[-1]["headers"]["Authorization"] == f"Bearer {KEY}"

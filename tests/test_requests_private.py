"""requests' internals (smoke/http/private.py), against real servers on loopback: when a
release of requests, urllib3 or Python moves what chat-smoke reads, these fail and say
where, instead of the deadline silently no longer bounding a dripping body."""

from __future__ import annotations

from urllib.parse import urlsplit

import requests

from smoke.http.private import read1_of, socket_of
from smoke.http.transport import Endpoint, new_session
from smoke.stub import StubServer
from tests.support.cli import KEY
from tests.support.rawserver import RawServer

MOVED = ("smoke/http/private.py: the socket of a {what} response was not found: requests, "
         "urllib3 or http.client moved it ({versions}). Find it again there, or the "
         "deadline no longer bounds a body that drips")
VERSIONS = f"requests {requests.__version__}, urllib3 {requests.urllib3.__version__}"


def _open(base_url: str, path: str) -> requests.Response:
    session = new_session(Endpoint(base_url, KEY, 5, 5))
    return session.get(f"{base_url}{path}", headers={"Authorization": f"Bearer {KEY}"},
                       stream=True, timeout=5)


def test_the_socket_of_a_kept_alive_response(stub: StubServer) -> None:
    response = _open(stub.base_url, "/models")
    try:
        assert response.status_code == 200
        assert response.headers.get("Connection", "").lower() != "close"
        sock = socket_of(response)
        assert sock is not None, MOVED.format(what="kept-alive", versions=VERSIONS)
        assert sock.getpeername()[1] == urlsplit(stub.base_url).port
        sock.settimeout(1.5)  # what read_body does with it
        assert sock.gettimeout() == 1.5
        read = read1_of(response)  # what a stream reads with: whatever has arrived
        assert read(65536).startswith(b"{")
    finally:
        response.close()


def test_the_socket_of_a_response_that_ends_the_connection() -> None:
    answer = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
    with RawServer(answer) as server:
        response = _open(server.url, "/models")
        try:
            assert response.status_code == 200
            sock = socket_of(response)
            assert sock is not None, MOVED.format(what="Connection: close",
                                                  versions=VERSIONS)
            assert sock.getpeername()[1] == urlsplit(server.url).port
        finally:
            response.close()

"""requests' internals in one place: the only private attributes chat-smoke reads.

The gate reads a body in chunks and checks the deadline between them; each ``recv``
is bounded by the socket's own timeout, which is shortened to what is left of the
deadline (:func:`smoke.http.transport.read_body`). Neither requests nor urllib3 hands
out the socket of a response, so it is found here, and nowhere else:

- urllib3 2's ``HTTPResponse.connection`` (public) is the connection while the response
  holds it; its ``sock`` is the socket (urllib3 1.x: ``_connection``);
- http.client drops ``conn.sock`` for a response that ends with the connection
  (``Connection: close``, HTTP/1.0), so then the socket behind the response's file:
  ``response.raw._fp.fp.raw._sock`` (``http.client.HTTPResponse.fp`` is a
  ``BufferedReader`` over a ``socket.SocketIO``, whose ``_sock`` is the socket).

- urllib3 before 2.3 has no ``read1`` on its response: http.client's (``raw._fp``) is
  read instead (it also undoes chunked transfer encoding), so a stream's chunks are
  handled as they arrive.

``tests/test_requests_private.py`` fails loudly, naming this module, when a release of
requests, urllib3 or Python moves either. Everything else chat-smoke asks of requests
goes through its public API: a session with ``trust_env`` off and a transport adapter
(:class:`smoke.http.transport.Transport`).
"""

from __future__ import annotations

import http.client
import socket
from collections.abc import Callable

import requests


def socket_of(response: requests.Response) -> socket.socket | None:
    """The socket a streamed response is read from, or None when it cannot be found
    (the deadline is then checked between chunks only)."""
    raw = response.raw
    conn = getattr(raw, "connection", None) or getattr(raw, "_connection", None)
    sock = getattr(conn, "sock", None)
    if not isinstance(sock, socket.socket):
        fp = getattr(getattr(raw, "_fp", None), "fp", None)
        sock = getattr(getattr(fp, "raw", None), "_sock", None)
    return sock if isinstance(sock, socket.socket) else None


def read1_of(response: requests.Response) -> Callable[[int], bytes]:
    """A read that returns what has arrived (one system call), not a full buffer: urllib3
    2.3+ ``read1`` (public), else http.client's."""
    read1: Callable[[int], bytes] | None = getattr(response.raw, "read1", None)
    if read1 is None:
        fp: object = response.raw._fp  # http.client's response (urllib3 before 2.3)
        read1 = fp.read1 if isinstance(fp, http.client.HTTPResponse) else None
        if read1 is None:
            raise AttributeError(f"{type(fp).__name__} has no read1 (smoke.http.private)")
    return read1

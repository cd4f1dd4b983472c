"""A raw-socket HTTP "server" on loopback for faults the stub cannot speak: broken framing,
oversized or too many headers, bad status lines, garbage. It reads each request (headers
and a Content-Length body) and answers with exactly the bytes it was given."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from types import TracebackType

Answer = bytes | Callable[[socket.socket, bytes], None]


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = conn.recv(65536)
        if not piece:
            return data
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip() or b"0")
    while len(body) < length:
        piece = conn.recv(65536)
        if not piece:
            break
        body += piece
    return head + b"\r\n\r\n" + body


class RawServer:
    """``with RawServer(answer) as server: server.url`` answers every connection with
    ``answer`` (bytes, then close; or a function given the socket and the request)."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[bytes] = []
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(10)
                request = _read_request(conn)
                if not request:
                    return  # a connection that sent nothing (the wire probe)
                self.requests.append(request)
                if callable(self.answer):
                    self.answer(conn, request)
                else:
                    conn.sendall(self.answer)
                    conn.shutdown(socket.SHUT_WR)
                    conn.settimeout(1)
                    while conn.recv(65536):
                        pass
            except OSError:
                pass

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._sock.close()

"""Server-sent events, parsed incrementally (WHATWG HTML, "Server-sent events").

Bytes are fed as they arrive; whole events come out. Lines end in CRLF, LF or CR; a field
is ``name: value``; a blank line ends an event; lines that begin with ``:`` are comments
(``: PROCESSING``, keep-alives) and are counted, not returned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from smoke.output.textsafe import one_line

_EOL = re.compile(rb"\r\n|\r|\n")


@dataclass(frozen=True)
class Event:
    data: str
    event: str = ""  # the ``event:`` field, when a server names its events


class EventParser:
    """Feed bytes as they arrive, get whole events; comments are counted and skipped."""

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[str] = []
        self._event = ""
        self.comments = 0
        self.stray: str | None = None  # the first line that is not an SSE field

    def feed(self, chunk: bytes) -> list[Event]:
        self._buffer += chunk
        events: list[Event] = []
        while True:
            cut = _EOL.search(self._buffer)
            # A lone \r at the end may be the first half of \r\n: wait for the next byte.
            if cut is None or (cut.group() == b"\r" and cut.end() == len(self._buffer)):
                return events
            line, self._buffer = self._buffer[: cut.start()], self._buffer[cut.end() :]
            events += self._line(line)

    def close(self) -> list[Event]:
        """At the end of the body. A last event without its blank line still counts (some
        servers close right after ``data: [DONE]``)."""
        rest, self._buffer = self._buffer.rstrip(b"\r"), b""
        return (self._line(rest) if rest else []) + self._dispatch()

    def _line(self, raw: bytes) -> list[Event]:
        line = raw.decode("utf-8", errors="replace")
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            self.comments += 1
            return []
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name not in ("id", "retry") and self.stray is None:
            self.stray = one_line(line, 120)
        return []

    def _dispatch(self) -> list[Event]:
        events = [Event("\n".join(self._data), self._event)] if self._data else []
        self._data, self._event = [], ""
        return events

"""The one clock of a gate run: every wait is bounded by what is left of the deadline."""

from __future__ import annotations

import time


class Deadline:
    def __init__(self, seconds: float, start: float | None = None) -> None:
        """``start``: when the run began (``time.monotonic()``), if before now: loading
        the configuration counts against the deadline too (issue 11)."""
        self.seconds = seconds
        self.start = time.monotonic() if start is None else start
        self.at = self.start + seconds

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def expired(self) -> bool:
        return time.monotonic() >= self.at

    def bound(self, seconds: float) -> float:
        """``seconds``, cut to what is left (never zero: requests treats 0 as non-blocking)."""
        return max(0.01, min(seconds, self.remaining()))

"""Cancellation by signal: SIGINT, SIGTERM and SIGHUP stop the gate, which keeps its evidence.

The handler only records the signal (nothing else is safe in a signal's context: it runs
between two bytecodes of the main thread, which may hold any lock). The gate's waits poll
:func:`requested`, build the result with every unfinished check ``cancelled`` and write the
reports as usual; the process then exits 128 + the signal number. A second signal exits at
once. A handler is needed as PID 1 too: the kernel drops a signal with the default
disposition sent to a PID namespace's init, so ``docker stop`` would otherwise wait out
its grace period and SIGKILL a gate that never learnt it was asked to stop.
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType

# Windows has no SIGHUP (the composite action runs there): the two it has.
SIGNALS: tuple[signal.Signals, ...] = tuple(
    signal.Signals[name] for name in ("SIGINT", "SIGTERM", "SIGHUP")
    if name in signal.Signals.__members__)
POLL_S = 0.05  # how often a wait looks at the flag: well inside the 1 s aim

_signum: int | None = None


def _handler(signum: int, frame: FrameType | None) -> None:
    global _signum
    if _signum is not None:
        # The CI asked twice: leave now, with the code of the first request.
        os._exit(128 + _signum)
    _signum = signum


def install() -> bool:
    """Handle the cancelling signals (from the main thread only, as Python requires).
    Returns whether they are handled."""
    if threading.current_thread() is not threading.main_thread():
        return False
    for sig in SIGNALS:
        signal.signal(sig, _handler)
    return True


def requested() -> int | None:
    """The number of the signal that cancelled the run, if one did."""
    return _signum


def exit_code() -> int | None:
    """128 + the signal number (130 SIGINT, 143 SIGTERM, 129 SIGHUP), once cancelled."""
    return None if _signum is None else 128 + _signum


def name() -> str:
    return signal.Signals(_signum).name if _signum is not None else ""


def request(signum: int) -> None:
    """Cancel as a signal would (for an embedding program and for tests)."""
    global _signum
    _signum = _signum or signum


def reset() -> None:
    global _signum
    _signum = None

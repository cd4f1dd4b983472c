"""Cancellation of one run: a :class:`CancelToken` on the run's plan, tripped by its caller or,
for the process's own run, by SIGINT, SIGTERM or SIGHUP.

Every run has its own token (``smoke.run(..., cancel=token)``; a new one when none is
given), so two runs in one process are cancelled apart. The gate's waits and the pool's
workers poll the token of their run; a cancelled run ends ``cancelled`` with every report
written, exit 128 + N.

Signals are process-wide, so :func:`install` names the one token they trip: the run the
CLI or the action started. The handler only records the signal on it (nothing else is
safe in a signal's context: it runs between two bytecodes of the main thread, which may
hold any lock). A second signal exits at once. A handler is needed as PID 1 too: the
kernel drops a signal with the default disposition sent to a PID namespace's init, so
``docker stop`` would otherwise wait out its grace period and SIGKILL a gate that never
learnt it was asked to stop.

Once the run's result is decided (:func:`settle`), a signal no longer changes it (issue
26): the reports and outputs being written carry that exit code, publishing stops at once
(every network side effect waits through :mod:`smoke.bounded` with ``stop=requested``, a
summary template polls :func:`requested`), and the process exits with that code, even on
a second signal; :func:`finish` ignores signals while the process exits.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from types import FrameType

# Windows has no SIGHUP (the composite action runs there): the two it has.
SIGNALS: tuple[signal.Signals, ...] = tuple(
    signal.Signals[name] for name in ("SIGINT", "SIGTERM", "SIGHUP")
    if name in signal.Signals.__members__)
POLL_S = 0.05  # how often a wait looks at the token: well inside the 1 s aim
CALLER = "the caller"


class CancelToken:
    """One run's cancellation: :meth:`cancel` from any thread (or a signal handler); the
    run's waits poll :attr:`signum`. The first cancellation counts."""

    def __init__(self) -> None:
        self._signum: int | None = None
        self._by = ""

    def cancel(self, signum: int = signal.SIGTERM, by: str = CALLER) -> None:
        """Stop the run: it ends ``cancelled`` with exit 128 + ``signum`` (143 by default)
        and its reports name ``by`` as the reason."""
        if self._signum is None:
            self._by = by
            self._signum = int(signum)

    @property
    def signum(self) -> int | None:
        """The signal number the run's exit code carries, once cancelled."""
        return self._signum

    @property
    def cancelled(self) -> bool:
        return self._signum is not None

    def sleep(self, seconds: float) -> bool:
        """Wait ``seconds`` unless the run is cancelled first (polled every
        :data:`POLL_S`: a signal handler may trip the token, so no lock is involved).
        Returns whether it was cancelled."""
        until = time.monotonic() + seconds
        while self._signum is None:
            left = until - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(POLL_S, left))
        return True

    def exit_code(self) -> int | None:
        """128 + the signal number (130 SIGINT, 143 SIGTERM, 129 SIGHUP), once cancelled."""
        return None if self._signum is None else 128 + self._signum

    def name(self) -> str:
        """Who cancelled: a signal's name, or :data:`CALLER`."""
        return self._by


_process: CancelToken | None = None  # the token of the process's own run: signals trip it
# The exit code the reports already carry, once the run's result is decided and being
# written: a late signal (while publishing: the PR comment, an incident, a notification)
# cuts the rest short but never contradicts them.
_settled: int | None = None


def _handler(signum: int, frame: FrameType | None) -> None:
    token = _process
    if token is None:
        return
    if token.signum is not None:
        # The CI asked twice: leave now, with the code of the first request, or the code
        # the reports and outputs already say.
        os._exit(_settled if _settled is not None else 128 + token.signum)
    token.cancel(signum, signal.Signals(signum).name)


def requested() -> int | None:
    """The signal that cancelled the process's own run, if one did (for the late phases
    that have no token at hand: a summary template, a side effect while publishing)."""
    return _process.signum if _process is not None else None


def settle(code: int | None) -> None:
    """The run's exit code is decided and its evidence is being written: from now on a
    signal stops only what is left to publish, and the process exits with ``code``.
    None: a new run begins (nothing is decided)."""
    global _settled
    _settled = code


def finish() -> None:
    """The process is about to exit with the code everything carries: from here a signal
    is ignored. (Python puts back the default action of a signal it handled while the
    interpreter shuts down, so a late SIGTERM would kill it: exit 143 against reports
    and outputs that say otherwise.) Main thread only; elsewhere nothing happens."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in SIGNALS:
        signal.signal(sig, signal.SIG_IGN)


def install(token: CancelToken | None = None) -> CancelToken:
    """Make ``token`` (a new one by default) the process's own run, and handle the
    cancelling signals (from the main thread only, as Python requires: elsewhere the
    token is returned with no handler). Returns the token."""
    global _process
    token = token or CancelToken()
    if threading.current_thread() is threading.main_thread():
        _process = token
        for sig in SIGNALS:
            signal.signal(sig, _handler)
    return token

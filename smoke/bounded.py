"""Network side effects bounded in wall-clock time: the one helper every publisher uses.

A side effect (the pull-request comment, an incident issue, a notification, a
Pushgateway push) must never hold the job longer than its documented budget, whatever
the server does: answer a byte every half second (``requests``' read timeout bounds each
``recv``, not a body or a header block that drips), never answer, redirect forever, or
page forever. So the whole call runs in a worker thread and the caller waits for it at
most ``seconds`` of wall clock:

    def post(budget: Budget) -> str:
        session = budget.session()          # requests, bounded per call and per budget
        response = session.post(url, json=payload, timeout=budget.timeout(5.0))
        ...
    outcome = bounded.call(post, seconds=10.0, what="the pull-request comment")

When the time is up, :func:`call` raises :class:`BudgetExceeded` at once; the budget's
sockets are shut down (a blocked ``recv`` returns), so the worker ends soon after and
sends nothing more: :meth:`Budget.session` refuses a new request once the budget is
spent, and never follows a redirect. ``stop`` (e.g. :func:`smoke.cancel.requested`) ends
the wait early the same way, for a run cancelled by a signal while it publishes.

The worker runs in a copy of the caller's context, so the secrets of the caller's
redaction scope (:func:`smoke.output.redact.scope`) stay masked in whatever it prints.
"""

from __future__ import annotations

import contextvars
import socket
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import requests

T = TypeVar("T")
POLL_S = 0.05  # how often the wait looks at ``stop``
_MARGIN_S = 0.02  # a request is not started with less than this left


class BudgetExceeded(Exception):
    """The side effect did not finish within its budget (or ``stop`` ended it)."""

    def __init__(self, message: str, stopped: bool = False) -> None:
        super().__init__(message)
        self.stopped = stopped


class Budget:
    """What is left of one side effect's wall-clock budget, and the sockets it opened."""

    def __init__(self, seconds: float, what: str = "the call") -> None:
        self.seconds = seconds
        self.what = what
        self.ends = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._aborted = False

    def remaining(self) -> float:
        return max(0.0, self.ends - time.monotonic())

    def expired(self) -> bool:
        return self._aborted or time.monotonic() >= self.ends - _MARGIN_S

    def timeout(self, per_call: float) -> float:
        """``per_call`` cut to what is left (never 0: requests reads it as non-blocking).
        Raises :class:`BudgetExceeded` when nothing is left."""
        if self.expired():
            raise BudgetExceeded(self.exceeded())
        return max(0.01, min(per_call, self.remaining()))

    def exceeded(self) -> str:
        return f"no answer within {self.seconds:g} s"

    def track(self, sock: socket.socket) -> None:
        """A socket this side effect opened: shut down when the budget runs out."""
        with self._lock:
            if not self._aborted:
                self._sockets.append(sock)
                return
        _shut(sock)

    def abort(self) -> None:
        """Spend the budget now: no new request starts, and every open socket is shut
        down, so a worker blocked in ``recv`` (or ``send``) returns at once."""
        with self._lock:
            self._aborted = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shut(sock)

    def session(self, per_call: float = 5.0) -> requests.Session:
        """A ``requests`` session within this budget: the environment's proxy and CA
        settings apply (a runner's), each request's (connect, read) timeout is
        ``per_call`` cut to what is left, no redirect is followed, and its sockets are
        tracked (shut down when the budget runs out)."""
        return _session(self, per_call)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def call(fn: Callable[[Budget], T], seconds: float, what: str = "the call",
         stop: Callable[[], object] | None = None) -> T:
    """``fn(budget)``, in a worker thread, within ``seconds`` of wall clock whatever the
    server does. Its exceptions are raised here; past the budget (or once ``stop()`` is
    true) :class:`BudgetExceeded` is raised and the budget's sockets are shut down."""
    budget = Budget(seconds, what)
    values: list[T] = []
    failures: list[BaseException] = []
    done = threading.Event()

    def work() -> None:
        try:
            values.append(fn(budget))
        except BaseException as exc:  # handed to the waiting thread
            failures.append(exc)
        finally:
            done.set()

    worker = threading.Thread(target=contextvars.copy_context().run, args=(work,),
                              daemon=True, name=f"chat-smoke-bounded: {what}"[:60])
    worker.start()
    while not done.wait(min(POLL_S, max(budget.remaining(), 0.001))):
        if stop is not None and stop():
            budget.abort()
            raise BudgetExceeded(f"stopped before {what} finished", stopped=True)
        if budget.remaining() <= 0:
            budget.abort()
            raise BudgetExceeded(budget.exceeded())
    if failures:
        error = failures[0]
        if budget.expired() and not isinstance(error, BudgetExceeded):
            # The worker failed because its sockets were shut down at the deadline.
            raise BudgetExceeded(budget.exceeded()) from None
        raise error
    return values[0]


def _session(budget: Budget, per_call: float) -> requests.Session:
    import requests
    import urllib3
    from requests.adapters import HTTPAdapter
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class _HTTP(urllib3.connection.HTTPConnection):
        def connect(self) -> None:
            super().connect()
            budget.track(self.sock)

    class _HTTPS(urllib3.connection.HTTPSConnection):
        def connect(self) -> None:
            super().connect()
            budget.track(self.sock)

    class _HTTPPool(HTTPConnectionPool):
        ConnectionCls = _HTTP

    class _HTTPSPool(HTTPSConnectionPool):
        ConnectionCls = _HTTPS

    def tracked(manager: urllib3.PoolManager) -> urllib3.PoolManager:
        manager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
        return manager

    class _Adapter(HTTPAdapter):
        def init_poolmanager(self, connections: int, maxsize: int, block: bool = False,
                             **pool_kwargs: object) -> None:
            super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
            tracked(self.poolmanager)

        def proxy_manager_for(self, proxy: str, **kwargs: object) -> urllib3.PoolManager:
            return tracked(super().proxy_manager_for(proxy, **kwargs))

        def send(self, request: requests.PreparedRequest, stream: bool = False,
                 timeout: float | tuple[float, float] | tuple[float, None] | None = None,
                 verify: bool | str = True,
                 cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
                 proxies: Mapping[str, str] | None = None) -> requests.Response:
            bound = budget.timeout(per_call)
            if isinstance(timeout, int | float):
                bound = min(bound, float(timeout))
            return super().send(request, stream=stream, timeout=(bound, bound),
                                verify=verify, cert=cert, proxies=proxies)

    class _Session(requests.Session):
        def get_redirect_target(self, resp: requests.Response) -> None:
            del resp  # a redirect is never followed (the answer is the 3xx itself)

    class _NoNetrc(requests.auth.AuthBase):
        # With trust_env, requests would put ~/.netrc's credentials for the host in place
        # of the caller's Authorization header; this auth leaves the request as it is.
        def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
            return r

    session = _Session()
    session.trust_env = True  # a runner's proxy and CA settings apply
    session.auth = _NoNetrc()
    adapter = _Adapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session

"""Run the planned tasks under one deadline on a pool of at most ``concurrency`` workers.

A fixed set of daemon worker threads takes ready tasks from one queue, so a run of 1,000
models costs ``concurrency`` threads, not 1,000. A task that reads another's result
(``Task.after``) is queued only once that one has finished: it never holds a worker while
it waits, so it cannot starve the pool. The caller stops waiting at the deadline (plus a
short grace) or on cancellation; a hung check cannot hold the process, its worker is a
daemon. :meth:`Pool.snapshot` gives the checks as they stand at any moment, with the
unfinished ones copied and marked, so nothing a late worker does changes a written report.
"""

from __future__ import annotations

import copy
import queue
import threading
import time

from smoke.cancel import POLL_S, CancelToken
from smoke.categories import Category
from smoke.checks.task import Task
from smoke.http.deadline import Deadline
from smoke.results import Check

# A check that is still running this long after the deadline is declared timed out;
# the checks bound their own waits by the deadline, so this is only a backstop
# (name resolution, for one, has no timeout of its own).
GRACE_S = 0.4


def run_one(task: Task) -> None:
    """Run ``task``: its duration is recorded here, for every kind, then its finish hooks.
    An exception is a bug in chat-smoke, not the endpoint: the check fails with no category
    (exit 1)."""
    started = time.monotonic()
    try:
        try:
            task.run(task.check)
        finally:
            task.check.duration_ms = int((time.monotonic() - started) * 1000)
            for hook in task.finish:
                hook(task.check)
    except Exception as exc:
        task.check.outcome = "fail"
        task.check.category = None
        task.check.message = f"internal error: {type(exc).__name__}: {exc}"


class Pool:
    """The tasks of one run, their workers, and what has started and finished."""

    def __init__(self, tasks: list[Task], deadline: Deadline, concurrency: int,
                 cancel: CancelToken | None = None) -> None:
        self.tasks = tasks
        self.deadline = deadline
        self.cancel = cancel or CancelToken()  # the run's: another run's cancellation is not ours
        self.size = max(1, min(concurrency, len(tasks)))
        self._ready: queue.SimpleQueue[Task | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._started: dict[int, float] = {}
        self._finished: set[int] = set()
        self._waiting: dict[int, list[Task]] = {}  # prerequisite check id -> its readers
        self._left = len(tasks)
        self._all_done = threading.Event()
        if not tasks:
            self._all_done.set()

    def start(self) -> Pool:
        planned = {id(task.check) for task in self.tasks}
        for task in self.tasks:
            if task.after is not None and id(task.after) in planned:
                self._waiting.setdefault(id(task.after), []).append(task)
            else:
                self._ready.put(task)
        for number in range(self.size if self.tasks else 0):
            threading.Thread(target=self._work, daemon=True,
                             name=f"chat-smoke-worker-{number}").start()
        return self

    def _work(self) -> None:
        while True:
            task = self._ready.get()
            if task is None or self.cancel.cancelled:
                return  # finished, or cancelled: what has not begun stays unbegun
            if self.deadline.expired():
                task.check.fail(Category.TIMEOUT, "the deadline ran out before this check began")
            else:
                with self._lock:
                    self._started[id(task.check)] = time.monotonic()
                run_one(task)
            self._finish(task)

    def _finish(self, task: Task) -> None:
        with self._lock:
            self._finished.add(id(task.check))
            readers = self._waiting.pop(id(task.check), [])
            self._left -= 1
            last = self._left == 0
        for reader in readers:
            self._ready.put(reader)
        if last:
            for _ in range(self.size):
                self._ready.put(None)
            self._all_done.set()

    @property
    def finished_count(self) -> int:
        return len(self._finished)

    def wait(self) -> bool:
        """Wait until every task finished, the deadline (plus grace) passed, or the run was
        cancelled. Returns whether every task finished."""
        until = self.deadline.at + GRACE_S
        while not self._all_done.is_set():
            left = until - time.monotonic()
            if left <= 0 or self.cancel.cancelled:
                break
            self._all_done.wait(min(POLL_S, left))
        return self._all_done.is_set()

    def snapshot(self, cancelled: str | None = None) -> list[Check]:
        """The checks in task order. A finished one as it is; an unfinished one as a copy,
        ``cancelled`` with ``cancelled`` as the reason when given, else timed out."""
        now = time.monotonic()
        with self._lock:
            finished = set(self._finished)
            started = dict(self._started)
        results: list[Check] = []
        for task in self.tasks:
            key = id(task.check)
            if key in finished:
                results.append(task.check)
                continue
            late = copy.copy(task.check)
            late.attempt_log = list(task.check.attempt_log)
            late.steps = list(task.check.steps)
            late.details = task.check.details.copy()
            late.warnings = list(task.check.warnings)
            began = started.get(key)
            late.duration_ms = int((now - began) * 1000) if began is not None else 0
            if cancelled is not None:
                late.cancel(cancelled if began is not None
                            else f"{cancelled} before this check began")
            elif began is not None:
                late.attempts = max(late.attempts, 1)
                late.fail(Category.TIMEOUT, f"the gate's deadline of {self.deadline.seconds:g}s "
                          "ran out before this check finished")
            elif task.after is not None and id(task.after) not in finished:
                late.fail(Category.TIMEOUT, f"the deadline ran out before {task.after.id} "
                          "finished; this check reads its result, so it did not begin")
            else:
                late.fail(Category.TIMEOUT, "the deadline ran out before this check began")
            results.append(late)
        return results

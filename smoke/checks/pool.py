"""Run the planned tasks under one deadline, at most ``concurrency`` at once."""

from __future__ import annotations

import copy
import threading
import time

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


def run_tasks(tasks: list[Task], deadline: Deadline, concurrency: int) -> list[Check]:
    """Run each task's check in a daemon thread, at most ``concurrency`` at once, and
    stop waiting at the deadline (a hung thread cannot hold the process: it is a daemon)."""
    gate = threading.Semaphore(concurrency)
    finished = {id(task.check): threading.Event() for task in tasks}

    def work(task: Task) -> None:
        try:
            # Wait for the prerequisite outside the semaphore, so it can never starve it.
            after = task.after
            prior = finished.get(id(after)) if after is not None else None
            if after is not None and prior is not None and not prior.wait(deadline.remaining()):
                task.check.fail(Category.TIMEOUT, f"the deadline ran out before {after.id} "
                                "finished; this check reads its result, so it did not begin")
                return
            with gate:
                if deadline.expired():
                    task.check.fail(Category.TIMEOUT,
                                    "the deadline ran out before this check began")
                    return
                run_one(task)
        finally:
            finished[id(task.check)].set()

    threads = [threading.Thread(target=work, args=(t,), daemon=True) for t in tasks]
    for thread in threads:
        thread.start()
    results: list[Check] = []
    for task, thread in zip(tasks, threads, strict=True):
        thread.join(timeout=deadline.remaining() + GRACE_S)
        if thread.is_alive():
            late = copy.copy(task.check)
            late.attempt_log = list(task.check.attempt_log)
            late.steps = list(task.check.steps)
            late.attempts = max(late.attempts, 1)
            results.append(
                late.fail(
                    Category.TIMEOUT,
                    f"the gate's deadline of {deadline.seconds:g}s ran out before this check "
                    "finished",
                )
            )
        else:
            results.append(task.check)
    return results

"""The pool (issue 11, item 7): at most ``concurrency`` workers, whatever the number of
tasks; cancellation and the deadline stop the waiting, never the evidence."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable

from smoke.cancel import CancelToken
from smoke.categories import Category
from smoke.checks.pool import Pool
from smoke.checks.task import Task
from smoke.http.deadline import Deadline
from smoke.results import Check
from tests.support.pool import run_tasks


def workers() -> int:
    return sum(1 for t in threading.enumerate() if t.name.startswith("chat-smoke-worker"))


def until(condition: Callable[[], bool], timeout: float = 10) -> bool:
    """Poll ``condition`` until it holds, at most ``timeout`` seconds (no fixed sleep)."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.01)
    return True


def test_two_hundred_tasks_run_on_eight_workers() -> None:
    lock = threading.Lock()
    running, peak, peak_workers = [0], [0], [0]

    def work(check: Check) -> None:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            peak_workers[0] = max(peak_workers[0], workers())
        time.sleep(0.005)
        with lock:
            running[0] -= 1
        check.outcome = "pass"

    before = workers()
    tasks = [Task(Check(f"positive:m{i}", "positive", "m"), work) for i in range(200)]
    checks = run_tasks(tasks, Deadline(60), concurrency=8)
    assert [c.outcome for c in checks] == ["pass"] * 200
    assert [c.id for c in checks] == [f"positive:m{i}" for i in range(200)]  # task order
    assert peak[0] == 8  # the pool was used, and never more than its size
    assert peak_workers[0] - before == 8  # eight threads for 200 tasks, not 200
    assert until(lambda: workers() == before)  # the workers end with the run


def test_cancelling_stops_the_wait_and_marks_what_did_not_finish() -> None:
    release, began = threading.Event(), threading.Event()

    def hang(check: Check) -> None:
        began.set()
        release.wait(30)

    done = Check("positive:fast", "positive", "fast")
    hung = Check("positive:hang", "positive", "hang")
    queued = Check("positive:queued", "positive", "queued")
    tasks = [Task(done, lambda c: setattr(c, "outcome", "pass")),
             Task(hung, hang),
             Task(queued, lambda c: setattr(c, "outcome", "pass"))]
    token = CancelToken()
    before = workers()
    pool = Pool(tasks, Deadline(60), concurrency=1, cancel=token).start()
    assert began.wait(10)  # the hung check is in flight
    time.sleep(0.25)  # not synchronisation: a duration the snapshot must measure (>= 200 ms)
    token.cancel(signal.SIGTERM)
    started = time.monotonic()
    assert pool.wait() is False
    assert time.monotonic() - started < 2
    snapshot = pool.snapshot("cancelled by SIGTERM")
    release.set()
    assert [c.outcome for c in snapshot] == ["pass", "cancelled", "cancelled"]
    assert snapshot[1].duration_ms >= 200 and snapshot[1].category is None
    assert snapshot[2].message == "cancelled by SIGTERM before this check began"
    assert snapshot[2].duration_ms == 0
    assert until(lambda: workers() <= before)  # the released worker ended without a next task
    assert queued.outcome == "skip"  # a cancelled pool begins nothing new


def test_a_hung_check_times_out_at_the_deadline_and_keeps_its_steps() -> None:
    hung = Check("positive:hang", "positive", "hang")
    release = threading.Event()

    def stuck(check: Check) -> None:
        check.attempts = 1
        release.wait(30)  # hung until the test ends (the worker then leaves, not 30 s later)

    started = time.monotonic()
    [check] = run_tasks([Task(hung, stuck)], Deadline(0.3), concurrency=4)
    assert time.monotonic() - started < 3
    assert check.outcome == "fail" and check.category is Category.TIMEOUT
    assert check.message.startswith("the gate's deadline of 0.3s ran out")
    assert check is not hung  # a copy: the late worker cannot change the report
    release.set()

"""The pool (issue 11, item 7): at most ``concurrency`` workers, whatever the number of
tasks; cancellation and the deadline stop the waiting, never the evidence."""

from __future__ import annotations

import signal
import threading
import time

from smoke.cancel import CancelToken
from smoke.categories import Category
from smoke.checks.pool import Pool, run_tasks
from smoke.checks.task import Task
from smoke.http.deadline import Deadline
from smoke.results import Check


def workers() -> int:
    return sum(1 for t in threading.enumerate() if t.name.startswith("chat-smoke-worker"))


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
    time.sleep(0.2)
    assert workers() == before  # the workers end with the run


def test_cancelling_stops_the_wait_and_marks_what_did_not_finish() -> None:
    release = threading.Event()
    done = Check("positive:fast", "positive", "fast")
    hung = Check("positive:hang", "positive", "hang")
    queued = Check("positive:queued", "positive", "queued")
    tasks = [Task(done, lambda c: setattr(c, "outcome", "pass")),
             Task(hung, lambda c: release.wait(30)),
             Task(queued, lambda c: setattr(c, "outcome", "pass"))]
    token = CancelToken()
    pool = Pool(tasks, Deadline(60), concurrency=1, cancel=token).start()
    time.sleep(0.3)
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
    time.sleep(0.1)
    assert queued.outcome == "skip"  # a cancelled pool begins nothing new


def test_a_hung_check_times_out_at_the_deadline_and_keeps_its_steps() -> None:
    hung = Check("positive:hang", "positive", "hang")

    def stuck(check: Check) -> None:
        check.attempts = 1
        time.sleep(30)

    started = time.monotonic()
    [check] = run_tasks([Task(hung, stuck)], Deadline(0.3), concurrency=4)
    assert time.monotonic() - started < 3
    assert check.outcome == "fail" and check.category is Category.TIMEOUT
    assert check.message.startswith("the gate's deadline of 0.3s ran out")
    assert check is not hung  # a copy: the late worker cannot change the report

"""Run tasks on the production pool and wait: the tests' shortcut (the gate itself drives
a Pool step by step, so this lives here, not in smoke/)."""

from __future__ import annotations

from smoke.checks.pool import Pool
from smoke.checks.task import Task
from smoke.http.deadline import Deadline
from smoke.results import Check


def run_tasks(tasks: list[Task], deadline: Deadline, concurrency: int) -> list[Check]:
    """Run ``tasks`` on a pool of ``concurrency`` workers until they finish or the deadline
    (plus grace) passes; an unfinished check is reported timed out."""
    pool = Pool(tasks, deadline, concurrency).start()
    pool.wait()
    return pool.snapshot()

"""The test suite's time, before and after issue 27, side by side in one run.

    python bench/bench_suite.py [--before cfb52ea] [--order before,after] [--skip-before]

Issue 27's goal: on the same machine, warm, with the CI Hypothesis profile (CI=true), this
checkout's suite takes at most 60 % of commit cfb52ea's time *per test* (wall time divided
by the number of tests, since the round adds tests). Both suites run here one after the
other, each as `.ci/run` runs it (`python -m pytest` with the project's own settings; the
old commit's suite has no xdist), each with a JUnit XML file from which the table takes the
per-suite figures: tests, skips, failures and the summed test time of each folder
(tests/container, tests/browser, tests/integration, tests/engine, the rest is "unit").
With xdist the summed time of a folder is CPU-side time across workers, not wall time;
the wall time of each whole run is measured around it.

The old commit is unpacked with `git archive` into bench/.scratch/suite/<commit>/ with its
own venv (`pip install -e '.[test]'`), next to a link to ../shared (its tests read the
published JUnit schemas and OpenAI's spec from there, as this checkout's do). "Warm": the
engines both suites install (podman's base image, Chromium, LiteLLM, Portkey, Prometheus)
are cached on the machine; run each suite once before measuring on a fresh machine.
The table goes to stdout and bench/results/suite.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / "bench" / ".scratch" / "suite"
GOAL = 0.60
SUITES = ("container", "browser", "integration", "engine")


@dataclass
class Suite:
    tests: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0


@dataclass
class Run:
    label: str
    wall: float
    code: int
    suites: dict[str, Suite] = field(default_factory=dict)

    @property
    def tests(self) -> int:
        return sum(s.tests for s in self.suites.values())

    @property
    def per_test(self) -> float:
        return self.wall / max(self.tests, 1)


def _sh(argv: list[str], cwd: Path) -> None:
    subprocess.run(argv, cwd=cwd, check=True)


def prepare_before(commit: str) -> Path:
    """The old commit's tree and venv under bench/.scratch/suite/ (reused when present)."""
    SCRATCH.mkdir(parents=True, exist_ok=True)
    shared = ROOT.parent / "shared"
    link = SCRATCH / "shared"
    if shared.is_dir() and not link.exists():
        link.symlink_to(shared)
    tree = SCRATCH / commit
    if not (tree / "pyproject.toml").exists():
        tree.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", commit], cwd=ROOT, check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    python = tree / ".venv" / "bin" / "python"
    # An editable install remembers its folder: a moved tree's venv imports nothing.
    if not python.exists() or subprocess.run([str(python), "-c", "import smoke"], cwd="/",
                                             capture_output=True).returncode != 0:
        shutil.rmtree(tree / ".venv", ignore_errors=True)
        _sh([sys.executable, "-m", "venv", ".venv"], tree)
        _sh([".venv/bin/pip", "install", "-q", "-e", ".[test]"], tree)
    return tree


def prepare_after() -> Path:
    if not (ROOT / ".venv" / "bin" / "python").exists():
        _sh([sys.executable, "-m", "venv", ".venv"], ROOT)
        _sh([".venv/bin/pip", "install", "-q", "-e", ".[test]"], ROOT)
    return ROOT


def _suite_of(classname: str) -> str:
    parts = classname.split(".")
    if len(parts) > 2 and parts[0] == "tests" and parts[1] in SUITES:
        return parts[1]
    return "unit"


def run_suite(label: str, tree: Path, junit: Path) -> Run:
    env = dict(os.environ, CI="true")
    env.pop("PYTEST_ADDOPTS", None)
    started = time.perf_counter()
    done = subprocess.run([str(tree / ".venv" / "bin" / "python"), "-m", "pytest", "-q",
                           "-p", "no:cacheprovider", f"--junitxml={junit}"],
                          cwd=tree, env=env, check=False,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    run = Run(label, wall, done.returncode)
    for case in ET.parse(junit).getroot().iter("testcase"):
        suite = run.suites.setdefault(_suite_of(case.get("classname", "")), Suite())
        suite.tests += 1
        suite.seconds += float(case.get("time") or 0)
        if case.find("skipped") is not None:
            suite.skipped += 1
        if case.find("failure") is not None or case.find("error") is not None:
            suite.failed += 1
    return run


def table(before: Run | None, after: Run) -> str:
    lines = [f"| suite | {before.label if before else '—'} tests | summed s | "
             f"{after.label} tests | summed s |", "|---|---|---|---|---|"]
    for name in ("unit", *SUITES):
        b = before.suites.get(name, Suite()) if before else Suite()
        a = after.suites.get(name, Suite())
        lines.append(f"| {name} | {b.tests} ({b.skipped} skipped, {b.failed} failed) | "
                     f"{b.seconds:.0f} | {a.tests} ({a.skipped} skipped, {a.failed} failed) |"
                     f" {a.seconds:.0f} |")
    lines.append("")
    for run in (before, after):
        if run:
            lines.append(f"- {run.label}: {run.tests} tests, wall {run.wall:.0f} s, "
                         f"{run.per_test:.3f} s per test, exit {run.code}")
    if before:
        ratio = after.per_test / before.per_test
        lines.append(f"- per-test ratio {ratio:.2f} (goal <= {GOAL:.2f}): "
                     f"{'met' if ratio <= GOAL else 'NOT met'}")
    lines.append(f"- machine: {os.cpu_count()} CPUs, load average at the end "
                 f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default="cfb52ea")
    parser.add_argument("--order", default="before,after",
                        help="which suite runs first (alternate it between runs)")
    parser.add_argument("--skip-before", action="store_true")
    args = parser.parse_args()
    out = SCRATCH / "junit"
    out.mkdir(parents=True, exist_ok=True)
    runs: dict[str, Run] = {}
    for which in args.order.split(","):
        if which == "before" and not args.skip_before:
            tree = prepare_before(args.before)
            runs["before"] = run_suite(args.before, tree, out / "before.xml")
        elif which == "after":
            runs["after"] = run_suite("this checkout", prepare_after(), out / "after.xml")
    text = table(runs.get("before"), runs["after"])
    print(text)
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "suite.md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

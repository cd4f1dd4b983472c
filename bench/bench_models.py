"""Fleet scale: wall time of the gate for many models against a stub that answers in 300 ms.

    python bench/bench_models.py [--runs 7] [--delay 0.3] [--quick]
    python bench/bench_models.py --models 1000 --concurrency 64 [--delay 0.3]

Two measures (issue 16, item 2), both against the bundled stub run as a process of its own
(its threads and memory are not the gate's; a ThreadingHTTPServer with a backlog of 128,
a thread per connection, so it keeps up with 64 at once):

- **1, 4 and 16 models**, gate in-process (interpreter start-up is not what is measured),
  ``--runs`` times each, interleaved round-robin so machine noise hits all alike, at the
  default concurrency and at a concurrency equal to the number of models. Goal: 16
  models in at most 1.1 x the time of one.
- **1,000 models at --concurrency 64** (``--models``/``--concurrency`` to change), the
  installed gate (bench/.scratch/gate-venv) as its own process, sampled every 20 ms from
  /proc/PID/status (Threads, VmHWM) and by wait4. Goals: wall time <= 1.3 x (N /
  concurrency x delay); peak RSS <= 100 MB; peak threads <= concurrency + 8; every check
  passed.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import KEY, ROOT, Row, bench_env, chat_smoke, gate_venv, machine, median, table  # noqa: E402

from smoke import pipeline  # noqa: E402
from smoke.config.settings import Settings  # noqa: E402
from smoke.output.console import Console  # noqa: E402

SIZES = (1, 4, 16)
GOAL_16 = 1.1  # round 1 measured 1.08
GOAL_WALL, GOAL_RSS_MB, GOAL_THREADS_OVER = 1.3, 100, 8

_SERVE = ("import sys\n"
          "from smoke.stub import StubServer\n"
          "models = tuple(sys.stdin.read().split())\n"
          "server = StubServer(scenario=sys.argv[1], key=sys.argv[2], models=models)\n"
          "print(server.port, flush=True)\n"
          "server.serve_forever()\n")


@contextmanager
def stub_process(delay: float, models: list[str]) -> Iterator[str]:
    """The stub in a process of its own; yields its base URL."""
    proc = subprocess.Popen([sys.executable, "-c", _SERVE, f"slow:{delay:g}", KEY],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write("\n".join(models))
        proc.stdin.close()
        port = int(proc.stdout.readline())
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def one_run(base_url: str, models: list[str], concurrency: int | None) -> float:
    flags: dict[str, object] = {"base_url": base_url, "model": ",".join(models),
                                "retries": "0", "deadline": "30"}
    if concurrency is not None:
        flags["concurrency"] = str(concurrency)
    started = time.perf_counter()
    result, _ = pipeline.check(flags, {"COMETAPI_API_KEY": KEY}, console=Console(io.StringIO()))
    elapsed = time.perf_counter() - started
    if result.exit_code != 0:
        raise SystemExit(f"bench run failed: {[c.message for c in result.failures]}")
    return elapsed


def sizes(runs: int, delay: float) -> tuple[str, list[Row]]:
    """1, 4 and 16 models in-process: the table and the 16-vs-1 goal at both concurrencies."""
    models = [f"bench-model-{i:02d}" for i in range(max(SIZES))]
    default = Settings.__dataclass_fields__["concurrency"].default
    setups = [(n, c) for c in (None, "n") for n in SIZES]
    times: dict[tuple[int, object], list[float]] = {setup: [] for setup in setups}
    with stub_process(delay, models) as base_url:
        one_run(base_url, models[:1], None)  # warm-up: imports, first connection
        for _ in range(runs):
            for n, c in setups:
                times[(n, c)].append(one_run(base_url, models[:n], n if c == "n" else None))
    lines = [f"{runs} runs each, stub answering in {delay * 1000:.0f} ms, gate in-process",
             "", "| models | concurrency | median s | spread (min-max) s | x 1 model |",
             "|---:|---:|---:|---:|---:|"]
    rows = []
    for c in (None, "n"):
        base = median(times[(1, c)])
        for n in SIZES:
            values = times[(n, c)]
            label = f"{default} (default)" if c is None else str(n)
            lines.append(f"| {n} | {label} | {median(values):.3f} | "
                         f"{min(values):.3f}-{max(values):.3f} | {median(values) / base:.2f} |")
        ratio = median(times[(16, c)]) / base
        where = f"default concurrency {default}" if c is None else "concurrency 16"
        rows.append(Row(f"16 models ÷ 1 model ({where}, stub 300 ms)",
                        f"{ratio:.3f} ({median(times[(16, c)]):.3f} vs {base:.3f} s)",
                        f"≤ {GOAL_16}", ratio <= GOAL_16))
    return "\n".join(lines), rows


def _status(pid: int) -> tuple[int, int]:
    """Threads and VmHWM (kB) of a live process; zeros once it is gone."""
    threads = hwm = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Threads:"):
                threads = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    except (OSError, ValueError):
        pass
    return threads, hwm


def at_scale(count: int, concurrency: int, delay: float, deadline: float,
             runs: int = 1) -> list[Row]:
    """``runs`` gate processes over ``count`` models: wall time (median), peak RSS and
    peak threads (the worst run), and whether every check passed."""
    models = [f"bench-model-{i:04d}" for i in range(count)]
    walls: list[float] = []
    checks: list[float] = []
    peak_threads = peak_kb = 0
    failed: list[str] = []
    with stub_process(delay, models) as base_url, tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.json"
        argv = [*chat_smoke(), "run", "--base-url", base_url, "--model", ",".join(models),
                "--concurrency", str(concurrency), "--retries", "0", "--deadline",
                str(deadline), "--report-json", str(report)]
        for _ in range(runs):
            started = time.perf_counter()
            proc = subprocess.Popen(argv, env=bench_env(), cwd=folder,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            while True:
                threads, hwm = _status(proc.pid)
                peak_threads, peak_kb = max(peak_threads, threads), max(peak_kb, hwm)
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                time.sleep(0.02)
            walls.append(time.perf_counter() - started)
            proc.returncode = os.waitstatus_to_exitcode(status)
            peak_kb = max(peak_kb, usage.ru_maxrss)
            result = json.loads(report.read_text())
            checks.append(result["duration_ms"] / 1000)
            passed = sum(1 for c in result["checks"]
                         if c["outcome"] == "pass" and c["id"].startswith("positive:"))
            if passed != count or proc.returncode != 0:
                failed.append(f"{passed}/{count} passed, exit {proc.returncode}")
    ideal = count / concurrency * delay
    wall = median(walls)
    what = f"{count} models, --concurrency {concurrency}, stub {delay * 1000:.0f} ms"
    spread = f"median of {runs}: {min(walls):.2f}–{max(walls):.2f} s" if runs > 1 else ""
    return [
        Row(f"wall time, {what}", f"{wall:.2f} s", f"≤ {GOAL_WALL * ideal:.2f} s "
            f"({GOAL_WALL} × {count}/{concurrency} × {delay:g} s)", wall <= GOAL_WALL * ideal,
            "; ".join(filter(None, [spread, f"the checks {median(checks):.2f} s of it"]))),
        Row(f"peak RSS, {what}", f"{peak_kb / 1024:.1f} MB", f"≤ {GOAL_RSS_MB} MB",
            peak_kb / 1024 <= GOAL_RSS_MB),
        Row(f"peak threads, {what}", str(peak_threads), f"≤ {concurrency + GOAL_THREADS_OVER}",
            peak_threads <= concurrency + GOAL_THREADS_OVER),
        Row(f"checks passed, {what}", "; ".join(failed) or f"all {count} in every run",
            f"all, within the {deadline:g} s deadline", not failed),
    ]


def rows(quick: bool = False, runs: int = 7, delay: float = 0.3, count: int = 1000,
         concurrency: int = 64, deadline: float = 120) -> tuple[str, list[Row]]:
    """Everything this bench measures, for bench/run.py (gate_venv() must have run)."""
    text, found = sizes(3 if quick else runs, delay)
    found += at_scale(count, concurrency, delay, deadline, runs=1 if quick else 3)
    return text, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--delay", type=float, default=0.3)
    parser.add_argument("--quick", action="store_true",
                        help="3 runs of each size, one run at scale")
    parser.add_argument("--models", type=int, default=0,
                        help="only the run at scale, over this many models")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--deadline", type=float, default=120)
    args = parser.parse_args()
    gate_venv()
    if args.models:
        text, found = "", at_scale(args.models, args.concurrency, args.delay, args.deadline,
                                   runs=1 if args.quick else 3)
    else:
        text, found = rows(args.quick, args.runs, args.delay, 1000, args.concurrency,
                           args.deadline)
    print(f"chat-smoke fleet scale ({machine()})\n")
    if text:
        print(text + "\n")
    print(table(found))
    raise SystemExit(0 if all(row.met is not False for row in found) else 1)


if __name__ == "__main__":
    main()

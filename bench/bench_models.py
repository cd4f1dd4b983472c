"""Wall time of the gate for 1, 4 and 16 models against a stub that answers in 300 ms.

    python bench/bench_models.py [--runs 7] [--delay 0.3]
    python bench/bench_models.py --models 1000 --concurrency 64 [--delay 0.3]

The gate runs in-process (interpreter start-up is not what is measured), against the
bundled stub on loopback, whose default scenario sleeps ``--delay`` before each answer.
Each size runs ``--runs`` times, interleaved round-robin so machine noise hits all alike,
at the default concurrency and at a concurrency equal to the number of models. The goal
(issue 5): 16 models in at most 1.5 x the time of one.

With ``--models N`` (issue 11, item 7: bounded at scale) the gate runs once as its own
process (``python -m smoke run``), so its peak RSS and thread count are its own, not the
stub's; the goals: wall time <= 1.3 x (N / concurrency x delay), peak RSS <= 100 MB,
peak threads <= concurrency + 8, and every check passed before the deadline.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from smoke import gate  # noqa: E402
from smoke.config.settings import Settings  # noqa: E402
from smoke.output.console import Console  # noqa: E402
from smoke.stub import StubServer  # noqa: E402

KEY = "sk-bench-" + "x" * 32
SIZES = (1, 4, 16)
GOAL = 1.5


def one_run(base_url: str, models: list[str], concurrency: int | None) -> float:
    flags: dict[str, object] = {"base_url": base_url, "model": ",".join(models),
                                "retries": "0", "deadline": "30"}
    if concurrency is not None:
        flags["concurrency"] = str(concurrency)
    started = time.perf_counter()
    result, _ = gate.run(flags, {"COMETAPI_API_KEY": KEY}, console=Console(io.StringIO()))
    elapsed = time.perf_counter() - started
    if result.exit_code != 0:
        raise SystemExit(f"bench run failed: {[c.message for c in result.failures]}")
    return elapsed


def _threads(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def at_scale(count: int, concurrency: int, delay: float, deadline: float) -> int:
    """One gate process over ``count`` models; prints wall time, peak RSS and threads."""
    models = [f"bench-model-{i:04d}" for i in range(count)]
    with StubServer(scenario=f"slow:{delay:g}", key=KEY, models=tuple(models)) as stub, \
            tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.json"
        argv = [sys.executable, "-m", "smoke", "run", "--base-url", stub.base_url,
                "--model", ",".join(models), "--concurrency", str(concurrency),
                "--retries", "0", "--deadline", str(deadline), "--report-json", str(report)]
        env = {**os.environ, "COMETAPI_API_KEY": KEY}
        started = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        peak_threads = 0
        while proc.poll() is None:
            peak_threads = max(peak_threads, _threads(proc.pid))
            time.sleep(0.02)
        wall = time.perf_counter() - started
        err = proc.stderr.read() if proc.stderr else ""
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        rss_mb, cpu = usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime
        result = json.loads(report.read_text())
    passed = sum(1 for c in result["checks"] if c["outcome"] == "pass")
    ideal = count / concurrency * delay
    goals = [
        ("wall time", wall <= 1.3 * ideal, f"{wall:.2f} s", f"<= {1.3 * ideal:.2f} s "
         f"(1.3 x {count}/{concurrency} x {delay:g} s)"),
        ("peak RSS", rss_mb <= 100, f"{rss_mb:.1f} MB", "<= 100 MB"),
        ("peak threads", peak_threads <= concurrency + 8, str(peak_threads),
         f"<= {concurrency + 8}"),
        ("checks passed", passed == count + 1, f"{passed - 1}/{count} models (exit "
         f"{proc.returncode})", f"all, within the {deadline:g} s deadline"),
    ]
    print(f"chat-smoke, {count} models at concurrency {concurrency}, stub answering in "
          f"{delay * 1000:.0f} ms (one gate process)\n")
    print("| measure | value | goal | met |")
    print("|---|---:|---|---|")
    for name, met, value, goal in goals:
        print(f"| {name} | {value} | {goal} | {'yes' if met else 'NO'} |")
    checks_s = result["duration_ms"] / 1000
    print(f"\nthe checks took {checks_s:.2f} s of the wall time (the rest: start-up and "
          f"the reports); the gate's CPU time: {cpu:.2f} s; load average now "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if err.strip():
        print("\nstderr:", err.strip()[:2000])
    return 0 if all(met for _, met, _, _ in goals) else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--delay", type=float, default=0.3)
    parser.add_argument("--models", type=int, default=0,
                        help="one run over this many models (bounded at scale)")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--deadline", type=float, default=120)
    args = parser.parse_args()
    if args.models:
        raise SystemExit(at_scale(args.models, args.concurrency, args.delay, args.deadline))
    models = [f"bench-model-{i:02d}" for i in range(max(SIZES))]
    default = Settings.__dataclass_fields__["concurrency"].default
    setups = [(n, c) for c in (None, "n") for n in SIZES]
    times: dict[tuple[int, object], list[float]] = {setup: [] for setup in setups}
    with StubServer(scenario=f"slow:{args.delay:g}", key=KEY, models=tuple(models)) as stub:
        one_run(stub.base_url, models[:1], None)  # warm-up: imports, first connection
        for _ in range(args.runs):
            for n, c in setups:
                times[(n, c)].append(one_run(stub.base_url, models[:n],
                                             n if c == "n" else None))
    print(f"chat-smoke, {args.runs} runs each, stub answering in {args.delay * 1000:.0f} ms\n")
    print("| models | concurrency | median s | spread (min-max) s | x 1 model |")
    print("|---:|---:|---:|---:|---:|")
    for c in (None, "n"):
        base = statistics.median(times[(1, c)])
        for n in SIZES:
            runs = times[(n, c)]
            median = statistics.median(runs)
            label = f"{default} (default)" if c is None else str(n)
            print(f"| {n} | {label} | {median:.3f} | {min(runs):.3f}-{max(runs):.3f} "
                  f"| {median / base:.2f} |")
    for c in (None, "n"):
        ratio = statistics.median(times[(16, c)]) / statistics.median(times[(1, c)])
        label = f"default concurrency {default}" if c is None else "concurrency 16"
        verdict = "meets" if ratio <= GOAL else "misses"
        print(f"\n16/1 at {label}: {ratio:.2f} ({verdict} the goal of <= {GOAL})")


if __name__ == "__main__":
    main()

"""Wall time of the gate for 1, 4 and 16 models against a stub that answers in 300 ms.

    python bench/bench_models.py [--runs 7] [--delay 0.3]

The gate runs in-process (interpreter start-up is not what is measured), against the
bundled stub on loopback, whose default scenario sleeps ``--delay`` before each answer.
Each size runs ``--runs`` times, interleaved round-robin so machine noise hits all alike,
at the default concurrency and at a concurrency equal to the number of models. The goal
(issue 5): 16 models in at most 1.5 x the time of one.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--delay", type=float, default=0.3)
    args = parser.parse_args()
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

"""The response contract's cost (issue 22, item 5): on by default, so it must be cheap.

    python bench/bench_contract.py [--runs 15] [--quick]

In-process, per answer: the stub's ``chat.completion``, a heavy one (8 tool calls and 256
tokens of logprobs with 5 alternatives each, ~150 KB) and one stream chunk, each checked
many times; the figure is the median of several batches, in ms per answer. The goal is
≤ 5 ms per answer. The first answer of a run also pays for importing the module and
reading the schema: measured in fresh processes.

Start-up: the plain gate (one request against the stub, three reports) with the contract
on (the default, ``warn``) and ``--contract off``, run round-robin, so machine noise hits
both alike; the goal is that the contract does not make the plain gate slower (the ratio
of the medians, within the run's own spread). ``rows()`` gives bench/run.py the figures.
"""

from __future__ import annotations

import argparse
import compileall
import json
import subprocess
import sys
import tempfile
import timeit
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, Row, bench_env, interleaved, machine, median, spread, table  # noqa: E402

from smoke.http import contract  # noqa: E402
from smoke.stub import StubServer, wire  # noqa: E402

GOAL_MS = 5.0


def long_answer() -> dict[str, Any]:
    """A long answer with 8 tool calls and every usage detail (~10 KB)."""
    body = wire.completion("gpt-4o-mini", "pong and more words " * 400)
    message = body["choices"][0]["message"]
    message["tool_calls"] = [{"id": f"call_{i}", "type": "function",
                              "function": {"name": "lookup", "arguments": "{\"q\": 1}"}}
                             for i in range(8)]
    message["annotations"] = [{"type": "url_citation", "url_citation": {
        "start_index": 0, "end_index": 4, "url": "https://example.com", "title": "x"}}] * 4
    body["usage"].update(
        prompt_tokens_details={"cached_tokens": 0, "audio_tokens": 0},
        completion_tokens_details={"reasoning_tokens": 64, "audio_tokens": 0,
                                   "accepted_prediction_tokens": 0,
                                   "rejected_prediction_tokens": 0})
    return body


def heavy_answer() -> dict[str, Any]:
    """A stress case the gate never asks for: the long answer plus logprobs for 256 tokens
    with 5 alternatives each (~1,800 objects, ~90 KB)."""
    body = long_answer()
    token = {"token": "po", "logprob": -0.1, "bytes": [112, 111],
             "top_logprobs": [{"token": "x", "logprob": -2.5, "bytes": [120]}] * 5}
    body["choices"][0]["logprobs"] = {"content": [dict(token) for _ in range(256)],
                                      "refusal": None}
    return body


def per_answer_ms(check: Any, body: Any, number: int) -> list[float]:
    """ms per call, one figure per batch of ``number`` calls."""
    timer = timeit.Timer(lambda: check(body))
    return [took * 1000 / number for took in timer.repeat(repeat=7, number=number)]


_FIRST = (
    "import json, sys, time\n"
    "body = json.loads(sys.argv[1])\n"
    "import smoke.pipeline, smoke.checks.positive  # what a run has imported by then,\n"
    "from smoke.config import validate\n"
    "validate.schema()  # and read (importlib.resources is warm)\n"
    "started = time.perf_counter()\n"
    "from smoke.http import contract\n"
    "contract.answer(body)\n"
    "print((time.perf_counter() - started) * 1000)\n"
)


def first_answer_ms(runs: int) -> list[float]:
    """Import plus schema plus the first check, in a fresh interpreter each time."""
    body = json.dumps(wire.completion("m", "pong"))
    found = []
    for _ in range(runs):
        proc = subprocess.run([sys.executable, "-c", _FIRST, body], capture_output=True,
                              text=True, check=True, cwd=ROOT)
        found.append(float(proc.stdout))
    return found


def startup(runs: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    with StubServer(key=bench_env()["COMETAPI_API_KEY"]) as stub, \
            tempfile.TemporaryDirectory() as tmp:
        base = [sys.executable, "-m", "smoke", "run", "--base-url", stub.base_url, "--model",
                "stub-model", "--report-json", f"{tmp}/r.json", "--report-junit",
                f"{tmp}/j.xml", "--summary", f"{tmp}/s.md"]
        commands = {"contract: warn (default)": base,
                    "contract: off": [*base, "--contract", "off"]}
        return interleaved(commands, bench_env(), runs)


def instruction_counts(tries: int = 2) -> dict[str, int] | None:
    """The plain gate's instructions under callgrind, contract on and off (the least of
    ``tries`` each): unlike time, the machine's load does not change them."""
    from run import instructions

    found: dict[str, int] = {}
    with StubServer(key=bench_env()["COMETAPI_API_KEY"]) as stub, \
            tempfile.TemporaryDirectory() as tmp:
        base = [sys.executable, "-m", "smoke", "run", "--base-url", stub.base_url, "--model",
                "stub-model", "--report-json", f"{tmp}/r.json", "--report-junit",
                f"{tmp}/j.xml", "--summary", f"{tmp}/s.md"]
        for name, argv in (("on", base), ("off", [*base, "--contract", "off"])):
            counts = [instructions(argv, bench_env()) for _ in range(tries)]
            if any(count is None for count in counts):
                return None
            found[name] = min(c for c in counts if c is not None)
    return found


def rows(runs: int = 15) -> list[Row]:
    # As an install ships it: byte-compiled (pip does it at install). With
    # PYTHONDONTWRITEBYTECODE set, a checkout would otherwise compile every changed module
    # on every run, and only the "on" runs import the contract's.
    compileall.compile_dir(str(ROOT / "smoke"), quiet=1)
    found: list[Row] = []
    cases = [("the stub's answer", contract.answer, wire.completion("m", "pong"), 2000, True),
             ("a long answer, 8 tool calls", contract.answer, long_answer(), 500, True),
             ("one stream chunk", contract.chunk,
              json.loads(wire.chunk("m", {"content": "po"})[6:]), 2000, True),
             ("stress: + logprobs, 256 tokens x 5 alternatives", contract.answer,
              heavy_answer(), 20, False)]
    for label, check, body, number, goal in cases:
        assert check(body) == [], label
        values = per_answer_ms(check, body, number)
        size = len(json.dumps(body))
        found.append(Row(f"contract check per answer: {label} ({size:,} bytes)",
                         f"{median(values):.3f} ms (batches {spread(values)})",
                         f"≤ {GOAL_MS:g} ms" if goal else "—",
                         median(values) <= GOAL_MS if goal else None))
    first = first_answer_ms(max(3, runs // 3))
    found.append(Row("first answer of a run: import + schema + check (fresh process)",
                     f"{median(first):.2f} ms ({spread(first)})"))
    wall, cpu = startup(runs)
    on, off = "contract: warn (default)", "contract: off"
    ratio = median(wall[on]) / median(wall[off])
    cpu_ratio = median(cpu[on]) / median(cpu[off])
    noise = (max(wall[off]) - min(wall[off])) / median(wall[off])
    for name in (on, off):
        found.append(Row(f"plain gate, {name}: wall / CPU",
                         f"{median(wall[name]):.3f} s ({spread(wall[name])}) / "
                         f"{median(cpu[name]):.3f} s"))
    found.append(Row("plain gate, contract on / off (medians, same run)",
                     f"wall {ratio:.3f}x, CPU {cpu_ratio:.3f}x",
                     f"≤ 1 + the run's noise ({1 + noise:.3f}x)", ratio <= 1 + noise))
    counts = instruction_counts()
    if counts is not None:
        share = counts["on"] / counts["off"]
        found.append(Row("plain gate's instructions, contract on / off (callgrind)",
                         f"{counts['on'] / 1e6:.1f}M / {counts['off'] / 1e6:.1f}M = "
                         f"{share:.4f}x", "≤ 1.01x", share <= 1.01))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="5 start-up runs of each")
    args = parser.parse_args()
    runs = 5 if args.quick else args.runs
    print(f"chat-smoke contract bench ({machine()}; {runs} runs of each start-up command)")
    print(table(rows(runs)))


if __name__ == "__main__":
    main()

"""chat-smoke's benchmark: side by side, in one run, against the bundled stub on loopback.

    python bench/run.py [--runs 15] [--quick]

Everything is installed into bench/.scratch (never into the project's dependencies):
chat-smoke as it ships (the image's lock plus a regular install of this checkout), the
official openai SDK in its own venv, newman from npm. curl is the floor. Every command
runs --runs times, interleaved round-robin so that machine noise hits all alike; the
table shows the median and the spread (min-max), and ratios to the median of the peers.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / "bench" / ".scratch"
KEY = "sk-bench-" + "x" * 32
sys.path.insert(0, str(ROOT))

from smoke.stub import StubServer  # noqa: E402


def sh(argv: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, check=True, capture_output=True, text=True, **kw)  # type: ignore[call-overload,no-any-return]


def openai_python() -> Path:
    venv = SCRATCH / "openai-venv"
    python = venv / "bin" / "python"
    if not (venv / ".ready").exists():
        shutil.rmtree(venv, ignore_errors=True)
        sh([sys.executable, "-m", "venv", str(venv)])
        sh([str(python), "-m", "pip", "install", "-q", "openai"])
        (venv / ".ready").write_text("ok")
    return python


def newman() -> Path:
    prefix = SCRATCH / "node"
    binary = prefix / "node_modules" / ".bin" / "newman"
    if not binary.exists():
        prefix.mkdir(parents=True, exist_ok=True)
        sh(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(prefix),
            "newman@6"])
    return binary


def gate_venv() -> Path:
    """chat-smoke as it ships: the image's locked runtime dependencies and a regular
    (not editable) install of this checkout, reinstalled on every bench run."""
    venv = SCRATCH / "gate-venv"
    python = venv / "bin" / "python"
    if not (venv / ".ready").exists():
        shutil.rmtree(venv, ignore_errors=True)
        sh([sys.executable, "-m", "venv", str(venv)])
        sh([str(python), "-m", "pip", "install", "-q", "--require-hashes", "--no-deps", "-r",
            str(ROOT / "requirements.txt")])
        (venv / ".ready").write_text("ok")
    with tempfile.TemporaryDirectory() as tmp:
        sh([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
            "--force-reinstall", str(ROOT)], cwd=tmp)
    return venv


def chat_smoke() -> list[str]:
    return [str(SCRATCH / "gate-venv" / "bin" / "chat-smoke")]


def timed(argv: list[str], env: dict[str, str], expect: int = 0) -> float:
    started = time.perf_counter()
    proc = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    if proc.returncode != expect:
        raise SystemExit(f"{argv[0]} exited {proc.returncode}, not {expect}: "
                         f"{proc.stderr.decode(errors='replace')[-800:]}")
    return elapsed


def peak_rss_mb(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss / 1024, proc.returncode


def spread(values: list[float]) -> str:
    return f"{min(values):.3f}–{max(values):.3f}"


def footprint_mb(venv: Path) -> float:
    """What the runtime needs on disk: the locked dependencies and chat-smoke, i.e. the
    venv's site-packages less pip and setuptools (the image has its own)."""
    site = next((venv / "lib").glob("python3*/site-packages"))
    tooling = ("pip", "setuptools", "_distutils_hack", "distutils-precedence.pth")
    return sum(f.stat().st_size for f in site.rglob("*") if f.is_file()
               and not f.relative_to(site).parts[0].startswith(tooling)) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="3 runs")
    args = parser.parse_args()
    runs = 3 if args.quick else args.runs

    print("preparing peers in bench/.scratch (first run installs them) ...", flush=True)
    py_openai, newman_bin, venv = openai_python(), newman(), gate_venv()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_"))}
    env.update(COMETAPI_API_KEY=KEY, BENCH_MODEL="stub-model", NO_PROXY="*")
    reports = Path(tempfile.mkdtemp())
    with StubServer(key=KEY) as stub:
        env["BENCH_BASE_URL"] = stub.base_url
        gate = [*chat_smoke(), "run", "--base-url", stub.base_url, "--model", "stub-model",
                "--report-json", str(reports / "r.json"), "--report-junit",
                str(reports / "j.xml"), "--summary", str(reports / "s.md")]
        payload = ('{"model":"stub-model","messages":[{"role":"system","content":'
                   '"Reply with exactly the word: pong"},{"role":"user","content":"ping"}],'
                   '"temperature":0,"max_tokens":16}')
        curl = ["sh", "-c", f"curl -sS --fail -H 'Authorization: Bearer {KEY}' -H "
                f"'Content-Type: application/json' -d '{payload}' "
                f"{stub.base_url}/chat/completions | grep -qi pong"]
        commands: dict[str, list[str]] = {
            "chat-smoke run (full gate, 3 reports)": gate,
            "openai SDK script": [str(py_openai), str(ROOT / "bench" / "peers" /
                                                      "openai_check.py")],
            "newman (1-request collection)": [
                str(newman_bin), "run", str(ROOT / "bench" / "peers" / "collection.json"),
                "--env-var", f"base_url={stub.base_url}", "--env-var", f"key={KEY}",
                "--env-var", "model=stub-model", "--reporters", "cli"],
            "curl (the floor)": curl,
            "chat-smoke --help": [*chat_smoke(), "--help"],
            "python -c pass": [str(venv / "bin" / "python"), "-c", "pass"],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for argv in commands.values():  # warm-up: caches, .pyc files
            timed(argv, env)
        for _ in range(runs):
            for name, argv in commands.items():
                times[name].append(timed(argv, env))

        worst: dict[str, list[float]] = {"never answers (hang)": [], "drips its body": []}
        for _ in range(min(runs, 3)):
            for label, scenario in (("never answers (hang)", "hang"),
                                    ("drips its body", "drip:0.2")):
                argv = [*chat_smoke(), "run", "--base-url", stub.url(scenario), "--model",
                        "stub-model", "--deadline", "5", "--timeout", "30"]
                worst[label].append(timed(argv, env, expect=5))
        rss, code = peak_rss_mb([*chat_smoke(), "run", "--base-url", stub.url("huge:64"),
                                 "--model", "stub-model", "--retries", "0"], env)
    med = {name: statistics.median(v) for name, v in times.items()}
    lines = ["| command | median s | spread s |", "|---|---|---|"]
    lines += [f"| {n} | {med[n]:.3f} | {spread(v)} |" for n, v in times.items()]
    gate_s = med["chat-smoke run (full gate, 3 reports)"]
    goals: list[tuple[str, str, Callable[[], bool]]] = [
        ("full gate / openai SDK script",
         f"{gate_s / med['openai SDK script']:.2f} (goal ≤ 0.5)",
         lambda: gate_s / med["openai SDK script"] <= 0.5),
        ("full gate / newman", f"{gate_s / med['newman (1-request collection)']:.2f} (goal ≤ 0.3)",
         lambda: gate_s / med["newman (1-request collection)"] <= 0.3),
        ("full gate − curl", f"{gate_s - med['curl (the floor)']:.3f} s (goal ≤ 0.3 s)",
         lambda: gate_s - med["curl (the floor)"] <= 0.3),
        ("--help / python -c pass",
         f"{med['chat-smoke --help'] / med['python -c pass']:.2f} (goal ≤ 5)",
         lambda: med["chat-smoke --help"] / med["python -c pass"] <= 5),
    ]
    for label, values in worst.items():
        worst_s = max(values)
        goals.append((f"time to verdict, endpoint {label}, --deadline 5",
                      f"max {worst_s:.2f} s of {len(values)} (goal ≤ 5.5 s)",
                      lambda w=worst_s: w <= 5.5))
    goals.append(("peak RSS, 64 MB body", f"{rss:.1f} MB, exit {code} (goal ≤ 80 MB)",
                  lambda: rss <= 80))
    lines += ["", "| goal | measured | met |", "|---|---|---|"]
    lines += [f"| {label} | {value} | {'yes' if ok() else 'NO'} |" for label, value, ok in goals]
    lines.append(f"| installed footprint (locked runtime deps + chat-smoke, site-packages) "
                 f"| {footprint_mb(venv):.1f} MB | — |")
    machine = f"{os.cpu_count()} cores, Python {sys.version.split()[0]}, {runs} runs each"
    text = "\n".join([f"chat-smoke bench ({machine})", "", *lines])
    print(text)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.md").write_text(text + "\n")


if __name__ == "__main__":
    main()

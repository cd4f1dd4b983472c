"""chat-smoke's benchmark: side by side, in one run, against the bundled stub on loopback.

    python bench/run.py [--runs 15] [--quick] [--skip container,fleet,cancel,contract]

Everything is installed into bench/.scratch (never into the project's dependencies):
chat-smoke as it ships (the image's lock plus a regular install of this checkout), the
official openai SDK in its own venv, newman from npm. curl is the floor. Every command
runs --runs times, interleaved round-robin so that machine noise hits all alike; the
table shows the median and the spread (min-max), and ratios to the median of the peers.

Then, unless skipped: fleet scale (bench_models.py: 1,000 models at concurrency 64, and
16 models against one), cancellation latency (bench_cancel.py), the response contract's
cost per answer (bench_contract.py) and the container path (bench_container.py). Every
figure is printed with its goal; the whole table goes to bench/results/latest.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    KEY,
    ROOT,
    SCRATCH,
    Row,
    bench_env,
    chat_smoke,
    gate_venv,
    interleaved,
    machine,
    median,
    sh,
    spread,
    table,
    timed,
)

from smoke.stub import StubServer  # noqa: E402

# Round 1 (issue 7, stop 8's note): the full gate with 3 reports took 0.142 s against
# 0.478 s for the openai SDK script, and 15.8 x `python -c pass`. Round 2 (issue 16) may
# add at most 10 ms: measured against the SDK in the same run, because absolute times
# drift with the machine's load.
ROUND1_GATE_PER_SDK = 0.142 / 0.478
# Round 1's code itself (the commit of its README figures), installed as it shipped and
# run in the same rounds: the most direct "+10 ms over round 1".
ROUND1_COMMIT = "c9c4cdc"
ROUND1 = f"round 1's gate ({ROUND1_COMMIT}, same command)"
ROUND1_HELP = f"round 1's --help ({ROUND1_COMMIT})"
# The code before issue 20 (one pipeline, the Publisher, requests' public extension
# points): "no regression on the start-up bench", measured in the same rounds.
BEFORE_COMMIT = "cfb52ea"
BEFORE = f"before issue 20's gate ({BEFORE_COMMIT}, same command)"
BEFORE_HELP = f"before issue 20's --help ({BEFORE_COMMIT})"
PLAIN = "chat-smoke run (plain gate: 3 reports, features off)"
FULL = "chat-smoke run (full feature set)"
SDK = "openai SDK script"
NEWMAN = "newman (1-request collection)"
CURL = "curl (the floor)"
HELP = "chat-smoke --help"
PASS = "python -c pass"


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


def installed_gate(commit: str, name: str) -> list[str] | None:
    """The gate as it shipped at ``commit`` (its own lock, a regular install) in
    bench/.scratch, or None when this clone lacks the commit (a shallow clone)."""
    src, venv = SCRATCH / f"{name}-src", SCRATCH / f"{name}-venv"
    binary = venv / "bin" / "chat-smoke"
    if not (venv / ".ready").exists() or (venv / ".ready").read_text() != commit:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit],
                                 capture_output=True)
        if archive.returncode != 0:
            return None
        shutil.rmtree(src, ignore_errors=True)
        shutil.rmtree(venv, ignore_errors=True)
        src.mkdir(parents=True)
        subprocess.run(["tar", "-x", "-C", str(src)], input=archive.stdout, check=True)
        sh([sys.executable, "-m", "venv", str(venv)])
        python = str(venv / "bin" / "python")
        lock = next(src / n for n in ("requirements.lock", "requirements.txt")
                    if (src / n).exists())
        sh([python, "-m", "pip", "install", "-q", "--require-hashes", "--no-deps", "-r",
            str(lock)])
        sh([python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
            str(src)], cwd=str(SCRATCH))
        (venv / ".ready").write_text(commit)
    return [str(binary)]


def round1_gate() -> list[str] | None:
    """Round 1 as it shipped (see :func:`installed_gate`)."""
    return installed_gate(ROUND1_COMMIT, "round1")


def instructions(argv: list[str], env: dict[str, str]) -> int | None:
    """Instructions one run executes, counted by callgrind: unlike time, the machine's
    load does not change it (the polling loops add a little: take the least of a few)."""
    if not shutil.which("valgrind"):
        return None
    done = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                           *argv, "--deadline", "600", "--timeout", "600"], env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"under callgrind: exit {done.returncode}: {done.stderr[-800:]}")
    for line in done.stderr.splitlines():
        if "Collected :" in line:
            return int(line.rsplit(":", 1)[1].strip())
    return None


def peak_rss_mb(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss / 1024, proc.returncode


def footprint_mb(venv: Path) -> float:
    """What the runtime needs on disk: the locked dependencies and chat-smoke, i.e. the
    venv's site-packages less pip and setuptools (the image has its own)."""
    site = next((venv / "lib").glob("python3*/site-packages"))
    tooling = ("pip", "setuptools", "_distutils_hack", "distutils-precedence.pth")
    return sum(f.stat().st_size for f in site.rglob("*") if f.is_file()
               and not f.relative_to(site).parts[0].startswith(tooling)) / 1e6


def full_feature_flags(reports: Path, gate: list[str]) -> tuple[list[str], list[str]]:
    """Every feature of this round that a run can switch on, and the ones this checkout
    does not have yet (left out, and said so)."""
    flags = ["--stream", "--negative", "invalid-model,missing-field,invalid-key",
             "--check-models", "--report-dotenv", str(reports / "e.env"),
             "--report-prometheus", str(reports / "p.prom"),
             "--baseline", str(reports / "baseline.json")]
    known = sh([*gate, "run", "--help"]).stdout
    missing = []
    if "--header" in known:
        flags += ["--header", "X-Bench-Run: 1", "--header", "X-Bench-Team: perf"]
    else:
        missing.append("--header")
    for flag in ("--report-prometheus", "--baseline", "--report-dotenv"):
        if flag not in known:
            missing.append(flag)
            i = flags.index(flag)
            del flags[i:i + 2]
    return flags, missing


def startup(runs: int) -> tuple[str, list[Row]]:
    """Start-up and one request, side by side with the peers; the round's feature costs."""
    py_openai, newman_bin, venv, round1 = openai_python(), newman(), gate_venv(), round1_gate()
    before = installed_gate(BEFORE_COMMIT, "before20")
    env = bench_env(BENCH_MODEL="stub-model")
    reports = Path(tempfile.mkdtemp())
    with StubServer(key=KEY) as stub:
        env["BENCH_BASE_URL"] = stub.base_url
        plain = [*chat_smoke(), "run", "--base-url", stub.base_url, "--model", "stub-model",
                 "--report-json", str(reports / "r.json"), "--report-junit",
                 str(reports / "j.xml"), "--summary", str(reports / "s.md")]
        timed([*plain[:-6], "--report-json", str(reports / "baseline.json")], env)
        extra, missing = full_feature_flags(reports, chat_smoke())
        payload = ('{"model":"stub-model","messages":[{"role":"system","content":'
                   '"Reply with exactly the word: pong"},{"role":"user","content":"ping"}],'
                   '"temperature":0,"max_tokens":16}')
        curl = ["sh", "-c", f"curl -sS --fail -H 'Authorization: Bearer {KEY}' -H "
                f"'Content-Type: application/json' -d '{payload}' "
                f"{stub.base_url}/chat/completions | grep -qi pong"]
        commands: dict[str, list[str]] = {
            PLAIN: plain,
            FULL: [*plain, *extra],
            **({ROUND1: [*round1, *plain[1:]]} if round1 else {}),
            **({BEFORE: [*before, *plain[1:]]} if before else {}),
            SDK: [str(py_openai), str(ROOT / "bench" / "peers" / "openai_check.py")],
            NEWMAN: [str(newman_bin), "run", str(ROOT / "bench" / "peers" / "collection.json"),
                     "--env-var", f"base_url={stub.base_url}", "--env-var", f"key={KEY}",
                     "--env-var", "model=stub-model", "--reporters", "cli"],
            CURL: curl,
            HELP: [*chat_smoke(), "--help"],
            **({ROUND1_HELP: [*round1, "--help"]} if round1 else {}),
            **({BEFORE_HELP: [*before, "--help"]} if before else {}),
            PASS: [str(venv / "bin" / "python"), "-c", "pass"],
        }
        times, cpu = interleaved(commands, env, runs)
        worst: dict[str, list[float]] = {"never answers (hang)": [], "drips its body": []}
        for _ in range(min(runs, 3)):
            for label, scenario in (("never answers (hang)", "hang"),
                                    ("drips its body", "drip:0.2")):
                argv = [*chat_smoke(), "run", "--base-url", stub.url(scenario), "--model",
                        "stub-model", "--deadline", "5", "--timeout", "30"]
                worst[label].append(timed(argv, env, expect=5))
        rss, code = peak_rss_mb([*chat_smoke(), "run", "--base-url", stub.url("huge:64"),
                                 "--model", "stub-model", "--retries", "0"], env)
        counted: dict[str, list[int]] = {PLAIN: [], ROUND1: [], BEFORE: []}
        for _ in range(1 if runs <= 3 else 2):
            for name in [n for n in counted if n in commands]:
                found = instructions(commands[name], env)
                if found:
                    counted[name].append(found)
    shutil.rmtree(reports, ignore_errors=True)
    med = {name: median(v) for name, v in times.items()}
    used = {name: median(v) for name, v in cpu.items()}
    lines = ["| command | median s | spread s | CPU s (user+sys) |", "|---|---|---|---|"]
    lines += [f"| {n} | {med[n]:.3f} | {spread(v)} | {used[n]:.3f} |" for n, v in times.items()]
    if missing:
        lines.append(f"\n(full feature set without {', '.join(missing)}: not in this checkout)")
    gate_s = med[PLAIN]
    over_round1 = gate_s - ROUND1_GATE_PER_SDK * med[SDK]
    full_x = med[FULL] / gate_s
    rows = [
        Row("plain gate ÷ openai SDK script", f"{gate_s / med[SDK]:.3f}", "≤ 0.33 (round 1: 0.30)",
            gate_s / med[SDK] <= 0.33),
        Row("plain gate over round 1 (round 1's gate ÷ SDK × this run's SDK)",
            f"{over_round1 * 1000:+.0f} ms", "≤ +10 ms", over_round1 <= 0.010),
        *([Row(f"plain gate − round 1's gate ({ROUND1_COMMIT}), same run",
               f"{(gate_s - med[ROUND1]) * 1000:+.0f} ms wall, "
               f"{(used[PLAIN] - used[ROUND1]) * 1000:+.0f} ms CPU", "≤ +10 ms",
               gate_s - med[ROUND1] <= 0.010)] if ROUND1 in med else []),
        *([Row(f"plain gate's instructions ÷ round 1's ({ROUND1_COMMIT}), callgrind, "
               f"least of {len(counted[PLAIN])}",
               f"{min(counted[PLAIN]) / min(counted[ROUND1]):.3f} "
               f"({min(counted[PLAIN]) / 1e6:.0f}M vs {min(counted[ROUND1]) / 1e6:.0f}M)",
               "≤ 1.07 (10 ms of round 1's 142 ms)",
               min(counted[PLAIN]) / min(counted[ROUND1]) <= 1.07)]
          if counted[PLAIN] and counted[ROUND1] else []),
        *([Row(f"plain gate − the gate before issue 20 ({BEFORE_COMMIT}), same run",
               f"{(gate_s - med[BEFORE]) * 1000:+.0f} ms wall, "
               f"{(used[PLAIN] - used[BEFORE]) * 1000:+.0f} ms CPU", "≤ +5 ms (no regression)",
               gate_s - med[BEFORE] <= 0.005)] if BEFORE in med else []),
        *([Row(f"plain gate's instructions ÷ the gate before issue 20 ({BEFORE_COMMIT}), "
               f"callgrind, least of {len(counted[PLAIN])}",
               f"{min(counted[PLAIN]) / min(counted[BEFORE]):.3f} "
               f"({min(counted[PLAIN]) / 1e6:.0f}M vs {min(counted[BEFORE]) / 1e6:.0f}M)",
               "≤ 1.01 (no regression)",
               min(counted[PLAIN]) / min(counted[BEFORE]) <= 1.01)]
          if counted[PLAIN] and counted[BEFORE] else []),
        *([Row(f"`--help` − before issue 20's `--help` ({BEFORE_COMMIT}), same run",
               f"{(med[HELP] - med[BEFORE_HELP]) * 1000:+.1f} ms", "≤ +2 ms (no regression)",
               med[HELP] - med[BEFORE_HELP] <= 0.002)] if BEFORE_HELP in med else []),
        Row("plain gate ÷ `python -c pass`", f"{gate_s / med[PASS]:.2f}",
            "≤ 17.5 (round 1: 15.8)", gate_s / med[PASS] <= 17.5,
            f"round 1's gate in this run: {med[ROUND1] / med[PASS]:.2f}" if ROUND1 in med
            else ""),
        Row("full feature set ÷ plain gate", f"{full_x:.2f}", "≤ 1.5", full_x <= 1.5),
        Row("plain gate ÷ newman", f"{gate_s / med[NEWMAN]:.2f}", "≤ 0.3",
            gate_s / med[NEWMAN] <= 0.3),
        Row("plain gate − curl", f"{gate_s - med[CURL]:.3f} s", "≤ 0.3 s",
            gate_s - med[CURL] <= 0.3,
            f"round 1's gate in this run: {med[ROUND1] - med[CURL]:.3f} s" if ROUND1 in med
            else ""),
        Row("`--help` ÷ `python -c pass`", f"{med[HELP] / med[PASS]:.2f}", "≤ 5",
            med[HELP] / med[PASS] <= 5,
            f"round 1's in this run: {med[ROUND1_HELP] / med[PASS]:.2f}" if ROUND1_HELP in med
            else ""),
    ]
    for label, values in worst.items():
        rows.append(Row(f"time to verdict, endpoint {label}, --deadline 5",
                        f"max {max(values):.2f} s of {len(values)}", "≤ 5.5 s",
                        max(values) <= 5.5))
    rows.append(Row("peak RSS, 64 MB body", f"{rss:.1f} MB, exit {code}", "≤ 80 MB", rss <= 80))
    rows.append(Row("installed footprint (locked runtime deps + chat-smoke, site-packages)",
                    f"{footprint_mb(venv):.1f} MB"))
    return "\n".join(lines), rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--quick", action="store_true",
                        help="3 runs of each command, 3 of each fleet size, 3 cancellations")
    parser.add_argument("--skip", default="",
                        help="comma separated: container,fleet,cancel,contract")
    args = parser.parse_args()
    runs = 3 if args.quick else args.runs
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    unknown = skip - {"container", "fleet", "cancel", "contract"}
    if unknown:
        parser.error(f"--skip: unknown {', '.join(sorted(unknown))} "
                     "(container, fleet, cancel, contract)")

    print("preparing peers in bench/.scratch (first run installs them) ...", flush=True)
    commands, rows = startup(runs)
    sections = [("start-up: one request against the stub", commands, rows)]
    if "fleet" not in skip:
        import bench_models
        print("fleet scale ...", flush=True)
        text, found = bench_models.rows(quick=args.quick)
        sections.append(("fleet scale (stub answering in 300 ms, in its own process)", text,
                         found))
    if "cancel" not in skip:
        import bench_cancel
        print("cancellation ...", flush=True)
        sections.append(("cancellation: SIGTERM while 12 checks hang", "",
                         bench_cancel.rows(runs=3 if args.quick else 5)))
    if "contract" not in skip:
        import bench_contract
        print("the response contract ...", flush=True)
        sections.append(("the response contract: cost per answer, plain gate on / off", "",
                         bench_contract.rows(runs=5 if args.quick else runs)))
    if "container" not in skip:
        import bench_container
        print("container path (builds the image with no cache) ...", flush=True)
        sections.append(("container path", "", bench_container.measure(runs=min(runs, 7))))

    parts = [f"chat-smoke bench ({machine()}; {runs} runs of each start-up command)"]
    for title, before, section in sections:
        parts += ["", f"### {title}", ""]
        if before:
            parts += [before, ""]
        parts.append(table(section))
    every = [row for _, _, section in sections for row in section]
    missed = [row.measure for row in every if row.met is False]
    parts += ["", f"goals met: {sum(1 for r in every if r.met)} of "
              f"{sum(1 for r in every if r.met is not None)}"
              + (f"; missed: {'; '.join(missed)}" if missed else "")]
    text = "\n".join(parts)
    print(text)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.md").write_text(text + "\n")


if __name__ == "__main__":
    main()

"""What the bench scripts share: the scratch folder, chat-smoke installed as it ships, a
timer for commands, and the table of figures against their goals."""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / "bench" / ".scratch"
KEY = "sk-bench-" + "x" * 32
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@dataclass
class Row:
    """One figure: what was measured, its value, its goal, whether the goal is met (None:
    a figure with no goal), and what limits it when it is not."""

    measure: str
    value: str
    goal: str = "—"
    met: bool | None = None
    note: str = ""


def table(rows: list[Row]) -> str:
    lines = ["| measure | measured | goal | met |", "|---|---|---|---|"]
    for row in rows:
        met = "—" if row.met is None else "yes" if row.met else "**NO**"
        value = f"{row.value} ({row.note})" if row.note else row.value
        lines.append(f"| {row.measure} | {value} | {row.goal} | {met} |")
    return "\n".join(lines)


def spread(values: list[float]) -> str:
    return f"{min(values):.3f}–{max(values):.3f}"


def median(values: list[float]) -> float:
    return statistics.median(values)


def machine() -> str:
    """nproc, the CPU model, Python, and the load when the figures were taken."""
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{os.cpu_count()} cores ({model}), Python {sys.version.split()[0]}, "
            f"load average {load}")


def sh(argv: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, check=True, capture_output=True, text=True, **kw)  # type: ignore[call-overload,no-any-return]


def gate_venv() -> Path:
    """chat-smoke as it ships: the image's locked runtime dependencies and a regular
    (not editable) install of this checkout, reinstalled on every bench run."""
    venv = SCRATCH / "gate-venv"
    python = venv / "bin" / "python"
    lock = ROOT / "requirements.txt"
    stamp = venv / ".ready"
    if not stamp.exists() or stamp.read_text() != lock.read_text():
        shutil.rmtree(venv, ignore_errors=True)
        sh([sys.executable, "-m", "venv", str(venv)])
        sh([str(python), "-m", "pip", "install", "-q", "--require-hashes", "--no-deps", "-r",
            str(lock)])
        stamp.write_text(lock.read_text())
    shutil.rmtree(ROOT / "build", ignore_errors=True)  # setuptools keeps stale files there
    with tempfile.TemporaryDirectory() as tmp:
        sh([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
            "--force-reinstall", str(ROOT)], cwd=tmp)
    return venv


def chat_smoke() -> list[str]:
    """The installed gate (call gate_venv() first)."""
    return [str(SCRATCH / "gate-venv" / "bin" / "chat-smoke")]


def bench_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("INPUT_", "GITHUB_", "COMETAPI_", "SMOKE_"))}
    env.update(COMETAPI_API_KEY=KEY, NO_PROXY="*", **extra)
    return env


def run_once(argv: list[str], env: dict[str, str], expect: int = 0,
             cwd: str | Path | None = None) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run of ``argv``."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            cwd=cwd)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    proc.stderr.close()
    if code != expect:
        raise SystemExit(f"{' '.join(argv[:3])} ... exited {code}, not {expect}: "
                         f"{err.decode(errors='replace')[-800:]}")
    return elapsed, usage.ru_utime + usage.ru_stime


def timed(argv: list[str], env: dict[str, str], expect: int = 0,
          cwd: str | Path | None = None) -> float:
    return run_once(argv, env, expect, cwd)[0]


def interleaved(commands: dict[str, list[str]], env: dict[str, str], runs: int,
                warm: bool = True) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Each command ``runs`` times, round-robin, so machine noise hits all alike: wall
    times and CPU times per command."""
    wall: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    if warm:
        for argv in commands.values():  # caches, .pyc files
            run_once(argv, env)
    for _ in range(runs):
        for name, argv in commands.items():
            took, used = run_once(argv, env)
            wall[name].append(took)
            cpu[name].append(used)
    return wall, cpu

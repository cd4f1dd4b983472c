"""The container path: build, size, start-up and time to verdict of the image, against the
same gate installed on the host (issue 16, item 1).

    python bench/bench_container.py [--runs 7]

The engine is the container suite's (tests/support/container.py): docker where an engine
answers, else podman with the stand-in base that tests/container/setup.sh builds (Debian
bookworm's Python 3.11, tagged as the Dockerfile's FROM). Every figure names the base it
was taken on. The image is built with no cache as ``localhost/chat-smoke:bench``; then
``run --rm IMAGE --version`` and ``run --rm --network host IMAGE run ...`` against the
bundled stub run interleaved with the host's ``chat-smoke --version`` and ``chat-smoke
run ...`` (the lock and a regular install in bench/.scratch/gate-venv).
Goals: own layers <= 20 MB; time to verdict in the image <= host + 0.5 s.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    KEY,
    Row,
    bench_env,
    chat_smoke,
    gate_venv,
    machine,
    median,
    spread,
    table,
    timed,
)

from smoke.stub import StubServer  # noqa: E402

REF = "localhost/chat-smoke:bench"
OWN_LAYERS_MB = 20
SLOWER_S = 0.5


def measure(runs: int) -> list[Row]:
    """Build and time the image; one row saying why when there is no engine."""
    try:
        from tests.support.container import BuildError, build_image, select_engine
    except ImportError as missing:  # the test extra (pytest, trustme, PyYAML)
        return [Row("container path", f"not measured: {missing} (install '.[test]')")]
    engine, why = select_engine()
    if engine is None:
        return [Row("container path", f"not measured: {why}")]
    with tempfile.TemporaryDirectory() as work:
        try:
            image = build_image(engine, Path(work), REF)
        except BuildError as failed:
            return [Row("container build", f"FAILED: {str(failed)[:400]}", met=False)]
    base = (f"[stand-in base: Debian 12 Python 3.11 as {image.base}, {engine.name}]"
            if engine.standin else f"[base {image.base}, {engine.name}]")
    env = bench_env()
    host = chat_smoke()
    rows = [
        Row(f"image build, no cache {base}", f"{image.build_seconds:.1f} s"),
        Row(f"image size {base}", f"{image.size / 1e6:.1f} MB"),
        Row(f"own layers {base}", f"{image.own_size / 1e6:.1f} MB",
            f"≤ {OWN_LAYERS_MB} MB", image.own_size / 1e6 <= OWN_LAYERS_MB),
    ]
    with StubServer(key=KEY) as stub:
        run = ["run", "--base-url", stub.base_url, "--model", "stub-model"]
        commands = {
            "image --version": [engine.name, "run", "--rm", REF, "--version"],
            "host --version": [*host, "--version"],
            "image run": [engine.name, "run", "--rm", "--network", "host", "-e",
                          "COMETAPI_API_KEY", REF, *run],
            "host run": [*host, *run],
        }
        full = {**engine.env, **env}
        times: dict[str, list[float]] = {name: [] for name in commands}
        for argv in commands.values():  # warm-up: page cache, .pyc files, storage
            timed(argv, full)
        for _ in range(runs):
            for name, argv in commands.items():
                times[name].append(timed(argv, full))
    med = {name: median(values) for name, values in times.items()}
    slower = med["image run"] - med["host run"]
    rows += [
        Row(f"`{engine.name} run --rm IMAGE --version` {base}",
            f"{med['image --version']:.3f} s ({spread(times['image --version'])})"),
        Row("host `chat-smoke --version`",
            f"{med['host --version']:.3f} s ({spread(times['host --version'])})"),
        Row(f"time to verdict in the image, stub on loopback {base}",
            f"{med['image run']:.3f} s ({spread(times['image run'])})"),
        Row("time to verdict on the host", f"{med['host run']:.3f} s "
            f"({spread(times['host run'])})"),
        Row(f"image − host, time to verdict {base}", f"+{slower:.3f} s",
            f"≤ +{SLOWER_S} s", slower <= SLOWER_S,
            "" if slower <= SLOWER_S else "container start: overlay mount, runc, netns"),
    ]
    engine.cmd("rmi", REF)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="3 runs")
    args = parser.parse_args()
    gate_venv()
    runs = 3 if args.quick else args.runs
    rows = measure(runs)
    print(f"\nchat-smoke container path ({machine()}; {runs} runs each, medians)\n")
    print(table(rows))


if __name__ == "__main__":
    main()

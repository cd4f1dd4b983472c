"""chat-smoke serve at scale (issue 24), side by side in one run:

1. overhead per probe: serve's /probe latency less the gate's own time
   (probe_duration_seconds), against blackbox_exporter's HTTP probe of the same stub
   (Debian prometheus-blackbox-exporter) measured the same way;
2. cached scrapes: p50/p99 of a scrape served from min_interval's cache, 100 targets;
3. memory: RSS, threads and file descriptors after warm-up and after 10,000 probes;
4. throughput: 200 targets scraped every 15 s by a real Prometheus for 2 minutes: serve's
   CPU share, scrapes that failed or timed out.

    python bench/bench_serve.py [--quick]      # needs prometheus and blackbox (root: apt)

The stub, serve, blackbox_exporter and Prometheus each run in a process of their own; the
client is this process (keep-alive connections, as Prometheus keeps them).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, Row, machine, table  # noqa: E402

STUB_KEY = "sk-stub-not-a-secret-0123456789abcdef"
PACKAGES = ("prometheus", "prometheus-blackbox-exporter")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(port: int, path: str, proc: subprocess.Popen[bytes], what: str) -> None:
    until = time.monotonic() + 30
    while time.monotonic() < until:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{what} not ready on port {port}")


class Client:
    """One keep-alive connection, as a Prometheus scrape loop holds one."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def get(self, path: str) -> tuple[float, int, str]:
        began = time.perf_counter()
        self.conn.request("GET", path)
        answer = self.conn.getresponse()
        body = answer.read().decode()
        return time.perf_counter() - began, answer.status, body


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise KeyError(name)


def proc_stats(pid: int) -> tuple[float, int, int, float]:
    """(RSS MB, threads, open fds, CPU seconds) of a process."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss = int(next(line.split()[1] for line in status.splitlines()
                   if line.startswith("VmRSS:"))) / 1024
    threads = int(next(line.split()[1] for line in status.splitlines()
                       if line.startswith("Threads:")))
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return rss, threads, fds, cpu


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Rig:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.procs: list[subprocess.Popen[bytes]] = []
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("COMETAPI_", "SMOKE_", "CI"))}
        self.env.update(COMETAPI_API_KEY=STUB_KEY, CHAT_SMOKE_STUB_KEY=STUB_KEY,
                        NO_PROXY="*", PYTHONPATH=str(ROOT))
        self.stub_port = free_port()
        self.start([sys.executable, "-m", "smoke", "stub", "--port", str(self.stub_port)],
                   "stub", self.stub_port, "/v1/models?x", wait=False)
        time.sleep(1.0)

    def start(self, argv: list[str], name: str, port: int, ready: str,
              wait: bool = True) -> subprocess.Popen[bytes]:
        log = (self.folder / f"{name}.log").open("wb")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                cwd=self.folder)
        self.procs.append(proc)
        if wait:
            wait_ready(port, ready, proc, name)
        return proc

    def serve(self, name: str, targets: int, min_interval: float,
              concurrency: int = 8) -> tuple[subprocess.Popen[bytes], int]:
        lines = ["model: stub-model", "serve:", f"  min_interval: {min_interval}",
                 f"  max_concurrent_probes: {concurrency}", "targets:"]
        for i in range(targets):
            lines += [f"  t{i}:", f"    base_url: http://127.0.0.1:{self.stub_port}/v1",
                      "    environment: bench"]
        (self.folder / f"{name}.yml").write_text("\n".join(lines) + "\n")
        port = free_port()
        proc = self.start([sys.executable, "-m", "smoke", "serve", "--config", f"{name}.yml",
                           "--port", str(port)], name, port, "/-/healthy")
        return proc, port

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                self.stop(proc)


def overhead(rig: Rig, probes: int) -> list[Row]:
    proc, port = rig.serve("overhead", 1, 0)
    client = Client(port)
    for _ in range(20):
        client.get("/probe?target=t0")
    serve_total, serve_own = [], []
    for _ in range(probes):
        took, status, body = client.get("/probe?target=t0")
        assert status == 200 and metric(body, "probe_success") == 1, body[:300]
        serve_total.append(took)
        serve_own.append(metric(body, "probe_duration_seconds"))
    rig.stop(proc)
    blackbox = shutil.which("prometheus-blackbox-exporter")
    rows = []
    serve_over = [t - o for t, o in zip(serve_total, serve_own, strict=True)]
    rows.append(Row("serve: /probe latency, median (1 target, min_interval 0)",
                    f"{statistics.median(serve_total) * 1000:.1f} ms"))
    rows.append(Row("serve: the gate's own time (probe_duration_seconds), median",
                    f"{statistics.median(serve_own) * 1000:.1f} ms"))
    rows.append(Row("serve: overhead per probe (latency − gate), median / p99",
                    f"{statistics.median(serve_over) * 1000:.1f} / "
                    f"{pct(serve_over, 0.99) * 1000:.1f} ms"))
    if blackbox is None:
        rows.append(Row("blackbox_exporter", "not installed (apt-get install "
                                             "prometheus-blackbox-exporter)"))
        return rows
    (rig.folder / "blackbox.yml").write_text(
        "modules:\n  http_2xx:\n    prober: http\n    timeout: 5s\n    http:\n"
        f"      headers:\n        Authorization: Bearer {STUB_KEY}\n")
    bport = free_port()
    bproc = rig.start([blackbox, "--config.file=blackbox.yml",
                       f"--web.listen-address=127.0.0.1:{bport}"], "blackbox", bport,
                      "/-/healthy")
    target = urllib.parse.quote(f"http://127.0.0.1:{rig.stub_port}/v1/models", safe="")
    client = Client(bport)
    for _ in range(20):
        client.get(f"/probe?target={target}&module=http_2xx")
    bb_total, bb_own = [], []
    for _ in range(probes):
        took, status, body = client.get(f"/probe?target={target}&module=http_2xx")
        assert status == 200 and metric(body, "probe_success") == 1, body[:300]
        bb_total.append(took)
        bb_own.append(metric(body, "probe_duration_seconds"))
    rig.stop(bproc)
    bb_over = [t - o for t, o in zip(bb_total, bb_own, strict=True)]
    rows.append(Row("blackbox_exporter: /probe latency, median (GET /v1/models)",
                    f"{statistics.median(bb_total) * 1000:.1f} ms"))
    rows.append(Row("blackbox_exporter: its own probe_duration_seconds, median",
                    f"{statistics.median(bb_own) * 1000:.1f} ms"))
    rows.append(Row("blackbox_exporter: overhead per probe (latency − probe), median / p99",
                    f"{statistics.median(bb_over) * 1000:.1f} / "
                    f"{pct(bb_over, 0.99) * 1000:.1f} ms"))
    rows.append(Row("serve's overhead / blackbox_exporter's (medians)",
                    f"{statistics.median(serve_over) / statistics.median(bb_over):.2f}×"))
    return rows


def cached(rig: Rig, scrapes: int) -> list[Row]:
    proc, port = rig.serve("cached", 100, 3600)
    warm = Client(port)
    for i in range(100):
        assert warm.get(f"/probe?target=t{i}")[1] == 200
    rows = []
    for clients in (1, 4):
        times: list[float] = []
        lock = threading.Lock()

        def loop(seed: int, count: int, times: list[float] = times,
                 lock: threading.Lock = lock) -> None:
            client, rnd, mine = Client(port), random.Random(seed), []
            for _ in range(count):
                took, status, body = client.get(f"/probe?target=t{rnd.randrange(100)}")
                assert status == 200 and "chat_smoke_probe_cache_age_seconds" in body
                mine.append(took)
            with lock:
                times.extend(mine)

        threads = [threading.Thread(target=loop, args=(i, scrapes // clients))
                   for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        p99 = pct(times, 0.99) * 1000
        rows.append(Row(f"cached scrape latency, 100 targets, {len(times)} scrapes from "
                        f"{clients} client(s) at once: p50 / p99",
                        f"{statistics.median(times) * 1000:.2f} / {p99:.2f} ms", "p99 ≤ 5 ms",
                        p99 <= 5.0))
    own = Client(port).get("/metrics")[2]
    probes = sum(float(line.rsplit(" ", 1)[1]) for line in own.splitlines()
                 if line.startswith("chat_smoke_exporter_probes_total{"))
    rig.stop(proc)
    rows[-1].note = f"{probes:.0f} probes sent in all: the 100 warm-ups"
    return rows


def memory(rig: Rig, probes: int) -> list[Row]:
    proc, port = rig.serve("memory", 4, 0)
    clients = [Client(port) for _ in range(4)]

    def probes_sent() -> float:
        own = Client(port).get("/metrics")[2]
        return sum(float(line.rsplit(" ", 1)[1]) for line in own.splitlines()
                   if line.startswith("chat_smoke_exporter_probes_total{"))

    def run(total: int) -> None:
        # Client i scrapes target i only, one scrape after the other: with min_interval 0
        # every scrape is a probe (nothing shared, nothing cached).
        def loop(index: int) -> None:
            for _ in range(total // 4):
                took, status, _ = clients[index].get(f"/probe?target=t{index}")
                assert status == 200
        threads = [threading.Thread(target=loop, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    run(1000)  # warm-up
    time.sleep(0.5)
    rss0, threads0, fds0, _ = proc_stats(proc.pid)
    sent0, began = probes_sent(), time.monotonic()
    run(probes)
    took = time.monotonic() - began
    sent = probes_sent() - sent0
    time.sleep(0.5)
    rss1, threads1, fds1, _ = proc_stats(proc.pid)
    rig.stop(proc)
    grew = rss1 - rss0
    return [Row(f"RSS after warm-up → after {sent:,.0f} more probes",
                f"{rss0:.1f} → {rss1:.1f} MB (+{grew:.1f} MB)", "≤ +5 MB", grew <= 5.0,
                f"{sent / took:.0f} probes/s, 4 at a time"),
            Row("threads, open fds: after warm-up → after",
                f"{threads0} → {threads1}, {fds0} → {fds1}", "no growth",
                threads1 <= threads0 and fds1 <= fds0)]


def throughput(rig: Rig, seconds: int, targets: int = 200, interval: int = 15) -> list[Row]:
    prometheus = shutil.which("prometheus")
    if prometheus is None:
        return [Row("throughput", "prometheus not installed (apt-get install prometheus)")]
    proc, port = rig.serve("throughput", targets, 0, concurrency=16)
    names = [f"t{i}" for i in range(targets)]
    config = {
        "global": {"scrape_interval": f"{interval}s", "scrape_timeout": "10s",
                   "evaluation_interval": f"{interval}s"},
        "scrape_configs": [{
            "job_name": "chat-smoke", "metrics_path": "/probe",
            "static_configs": [{"targets": names}],
            "relabel_configs": [
                {"source_labels": ["__address__"], "target_label": "__param_target"},
                {"source_labels": ["__param_target"], "target_label": "instance"},
                {"target_label": "__address__", "replacement": f"127.0.0.1:{port}"}]}]}
    (rig.folder / "prometheus.yml").write_text(json.dumps(config))
    pport = free_port()
    _, _, _, cpu0 = proc_stats(proc.pid)
    began = time.monotonic()
    prom = rig.start([prometheus, "--config.file=prometheus.yml",
                      f"--storage.tsdb.path={rig.folder / 'tsdb'}",
                      f"--web.listen-address=127.0.0.1:{pport}"], "prometheus", pport,
                     "/-/ready")
    time.sleep(seconds)
    _, _, _, cpu1 = proc_stats(proc.pid)
    wall = time.monotonic() - began
    window = f"{seconds}s"

    def query(expr: str) -> float:
        conn = http.client.HTTPConnection("127.0.0.1", pport, timeout=30)
        conn.request("GET", "/api/v1/query?query=" + urllib.parse.quote(expr))
        data = json.loads(conn.getresponse().read())["data"]["result"]
        return float(data[0]["value"][1]) if data else 0.0

    scrapes = query(f'sum(count_over_time(up{{job="chat-smoke"}}[{window}]))')
    failed = query(f'sum(count_over_time((up{{job="chat-smoke"}} == 0)[{window}:]))')
    slowest = query(f'max(max_over_time(scrape_duration_seconds{{job="chat-smoke"}}'
                    f'[{window}]))')
    own = Client(port).get("/metrics")[2]
    probes = sum(float(line.rsplit(" ", 1)[1]) for line in own.splitlines()
                 if line.startswith("chat_smoke_exporter_probes_total{"))
    rig.stop(prom)
    rig.stop(proc)
    share = (cpu1 - cpu0) / wall
    return [Row(f"{targets} targets every {interval} s for {seconds} s (real Prometheus): "
                f"serve's CPU", f"{share * 100:.1f} % of one core "
                f"({share * 50:.1f} % of the 2-core machine)", "—", None,
                f"{probes:.0f} probes"),
            Row("scrapes seen / failed or timed out (up == 0), slowest scrape",
                f"{scrapes:.0f} / {failed:.0f}, {slowest * 1000:.0f} ms", "none timed out",
                failed == 0)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer probes, 30 s of load")
    parser.add_argument("--only", action="append",
                        choices=["overhead", "cached", "memory", "throughput"])
    args = parser.parse_args()
    missing = [p for p in ("prometheus", "prometheus-blackbox-exporter") if not shutil.which(p)]
    if missing:
        print(f"note: {', '.join(missing)} missing: apt-get install {' '.join(PACKAGES)}")
    folder = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    print(f"logs in {folder}")
    rig = Rig(folder)
    rows: list[Row] = []
    try:
        for step in args.only or ["overhead", "cached", "memory", "throughput"]:
            if step == "overhead":
                rows += overhead(rig, 100 if args.quick else 300)
            elif step == "cached":
                rows += cached(rig, 2000 if args.quick else 10000)
            elif step == "memory":
                rows += memory(rig, 2000 if args.quick else 10000)
            elif step == "throughput":
                rows += throughput(rig, 30 if args.quick else 120)
    finally:
        rig.close()
    print(f"chat-smoke serve bench — {machine()}")
    print(table(rows))


if __name__ == "__main__":
    main()

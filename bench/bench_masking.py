"""Masking cost against long secrets (issue 26, class 9): the same gate run, side by side,
without a secret header and with a 100 KB secret header value, against a loopback server
that answers with a 1 MB body (a chat completion whose answer is 1 MB of text, and in the
echo variant, an error body that quotes the secret once). Goal: with the secret, at most
2x the time of the run without it. Each figure is the median of interleaved runs.

    python bench/bench_masking.py [--runs 5]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import string
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, SCRATCH, machine, median  # noqa: E402

BODY_BYTES = 1024 * 1024
# http.server refuses a header line over 64 KiB (431); a gateway in front of a real
# endpoint takes more, and the point is the gate's own cost: let the loopback server read it.
http.client._MAXLINE = 4 * 1024 * 1024  # type: ignore[attr-defined]
SECRET_BYTES = 100 * 1024
_ALPHABET = string.ascii_letters + string.digits + "-_"


class _Handler(BaseHTTPRequestHandler):
    server: Any

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        secret = self.headers.get("X-Api-Token", "")
        if self.path.startswith("/echo/") and secret:
            body = json.dumps({"error": {
                "message": f"bad token {secret} " + self.server.filler[: BODY_BYTES // 2],
                "type": "invalid_request_error", "code": "bad_token"}}).encode()
            status = 400
        else:
            body = json.dumps({
                "id": "chatcmpl-bench", "object": "chat.completion", "created": 1,
                "model": "m", "choices": [{"index": 0, "finish_reason": "stop", "message": {
                    "role": "assistant", "content": "pong " + self.server.filler}}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }).encode()
            status = 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _words(size: int) -> str:
    """Text like a model's: words of letters and digits (tokens the masker looks at)."""
    out: list[str] = []
    total = 0
    while total < size:
        word = "".join(secrets.choice(_ALPHABET) for _ in range(secrets.randbelow(12) + 3))
        out.append(word)
        total += len(word) + 1
    return " ".join(out)[:size]


def _run(url: str, secret: str | None, folder: Path, expected: int) -> float:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("COMETAPI_", "SMOKE_", "GITHUB_"))}
    env["COMETAPI_API_KEY"] = "sk-bench-" + "k" * 40
    argv = [sys.executable, "-m", "smoke", "run", "--base-url", url, "--model", "m",
            "--retries", "0", "--report-json", str(folder / "report.json"),
            "--report-junit", str(folder / "junit.xml"), "--summary", str(folder / "s.md")]
    if secret is not None:
        env["BENCH_SECRET"] = secret
        argv += ["--header", "X-Api-Token: ${BENCH_SECRET}"]
    started = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, cwd=folder,
                          timeout=600)
    took = time.perf_counter() - started
    if proc.returncode != expected:
        raise SystemExit(f"unexpected exit {proc.returncode}: {proc.stdout}{proc.stderr}")
    if secret is not None and secret[:40] in proc.stdout + proc.stderr + "".join(
            p.read_text() for p in folder.iterdir()):
        raise SystemExit("the secret leaked")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.filler = _words(BODY_BYTES)  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    secret = "".join(secrets.choice(_ALPHABET) for _ in range(SECRET_BYTES))
    folder = SCRATCH / "masking"
    folder.mkdir(parents=True, exist_ok=True)
    os.chdir(ROOT)
    rows = []
    for name, url, codes in (("1 MB answer", f"{base}/v1", (0, 0)),
                             ("1 MB error echoing it", f"{base}/echo/v1", (0, 4))):
        plain: list[float] = []
        masked: list[float] = []
        for _ in range(args.runs):
            plain.append(_run(url, None, folder, codes[0]))
            masked.append(_run(url, secret, folder, codes[1]))
        ratio = median(masked) / median(plain)
        rows.append((name, median(plain), median(masked), ratio))
    server.shutdown()
    print(f"machine: {machine()}")
    print("| body | without a secret (s) | with a 100 KB secret header (s) | ratio | goal ≤ 2x |")
    print("|---|---|---|---|---|")
    for name, plain_s, masked_s, ratio in rows:
        print(f"| {name} | {plain_s:.3f} | {masked_s:.3f} | {ratio:.2f}x | "
              f"{'yes' if ratio <= 2 else '**NO**'} |")


if __name__ == "__main__":
    main()

"""The config file is untrusted input (issue 11, item 5), and every setting is bounded
(item 4): each problem is one clear line with the line number, exit 2 (config), every
report written, nothing sent, quickly and in bounded memory."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.cli import KEY
from tests.support.env import scrubbed
from tests.support.hardkit import assert_reports, gate_all, record
from tests.support.rawserver import RawServer

NOT_SENT = b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"

BILLION_LAUGHS = "\n".join([
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]",
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]",
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]",
    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]",
    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]",
    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]",
    "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]",
    "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]",
    "model: *i",
]) + "\n"
# The bomb inside keys the schema knows: extra_body takes any object.
BOMB_IN_EXTRA_BODY = (
    'model: m\nextra_body:\n  a: &a ["x","x","x","x","x","x","x","x","x","x"]\n'
    + "".join(f"  {c}: &{c} [{','.join(['*' + p] * 10)}]\n"
              for p, c in zip("abcdefgh", "bcdefghi", strict=True))
)

FILES: dict[str, tuple[bytes, str]] = {
    "billion-laughs": (BILLION_LAUGHS.encode(), "alias-expansion bomb"),
    "bomb-in-extra-body": (BOMB_IN_EXTRA_BODY.encode(), "alias-expansion bomb"),
    "recursive-alias": (b"model: m\nextra_body: &x\n  self: *x\n", "refers to the value"),
    "duplicate-key": (b"model: a\ntimeout: 5\nmodel: b\n",
                      "line 3: duplicate key 'model' (first at line 1)"),
    "duplicate-nested-key": (b"model: m\nexpect:\n  contains: a\n  contains: b\n",
                             "line 4: duplicate key 'contains'"),
    "a-list": (b"- model: m\n- timeout: 5\n", "line 1: expected a mapping"),
    "a-scalar": (b"# a comment\njust some text\n", "line 2: expected a mapping"),
    "tab-indent": (b"model: m\nexpect:\n\tcontains: pong\n", "line 3: a tab character"),
    "nul-byte": (b"model: m\ntimeout: 5\x00\n", "line 2: contains a NUL byte"),
    "not-utf8": (b"model: m\nenvironment: caf\xe9\n", "line 2: not UTF-8"),
    "two-documents": (b"model: m\n---\nmodel: n\n", "invalid YAML at line 2"),
    "control-char": (b"model: m\nenvironment: a\x07b\n",
                     "invalid YAML at line 2: a character YAML does not allow (U+0007)"),
    "deep-nesting": (b"model: m\nextra_body: {a: " + b"[" * 5000 + b"]" * 5000 + b"}\n",
                     "nested too deeply"),
    "too-large": (b"model: m\n" + b"# padding padding padding\n" * 45_000,
                  "larger than 1024 KiB"),
    "nan": (b"model: m\ntimeout: .nan\n", "timeout: must be a finite number"),
    "inf": (b"model: m\ndeadline: .inf\n", "deadline: must be a finite number"),
    "minus-inf": (b"model: m\ntemperature: -.inf\n", "temperature: must be a finite"),
    "1e999": (b"model: m\nconnect_timeout: 1.0e+999\n", "connect_timeout: must be a finite"),
    "absurd-timeout": (b"model: m\ntimeout: 1.0e+12\n", "timeout: must be at most 3600"),
    "absurd-temperature": (b"model: m\ntemperature: 50\n", "temperature: must be at most 2"),
    "absurd-max-tokens": (b"model: m\nmax_tokens: 1000000000000\n",
                          "max_tokens: must be at most"),
    "negative-stall": (b"model: m\nstall_timeout: -1\n", "stall_timeout: must be greater"),
    "nan-in-extra-body": (b"model: m\nextra_body: {top_p: .nan}\n", "not finite"),
    "huge-extra-body": (b"model: m\nextra_body: {pad: '" + b"x" * 70_000 + b"'}\n",
                        "extra_body: 700"),
    "huge-string": (b"model: m\nsystem_prompt: '" + b"y" * 70_000 + b"'\n",
                    "system_prompt: 70000 characters"),
    "nul-escape-in-a-path": (b'model: m\napi_key_file: "key\\0.txt"\n',
                             "api_key_file: contains a NUL character"),
    "key-in-file": (f"model: m\napi_key: {KEY}\n".encode(), "never read from the config"),
}


@pytest.mark.parametrize("name", list(FILES))
def test_a_hostile_config_file_is_one_clear_line(tmp_path: Path, name: str) -> None:
    content, expected = FILES[name]
    (tmp_path / "chat-smoke.yml").write_bytes(content)
    with RawServer(NOT_SENT) as server:
        run, wall = gate_all(tmp_path, "--base-url", server.url, timeout=60)
        assert server.requests == []
    report = assert_reports(run, tmp_path, KEY)
    assert (run.code, report["category"]) == (2, "config"), run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert expected in lines[0] and "chat-smoke.yml" in lines[0], lines[0]
    assert wall < 20, f"{name} took {wall:.1f}s"
    record(f"config file: {name}", "config", run.code, wall)


# Runs the gate as its only child and prints the exit code and the child's peak RSS (kB):
# the test process's own RUSAGE_CHILDREN would also count every earlier test's children
# (a browser, a container engine, a proxy).
_PEAK = (
    "import resource, subprocess, sys\n"
    "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "sys.stderr.write(p.stderr)\n"
    "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def test_an_alias_bomb_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    (tmp_path / "chat-smoke.yml").write_text(BILLION_LAUGHS)
    env = scrubbed(COMETAPI_API_KEY=KEY)
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", _PEAK, sys.executable, "-m", "smoke", "run",
         "--base-url", "http://127.0.0.1:9/v1", "--report-json", str(tmp_path / "r.json")],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    wall = time.monotonic() - started
    code, peak_kb = (int(x) for x in proc.stdout.split())
    assert code == 2 and "alias-expansion bomb" in proc.stderr, proc.stderr
    # The gate stays an ordinary Python process, nowhere near the gigabytes an expansion
    # would take.
    assert peak_kb < 300_000, f"peak RSS {peak_kb} kB"
    print(f"alias bomb refused: peak RSS {peak_kb} kB")
    assert wall < 20


@pytest.mark.parametrize(("args", "expected"), [
    (("--timeout", "nan"), "--timeout: expected a finite number"),
    (("--deadline", "inf"), "--deadline: expected a finite number"),
    (("--connect-timeout", "-inf"), "--connect-timeout: expected a finite number"),
    (("--stall-timeout", "1e999"), "--stall-timeout: expected a finite number"),
    (("--timeout", "-1"), "--timeout: must be greater than 0"),
    (("--deadline", "1e9"), "--deadline: must be at most 86400"),
    (("--retries", "1e3"), "--retries: expected an integer"),
    (("--retries", "9" * 5000), "--retries: expected an integer"),
    (("--max-total-tokens", "99999999999"), "--max-total-tokens: must be at most"),
    (("--cert-warn-days", "-3"), "--cert-warn-days: must be at least 0"),
], ids=lambda value: value if isinstance(value, str) else " ".join(value)[:30])
def test_an_absurd_number_is_a_config_error(tmp_path: Path, args: tuple[str, ...],
                                            expected: str) -> None:
    with RawServer(NOT_SENT) as server:
        run, wall = gate_all(tmp_path, "--base-url", server.url, "--model", "m", *args)
        assert server.requests == []
    report = assert_reports(run, tmp_path, KEY)
    assert (run.code, report["category"]) == (2, "config")
    assert expected in run.stderr, run.stderr
    record(f"setting: {' '.join(args)[:24]}", "config", run.code, wall)


@pytest.mark.parametrize(("name", "value"), [("SMOKE_TIMEOUT", "NaN"),
                                             ("SMOKE_DEADLINE", "Infinity"),
                                             ("SMOKE_TEMPERATURE", "3")])
def test_an_absurd_number_from_the_environment(tmp_path: Path, name: str, value: str) -> None:
    run, _ = gate_all(tmp_path, "--base-url", "http://127.0.0.1:9/v1", "--model", "m",
                      env={name: value})
    report = assert_reports(run, tmp_path, KEY)
    assert (run.code, report["category"]) == (2, "config")
    assert name in run.stderr


def test_loading_the_configuration_counts_against_the_deadline(tmp_path: Path) -> None:
    # The key arrives through a pipe 2 s late (a secret manager that is slow to answer):
    # with --deadline 1, nothing is left for the request once the configuration is loaded.
    import threading

    from smoke.stub import StubServer

    pipe = tmp_path / "key.fifo"
    os.mkfifo(pipe)

    def slow_secret_manager() -> None:
        # Open first: that blocks until the gate opens its end, so the 2 s delay starts
        # when the gate begins to wait, however slowly it started (a sleep before the open
        # let a slow start use up the delay, and the key then came in time).
        with pipe.open("w") as out:
            time.sleep(2)
            out.write(KEY + "\n")

    writer = threading.Thread(target=slow_secret_manager)
    writer.start()
    with StubServer(key=KEY) as stub:
        run, wall = gate_all(tmp_path, "--base-url", stub.url("pass"), "--model", "stub-model",
                             "--api-key-file", str(pipe), "--deadline", "1", key=None)
    writer.join(10)
    report = assert_reports(run, tmp_path, KEY)
    assert (run.code, report["category"]) == (5, "timeout"), run.stdout + run.stderr
    check = next(c for c in report["checks"] if c["id"] == "positive:stub-model")
    assert "deadline" in check["message"]
    assert report["duration_ms"] >= 1000  # the wait for the key is inside the run
    record("config load slower than --deadline", "timeout", run.code, wall)

"""SDK parity (``--sdk-parity``) against the stub over loopback, the task ordering it relies
on, and the config error when the ``chat-smoke[sdk]`` extra is missing.

tests/integration/test_litellm_gate.py runs parity against the real LiteLLM proxy.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from smoke.categories import Category
from smoke.checks.sdk_parity import Side, mismatch
from smoke.checks.task import Task
from smoke.http.deadline import Deadline
from smoke.results import Check
from smoke.stub import StubServer
from tests.support.cli import KEY, Run, run_cli
from tests.support.env import scrubbed
from tests.support.pool import run_tasks

PARITY = "sdk-parity:stub-model"
# Makes ``openai`` unimportable, as when the extra is not installed: with a None entry in
# sys.modules, ``import openai`` raises ImportError and importlib.util.find_spec returns None.
WITHOUT_OPENAI = ("import sys; sys.modules['openai'] = None; from smoke.cli import main; "
                  "main(sys.argv[1:]); ")


def _parity(tmp_path: Path, url: str, *args: str) -> Run:
    run = run_cli(tmp_path, "--base-url", url, "--model", "stub-model", "--sdk-parity",
                  "--deadline", "30", *args)
    assert run.report is not None, run.stderr
    assert "Traceback" not in run.stderr and KEY not in run.all_output
    return run


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_parity_passes_against_the_stub(tmp_path: Path, stub: StubServer) -> None:
    run = _parity(tmp_path, stub.url("pass~parity"))
    assert run.code == 0, run.stdout
    check = run.check(PARITY)
    assert (check["kind"], check["outcome"], check["category"]) == ("parity", "pass", None)
    assert (check["http_status"], check["attempts"]) == (200, 1)
    assert check["request_id"].startswith("req_") and check["response_model"] == "stub-model"
    assert check["details"]["sdk"].startswith("openai ")
    # The SDK's request spends tokens too: its usage counts in the run's total.
    assert check["usage"]["total_tokens"] == 20 and run.report["usage_total_tokens"] == 40
    assert check["message"].startswith("both answered 'pong' (model 'stub-model'")
    # One raw request, then one from the SDK (its headers), in that order.
    sent = [{k.lower(): v for k, v in r["headers"].items()} for r in stub.requests
            if r["scenario"] == "pass~parity"]
    assert len(sent) == 2
    assert sent[0]["user-agent"].startswith("chat-smoke/") and "x-stainless-lang" not in sent[0]
    assert sent[1]["x-stainless-lang"] == "python"
    assert sent[1]["user-agent"].startswith("OpenAI/Python")


def test_parity_mismatch_fails_protocol_naming_both_sides(tmp_path: Path,
                                                          stub: StubServer) -> None:
    run = _parity(tmp_path, stub.url("sdk-mismatch"))
    assert (run.code, run.report and run.report["category"]) == (4, "protocol")
    assert run.check("positive:stub-model")["outcome"] == "pass"
    check = run.check(PARITY)
    assert (check["outcome"], check["category"]) == ("fail", "protocol")
    message = check["message"]
    assert "raw HTTP answered 'pong' (model 'stub-model')" in message
    assert "SDK answered 'ping' (model 'stub-model-sdk-route')" in message
    assert "the returned model differs" in message and "X-Stainless" in message


@pytest.mark.parametrize(("scenario", "args", "category", "code", "attempts"), [
    ("bad-key", [], "auth", 3, 1),
    ("server-error", ["--retries", "1"], "upstream", 5, 2),
    ("slow:3", ["--timeout", "1", "--retries", "0"], "timeout", 5, 1),
    ("html-200", [], "protocol", 4, 1),
], ids=["auth", "upstream-retried", "timeout", "protocol"])
def test_parity_both_fail_in_the_same_category(tmp_path: Path, stub: StubServer,
                                               scenario: str, args: list[str], category: str,
                                               code: int, attempts: int) -> None:
    run = _parity(tmp_path, stub.url(scenario), *args)
    assert (run.code, run.report and run.report["category"]) == (code, category)
    raw, check = run.check("positive:stub-model"), run.check(PARITY)
    assert raw["category"] == category
    assert check["outcome"] == "pass", check["message"]
    assert check["message"].startswith(f"both failed as {category}")
    # The SDK got the same retry budget (max_retries = --retries) as the raw check.
    assert check["attempts"] == raw["attempts"] == attempts


def test_what_counts_as_a_mismatch() -> None:
    raw = Side(None, "pong", "m", holds=True)
    # Sampling may word two answers differently: a mismatch only if the condition differs.
    assert mismatch(raw, Side(None, "Pong.", "m", holds=True)) is None
    assert mismatch(raw, Side(None, "ping", "m")) == "the output condition holds for one " \
        "answer only"
    assert mismatch(raw, Side(None, "pong", "m-2", holds=True)) == "the returned model differs"
    assert mismatch(Side(Category.AUTH), Side(Category.AUTH)) is None
    assert mismatch(Side(Category.AUTH), Side(Category.PERMISSION)) == "they failed in " \
        "different categories"
    assert mismatch(raw, Side(Category.TIMEOUT)) == "one side answered, the other failed"


def test_parity_connection_refused_on_both_sides(tmp_path: Path) -> None:
    run = _parity(tmp_path, f"http://127.0.0.1:{_closed_port()}/v1", "--retries", "0")
    assert (run.code, run.report and run.report["category"]) == (5, "connect")
    check = run.check(PARITY)
    assert check["outcome"] == "pass" and check["message"].startswith("both failed as connect")


@pytest.fixture(scope="module")
def tls_stub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[StubServer, Path]]:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    bundle = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    with StubServer(key=KEY, tls=context) as server:
        yield server, bundle


def test_parity_uses_the_ca_bundle(tmp_path: Path, tls_stub: tuple[StubServer, Path]) -> None:
    server, bundle = tls_stub
    trusted = _parity(tmp_path, server.url(), "--ca-bundle", str(bundle))
    assert trusted.code == 0 and trusted.check(PARITY)["outcome"] == "pass", trusted.stdout
    untrusted = _parity(tmp_path, server.url(), "--retries", "0")
    assert untrusted.report and untrusted.report["category"] == "tls"
    assert untrusted.check(PARITY)["message"].startswith("both failed as tls")


def test_sdk_parity_without_the_extra_is_a_config_error(tmp_path: Path,
                                                        stub: StubServer) -> None:
    # The fix names the interpreter that runs chat-smoke, so it works wherever it is pasted
    # (chat-smoke is not on PyPI yet: `pip install 'chat-smoke[sdk]'` could not succeed).
    proc = _without_openai(tmp_path, stub, "--sdk-parity")
    assert proc.returncode == 2, proc.stdout
    assert "--sdk-parity: SDK parity sends the request through the official openai SDK, " \
        f"which is not installed: {sys.executable} -m pip install 'openai>=1.40' " \
        "(with pipx: pipx inject chat-smoke openai), or turn sdk_parity off. See https://" \
        in proc.stderr
    assert "chat-smoke[sdk]" not in proc.stderr
    assert "Traceback" not in proc.stderr


def test_sdk_parity_without_the_extra_in_the_image_says_how_to_build_one(
        tmp_path: Path, stub: StubServer) -> None:
    # In the image (the Dockerfile sets CHAT_SMOKE_IMAGE) a pip install in the running
    # container would be lost with it: the fix is an image of one's own, two lines.
    proc = _without_openai(tmp_path, stub, "--sdk-parity",
                           env={"CHAT_SMOKE_IMAGE": "ghcr.io/example/chat-smoke"})
    assert proc.returncode == 2, proc.stdout
    assert "which is not installed in this image" in proc.stderr
    assert "`FROM ghcr.io/example/chat-smoke:" in proc.stderr
    assert "`RUN pip install 'openai>=1.40'`" in proc.stderr
    assert "container.md#sdk-parity-in-the-image" in proc.stderr
    assert "-m pip install" not in proc.stderr


def test_no_hint_tells_a_user_to_install_an_extra_from_pypi() -> None:
    # chat-smoke is not published yet; and in the image no pip install can last.
    root = Path(__file__).resolve().parents[1] / "smoke"
    offenders = [str(p) for p in root.rglob("*.py") if "pip install 'chat-smoke[" in
                 p.read_text("utf-8")]
    assert offenders == []


def test_gate_without_the_extra_runs_when_parity_is_off(tmp_path: Path,
                                                        stub: StubServer) -> None:
    # openai is imported only by the parity check: without it, the rest of the gate works.
    proc = _without_openai(tmp_path, stub)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _without_openai(tmp_path: Path, stub: StubServer, *args: str,
                    env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = scrubbed(**(env or {}), COMETAPI_API_KEY=KEY)
    argv = [sys.executable, "-c", WITHOUT_OPENAI, "run", "--base-url", stub.base_url,
            "--model", "stub-model", *args]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60,
                          cwd=tmp_path)


# ------------------------------------------------------------------ Task.after in run_tasks


def test_a_task_after_another_begins_once_it_finished() -> None:
    first = Check("positive:m", "positive", "first")
    seen: list[str] = []

    def slow(check: Check) -> None:
        time.sleep(0.3)
        check.outcome = "pass"

    def reader(check: Check) -> None:
        seen.append(first.outcome)
        check.outcome = "pass"

    second = Check("sdk-parity:m", "parity", "second")
    # Listed first, with one slot: it must wait without holding the slot the other needs.
    tasks = [Task(second, reader, after=first), Task(first, slow)]
    started = time.monotonic()
    checks = run_tasks(tasks, Deadline(10), concurrency=1)
    assert seen == ["pass"] and [c.outcome for c in checks] == ["pass", "pass"]
    assert time.monotonic() - started < 2


def test_a_task_after_one_that_outlives_the_deadline_times_out() -> None:
    first = Check("positive:m", "positive", "first")
    release = threading.Event()
    second = Check("sdk-parity:m", "parity", "second")
    tasks = [Task(first, lambda c: release.wait(5)),
             Task(second, lambda c: None, after=first)]
    checks = run_tasks(tasks, Deadline(0.5), concurrency=2)
    release.set()
    assert [c.category for c in checks] == [Category.TIMEOUT, Category.TIMEOUT]
    assert checks[1].message.startswith("the deadline ran out before positive:m finished")

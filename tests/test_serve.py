"""chat-smoke serve (issue 24): the multi-target exporter against a real stub on loopback.

The open-proxy refusal, min_interval, single flight, the concurrency cap, the budget, the
scrape timeout, the key in no exposition, reload (HTTP and SIGHUP) with a bad file, and
SIGTERM cancelling a probe in flight."""

from __future__ import annotations

import http.client
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from smoke.serve.server import _drain as drain
from smoke.stub import StubServer
from tests.support.cli import KEY
from tests.support.env import scrubbed
from tests.support.servekit import (
    ServeProcess,
    check_metrics,
    completions,
    eventually,
    exporter,
    families,
    get,
    value,
    write_config,
)


@pytest.fixture()
def fresh() -> StubServer:
    """A stub of the test's own, so its request log counts only this test's probes."""
    with StubServer(key=KEY) as server:
        yield server


def test_a_probe_answers_with_the_target_s_metrics(tmp_path: Path, fresh: StubServer) -> None:
    config = write_config(tmp_path / "chat-smoke.yml",
                          {"prod-eu": {"base_url": fresh.url(), "environment": "prod"}},
                          modules={"stream": {"stream": True}})
    with exporter(config) as server:
        base = f"http://127.0.0.1:{server.port}"
        status, text, headers = get(f"{base}/probe?target=prod-eu")
        assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
        check_metrics(text)
        found = families(text)
        assert value(found, "probe_success", target="prod-eu", environment="prod") == 1
        assert value(found, "probe_http_status_code", target="prod-eu") == 200
        assert value(found, "chat_smoke_check_success", check="positive:stub-model") == 1
        assert value(found, "chat_smoke_probe_cache_age_seconds") == 0
        assert value(found, "chat_smoke_budget_exhausted") == 0
        status, text, _ = get(f"{base}/probe?target=prod-eu&module=stream")
        assert status == 200
        assert value(families(text), "chat_smoke_check_success",
                     check="stream:stub-model") == 1
        status, page, headers = get(f"{base}/")
        assert status == 200 and "prod-eu" in page and "stream" in page
        assert headers["Content-Type"].startswith("text/html")
        assert get(f"{base}/-/healthy")[0] == 200 and get(f"{base}/-/ready")[0] == 200
        assert get(f"{base}/-/healthy", method="HEAD")[0] == 200
        assert get(f"{base}/probe?target=prod-eu", method="HEAD")[0] == 405  # costs money
        status, own, _ = get(f"{base}/metrics")
        check_metrics(own)
        assert value(families(own), "chat_smoke_exporter_probes_total", target="prod-eu",
                     result="pass") == 2


@pytest.mark.parametrize("query", [
    "target=nope", "", "target=", "target=prod&base_url=http://evil.example/v1",
    "target=prod&module=nope", "target=prod&target=other",
    "target=http://127.0.0.1:1/v1", "module=x",
])
def test_the_query_names_a_configured_target_or_is_refused(
        tmp_path: Path, fresh: StubServer, query: str) -> None:
    """Not an open proxy: nothing but a configured name is accepted, and nothing is sent."""
    config = write_config(tmp_path / "c.yml", {"prod": {"base_url": fresh.url()},
                                               "other": {"base_url": fresh.url()}})
    with exporter(config) as server:
        status, text, _ = get(f"http://127.0.0.1:{server.port}/probe?{query}")
    assert status == 400, text
    assert text.startswith("chat-smoke serve: ") and text.count("\n") == 1
    assert fresh.requests == []


def test_ten_concurrent_scrapes_send_one_request(tmp_path: Path, fresh: StubServer) -> None:
    config = write_config(tmp_path / "c.yml",
                          {"slow": {"base_url": fresh.url("slow:2")}},
                          serve={"min_interval": 0})
    with exporter(config) as server:
        url = f"http://127.0.0.1:{server.port}/probe?target=slow"
        with ThreadPoolExecutor(10) as pool:
            answers = list(pool.map(lambda _: get(url), range(10)))
        assert [a[0] for a in answers] == [200] * 10
        assert all(value(families(a[1]), "probe_success") == 1 for a in answers)
        assert completions(fresh) == 1
        own = families(get(f"http://127.0.0.1:{server.port}/metrics")[1])
        assert value(own, "chat_smoke_exporter_shared_probes_total", target="slow") == 9
        get(url)  # min_interval 0: the next scrape probes again
        assert completions(fresh) == 2


def test_min_interval_serves_the_last_result_with_its_age(tmp_path: Path,
                                                         fresh: StubServer) -> None:
    config = write_config(tmp_path / "c.yml",
                          {"a": {"base_url": fresh.url(), "min_interval": 2}})
    with exporter(config) as server:
        url = f"http://127.0.0.1:{server.port}/probe?target=a"
        first = families(get(url)[1])
        probed = time.monotonic()
        time.sleep(0.2)
        second = families(get(url)[1])
        assert completions(fresh) == 1
        assert value(first, "chat_smoke_probe_cache_age_seconds") == 0
        assert 0.15 <= value(second, "chat_smoke_probe_cache_age_seconds") < 2
        assert value(second, "chat_smoke_last_run_timestamp_seconds") == value(
            first, "chat_smoke_last_run_timestamp_seconds")
        time.sleep(max(0.0, probed + 2.1 - time.monotonic()))
        third = families(get(url)[1])
        assert completions(fresh) == 2
        assert value(third, "chat_smoke_probe_cache_age_seconds") == 0


def test_a_spent_daily_budget_sends_nothing_and_says_so(tmp_path: Path,
                                                       fresh: StubServer) -> None:
    config = write_config(tmp_path / "c.yml",
                          {"a": {"base_url": fresh.url(), "daily_requests": 2},
                           "t": {"base_url": fresh.url(), "daily_tokens": 30}},
                          serve={"min_interval": 0})
    with exporter(config) as server:
        base = f"http://127.0.0.1:{server.port}"
        for _ in range(2):
            assert value(families(get(f"{base}/probe?target=a")[1]),
                         "chat_smoke_budget_exhausted") == 0
        assert completions(fresh) == 2
        text = get(f"{base}/probe?target=a")[1]
        check_metrics(text)
        found = families(text)
        assert completions(fresh) == 2  # nothing sent
        assert value(found, "chat_smoke_budget_exhausted", target="a") == 1
        assert value(found, "probe_success") == 1  # the last result, with its age
        assert value(found, "chat_smoke_probe_cache_age_seconds") > 0
        # tokens: the stub's answer uses 20; a second probe would pass 30
        assert value(families(get(f"{base}/probe?target=t")[1]),
                     "chat_smoke_budget_exhausted") == 0
        assert value(families(get(f"{base}/probe?target=t")[1]),
                     "chat_smoke_budget_exhausted") == 1
        assert completions(fresh) == 3
        own = families(get(f"{base}/metrics")[1])
        assert value(own, "chat_smoke_exporter_budget_requests_used", target="a") == 2
        assert value(own, "chat_smoke_exporter_budget_requests_limit", target="a") == 2
        assert value(own, "chat_smoke_exporter_budget_refusals_total", target="a") == 1


def test_the_scrape_timeout_bounds_the_probe(tmp_path: Path, fresh: StubServer) -> None:
    config = write_config(tmp_path / "c.yml", {"h": {"base_url": fresh.url("hang"),
                                                    "retries": 0}},
                          serve={"scrape_timeout_margin": 1})
    with exporter(config) as server:
        began = time.monotonic()
        status, text, _ = get(f"http://127.0.0.1:{server.port}/probe?target=h",
                              headers={"X-Prometheus-Scrape-Timeout-Seconds": "3"})
        took = time.monotonic() - began
    assert status == 200
    assert 1.9 < took < 3, took  # the probe's deadline (3 - 1 s), inside Prometheus' timeout
    found = families(text)
    assert value(found, "probe_success") == 0
    assert value(found, "chat_smoke_failure_category", category="timeout") == 1


def test_the_concurrency_cap_refuses_what_can_not_start_in_time(
        tmp_path: Path, fresh: StubServer) -> None:
    config = write_config(tmp_path / "c.yml",
                          {"a": {"base_url": fresh.url("slow:1.2")},
                           "b": {"base_url": fresh.url("slow:1.2")}},
                          serve={"max_concurrent_probes": 1, "scrape_timeout_margin": 0})
    with exporter(config) as server:
        base = f"http://127.0.0.1:{server.port}"
        first = ThreadPoolExecutor(1).submit(get, f"{base}/probe?target=a")
        eventually(lambda: completions(fresh) > 0)  # a's probe holds the only slot
        status, text, _ = get(f"{base}/probe?target=b",
                              headers={"X-Prometheus-Scrape-Timeout-Seconds": "0.5"})
        assert status == 503 and "max_concurrent_probes" in text
        assert first.result()[0] == 200
        assert completions(fresh) == 1
        own = families(get(f"{base}/metrics")[1])
        assert value(own, "chat_smoke_exporter_errors_total", kind="concurrency") == 1


def test_the_key_is_in_no_exposition_page_or_log(tmp_path: Path, fresh: StubServer) -> None:
    """The key, and a secret header's value, never appear: not on a pass, an auth failure,
    a server that echoes the key, the index, /metrics or the process's log."""
    secret = "hdr-secret-" + "Z9y8X7w6V5u4T3s2"
    config = write_config(
        tmp_path / "c.yml",
        {"ok": {"base_url": fresh.url(), "headers": {"X-Api-Token": "${GW_TOKEN}"}},
         "echo": {"base_url": fresh.url("echo-key")},
         "bad": {"base_url": fresh.url("bad-key"), "negative": ["invalid-key"]}})
    serve = ServeProcess(config, env={"GW_TOKEN": secret})
    try:
        texts = [get(f"{serve.url}/probe?target={name}")[1] for name in ("ok", "echo", "bad")]
        texts += [get(f"{serve.url}/")[1], get(f"{serve.url}/metrics")[1]]
        for text in texts[:3]:
            check_metrics(text)
        assert value(families(texts[2]), "chat_smoke_failure_category", category="auth") == 1
    finally:
        serve.stop()
    seen = "".join(texts) + "".join(serve.lines)
    assert KEY not in seen and KEY[8:] not in seen and secret not in seen


def test_reload_keeps_the_old_configuration_when_the_new_one_is_bad(
        tmp_path: Path, fresh: StubServer) -> None:
    config = write_config(tmp_path / "c.yml", {"a": {"base_url": fresh.url()}})
    with exporter(config) as server:
        base = f"http://127.0.0.1:{server.port}"
        assert get(f"{base}/-/reload")[0] == 405  # GET is not a reload
        config.write_text("targets:\n  a:\n    base_url: 42\n    timeout: -1\n")
        status, text, _ = get(f"{base}/-/reload", method="POST")
        assert status == 500
        assert "the previous configuration stays" in text and "targets.a" in text
        assert get(f"{base}/probe?target=a")[0] == 200  # still the old one
        own = families(get(f"{base}/metrics")[1])
        assert value(own, "chat_smoke_exporter_config_last_reload_successful") == 0
        write_config(config, {"b": {"base_url": fresh.url()}})
        assert get(f"{base}/-/reload", method="POST")[0] == 200
        assert get(f"{base}/probe?target=a")[0] == 400
        assert get(f"{base}/probe?target=b")[0] == 200
        own = families(get(f"{base}/metrics")[1])
        assert value(own, "chat_smoke_exporter_config_last_reload_successful") == 1


def test_sighup_reloads_and_a_bad_file_says_why(tmp_path: Path, fresh: StubServer) -> None:
    config = write_config(tmp_path / "c.yml", {"a": {"base_url": fresh.url()}})
    serve = ServeProcess(config)
    try:
        config.write_text("targets: [not, a, mapping]\n")
        serve.proc.send_signal(signal.SIGHUP)
        line = serve.wait_for_line("reload failed")
        assert "keeping the previous configuration" in line and "targets" in line
        assert get(f"{serve.url}/probe?target=a")[0] == 200
        write_config(config, {"b": {"base_url": fresh.url()}})
        serve.proc.send_signal(signal.SIGHUP)
        serve.wait_for_line("configuration reloaded")
        assert get(f"{serve.url}/probe?target=b")[0] == 200
    finally:
        serve.stop()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_cancels_the_probe_in_flight_and_exits_within_a_second(
        tmp_path: Path, fresh: StubServer, sig: signal.Signals) -> None:
    config = write_config(tmp_path / "c.yml", {"h": {"base_url": fresh.url("hang")}})
    serve = ServeProcess(config)
    answers: list[tuple[int, str, dict[str, str]] | BaseException] = []

    def scrape() -> None:
        try:
            answers.append(get(f"{serve.url}/probe?target=h"))
        except OSError as exc:  # the connection closed as the process left
            answers.append(exc)

    thread = threading.Thread(target=scrape)
    thread.start()
    eventually(lambda: completions(fresh) > 0)
    assert completions(fresh) == 1  # the probe is in flight, waiting on the hung server
    began = time.monotonic()
    serve.proc.send_signal(sig)
    code = serve.proc.wait(5)
    took = time.monotonic() - began
    thread.join(5)
    assert code == 0
    assert took < 2, took  # about a second; slack for a loaded CI machine
    assert answers and (isinstance(answers[0], BaseException) or answers[0][0] == 503)
    serve.wait_for_line("stopped")


def test_a_request_counts_as_busy_until_its_answer_is_written(tmp_path: Path,
                                                              fresh: StubServer) -> None:
    config = write_config(tmp_path / "c.yml", {"h": {"base_url": fresh.url("hang")}})
    with exporter(config) as server:
        assert server.busy == 0
        # A kept-alive connection (Prometheus keeps its scrape connections open): once its
        # answer is written, the handler waits on it for the next request, which is not a
        # request being answered (the drain must not wait for idle scrapers). The count
        # drops just after the last write, so the test waits for it, with a bound.
        idle = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            idle.request("GET", "/-/healthy")
            assert idle.getresponse().read() == b"Healthy.\n"
            eventually(lambda: server.busy == 0)
            assert server.busy == 0
            thread = threading.Thread(target=get, kwargs={
                "url": f"http://127.0.0.1:{server.port}/probe?target=h", "timeout": 10},
                daemon=True)
            thread.start()
            eventually(lambda: completions(fresh) > 0)
            assert completions(fresh) == 1
            assert server.busy == 1  # the probe's scrape, waiting on the hung server
            server.exporter.prober.cancel.cancel(signal.SIGTERM, "SIGTERM")
            thread.join(10)
            eventually(lambda: server.busy == 0)
            assert server.busy == 0
        finally:
            idle.close()


def test_the_stop_drain_waits_for_answers_being_written_and_is_bounded(
        tmp_path: Path, fresh: StubServer) -> None:
    """A probe is done before its handler has written the answer: the drain waits for the
    handler (a scraper once got the 503's headers and an IncompleteRead for its body)."""
    config = write_config(tmp_path / "c.yml", {"h": {"base_url": fresh.url("hang")}})
    with exporter(config) as server:
        entered, release, left = threading.Event(), threading.Event(), threading.Event()

        def answer() -> None:
            with server.answering():
                entered.set()
                release.wait(10)
            left.set()

        threading.Thread(target=answer, daemon=True).start()
        assert entered.wait(10)
        assert server.exporter.prober.stats.in_flight == 0  # no probe: only the writing
        threading.Timer(0.2, release.set).start()
        drain(server, 10)
        assert left.is_set() and server.busy == 0

        entered.clear()
        release.clear()
        threading.Thread(target=answer, daemon=True).start()  # an answer that never ends
        assert entered.wait(10)
        try:
            drain(server, 0.1)  # returns: the drain is bounded
            assert server.busy == 1
        finally:
            release.set()


def test_a_config_without_targets_or_with_a_bad_target_does_not_start(tmp_path: Path) -> None:
    for text, words in [("model: m\n", "targets: none defined"),
                        ("model: m\ntargets:\n  a b: {}\n", "not a valid name"),
                        ("model: m\ntargets:\n  a:\n    report_json: x.json\n",
                         "not a setting of a probe"),
                        ("model: m\ntargets:\n  a: {}\nmodules:\n  m:\n    base_url: "
                         "http://127.0.0.1:1/v1\n", "check settings only")]:
        (tmp_path / "c.yml").write_text(text)
        done = subprocess.run([sys.executable, "-m", "smoke", "serve", "--config", "c.yml",
                               "--port", "0"], cwd=tmp_path, capture_output=True, text=True,
                              env=scrubbed(COMETAPI_API_KEY=KEY), timeout=30)
        assert done.returncode == 2, done.stderr
        assert words in done.stderr and "Traceback" not in done.stderr
        assert done.stderr.count("\n") == 1

"""--report-prometheus (issue 15): the file parses with prometheus_client's own parser, has
the metrics monitors read, escapes label values, and is replaced atomically."""

from __future__ import annotations

import os
import ssl
import threading
from pathlib import Path

import pytest
import trustme
from prometheus_client.parser import text_string_to_metric_families

from smoke.categories import Category
from smoke.reports import prometheus
from smoke.results import Check, GateResult
from smoke.stub import StubServer
from tests.conftest import KEY, run_cli


def _families(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        assert family.type == "gauge", family
        assert family.documentation, family.name
        for sample in family.samples:
            assert sample.timestamp is None  # the textfile collector forbids timestamps
            found.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return found


def _value(found: dict[str, list[tuple[dict[str, str], float]]], name: str,
           **labels: str) -> float:
    matches = [v for got, v in found[name] if all(got.get(k) == x for k, x in labels.items())]
    assert len(matches) == 1, (name, labels, found.get(name))
    return matches[0]


def test_a_passing_run_with_a_stream_check(tmp_path: Path, stub: StubServer) -> None:
    path = tmp_path / "metrics" / "chat-smoke.prom"
    run = run_cli(tmp_path, "--base-url", stub.url(), "--model", "stub-model", "--stream",
                  "--environment", "prod-eu", "--report-prometheus", str(path))
    assert run.code == 0, run.stderr
    found = _families(path.read_text("utf-8"))
    for check in ("positive:stub-model", "stream:stub-model"):
        labels = {"environment": "prod-eu", "model": "stub-model", "check": check}
        assert _value(found, "chat_smoke_check_success", **labels) == 1
        assert 0 <= _value(found, "chat_smoke_check_duration_seconds", **labels) < 30
        assert 0 <= _value(found, "chat_smoke_check_ttfb_seconds", **labels) < 30
    assert _value(found, "chat_smoke_check_first_token_seconds", check="stream:stub-model") >= 0
    assert _value(found, "chat_smoke_gate_exit_code", environment="prod-eu") == 0
    assert run.report is not None
    from datetime import datetime

    started = datetime.fromisoformat(run.report["started_at"].replace("Z", "+00:00"))
    assert _value(found, "chat_smoke_last_run_timestamp_seconds") == pytest.approx(
        started.timestamp(), abs=0.01)
    assert "chat_smoke_certificate_expiry_timestamp_seconds" not in found  # plain http


def test_a_failing_run_has_its_exit_code(tmp_path: Path, stub: StubServer) -> None:
    path = tmp_path / "m.prom"
    run = run_cli(tmp_path, "--base-url", stub.url("bad-key"), "--model", "stub-model",
                  "--report-prometheus", str(path))
    assert run.code == 3
    found = _families(path.read_text("utf-8"))
    assert _value(found, "chat_smoke_gate_exit_code") == 3
    assert _value(found, "chat_smoke_check_success", check="positive:stub-model") == 0


def test_certificate_expiry_from_the_wire_probe(tmp_path: Path, ca: trustme.CA,
                                                ca_file: str) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    with StubServer(key=KEY, tls=context) as tls:
        path = tmp_path / "m.prom"
        run = run_cli(tmp_path, "--base-url", tls.url(), "--model", "stub-model",
                      "--ca-bundle", ca_file, "--report-prometheus", str(path))
    assert run.code == 0, run.stderr
    found = _families(path.read_text("utf-8"))
    expiry = _value(found, "chat_smoke_certificate_expiry_timestamp_seconds", host="127.0.0.1")
    assert run.report is not None
    wire = run.check("positive:stub-model")["details"]["wire"]
    from datetime import datetime

    assert expiry == datetime.fromisoformat(
        wire["certificate"]["not_after"].replace("Z", "+00:00")).timestamp()


def test_label_values_are_escaped() -> None:
    nasty = 'm"o\\d\nel} x{y="z"'
    check = Check(f"positive:{nasty}", "positive", "p", nasty, outcome="fail",
                  category=Category.ASSERTION, duration_ms=1500)
    result = GateResult("fail", 6, Category.ASSERTION, "2026-11-27T02:04:05.123Z", 1600,
                        'env "a"\\b', None, {}, [check])
    found = _families(prometheus.render(result))
    labels, value = found["chat_smoke_check_success"][0]
    assert labels == {"environment": 'env "a"\\b', "model": nasty, "check": f"positive:{nasty}",
                      "owner": Category.ASSERTION.owner}
    assert value == 0
    assert _value(found, "chat_smoke_check_duration_seconds", model=nasty) == 1.5


def test_written_atomically(tmp_path: Path) -> None:
    """A reader polling the file (the textfile collector) only ever sees a whole file."""
    from smoke.reports.files import write_text

    path = tmp_path / "m.prom"
    checks = [Check(f"positive:m{i}", "positive", "p", f"m{i}", outcome="pass",
                    duration_ms=i) for i in range(2000)]
    result = GateResult("pass", 0, None, "2026-11-27T02:04:05.123Z", 1, "e", None, {}, checks)
    text = prometheus.render(result)
    write_text(path, text)
    seen: list[str] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            seen.append(path.read_text("utf-8"))

    reader = threading.Thread(target=poll)
    reader.start()
    for _ in range(20):
        write_text(path, text)
    stop.set()
    reader.join()
    assert seen and all(s == text for s in seen)
    assert [p.name for p in tmp_path.iterdir()] == ["m.prom"]  # no temporary file left
    assert os.stat(path).st_size == len(text.encode("utf-8"))

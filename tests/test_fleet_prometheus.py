"""--report-prometheus (issue 15): the file parses with prometheus_client's own parser, has
the metrics monitors read, escapes label values, and is replaced atomically."""

from __future__ import annotations

import os
import re
import ssl
import threading
from pathlib import Path
from typing import Any

import pytest
import trustme
from prometheus_client.parser import text_string_to_metric_families

from smoke.categories import Category
from smoke.reports import prometheus
from smoke.results import Check
from smoke.stub import StubServer
from tests.support.cli import KEY, run_cli
from tests.support.results import gate_result


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
    result = gate_result(check, duration_ms=1600, environment='env "a"\\b',
                         deployment_sha=None, endpoint={})
    found = _families(prometheus.render(result))
    labels, value = found["chat_smoke_check_success"][0]
    assert labels == {"target": "default", "environment": 'env "a"\\b', "model": nasty,
                      "check": f"positive:{nasty}"}
    assert value == 0
    assert _value(found, "chat_smoke_check_duration_seconds", model=nasty) == 1.5


def test_written_atomically(tmp_path: Path) -> None:
    """A reader polling the file (the textfile collector) only ever sees a whole file."""
    from smoke.reports.files import write_text

    path = tmp_path / "m.prom"
    checks = [Check(f"positive:m{i}", "positive", "p", f"m{i}", outcome="pass",
                    duration_ms=i) for i in range(2000)]
    result = gate_result(*checks, duration_ms=1, environment="e", deployment_sha=None,
                         endpoint={})
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


def _series(text: str) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    return {(name, tuple(sorted(labels.items())))
            for name, samples in _families(text).items() for labels, _ in samples}


def _monitor_run(tmp_path: Path, stub: StubServer, n: int) -> tuple[str, dict[str, Any]]:
    folder = tmp_path / f"run{n}"
    folder.mkdir()
    path = folder / "m.prom"
    run = run_cli(folder, "--base-url", stub.url(), "--model",
                  "stub-model,scenario/server-error,scenario/wrong-answer", "--stream",
                  "--negative", "invalid-model,missing-field,invalid-key", "--retries", "0",
                  "--environment", "prod-eu", "--report-prometheus", str(path))
    assert run.code in (5, 6), run.stderr
    assert run.report is not None
    return path.read_text("utf-8"), run.report


def test_two_runs_give_the_same_series(tmp_path: Path, stub: StubServer) -> None:
    """A monitor every 5 minutes must not create new series (issue 21): the invalid-model
    check's random id is `(invalid)` in the metrics, and in report.json only."""
    (first, report), (second, again) = (_monitor_run(tmp_path, stub, n) for n in (1, 2))
    assert _series(first) == _series(second)
    found = _families(first)
    invalid = {"environment": "prod-eu", "model": "(invalid)",
               "check": "negative:invalid-model"}
    assert _value(found, "chat_smoke_check_success", **invalid) == 1
    ids = [c["model"] for r in (report, again) for c in r["checks"]
           if c["id"] == "negative:invalid-model"]
    assert len(set(ids)) == 2 and all(i.startswith("chat-smoke-nonexistent-") for i in ids)
    assert not any(i in first + second for i in ids)


def test_no_label_value_comes_from_a_run(tmp_path: Path, stub: StubServer) -> None:
    text, report = _monitor_run(tmp_path, stub, 1)
    values = {value for _, labels in _series(text) for _, value in labels}
    from_run = {report["started_at"], report["started_at"][:19]}
    for check in report["checks"]:
        from_run |= {check["request_id"], check["client_request_id"], check["message"],
                     *(a["message"] for a in check["attempt_log"]),
                     *(check["trace_ids"] or {}).values()}
        if check["id"] == "negative:invalid-model":
            from_run.add(check["model"])
    from_run = {v for v in from_run if v}
    assert from_run
    leaked = {v for v in values for r in from_run if r in v or (len(v) > 3 and v in r
                                                                   and v not in _CONFIGURED
                                                                   and v not in _FIXED)}
    assert not leaked, leaked
    for value in values:
        assert not re.search(r"\d{4}-\d\d-\d\dT|\breq_|[0-9a-f]{8}-[0-9a-f]{4}-", value), value
    # What every label is made of: the configuration and the check ids built from it.
    assert values <= _CONFIGURED | _FIXED | {f"{k}:{m}" for k in ("positive", "stream")
                                    for m in _MODELS} | {
        "negative:invalid-model", "negative:missing-field", "negative:invalid-key",
        "preflight:config"}


_MODELS = ("stub-model", "scenario/server-error", "scenario/wrong-answer")
_CONFIGURED = {"", "prod-eu", "(invalid)", *_MODELS}  # "": no model
# Issue 24's fixed sets: the categories, their groups, their default owners, the target.
_FIXED = {"default", *(c.value for c in Category), *(c.group for c in Category),
          *(c.owner for c in Category)}


def test_probe_metrics_and_one_failure_category_sample_per_category(
        tmp_path: Path, stub: StubServer) -> None:
    """Issue 24: the probe_* metrics, target/category/group/owner labels, every category of
    the fixed set once, 1 only for the one that failed."""
    path = tmp_path / "m.prom"
    run = run_cli(tmp_path, "--base-url", stub.url("bad-key"), "--model", "stub-model",
                  "--environment", "prod", "--report-prometheus", str(path))
    assert run.code == 3
    found = _families(path.read_text("utf-8"))
    assert _value(found, "probe_success", target="default", environment="prod") == 0
    assert _value(found, "probe_http_status_code") == 401
    assert _value(found, "probe_duration_seconds") > 0
    categories = {labels["category"]: (labels, value)
                  for labels, value in found["chat_smoke_failure_category"]}
    assert set(categories) == {c.value for c in Category}
    labels, value = categories["auth"]
    assert value == 1 and labels["group"] == "credentials"
    assert labels["owner"] == Category.AUTH.owner and labels["target"] == "default"
    assert sum(v for _, v in categories.values()) == 1
    assert "chat_smoke_last_success_timestamp_seconds" not in found  # it failed


def test_a_pass_carries_its_last_success_and_tokens(tmp_path: Path, stub: StubServer) -> None:
    path = tmp_path / "m.prom"
    run = run_cli(tmp_path, "--base-url", stub.url(), "--model", "stub-model",
                  "--report-prometheus", str(path))
    assert run.code == 0, run.stderr
    found = _families(path.read_text("utf-8"))
    assert _value(found, "probe_success") == 1
    assert _value(found, "chat_smoke_last_success_timestamp_seconds") == _value(
        found, "chat_smoke_last_run_timestamp_seconds")
    assert _value(found, "chat_smoke_tokens_used") > 0
    assert all(v == 0 for _, v in found["chat_smoke_failure_category"])


def test_the_owner_label_comes_from_the_owners_map(tmp_path: Path, stub: StubServer) -> None:
    (tmp_path / "chat-smoke.yml").write_text(
        "owners:\n  - match: credentials\n    team: platform-secrets\n")
    path = tmp_path / "m.prom"
    run = run_cli(tmp_path, "--base-url", stub.url("bad-key"), "--model", "stub-model",
                  "--report-prometheus", str(path))
    assert run.code == 3, run.stderr
    found = _families(path.read_text("utf-8"))
    assert _value(found, "chat_smoke_failure_category", category="auth",
                  owner="platform-secrets") == 1
    # A pass carries the same label (issue 23): the series stays one series.
    run = run_cli(tmp_path, "--base-url", stub.url(), "--model", "stub-model",
                  "--report-prometheus", str(path))
    assert run.code == 0, run.stderr
    found = _families(path.read_text("utf-8"))
    assert _value(found, "chat_smoke_failure_category", category="auth",
                  owner="platform-secrets") == 0

"""What the wire tells: phases, addresses, TLS facts, certificate expiry, which model
answered. TLS tests serve the stub with certificates made on the fly by trustme."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trustme

from smoke.checks.preflights import wire as wireinfo
from smoke.stub import StubServer
from tests.support.cli import KEY, run_cli
from tests.support.gatekit import run_gate


def _tls_stub(ca: trustme.CA, days: float) -> StubServer:
    leaf = ca.issue_cert("127.0.0.1", common_name="stub.test",
                         not_after=datetime.now(UTC) + timedelta(days=days))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(context)
    return StubServer(key=KEY, tls=context)


@pytest.fixture(scope="module")
def expiring(ca: trustme.CA) -> Iterator[StubServer]:
    with _tls_stub(ca, days=3.5) as server:
        yield server


def test_plain_http_records_resolution_connect_and_request_phases(stub: StubServer) -> None:
    run = run_gate(base_url=stub.base_url, model="stub-model")
    assert run.code == 0, run.console
    wire = run.check("positive:stub-model")["details"]["wire"]
    assert wire["addresses"] == ["127.0.0.1"] and wire["connected_to"] == "127.0.0.1"
    assert wire["port"] == stub.port
    for phase in ("dns_ms", "connect_ms", "ttfb_ms", "total_ms"):
        assert isinstance(wire[phase], int | float) and wire[phase] >= 0, phase
    assert wire["total_ms"] >= wire["ttfb_ms"]
    assert "tls_version" not in wire and "certificate" not in wire


def test_a_certificate_that_expires_soon_warns(tmp_path: Path, expiring: StubServer,
                                               ca_file: str) -> None:
    run = run_cli(tmp_path, "--base-url", expiring.base_url, "--model", "stub-model",
                  "--ca-bundle", ca_file)
    assert run.report is not None, run.stderr
    assert run.code == 0, run.stdout  # a warning, not a failure
    check = run.check("positive:stub-model")
    wire = check["details"]["wire"]
    assert wire["tls_version"] in ("TLSv1.2", "TLSv1.3") and wire["tls_ms"] >= 0
    assert wire["certificate"]["subject"] == "stub.test"
    assert wire["certificate"]["days_left"] == 3
    assert wire["certificate"]["not_after"].endswith("Z")
    assert len(check["warnings"]) == 1 and "expires in 3 days" in check["warnings"][0]
    assert "--cert-warn-days 14" in check["warnings"][0]
    assert run.report["warnings"] == check["warnings"]


def test_cert_warn_days_sets_the_threshold(expiring: StubServer, ca_file: str) -> None:
    run = run_gate(base_url=expiring.base_url, model="stub-model", ca_bundle=ca_file,
                   cert_warn_days="2")
    assert run.code == 0, run.console
    assert run.report["warnings"] == []
    assert run.check("positive:stub-model")["details"]["wire"]["certificate"]["days_left"] == 3


def test_one_warning_per_run_with_several_models(expiring: StubServer, ca_file: str) -> None:
    run = run_gate(base_url=expiring.base_url, model="stub-model,gpt-4o-mini",
                   ca_bundle=ca_file)
    assert run.code == 0, run.console
    assert len(run.report["warnings"]) == 1
    wires = [c["details"]["wire"] for c in run.report["checks"] if c["kind"] == "positive"]
    assert [w["certificate"]["days_left"] for w in wires] == [3, 3]


def test_an_untrusted_certificate_fails_the_check_and_the_probe_says_why(
        expiring: StubServer) -> None:
    run = run_gate(base_url=expiring.base_url, model="stub-model", retries="0")
    assert (run.code, run.report["category"]) == (4, "tls")
    wire = run.check("positive:stub-model")["details"]["wire"]
    assert "TLS handshake failed" in wire["error"] and "certificate" not in wire


def test_the_probe_is_skipped_behind_a_proxy(stub: StubServer,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # Nothing listens at the proxy: the check fails to connect, and the probe must not
    # measure a direct path the request did not take.
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    run = run_gate(base_url=stub.base_url, model="stub-model", retries="0")
    wire = run.check("positive:stub-model")["details"]["wire"]
    assert "proxy" in wire["note"] and "dns_ms" not in wire


def test_expect_model_catches_a_substituted_model(stub: StubServer) -> None:
    run = run_gate(base_url=stub.base_url, model="scenario/substituted-model",
                   expect_model="^scenario/substituted-model$")
    check = run.check("positive:scenario/substituted-model")
    assert (run.code, check["category"]) == (6, "assertion")
    assert "'fallback-model-mini'" in check["message"] and "fallback" in check["message"]
    assert check["response_model"] == "fallback-model-mini"
    assert check["system_fingerprint"] == "fp_stub"
    assert [s["name"] for s in check["steps"]][-1] == "expect_model"


def test_expect_model_passes_when_the_model_matches(stub: StubServer) -> None:
    run = run_gate(base_url=stub.url("substituted-model"), model="stub-model",
                   expect_model="fallback-model-.*")
    assert run.code == 0, run.console
    assert run.check("positive:stub-model")["response_model"] == "fallback-model-mini"


def test_certificate_facts_from_getpeercert() -> None:
    peer = {"subject": ((("commonName", "api.example"),),),
            "issuer": ((("organizationName", "Example CA"),),),
            "notAfter": "Jan 11 00:00:00 2030 GMT"}
    now = datetime(2030, 1, 1, tzinfo=UTC).timestamp()
    facts = wireinfo.certificate(peer, now=now)
    assert facts == {"subject": "api.example", "issuer": "Example CA",
                     "not_after": "2030-01-11T00:00:00Z", "days_left": 10}
    assert wireinfo.expiry_warning({"host": "h", "certificate": facts}, 14)
    assert wireinfo.expiry_warning({"host": "h", "certificate": facts}, 10) is None

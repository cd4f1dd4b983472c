"""Trust precedence (issue 11, item 2): an explicit ca_bundle (--ca-bundle, the config
file's ca_bundle, the action's ca-bundle input) beats REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE
and SSL_CERT_FILE, which come in that order, for the requests and for the wire probe.
Every test sets or unsets each of the three variables itself (this machine sets them)."""

from __future__ import annotations

import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from smoke.stub import StubServer
from tests.support.action_runner import ENTRYPOINT, gate_inputs, runner_env
from tests.support.cli import KEY
from tests.support.hardkit import assert_reports, gate_all, record

VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")


@pytest.fixture(scope="module")
def tls_stub(ca: trustme.CA) -> Iterator[StubServer]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    server = StubServer(key=KEY, tls=context).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def wrong_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A valid bundle of another CA: trusted for nothing the stub presents."""
    path = tmp_path_factory.mktemp("wrong") / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return str(path)


def _trust_env(right: str, wrong: str, **which: str) -> dict[str, str]:
    """Each variable set to the right or the wrong bundle, or unset ("" means unset)."""
    chosen = {"right": right, "wrong": wrong, "": ""}
    return {name: chosen[which.get(name, "")] for name in VARIABLES if which.get(name)}


def _gate(tmp_path: Path, url: str, *args: str, env: dict[str, str]) -> tuple[int, dict, float]:
    run, wall = gate_all(tmp_path, "--base-url", url, "--model", "stub-model",
                         "--deadline", "10", *args, env=env)
    report = assert_reports(run, tmp_path, KEY)
    positive = next(c for c in report["checks"] if c["id"] == "positive:stub-model")
    return run.code, positive, wall


ALL_WRONG = {name: "wrong" for name in VARIABLES}


@pytest.mark.parametrize("unset", [False, True], ids=["env-wrong", "env-unset"])
def test_the_flag_beats_every_variable(tmp_path: Path, tls_stub: StubServer, ca_file: str,
                                       wrong_file: str, unset: bool) -> None:
    env = {} if unset else _trust_env(ca_file, wrong_file, **ALL_WRONG)
    code, check, wall = _gate(tmp_path, tls_stub.url("pass"), "--ca-bundle", ca_file, env=env)
    assert (code, check["outcome"]) == (0, "pass"), check
    wire = check["details"]["wire"]  # the wire probe trusts the same bundle
    assert "error" not in wire and wire["tls_version"], wire
    record(f"trust: --ca-bundle right, env {'unset' if unset else 'wrong'}", None, code, wall)


def test_the_config_file_beats_every_variable(tmp_path: Path, tls_stub: StubServer,
                                              ca_file: str, wrong_file: str) -> None:
    (tmp_path / "chat-smoke.yml").write_text(f"ca_bundle: {ca_file}\n")
    code, check, _ = _gate(tmp_path, tls_stub.url("pass"),
                           env=_trust_env(ca_file, wrong_file, **ALL_WRONG))
    assert (code, check["outcome"]) == (0, "pass"), check
    assert "error" not in check["details"]["wire"]


def test_a_wrong_flag_is_not_rescued_by_the_environment(
        tmp_path: Path, tls_stub: StubServer, ca_file: str, wrong_file: str) -> None:
    # The reverse: every variable names the right CA, the explicit bundle the wrong one.
    env = _trust_env(ca_file, wrong_file, **{name: "right" for name in VARIABLES})
    code, check, wall = _gate(tmp_path, tls_stub.url("pass"), "--ca-bundle", wrong_file,
                              env=env)
    assert (code, check["category"]) == (4, "tls"), check
    assert "not trusted" in check["message"]
    assert "error" in check["details"]["wire"]  # the probe did not trust it either
    record("trust: --ca-bundle wrong, env right", "tls", code, wall)


@pytest.mark.parametrize(("which", "passes"), [
    ({"REQUESTS_CA_BUNDLE": "right"}, True),
    ({"CURL_CA_BUNDLE": "right"}, True),
    ({"SSL_CERT_FILE": "right"}, True),
    ({"REQUESTS_CA_BUNDLE": "right", "CURL_CA_BUNDLE": "wrong", "SSL_CERT_FILE": "wrong"},
     True),
    ({"REQUESTS_CA_BUNDLE": "wrong", "CURL_CA_BUNDLE": "right"}, False),
    ({"CURL_CA_BUNDLE": "right", "SSL_CERT_FILE": "wrong"}, True),
    ({"CURL_CA_BUNDLE": "wrong", "SSL_CERT_FILE": "right"}, False),
    ({}, False),  # nothing set: certifi, which does not know the private CA
], ids=["requests", "curl", "ssl-cert-file", "requests-first", "requests-beats-curl",
        "curl-first", "curl-beats-ssl-cert-file", "none"])
def test_the_variables_in_their_documented_order(
        tmp_path: Path, tls_stub: StubServer, ca_file: str, wrong_file: str,
        which: dict[str, str], passes: bool) -> None:
    code, check, _ = _gate(tmp_path, tls_stub.url("pass"),
                           env=_trust_env(ca_file, wrong_file, **which))
    if passes:
        assert (code, check["outcome"]) == (0, "pass"), check
        assert "error" not in check["details"]["wire"]
    else:
        assert (code, check["category"]) == (4, "tls"), check


@pytest.mark.parametrize("unset", [False, True], ids=["env-wrong", "env-unset"])
def test_the_action_input_beats_every_variable(tmp_path: Path, tls_stub: StubServer,
                                               ca_file: str, wrong_file: str,
                                               unset: bool) -> None:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    files = tmp_path / "files"
    for sub in ("home", "temp"):
        (files / sub).mkdir(parents=True)
    env = runner_env(workspace, files, gate_inputs(tls_stub, "pass", **{"ca-bundle": ca_file}))
    if not unset:
        env.update(_trust_env(ca_file, wrong_file, **ALL_WRONG))
    proc = subprocess.run([sys.executable, str(ENTRYPOINT)], cwd=workspace, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert KEY not in proc.stdout.replace(f"::add-mask::{KEY}", "") + proc.stderr

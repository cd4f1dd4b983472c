"""The fault matrix, TLS part: a private CA made with trustme, stub servers speaking TLS on
loopback. Untrusted certificate, host name mismatch, and success with --ca-bundle (or
SSL_CERT_FILE), as behind a corporate CA or a TLS-inspecting proxy."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from smoke.stub import StubServer
from tests.support.cli import KEY
from tests.support.faultkit import expect_fault


def _tls_stub(ca: trustme.CA, *names: str) -> StubServer:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(*names).configure_cert(context)
    return StubServer(key=KEY, tls=context).start()


@pytest.fixture(scope="module")
def tls_stub(ca: trustme.CA) -> Iterator[StubServer]:
    server = _tls_stub(ca, "127.0.0.1", "localhost")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def other_name_stub(ca: trustme.CA) -> Iterator[StubServer]:
    server = _tls_stub(ca, "api.other.example")
    yield server
    server.stop()


def test_untrusted_certificate(tmp_path: Path, tls_stub: StubServer) -> None:
    run, check, _ = expect_fault(tmp_path, tls_stub.url("pass"), category="tls", code=4,
                                 attempts=1, name="TLS: untrusted CA")
    assert "not trusted" in check["message"] and "--ca-bundle" in check["message"]


def test_hostname_mismatch(tmp_path: Path, other_name_stub: StubServer, ca_file: str) -> None:
    url = other_name_stub.url("pass", host="localhost")
    run, check, _ = expect_fault(tmp_path, url, "--ca-bundle", ca_file, category="tls",
                                 code=4, attempts=1, name="TLS: host name mismatch")
    assert "does not match the host name" in check["message"]


def test_success_with_ca_bundle(tmp_path: Path, tls_stub: StubServer, ca_file: str) -> None:
    run, check, _ = expect_fault(tmp_path, tls_stub.url("pass"), "--ca-bundle", ca_file,
                                 category=None, code=0, attempts=1, name="TLS: --ca-bundle")
    assert check["answer"] == "pong"


def test_success_with_ssl_cert_file(tmp_path: Path, tls_stub: StubServer, ca_file: str) -> None:
    expect_fault(tmp_path, tls_stub.url("pass", host="localhost"), category=None, code=0,
                 attempts=1, env={"SSL_CERT_FILE": ca_file}, name="TLS: SSL_CERT_FILE")

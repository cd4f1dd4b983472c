"""What the wire tells: timing by phase, resolved addresses, the TLS version and the
certificate's expiry, recorded in each positive check's ``details["wire"]``.

``requests`` does not expose its phases, so one bounded probe connection per run, beside
the real requests, resolves the host (timed), connects (timed) and does the TLS handshake
(timed) with the same CA bundle, then reads the certificate. Time to first byte and the
total come from the positive request itself. The probe is skipped, with a note, when
requests go through a proxy: it would measure a path they do not take.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from smoke.checks.task import Plan
from smoke.config.settings import Settings
from smoke.details import Certificate, Wire
from smoke.http.deadline import Deadline
from smoke.http.transport import proxy_for
from smoke.output.textsafe import count, one_line
from smoke.results import Check

if TYPE_CHECKING:
    import ssl


# One ``socket.getaddrinfo`` entry: family, type, protocol, canonical name, address.
_AddrInfo = tuple[int, int, int, str, tuple[object, ...]]

_EXPIRES_SOON = (
    "the TLS certificate of {host} expires in {days} (not after {when}): renew it "
    "before clients start refusing the endpoint (warning at --cert-warn-days {limit})"
)


def preflight(context: Plan) -> list[Check]:
    """The step registered in ``checks.registry``: start the probe, and have each positive
    check record its facts when it finishes. Adds no check of its own."""
    settings, deadline = context.settings, context.deadline
    positives = [t for t in context.tasks if t.check.kind == "positive" and t.skip is None]
    if not positives:
        return []
    probe = Probe(settings, deadline).start()
    for number, task in enumerate(positives):
        task.finish.append(_recorder(probe, settings, deadline, warn=number == 0))
    return []


def _recorder(probe: Probe, settings: Settings, deadline: Deadline,
              warn: bool) -> Callable[[Check], None]:
    def record(check: Check) -> None:
        facts = probe.result(deadline.bound(settings.connect_timeout))
        check.details["wire"] = {**facts, **check.details.get("wire", {})}
        warning = expiry_warning(facts, settings.cert_warn_days)
        if warn and warning:  # one warning per run, on the first positive check
            check.warnings.append(warning)

    return record


def expiry_warning(facts: Wire, warn_days: int) -> str | None:
    cert = facts.get("certificate") or Certificate()
    days = cert.get("days_left")
    if not isinstance(days, int) or days >= warn_days:
        return None
    return _EXPIRES_SOON.format(host=facts.get("host"), days=count(days, "day"),
                                when=cert.get("not_after"),
                                limit=warn_days)


class Probe:
    """One connection to the endpoint's host, in a daemon thread, bounded by the connect
    timeout and the deadline (name resolution has no timeout of its own: the thread is
    waited for at most that long)."""

    def __init__(self, settings: Settings, deadline: Deadline) -> None:
        parts = urlsplit(settings.base_url)
        self.host = parts.hostname or ""
        self.tls = parts.scheme == "https"
        self.port = parts.port or (443 if self.tls else 80)
        self.ca_bundle = settings.ca_bundle
        self._deadline, self._connect_timeout = deadline, settings.connect_timeout
        self.facts: Wire = {"host": self.host, "port": self.port}
        self._thread = threading.Thread(target=self._run, daemon=True, name="wire-probe")
        self._proxied = proxy_for(settings.endpoint) is not None

    def timeout(self) -> float:
        return self._deadline.bound(self._connect_timeout)

    def start(self) -> Probe:
        if self._proxied:
            self.facts["note"] = ("probe skipped: requests go through a proxy, so a direct "
                                  "connection would not measure their path")
        else:
            self._thread.start()
        return self

    def result(self, wait: float) -> Wire:
        if self._proxied:
            return self.facts.copy()
        self._thread.join(wait)
        if self._thread.is_alive():
            return {"host": self.host, "port": self.port,
                    "note": f"probe did not finish within {wait:.1f}s of the check"}
        return self.facts.copy()

    def _run(self) -> None:
        try:
            self._probe()
        except Exception as exc:  # a probe never fails the gate: it only reports
            self.facts["error"] = f"probe failed: {type(exc).__name__}: {one_line(str(exc), 160)}"

    def _probe(self) -> None:
        started = time.perf_counter()
        try:
            infos = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
        except OSError as exc:
            self.facts["error"] = f"name resolution failed ({one_line(str(exc), 120)})"
            return
        self.facts["dns_ms"] = _ms(started)
        self.facts["addresses"] = list(dict.fromkeys(str(info[4][0]) for info in infos))
        sock = self._connect(infos)
        if sock is None:
            return
        try:
            if self.tls:
                self._handshake(sock)
        finally:
            sock.close()

    def _connect(self, infos: Sequence[_AddrInfo]) -> socket.socket | None:
        problem = "no address"
        for family, kind, proto, _, address in infos:
            sock = socket.socket(family, kind, proto)
            sock.settimeout(self.timeout())
            started = time.perf_counter()
            try:
                sock.connect(address)
            except OSError as exc:
                sock.close()
                problem = f"{address[0]}: {one_line(str(exc), 100)}"
                continue
            self.facts["connect_ms"] = _ms(started)
            self.facts["connected_to"] = str(address[0])
            return sock
        self.facts["error"] = f"connect failed ({problem})"
        return None

    def _handshake(self, sock: socket.socket) -> None:
        import ssl  # only https runs pay for the certificate inspection

        context = _context(self.ca_bundle)
        sock.settimeout(self.timeout())
        started = time.perf_counter()
        try:
            with context.wrap_socket(sock, server_hostname=self.host) as tls:
                self.facts["tls_ms"] = _ms(started)
                self.facts["tls_version"] = tls.version()
                cipher = tls.cipher()
                self.facts["cipher"] = cipher[0] if cipher else None
                self.facts["certificate"] = certificate(tls.getpeercert() or {})
        except (ssl.SSLError, OSError) as exc:
            self.facts["error"] = f"TLS handshake failed ({one_line(str(exc), 160)})"


def _context(ca_bundle: str | None) -> ssl.SSLContext:
    """The trust requests uses: the configured bundle (a file or a directory), else certifi."""
    import ssl

    if ca_bundle and os.path.isdir(ca_bundle):
        return ssl.create_default_context(capath=ca_bundle)
    if not ca_bundle:
        import certifi  # what requests trusts by default

        ca_bundle = certifi.where()
    return ssl.create_default_context(cafile=ca_bundle)


def certificate(peer: Mapping[str, object], now: float | None = None) -> Certificate:
    """Subject, issuer and expiry from ``SSLSocket.getpeercert()``."""
    import ssl

    facts: Certificate = {"subject": _name(peer.get("subject")),
                          "issuer": _name(peer.get("issuer"))}
    not_after = peer.get("notAfter")
    if isinstance(not_after, str):
        expires = ssl.cert_time_to_seconds(not_after)
        facts["not_after"] = (datetime.fromtimestamp(expires, UTC).isoformat()
                              .replace("+00:00", "Z"))
        facts["days_left"] = int((expires - (time.time() if now is None else now)) // 86400)
    return facts


def _name(rdns: object) -> str | None:
    """The common name (else the organization) of a ``getpeercert()`` name: a tuple of
    RDNs, each a tuple of (key, value) pairs."""
    fields: dict[object, object] = {}
    for rdn in rdns if isinstance(rdns, tuple | list) else ():
        for pair in rdn if isinstance(rdn, tuple | list) else ():
            if isinstance(pair, tuple | list) and len(pair) == 2:
                fields[pair[0]] = pair[1]
    found = fields.get("commonName") or fields.get("organizationName")
    return str(found) if found else None


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)

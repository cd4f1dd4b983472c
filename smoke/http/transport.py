"""HTTP with bounds: explicit timeouts, a capped body, no blind redirects, the deadline.

``requests``' read timeout bounds each ``recv``, not a body that drips a byte at a time,
so the body is read in chunks, the deadline is checked between them, and the socket's
own timeout is shortened to what is left of the deadline (the socket is found by
:mod:`smoke.http.private`, the one module that reads requests' private attributes).
The session uses requests' public extension points only: ``trust_env`` off and a
:class:`Transport` adapter mounted on it.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter

from smoke.cancel import CancelToken
from smoke.categories import Category
from smoke.config import headers as http_headers
from smoke.config import query as http_query
from smoke.config.settings import Settings
from smoke.errors import TransportFailure as TransportFailure  # re-exported
from smoke.http import classify
from smoke.http.deadline import Deadline
from smoke.http.private import socket_of
from smoke.output import redact

_CHUNK = 64 * 1024
_MAX_SAME_HOST_REDIRECTS = 3
USER_AGENT = "chat-smoke"
_BAD_LOCATION = (
    "a redirect whose Location header is not a valid URL (not followed): the endpoint or a "
    "proxy in front of it is misconfigured; set base_url to the final address"
)
# A fresh id on every attempt, so support can correlate even when the server sends none.
CLIENT_ID_HEADER = "X-Client-Request-Id"


@dataclass
class Exchange:
    """One HTTP response, read within bounds."""

    status: int
    headers: dict[str, str]
    body: bytes
    truncated: bool
    url: str
    duration_ms: int
    ttfb_ms: int = 0


@dataclass
class StreamExchange(Exchange):
    """A 2xx answer to a streaming request, its body left unread: the open ``response``
    (its body is the event stream, read by the caller, who closes it) and ``started``,
    when the request was sent (``time.monotonic()``)."""

    response: requests.Response = field(kw_only=True)
    started: float = field(kw_only=True)


@dataclass(frozen=True)
class Endpoint:
    """Where and how to send: shared by every check of one run."""

    base_url: str
    api_key: str
    connect_timeout: float
    read_timeout: float
    ca_bundle: str | None = None
    max_body_bytes: int = 4 * 1024 * 1024
    query: str = ""  # the base URL's query string (Azure's api-version), on every request
    auth_header: str = http_headers.AUTHORIZATION  # or another name, or "none"
    headers: tuple[tuple[str, str], ...] = ()  # the user's extra headers (--header)
    user_agent: str = USER_AGENT

    def url(self, path: str) -> str:
        return http_query.join(f"{self.base_url}/{path.lstrip('/')}", self.query)


def endpoint_of(settings: Settings) -> Endpoint:
    """The endpoint ``settings`` send to (a model's own settings may have their own
    timeout): computed once per run, and once per model whose settings differ."""
    return Endpoint(
        base_url=settings.base_url,
        api_key=settings.api_key,
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.timeout,
        ca_bundle=settings.ca_bundle,
        max_body_bytes=settings.max_body_bytes,
        query=settings.base_query,
        auth_header=settings.auth_header,
        headers=tuple((h.name, h.value) for h in settings.headers),
        user_agent=settings.user_agent,
    )


@dataclass(frozen=True)
class Route:
    """What every request of one check goes through: the run's session, the endpoint of
    the check's settings, the run's deadline and its cancellation token (a retry's wait
    ends on it: a cancelled run sends nothing more)."""

    session: requests.Session
    endpoint: Endpoint
    deadline: Deadline
    cancel: CancelToken = field(default_factory=CancelToken)


@dataclass(frozen=True)
class Call:
    """One request: its method, its path under the base URL, its JSON body, and headers
    on top of the endpoint's."""

    method: str
    path: str
    payload: Mapping[str, object] | None = None
    headers: Mapping[str, str] | None = None


def request_headers(
    endpoint: Endpoint,
    with_body: bool = False,
    headers: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Exactly the headers one request sends (the curl reproduction is built from the
    same call): ours, the user's (which replace ours by name), the endpoint's key, and a
    fresh client request id unless ``headers`` carries one (a request with another key
    has an endpoint of its own: ``dataclasses.replace(endpoint, api_key=...)``)."""
    sent: dict[str, str] = {"User-Agent": endpoint.user_agent, "Accept": "application/json"}
    if with_body:
        sent["Content-Type"] = "application/json"
    for name, value in [*endpoint.headers, *(headers or {}).items()]:
        for known in [k for k in sent if k.lower() == name.lower()]:
            del sent[known]
        sent[name] = value
    if endpoint.api_key and endpoint.auth_header.lower() != http_headers.NO_AUTH:
        sent[endpoint.auth_header] = http_headers.auth_value(endpoint.auth_header,
                                                             endpoint.api_key)
    if not any(k.lower() == CLIENT_ID_HEADER.lower() for k in sent):
        sent[CLIENT_ID_HEADER] = str(uuid.uuid4())
    return sent


class Transport(HTTPAdapter):
    """requests' HTTP adapter, with the environment's proxy settings read once per origin.

    The session runs with ``trust_env`` off, so requests reads nothing from the
    environment by itself: not ``~/.netrc`` (whose Basic credentials would replace the
    key's header: psf/requests, "Authorization headers set with headers= will be
    overridden if credentials are specified in .netrc"), and not the proxy and CA
    variables, which it would scan on every request (``merge_environment_settings``:
    about a quarter of its CPU per request, paid under one GIL by every check of a fleet
    run). The proxy settings (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY) are read here
    instead, once per scheme and host: a run's environment does not change. Trust is
    passed on every request (:func:`verify_for`): the configuration resolved the CA
    variables in the documented order.
    """

    def __init__(self) -> None:
        super().__init__()
        self._proxies: dict[tuple[str, str], dict[str, str]] = {}

    def proxies_for(self, url: str) -> dict[str, str]:
        """The environment's proxies for ``url``'s origin (empty when NO_PROXY matches)."""
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        found = self._proxies.get(key)
        if found is None:
            found = {k: v for k, v in requests.utils.get_environ_proxies(url).items()
                     if k != "no"}
            self._proxies[key] = found
        return found

    def send(self, request: requests.PreparedRequest, stream: bool = False,
             timeout: float | tuple[float, float] | tuple[float, None] | None = None,
             verify: bool | str = True,
             cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
             proxies: Mapping[str, str] | None = None) -> requests.Response:
        if not proxies:  # none given for this request: the environment's
            proxies = self.proxies_for(str(request.url))
        return super().send(request, stream, timeout, verify, cert, proxies)


def new_session(endpoint: Endpoint) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no ~/.netrc, no scan of the environment per request
    transport = Transport()
    session.mount("https://", transport)
    session.mount("http://", transport)
    session.verify = verify_for(endpoint)
    session.headers["User-Agent"] = endpoint.user_agent
    return session


def verify_for(endpoint: Endpoint) -> str | bool:
    """What to trust: the bundle the configuration resolved (explicit ca_bundle >
    REQUESTS_CA_BUNDLE > CURL_CA_BUNDLE > SSL_CERT_FILE, see smoke.config.load), else
    requests' own default (certifi), named, so the environment cannot slip in."""
    return endpoint.ca_bundle or requests.utils.DEFAULT_CA_BUNDLE_PATH


def proxy_for(url: str) -> str | None:
    """The proxy requests will use for ``url`` (from the environment), if any."""
    proxies = requests.utils.get_environ_proxies(url)
    scheme = urlsplit(url).scheme
    return proxies.get(scheme) or proxies.get("all")


def public_proxy(url: str | None) -> str | None:
    """The proxy URL with its credentials masked; the password is registered as a secret
    too, in case a proxy's error page echoes it."""
    if not url:
        return None
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.password:
        redact.register(parts.password)
    if parts.username or parts.password:
        host = parts.netloc.rpartition("@")[2]
        parts = parts._replace(netloc=f"{redact.MASK}@{host}")
    return parts.geturl()


def _chunks(response: requests.Response) -> Iterator[bytes]:
    """Body pieces as soon as they arrive. ``iter_content`` blocks until a whole chunk is
    in, so a server that drips a byte at a time would never let the deadline be checked;
    urllib3 2's ``read1`` returns whatever has arrived (decoded: gzip is handled)."""
    read1 = getattr(response.raw, "read1", None)
    if read1 is None:  # urllib3 1.x
        yield from response.iter_content(_CHUNK)
        return
    while True:
        piece: bytes = read1(_CHUNK, decode_content=True)
        if not piece:
            return
        yield piece


def read_body(
    response: requests.Response, endpoint: Endpoint, deadline: Deadline
) -> tuple[bytes, bool]:
    sock = socket_of(response)
    parts: list[bytes] = []
    size = 0
    chunks = _chunks(response)
    while True:
        if deadline.expired():
            raise TransportFailure(
                Category.TIMEOUT, "the deadline ran out while the body was still arriving"
            )
        if sock is not None:
            try:
                sock.settimeout(deadline.bound(endpoint.read_timeout))
            except OSError:
                sock = None
        try:
            chunk = next(chunks)
        except StopIteration:
            return b"".join(parts), False
        parts.append(chunk)
        size += len(chunk)
        if size >= endpoint.max_body_bytes:
            return b"".join(parts)[: endpoint.max_body_bytes], True


def open_stream(route: Route, call: Call) -> tuple[requests.Response, float]:
    """Send ``call`` and return the open response once its headers have arrived.

    Same-host 307/308 redirects are followed (they keep method and body); any other
    redirect is returned as is, so the key never crosses to another host.
    """
    endpoint, deadline = route.endpoint, route.deadline
    url = endpoint.url(call.path)
    send_headers = request_headers(endpoint, call.payload is not None, call.headers)
    data = None if call.payload is None else encode(call.payload)
    origin = urlsplit(url)[:2] + (urlsplit(url).port,)
    started = time.monotonic()
    for _ in range(_MAX_SAME_HOST_REDIRECTS + 1):
        if deadline.expired():
            raise TransportFailure(Category.TIMEOUT, "the deadline ran out before the request")
        try:
            response = route.session.request(
                call.method,
                url,
                data=data,
                headers=send_headers,
                timeout=(
                    deadline.bound(endpoint.connect_timeout),
                    deadline.bound(endpoint.read_timeout),
                ),
                allow_redirects=False,
                stream=True,
                # Per request: the only way an explicit bundle beats the environment's.
                verify=verify_for(endpoint),
            )
        except requests.RequestException as exc:
            category, message = classify.exception(exc)
            raise TransportFailure(category, message) from None
        except ValueError:
            # requests parses a redirect's Location even when it does not follow it
            # (Session.send, resolve_redirects): "http://[bad" raises here.
            raise TransportFailure(Category.PROTOCOL, _BAD_LOCATION) from None
        location = response.headers.get("Location")
        if response.status_code in (307, 308) and location:
            try:
                target = urljoin(url, location)
                parts = urlsplit(target)
                same = parts[:2] + (parts.port,) == origin
            except ValueError:
                response.close()
                raise TransportFailure(Category.PROTOCOL, _BAD_LOCATION,
                                       response.status_code) from None
            if same:
                response.close()
                url = target
                continue
        return response, started
    raise TransportFailure(Category.PROTOCOL, "too many redirects on the same host")


def encode(payload: Mapping[str, object]) -> bytes:
    """The body as sent (and as the curl reproduction shows it)."""
    return json.dumps(payload).encode("utf-8")


def request(route: Route, call: Call) -> Exchange:
    """Send ``call`` and read its whole (capped) body within the deadline."""
    response, started = open_stream(route, call)
    return read_response(response, started, route)


def read_response(response: requests.Response, started: float, route: Route) -> Exchange:
    """Read an open response's whole (capped) body within the deadline, then close it."""
    ttfb = int((time.monotonic() - started) * 1000)
    deadline = route.deadline
    try:
        body, truncated = read_body(response, route.endpoint, deadline)
    except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
        category, message = classify.exception(exc, reading_body=True)
        if category is Category.TIMEOUT and deadline.remaining() < 0.05:
            message = "the deadline ran out while the body was still arriving"
        raise TransportFailure(category, message, response.status_code) from None
    except TransportFailure as failure:
        failure.status = response.status_code
        raise
    except OSError as exc:  # a socket timeout raised below requests' wrappers
        category, message = classify.exception(exc, reading_body=True)
        raise TransportFailure(category, message, response.status_code) from None
    finally:
        response.close()
    return Exchange(
        status=response.status_code,
        headers={k.lower(): v for k, v in response.headers.items()},
        body=body,
        truncated=truncated,
        url=response.url,
        duration_ms=int((time.monotonic() - started) * 1000),
        ttfb_ms=ttfb,
    )

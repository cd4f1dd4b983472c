"""Turn what the wire said (an exception, a status, headers, a body) into a category.

The rules read the shape of the answer (status, ``error.type``, ``error.code``, the
words of ``error.message``), not the name of a server, so a gateway that departs from
OpenAI's contract in a known way (docs/compatibility.md) lands where it should.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass

from smoke.categories import Category
from smoke.output.textsafe import decode, one_line

REQUEST_ID_HEADERS = ("x-request-id", "x-oneapi-request-id", "x-litellm-call-id", "request-id",
                      "apim-request-id", "x-portkey-trace-id")
# Ids that gateways and CDNs put on a response: each one found is recorded (trace_ids), so
# a ticket can be correlated at every hop (Portkey, LiteLLM, Cloudflare, Azure, Helicone).
TRACE_ID_HEADERS = (
    "x-request-id", "x-portkey-trace-id", "x-portkey-request-id", "x-litellm-call-id",
    "x-oneapi-request-id", "request-id", "cf-ray", "cf-aig-log-id", "apim-request-id",
    "x-ms-request-id", "helicone-id", "x-generation-id", "x-openrouter-request-id",
    "x-amzn-requestid", "x-client-request-id",
)
_HTML_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
# LiteLLM's own layer (its router and its key check), not the provider behind it.
_LITELLM_ROUTING = re.compile(
    r"Invalid model name passed in model=|No deployments available|no healthy deployments|"
    r"LLM Provider NOT provided|team not allowed to access model|key not allowed to access model",
    re.IGNORECASE,
)
GATEWAY_HINTS = {
    "portkey-config": (
        "Portkey's gateway rejected the routing/config before any provider saw the request: "
        "give the routing headers it asks for (--header \"x-portkey-provider: openai\" or "
        "--header \"x-portkey-config: ${PORTKEY_CONFIG}\") and check the config's targets."
    ),
    "portkey-exception": (
        "Portkey's gateway itself failed (x-portkey-gateway-exception: true), not the "
        "provider: check the gateway's logs, config and provider credentials."
    ),
    "litellm-routing": (
        "The LiteLLM proxy rejected the routing/config: the model is not in its model_list, "
        "or the key or team may not use it, or no deployment is healthy. Check the proxy's "
        "config, not the provider."
    ),
    "html-wrapped": (
        "The gateway got an HTML page from upstream (a login page, a proxy or a wrong "
        "provider URL) and wrapped it in JSON: check the gateway's provider URL or custom "
        "host."
    ),
}
_REQUEST_ID_SUFFIX = re.compile(r"\(request id:\s*([^)\s]+)\s*\)", re.IGNORECASE)
_QUOTA = re.compile(r"insufficient_quota|quota|billing|credit|balance|payment", re.IGNORECASE)
_MODEL = re.compile(
    r"model_not_found|invalid model|unknown model|model .{0,80}(not found|does not exist|"
    r"not exist|unavailable|not available|not supported|no access)|no such model|"
    r"model_not_available|invalid_model|no available channel|model_not_supported",
    re.IGNORECASE,
)
_AUTH = re.compile(
    r"invalid_api_key|incorrect api key|invalid api key|invalid token|authentication|"
    r"unauthorized|api key .{0,40}(invalid|not valid|expired|revoked)|auth_error|"
    r"no_db_connection|virtual key",
    re.IGNORECASE,
)
# A gateway without its key database (LiteLLM: 400 no_db_connection) cannot look a key up,
# so it refuses every key but its master key, with a 400 rather than a 401.
_KEY_STORE_DOWN = re.compile(r"no_db_connection|no connected db", re.IGNORECASE)
_KEY_STORE_NOTE = (
    " (the gateway has no key database to look this key up, so it accepts only its master "
    "key: use that key, or connect the gateway's database)"
)
_DROP_FIELD = re.compile(
    r"(unsupported|not supported|unrecognized|unknown|extra|does not support|"
    r"not allowed|invalid).{0,60}?\b(temperature|max_tokens|max_completion_tokens|top_p)\b|"
    r"\b(temperature|max_tokens|max_completion_tokens|top_p)\b.{0,60}?"
    r"(unsupported|not supported|is not|not allowed|use max_completion_tokens|instead)",
    re.IGNORECASE,
)
_FIELD_FIX = {
    "temperature": "this model rejects temperature: leave it out with "
    "--temperature none (temperature: null in chat-smoke.yml)",
    # Reasoning models reject max_tokens, then a temperature other than 1, then spend a
    # small budget on reasoning alone: one fix for all three, so the next run passes.
    "max_tokens": "this model rejects max_tokens, as reasoning models do: use --max-tokens "
    "none --max-completion-tokens 1000 --temperature none (they want max_completion_tokens, "
    "refuse a temperature other than 1, and spend tokens on reasoning before they answer)",
    "max_completion_tokens": "this model rejects max_completion_tokens: leave it out with "
    "--max-completion-tokens none and set --max-tokens",
    "top_p": "this model rejects top_p: remove it from extra_body",
}


@dataclass(frozen=True)
class ApiError:
    """The error envelope ``{"error": {"message", "type", "param", "code"}}``, if any."""

    message: str = ""
    type: str = ""
    code: str = ""
    param: str = ""
    html_title: str | None = None
    raw_text: str = ""

    def words(self) -> str:
        return " ".join((self.type, self.code, self.message, self.param))


def parse_error(body: bytes) -> ApiError:
    text = decode(body)
    stripped = text.lstrip()
    if stripped[:1] == "<":
        match = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
        return ApiError(html_title=one_line(match.group(1), 80) if match else "", raw_text=text)
    try:
        data = json.loads(text) if stripped else None
    except (ValueError, RecursionError):  # RecursionError: deep nesting (tests/test_fuzz.py)
        return ApiError(raw_text=text)
    if isinstance(data, dict) and isinstance(data.get("html-message"), str):
        # A gateway (Portkey) that received an HTML page wraps it: {"html-message": "<html>"}.
        match = _HTML_TITLE.search(data["html-message"])
        title = f" (title: {one_line(match.group(1), 80)})" if match else ""
        return ApiError(message=f"the gateway wrapped an HTML page from upstream{title}",
                        raw_text=text)
    error: object = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, str):
        return ApiError(message=error, raw_text=text)
    if not isinstance(error, dict):
        detail = data.get("detail") or data.get("message") if isinstance(data, dict) else None
        return ApiError(message=str(detail) if detail else "", raw_text=text)

    def field(name: str) -> str:
        value = error.get(name)
        return "" if value is None else str(value)

    return ApiError(field("message"), field("type"), field("code"), field("param"), raw_text=text)


def request_id(headers: Mapping[str, str], message: str = "") -> str | None:
    for name in REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return one_line(value, 120)
    match = _REQUEST_ID_SUFFIX.search(message)
    return one_line(match.group(1), 120) if match else None


def trace_ids(headers: Mapping[str, str]) -> dict[str, str]:
    """Every correlation id a gateway or CDN put on the response, by header name."""
    return {name: one_line(headers[name], 120) for name in TRACE_ID_HEADERS if headers.get(name)}


def gateway_layer(status: int, headers: Mapping[str, str], body: bytes) -> str | None:
    """The key of :data:`GATEWAY_HINTS` when the gateway's own layer (not the provider
    behind it) produced this error response. The category still follows the status and
    the words (docs/failures.md); only the hint changes."""
    if headers.get("x-portkey-gateway-exception", "").strip().lower() == "true":
        return "portkey-exception"
    text = decode(body)
    try:
        data = json.loads(text) if text.lstrip()[:1] == "{" else None
    except (ValueError, RecursionError):
        data = None
    if isinstance(data, dict):
        if isinstance(data.get("html-message"), str):
            return "html-wrapped"
        if data.get("status") == "failure" and "message" in data:
            # Portkey's own envelope: a 4xx refuses its routing/config, a 5xx is its own fault.
            return "portkey-exception" if status >= 500 else "portkey-config"
    err = parse_error(body)
    if _LITELLM_ROUTING.search(err.message):
        return "litellm-routing"
    return None


def describe_error(status: int, err: ApiError) -> str:
    """A one-line, outside-text-safe description of a rejected request."""
    if err.html_title is not None:
        title = f" (title: {err.html_title})" if err.html_title else ""
        return f"HTTP {status} with an HTML page instead of JSON{title}"
    # Some gateways (LiteLLM) put the HTTP status in error.code ("429"): it says nothing the
    # status line does not, so the type ("throttling_error") names the error instead.
    label = err.code if err.code and err.code != str(status) else err.type
    detail = err.message or one_line(err.raw_text, 200)
    parts = [f"HTTP {status}"]
    if label:
        parts.append(one_line(label, 60))
    text = " ".join(parts)
    return f"{text}: {one_line(detail, 300)}" if detail else text


def field_fix(err: ApiError) -> str | None:
    """When a 400 says a payload field is not accepted, say which field to drop."""
    if err.param in _FIELD_FIX and re.search(r"unsupported|not supported", err.words(), re.I):
        return _FIELD_FIX[err.param]
    match = _DROP_FIELD.search(err.message)
    if match:
        name = (match.group(2) or match.group(3) or "").lower()
        return _FIELD_FIX.get(name)
    return None


def response(status: int, headers: Mapping[str, str], body: bytes) -> tuple[Category, str]:
    """Classify a response that is not 2xx."""
    err = parse_error(body)
    message = describe_error(status, err)
    words = err.words()
    if 300 <= status < 400:
        where = headers.get("location", "")
        return Category.PROTOCOL, (
            f"HTTP {status} redirect to {one_line(where, 200) or 'nowhere'}: not followed. "
            "Set base_url to the final address (the key never follows a redirect to another host)"
        )
    if status == 401 or (status in (400, 403) and _AUTH.search(words)):
        return Category.AUTH, message + (_KEY_STORE_NOTE if _KEY_STORE_DOWN.search(words) else "")
    if status == 402 or (status in (403, 429) and _QUOTA.search(err.type + " " + err.code)):
        return Category.QUOTA, message
    if status == 429 and _QUOTA.search(err.message) and "rate" not in err.message.lower():
        return Category.QUOTA, message
    if status == 429:
        return Category.RATE_LIMIT, message
    if status == 403:
        return Category.PERMISSION, message
    if status == 408:
        return Category.TIMEOUT, message
    if 400 <= status < 500:
        if _MODEL.search(words):
            return Category.MODEL, message
        if status == 404:
            return Category.REQUEST, message  # what to do depends on the URL: not_found()
        fix = field_fix(err)
        return Category.REQUEST, f"{message.rstrip('.')}. Fix: {fix}" if fix else message
    if status > 599 or status < 100:
        return Category.PROTOCOL, f"HTTP {status} is not an HTTP status (100-599): {message}"
    if status >= 500:
        # CometAPI documents a 500 with error.code invalid_request as a bad request
        # that must not be retried.
        if err.code == "invalid_request":
            return Category.REQUEST, message
        return Category.UPSTREAM, message
    return Category.PROTOCOL, f"HTTP {status} is not a final answer"


_NOT_FOUND_AZURE = (
    "HTTP 404 on a URL with a query string (Azure OpenAI style, ?api-version=): chat-smoke "
    "cannot tell which part is wrong. Likely causes: the deployment name in the path "
    "(.../openai/deployments/NAME) does not exist, the api-version is not one this "
    "resource serves, or the resource name in the host is wrong. Compare them with the "
    "resource's Deployments page."
)
_NOT_FOUND_NO_V1 = (
    "HTTP 404: the path was not found. base_url's path {path} has no /v1, which most "
    "OpenAI-compatible APIs need (https://HOST/v1): check the provider's base URL."
)
_NOT_FOUND = (
    "HTTP 404: chat-smoke cannot tell why. Likely causes: base_url's path {path} is not "
    "this API's (a gateway prefix missing or extra), the endpoint does not serve "
    "/chat/completions, or it routes this model nowhere. Compare base_url with the "
    "provider's documentation."
)


def not_found(path: str, query: str) -> str:
    """What to do about a 404 that does not name the model, from the URL's shape; never a
    cause chat-smoke cannot know (issue 21)."""
    if query:
        return _NOT_FOUND_AZURE
    if not re.search(r"/v\d+(/|$)", path):
        return _NOT_FOUND_NO_V1.format(path=path or "/")
    return _NOT_FOUND.format(path=path or "/")


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        nxt = current.__cause__ or current.__context__
        if nxt is None and current.args and isinstance(current.args[0], BaseException):
            nxt = current.args[0]
        current = nxt
    return seen


_NOT_HTTP = (
    "the answer is not HTTP/1.x: {what}. Is base_url's port a TLS port spoken to in plain "
    "http, a non-HTTP service, or a broken gateway?"
)


def malformed(chain: list[BaseException]) -> str | None:
    """What is wrong with an answer that is not valid HTTP framing, if that is the fault:
    a bad or missing status line (HTTP/0.9, garbage), an oversized header line, too many
    headers, a malformed chunked body. A connection closed early is not this: it may be
    a passing network fault, and stays ``connect``."""
    import urllib3

    for error in chain:
        if isinstance(error, http.client.RemoteDisconnected):
            return None  # a BadStatusLine too, but it means "closed without an answer"
        if isinstance(error, urllib3.exceptions.InvalidChunkLength) or (
            # http.client's own chunked reader (urllib3 2's read1): int(size, 16)
            # failed; on b"" the connection simply closed early, which stays ``connect``.
            isinstance(error, ValueError) and "base 16" in str(error)
            and not str(error).endswith("b''")
        ):
            return "the chunked body is malformed (a chunk size that is not a hex number)"
        if isinstance(error, http.client.BadStatusLine):
            return _NOT_HTTP.format(what="the status line is malformed or missing")
        if isinstance(error, http.client.LineTooLong):
            return _NOT_HTTP.format(what="a header line is longer than 64 KiB")
        if isinstance(error, http.client.HTTPException) and "headers" in str(error):
            return _NOT_HTTP.format(what="more than 100 header lines")
        if isinstance(error, urllib3.exceptions.InvalidHeader | http.client.InvalidURL):
            return _NOT_HTTP.format(what="a header is malformed")
    return None


def exception(exc: BaseException, reading_body: bool = False) -> tuple[Category, str]:
    """Classify a transport exception (from requests, urllib3 or the socket)."""
    import requests

    chain = _chain(exc)
    names = " ".join(type(e).__name__ for e in chain)
    text = one_line(" ".join(str(e) for e in chain), 400)
    if any(isinstance(e, socket.gaierror) for e in chain) or "NameResolution" in names:
        return Category.DNS, "the host does not resolve (name resolution failed)"
    framing = malformed(chain)
    if framing is not None:
        return Category.PROTOCOL, framing
    if any(isinstance(e, ssl.SSLError | requests.exceptions.SSLError) for e in chain):
        if "hostname" in text.lower() or "doesn't match" in text or "IP address mismatch" in text:
            return Category.TLS, "TLS: the certificate does not match the host name"
        if "certificate verify failed" in text or "CERTIFICATE" in text:
            return Category.TLS, "TLS: the certificate is not trusted (pass --ca-bundle for a "\
                "corporate CA)"
        return Category.TLS, f"TLS handshake failed: {_short_reason(text)}"
    if any(isinstance(e, requests.exceptions.ConnectTimeout) for e in chain):
        return Category.TIMEOUT, "connect timeout: no connection within the connect timeout"
    if any(isinstance(e, requests.exceptions.ReadTimeout | TimeoutError) for e in chain) or (
        "timed out" in text.lower()
    ):
        where = "while the body was arriving" if reading_body else "waiting for the response"
        return Category.TIMEOUT, f"read timeout {where}"
    if any(isinstance(e, requests.exceptions.ContentDecodingError) for e in chain) or (
        "DecodeError" in names
    ):
        return Category.PROTOCOL, "the body could not be decoded (bad Content-Encoding)"
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "refused" in text.lower():
        return Category.CONNECT, "connection refused: nothing listens at that host and port"
    if reading_body or any(isinstance(e, ConnectionResetError) for e in chain):
        return Category.CONNECT, "the connection was reset or closed mid-response"
    return Category.CONNECT, f"connection failed: {_short_reason(text)}"


def _short_reason(text: str) -> str:
    match = re.search(r"\[SSL[^\]]*\][^()]*|\b(Errno \d+[^)]*)", text)
    return one_line(match.group(0) if match else text, 160)

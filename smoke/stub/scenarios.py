"""The stub's named scenarios. ``pass`` is a well-behaved, validating server; every other
scenario is one way an endpoint, a gateway or a network really misbehaves."""

from __future__ import annotations

import gzip
import socket
import struct
import time
from collections.abc import Callable
from email.utils import formatdate

from smoke.stub import appscenarios, operational, wire
from smoke.stub.handler import Handler
from smoke.stub.request import Request as Request  # re-exported
from smoke.stub.request import validate as validate  # re-exported
from smoke.stub.streams import STREAMS, stream_text

Scenario = Callable[["Handler", "Request"], None]
HOSTILE = (
    "pong\n::error title=pwned::owned\n::add-mask::x\n</details><script>alert(1)</script>"
    " | a | b |\n# Heading\n[link](http://evil.example)\nghadelimiter_0000\nEOF\n"
    "::stop-commands::x\n%0A::warning::hidden"
)

# Every CI's command syntax (issue 14), for the model text, the error body and a header:
# GitHub, Azure (##vso[ and ##[ anywhere), GitLab sections, Buildkite groups at a line
# start, JUnit attachment markers (GitLab, Jenkins) and TeamCity service messages.
CI_HOSTILE = (
    "::error::pwned\n##vso[task.setvariable variable=X]pwned\n##[error]pwned\n"
    "text ##vso[task.logissue type=error]pwned ##[group]pwned\n"
    "\x1b[0Ksection_start:1:x[collapsed=true]\r\x1b[0Kpwned\n"
    "--- group\n+++ x\n^^^ +++\n~~~ y\n[[ATTACHMENT|/etc/passwd]]\n"
    "[[PROPERTY|pwned=1]]\n##teamcity[buildStatus text='pwned']\n"
    "\x1b[0Ksection_end:1:chat-smoke_checks\r\x1b[0K"
)
CI_HOSTILE_HEADER = (
    "##vso[task.setvariable variable=H]pwned ##[error]h [[ATTACHMENT|/etc/passwd]] "
    "##teamcity[m] ::error::h"
)


def _answer(h: Handler, req: Request, text: str) -> None:
    if req.stream:
        stream_text(h, req, text)
        return
    h.send_json(200, wire.completion(req.model, text))


def ok(h: Handler, req: Request) -> None:
    if validate(h, req):
        _answer(h, req, "pong")


def wrong_answer(h: Handler, req: Request) -> None:
    if validate(h, req):
        _answer(h, req, "I am a helpful assistant. How can I help you today?")


def bad_key(h: Handler, req: Request) -> None:
    shown = h.bearer()  # echoes the whole key back, as some gateways do
    h.send_bytes(401, wire.error(f"Invalid API key: {shown}", "invalid_request_error",
                                 "invalid_api_key"))


def unknown_model(h: Handler, req: Request) -> None:
    h.send_bytes(404, wire.error(f"The model `{req.model}` does not exist.",
                                 "invalid_request_error", "model_not_found"))


def status_json(status: int, message: str, type_: str, code: str | None,
                headers: dict[str, str] | None = None) -> Scenario:
    def run(h: Handler, req: Request) -> None:
        h.send_bytes(status, wire.error(message, type_, code), headers=headers)

    return run


def rejects(field: str, refused: Callable[[object], bool], refusal: Scenario) -> Scenario:
    """``refusal`` while the request carries ``field`` with a value ``refused`` holds
    for; otherwise a well-behaved answer."""
    def run(h: Handler, req: Request) -> None:
        if field in req.payload and refused(req.payload[field]):
            refusal(h, req)
        else:
            ok(h, req)

    return run


def status_json_raw(status: int, data: object) -> Scenario:
    def run(h: Handler, req: Request) -> None:
        h.send_json(status, data)

    return run


def status_html(h: Handler, req: Request) -> None:
    status = int(req.arg or 502)
    h.send_bytes(status, wire.html(f"{status} Bad Gateway"), "text/html")


def flaky(status: int, retry_after: Callable[[], str] | None) -> Scenario:
    """Fail ``arg`` times (default 1) with ``status``, then behave."""

    def run(h: Handler, req: Request) -> None:
        times = int(req.arg_float(1))
        if h.server.state.count(req.scenario) <= times:
            headers = {"Retry-After": retry_after()} if retry_after else {}
            if status == 429:
                body = wire.error("Rate limit reached for requests", "requests",
                                  "rate_limit_exceeded")
            else:
                body = wire.error("The server had an error", "server_error", None)
            h.send_bytes(status, body, headers=headers)
            return
        ok(h, req)

    return run


def rate_limit_forever(h: Handler, req: Request) -> None:
    """429 always, asking for a wait of ``arg`` seconds (default 1)."""
    wait = req.arg_float(1.0)
    h.send_bytes(429, wire.error("Rate limit reached for requests", "requests",
                                 "rate_limit_exceeded"), headers={"Retry-After": f"{wait:g}"})


def slow(h: Handler, req: Request) -> None:
    """Sleep before the headers (default 5 s), then answer."""
    time.sleep(req.arg_float(5.0))
    ok(h, req)


def hang(h: Handler, req: Request) -> None:
    """Read the request, then never send the headers."""
    time.sleep(req.arg_float(3600.0))


def drip(h: Handler, req: Request) -> None:
    """Send the headers, then a byte every ``arg`` seconds (0.2) forever."""
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", "100000000")
    h.end_headers()
    interval = req.arg_float(0.2)
    try:
        for _ in range(int(3600 / interval)):
            h.wfile.write(b" ")
            h.wfile.flush()
            time.sleep(interval)
    except OSError:
        return


def reset(h: Handler, req: Request) -> None:
    """Send part of the headers, then reset the connection (RST)."""
    h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Len")
    h.wfile.flush()
    h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    h.connection.close()
    h.close_connection = True


def raw_body(body: bytes, content_type: str = "application/json",
             headers: dict[str, str] | None = None) -> Scenario:
    def run(h: Handler, req: Request) -> None:
        h.send_bytes(200, body, content_type, headers)

    return run


def json_body(make: Callable[[Request], object]) -> Scenario:
    def run(h: Handler, req: Request) -> None:
        if validate(h, req):
            h.send_json(200, make(req))

    return run


def truncated(h: Handler, req: Request) -> None:
    body = wire.dumps(wire.completion(req.model, "pong"))
    h.send_bytes(200, body[: len(body) // 2])


def gzip_body(h: Handler, req: Request) -> None:
    if validate(h, req):
        body = gzip.compress(wire.dumps(wire.completion(req.model, "pong")))
        h.send_bytes(200, body, headers={"Content-Encoding": "gzip"})


def huge(h: Handler, req: Request) -> None:
    """A body of ``arg`` MiB (default 64), sent in 1 MiB pieces."""
    size = int(req.arg_float(64)) * 1024 * 1024
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(size))
    h.end_headers()
    piece = b" " * (1024 * 1024)
    try:
        for _ in range(size // len(piece)):
            h.wfile.write(piece)
    except OSError:
        return


def redirect_html(h: Handler, req: Request) -> None:
    h.send_bytes(301, wire.html("Moved"), "text/html",
                 {"Location": "https://www.example.com/login"})


def redirect_to(host: str | None) -> Scenario:
    """307 (method and body kept) to the plain pass route, on this host or on ``host``
    (``arg`` = its port; default this server's)."""

    def run(h: Handler, req: Request) -> None:
        port = req.arg or str(h.server.server_address[1])
        target = f"http://{host}:{port}" if host else ""
        h.send_bytes(307, b"", "text/plain", {"Location": f"{target}/v1/chat/completions"})

    return run


def lax_errors(h: Handler, req: Request) -> None:
    """A gateway with loose error mapping: a wrong key is a bare 403 and an unknown model a
    generic 400; a good request is answered (the negative checks' wrong-category case)."""
    if h.bearer() != h.server.state.key:
        h.send_bytes(403, wire.error("Forbidden", "forbidden", None))
    elif req.model not in h.server.state.models and "messages" in req.payload:
        h.send_bytes(400, wire.error("Bad request", "bad_request", None))
    else:
        ok(h, req)


def accept_all(h: Handler, req: Request) -> None:
    """Answers every request, however wrong: an endpoint that enforces no contract."""
    _answer(h, req, "pong")


def echo_key(h: Handler, req: Request) -> None:
    """401 whose body echoes the key in several shapes."""
    key = h.bearer()
    h.send_bytes(401, wire.error(
        f"Invalid key {key} (prefix {key[:12]}, suffix {key[-10:]})", "auth_error",
        "invalid_api_key"), headers={"X-Echo": key[:20]})


def portkey_router(h: Handler, req: Request) -> None:
    """A gateway that routes on headers, as Portkey's does: without x-portkey-config or
    x-portkey-provider its own layer refuses, in its own envelope (not OpenAI's)."""
    if not (h.headers.get("x-portkey-provider") or h.headers.get("x-portkey-config")):
        h.send_json(400, {"status": "failure", "message":
                          "Either x-portkey-config or x-portkey-provider header is required"})
        return
    ok(h, req)


def portkey_exception(h: Handler, req: Request) -> None:
    """Portkey's gateway failing itself: a 500 marked x-portkey-gateway-exception."""
    h.send_bytes(500, wire.error("Something went wrong", "gateway_error", None),
                 headers={"x-portkey-gateway-exception": "true",
                          "x-portkey-trace-id": "trace-stub-0001"})


def html_in_json(h: Handler, req: Request) -> None:
    """A gateway that got an HTML page upstream and wrapped it (Portkey's html-message)."""
    h.send_json(int(req.arg or 502), {"html-message": wire.html("502 Bad Gateway").decode()})


def retry_after_date(h: Handler, req: Request) -> None:
    flaky(429, lambda: formatdate(time.time() + 2, usegmt=True))(h, req)


def ci_hostile(h: Handler, req: Request) -> None:
    """Every CI's commands in the answer (a wrong one) and in a request id header."""
    if validate(h, req):
        h.send_json(200, wire.completion(req.model, CI_HOSTILE),
                    headers={"x-request-id": CI_HOSTILE_HEADER})


def ci_hostile_error(h: Handler, req: Request) -> None:
    """Every CI's commands in an error body and in a request id header."""
    h.send_bytes(400, wire.error(CI_HOSTILE, "invalid_request_error", CI_HOSTILE[:40]),
                 headers={"x-request-id": CI_HOSTILE_HEADER})


def sdk_mismatch(h: Handler, req: Request) -> None:
    """Answers the official openai SDK (it sends ``X-Stainless-Lang``) with another model and
    text than every other client: the parity check's injected mismatch."""
    if not validate(h, req):
        return
    if h.headers.get("X-Stainless-Lang"):
        h.send_json(200, wire.completion(f"{req.model}-sdk-route", "ping"))
    else:
        _answer(h, req, "pong")


SCENARIOS: dict[str, Scenario] = {
    "pass": ok,
    "wrong-answer": wrong_answer,
    "bad-key": bad_key,
    "echo-key": echo_key,
    "unknown-model": unknown_model,
    "rate-limit-then-pass": flaky(429, lambda: "1"),
    "rate-limit-date-then-pass": retry_after_date,
    "rate-limit-forever": rate_limit_forever,
    "server-error-then-pass": flaky(500, None),
    "insufficient-quota": status_json(
        429, "You exceeded your current quota, please check your plan and billing details.",
        "insufficient_quota", "insufficient_quota"),
    "payment-required": status_json(402, "Insufficient balance", "billing_error", None),
    "forbidden": status_json(403, "You are not allowed to use this model in this project.",
                             "permission_error", "forbidden"),
    "invalid-model-name": status_json(
        400, "Invalid model name passed in model=nope. Call `/v1/models` to view available "
        "models for your key.", "invalid_request_error", "400"),
    "bad-request": status_json(400, "Invalid value for 'top_k': unknown parameter.",
                               "invalid_request_error", None),
    # A reasoning model: it refuses the field while the request has it, and answers once
    # the printed fix leaves it out (issue 21: the fix must work on the next run).
    "rejects-temperature": rejects(
        "temperature", lambda value: value not in (None, 1, 1.0), status_json(
            400, "Unsupported value: 'temperature' does not support 0 with this model. Only "
            "the default (1) value is supported.", "invalid_request_error",
            "unsupported_value")),
    "rejects-max-tokens": rejects(
        "max_tokens", lambda value: value is not None, status_json(
            400, "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
            "'max_completion_tokens' instead.", "invalid_request_error",
            "unsupported_parameter")),
    "comet-invalid-request": status_json(
        500, "invalid request body (request id: 2025112701234567)", "comet_api_error",
        "invalid_request"),
    "server-error": status_json(500, "The server had an error while processing your request.",
                                "server_error", None),
    "upstream-html": status_html,
    "slow": slow,
    "hang": hang,
    "drip": drip,
    "reset": reset,
    "html-200": raw_body(wire.html("Sign in to the guest Wi-Fi"), "text/html"),
    "truncated": truncated,
    "wrong-shape": json_body(lambda r: {"result": "pong", "status": "ok"}),
    "no-choices": json_body(lambda r: {k: v for k, v in wire.completion(r.model, "pong").items()
                                       if k != "choices"}),
    "empty-choices": json_body(lambda r: {**wire.completion(r.model, "pong"), "choices": []}),
    "refusal": json_body(lambda r: wire.completion(
        r.model, None, message={"refusal": "I can't help with that."})),
    "content-parts": json_body(lambda r: wire.completion(
        r.model, [{"type": "text", "text": "po"}, {"type": "text", "text": "ng"}])),
    "no-usage": json_body(lambda r: {k: v for k, v in wire.completion(r.model, "pong").items()
                                     if k != "usage"}),
    "not-utf8": raw_body(b'{"choices": [{"message": {"content": "p\xff\xfeng"}}]}'),
    "gzip": gzip_body,
    "huge": huge,
    "redirect-html": redirect_html,
    "redirect-same-host": redirect_to(None),
    "redirect-other-host": redirect_to("localhost"),
    "hostile": json_body(lambda r: wire.completion(r.model, HOSTILE)),
    "accept-all": accept_all,
    "substituted-model": json_body(lambda r: wire.completion("fallback-model-mini", "pong")),
    # A gateway that adds its own system prompt: usage far above the request's size.
    "hidden-prompt": json_body(lambda r: wire.completion(r.model, "pong", usage={
        "prompt_tokens": 900, "completion_tokens": 1, "total_tokens": 901})),
    "lax-errors": lax_errors,
    "portkey-router": portkey_router,
    "portkey-config": status_json_raw(400, {
        "status": "failure", "message": "Invalid config passed. You need to pass a valid json"}),
    "portkey-exception": portkey_exception,
    "html-in-json": html_in_json,
    # LiteLLM's router: no deployment serves the model (its own layer, not the provider).
    "litellm-no-deployment": status_json(
        429, "No deployments available for selected model, Try again in 60 seconds. Passed "
        "model=stub-model. pre-call-checks=False, allowed_model_region=n/a.",
        "None", "429"),
    "sdk-mismatch": sdk_mismatch,
    "ci-hostile": ci_hostile,
    "ci-hostile-error": ci_hostile_error,
    **operational.SCENARIOS,  # the contract and the operational signals (issue 22)
}

SCENARIOS.update(appscenarios.SCENARIOS)  # the application's own request (issue 22)


def dispatch(h: Handler, scenario: str, payload: object, raw: bytes) -> None:
    req = Request(scenario, payload, raw)
    if req.name.startswith("stream-"):
        handler = STREAMS.get(req.name)
    else:
        handler = SCENARIOS.get(req.name)
    if handler is None:
        known = ", ".join(sorted(SCENARIOS))
        h.send_bytes(400, wire.error(f"stub: unknown scenario {req.name!r}; known: {known}",
                                     "invalid_request_error", "unknown_scenario"))
        return
    handler(h, req)


def models(h: Handler, scenario: str) -> None:
    if scenario.startswith("no-models"):
        not_found(h)
        return
    if h.bearer() != h.server.state.key and not scenario.startswith("accept-all"):
        h.send_bytes(401, wire.error("Incorrect API key provided.", "invalid_request_error",
                                     "invalid_api_key"))
        return
    data = [{"id": m, "object": "model", "created": 0, "owned_by": "stub"}
            for m in h.server.state.models]
    h.send_json(200, {"object": "list", "data": data})


def not_found(h: Handler) -> None:
    h.send_bytes(404, wire.html("404 Not Found"), "text/html")

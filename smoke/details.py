# ruff: noqa: UP013
"""What a check records in ``Check.details``, by key (:class:`Details`), and the shape of
each: ours, so each is a TypedDict; report.json carries them as written here
(``smoke/schema/report.schema.json``: a check's ``details``).

In the functional form (hence UP013 off in this module): the keys are report.json's names,
data rather than attributes, and in the class form vulture would take each key no code
reads by attribute for an unused variable.
"""

from __future__ import annotations

from typing import TypedDict

# The application's own body: which file, its sha256 and size (never its text).
RequestBody = TypedDict("RequestBody", {
    "file": str | None,
    "sha256": str,
    "bytes": int,
})


Certificate = TypedDict("Certificate", {
    "subject": str | None,
    "issuer": str | None,
    "not_after": str,
    "days_left": int,
}, total=False)


# A positive check's timing (``ttfb_ms``, ``total_ms``) and the wire probe's facts.
Wire = TypedDict("Wire", {
    "ttfb_ms": int,
    "total_ms": int,
    "host": str,
    "port": int,
    "note": str,
    "error": str,
    "dns_ms": float,
    "addresses": list[str],
    "connect_ms": float,
    "connected_to": str,
    "tls_ms": float,
    "tls_version": str | None,
    "cipher": str | None,
    "certificate": Certificate,
}, total=False)


# What a streaming check saw of its event stream.
Stream = TypedDict("Stream", {
    "content_type": str | None,
    "ttfb_ms": int,
    "first_token_ms": int | None,
    "total_ms": int,
    "chunks": int,
    "comments": int,
    "done": bool,
    "usage_chunk": bool,
    "usage_chunk_with_choices": bool,
})


# One broken rule of the response contract; ``chunk`` (the first chunk that showed it)
# and ``chunks`` (how many did) for a stream.
DeviationEntry = TypedDict("DeviationEntry", {
    "path": str,
    "rule": str,
    "found": str,
    "chunk": int,
    "chunks": int,
}, total=False)


Contract = TypedDict("Contract", {
    "mode": str,
    "checked": int,
    "deviations": list[DeviationEntry],
})


# One resource's ``x-ratelimit-*`` headers.
RateLimit = TypedDict("RateLimit", {
    "limit": int | float | None,
    "remaining": int | float | None,
    "reset": str,
    "reset_s": float | None,
}, total=False)


# Per resource (``requests``, ``tokens``, ``any``), and ``retry_after_s``: seconds.
RateLimits = dict[str, RateLimit | float]

# The Deprecation and Sunset headers, and their Link relations.
Retirement = TypedDict("Retirement", {
    "deprecation": str | bool,
    "deprecation_unparsed": str,
    "sunset": str,
    "sunset_days": float,
    "sunset_unparsed": str,
    "links": dict[str, str],
}, total=False)


# One latency objective: the measure, its bounds, and which bound it crossed.
LatencyEntry = TypedDict("LatencyEntry", {
    "value_ms": int,
    "warn": int,
    "fail": int,
    "verdict": str,
}, total=False)


# The application's parser: which, how long, what it read (and what ours read).
Parser = TypedDict("Parser", {
    "kind": str,
    "name": str,
    "duration_ms": int,
    "text": str,
    "builtin_text": str,
}, total=False)


# One change against the baseline (``smoke.checks.drift``).
Change = TypedDict("Change", {
    "check": str,
    "model": object,
    "field": str,
    "kind": str,
    "before": object,
    "after": object,
    "message": str,
})


# The comparison with ``--baseline``: report.json's ``drift``.
Drift = TypedDict("Drift", {
    "baseline_started_at": object,
    "comparable": bool,
    "reason": str | None,
    "changes": list[Change],
    "baseline": str,
}, total=False)


# ``Check.details``: the facts of the check's kind, each written by one module.
Details = TypedDict("Details", {
    "request_fields": list[str],  # send: the request body's top-level keys
    "request_body": RequestBody,  # send
    "gateway_layer": str,  # send: the gateway's own layer produced the error
    "wire": Wire,  # positive, preflights.wire
    "stream": Stream,  # streaming
    "contract": Contract,  # signals
    "ratelimit": RateLimits,  # signals
    "retirement": Retirement,  # signals
    "latency": dict[str, LatencyEntry],  # signals, by measure
    "parser": Parser,  # application
    "asserted_text_from": str,  # application: the parser whose text was asserted
    "got_category": str,  # negative
    "sdk": str,  # sdk_parity: "openai VERSION"
    "raw_side": str,  # sdk_parity
    "sdk_side": str,  # sdk_parity
    "drift": Drift,  # drift
    "limit": int,  # preflights.spend
    "ceiling": int,  # preflights.spend
    "requests": int,  # preflights.spend
    "attempts": int,  # preflights.spend
    "tokens_per_request": int,  # preflights.spend
    "total": int,  # preflights.spend
    "listed": int,  # preflights.models
    "missing": list[str],  # preflights.models
    "listed_but_not_found": bool,  # preflights.models
}, total=False)

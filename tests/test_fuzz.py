"""Property tests (issue 4): whatever status, headers and body come back, the parser
gives a Completion or a ParseFailure and the classifier a category with a one-line
message. Never another exception: that would be exit 1, "internal error"."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smoke.categories import Category
from smoke.http import classify, parse, retry

# A few thousand examples in total, well under a minute on 2 cores.
FUZZ = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SMALL = settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=40)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                max_size=4),
    max_leaves=16,
)


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(strategy, json_values)


parts = st.lists(_maybe(st.fixed_dictionaries({}, optional={
    "type": _maybe(st.sampled_from(["text", "image_url", "input_audio"])),
    "text": _maybe(st.text(max_size=20)),
})), max_size=4)
messages = st.fixed_dictionaries({}, optional={
    "role": _maybe(st.just("assistant")),
    "content": st.one_of(st.text(max_size=40), parts, json_values),
    "refusal": _maybe(st.text(max_size=20)),
    "tool_calls": _maybe(st.lists(json_values, max_size=2)),
})
choices = st.lists(_maybe(st.fixed_dictionaries({}, optional={
    "message": _maybe(messages),
    "finish_reason": _maybe(st.sampled_from(["stop", "length", "content_filter"])),
    "index": json_values,
})), max_size=3)
completions = st.fixed_dictionaries({}, optional={
    "id": json_values,
    "object": _maybe(st.just("chat.completion")),
    "model": _maybe(st.text(max_size=20)),
    "choices": _maybe(choices),
    "usage": _maybe(st.dictionaries(
        st.sampled_from(["prompt_tokens", "completion_tokens", "total_tokens"]), json_values)),
    "system_fingerprint": json_values,
})
error_envelopes = st.fixed_dictionaries({}, optional={
    "error": _maybe(st.fixed_dictionaries({}, optional={
        "message": _maybe(st.text(max_size=80)),
        "type": _maybe(st.sampled_from(["invalid_request_error", "insufficient_quota",
                                        "server_error", "auth_error", "requests"])),
        "code": _maybe(st.sampled_from(["invalid_api_key", "model_not_found",
                                        "insufficient_quota", "invalid_request", "400", ""])),
        "param": _maybe(st.sampled_from(["messages", "temperature", "max_tokens", "model"])),
    })),
    "detail": json_values,
    "message": json_values,
})


def _dump(value: Any) -> bytes:
    return json.dumps(value).encode("utf-8")


bodies = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200).map(lambda t: t.encode("utf-8")),
    completions.map(_dump),
    error_envelopes.map(_dump),
    json_values.map(_dump),
    # truncated JSON, an HTML page, deep nesting (the recursion limit of the decoder)
    completions.map(_dump).flatmap(lambda b: st.integers(0, len(b)).map(lambda n: b[:n])),
    st.text(max_size=60).map(lambda t: f"<html><title>{t}</title></html>".encode()),
    st.tuples(st.sampled_from([b"[", b'{"a":', b'{"error":']), st.integers(1, 3_000))
    .map(lambda p: p[0] * p[1]),
)
header_names = st.sampled_from([
    "retry-after", "retry-after-ms", "location", "x-request-id", "x-oneapi-request-id",
    "x-litellm-call-id", "request-id", "content-type",
]) | st.text(max_size=20)
header_values = st.one_of(
    st.text(max_size=60), st.integers(-10**6, 10**12).map(str),
    st.floats(allow_nan=True).map(str),
    st.datetimes().map(lambda d: d.strftime("%a, %d %b %Y %H:%M:%S GMT")),
)
headers = st.dictionaries(header_names, header_values, max_size=5)


@FUZZ
@given(body=bodies, truncated=st.booleans())
def test_parser_gives_a_completion_or_a_parse_failure(body: bytes, truncated: bool) -> None:
    try:
        answer = parse.completion(parse.load_json(body, truncated))
    except parse.ParseFailure as exc:
        assert str(exc)
        return
    assert isinstance(answer.text, str)
    assert answer.usage is None or isinstance(answer.usage, dict)
    parse.total_tokens(answer.usage)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=completions)
def test_parser_on_completion_like_objects(data: dict[str, Any]) -> None:
    try:
        answer = parse.completion(data)
    except parse.ParseFailure as exc:
        assert str(exc)
        return
    assert isinstance(answer.text, str) and answer.tool_calls >= 0


@FUZZ
@given(status=st.integers(0, 999), headers=headers, body=bodies)
def test_classifier_gives_a_category_and_one_line(
    status: int, headers: dict[str, str], body: bytes
) -> None:
    category, message = classify.response(status, headers, body)
    assert isinstance(category, Category)
    assert message and "\n" not in message and "\r" not in message
    if status == 401:
        assert category is Category.AUTH
    if 300 <= status < 400:
        assert category is Category.PROTOCOL


@SMALL
@given(body=bodies)
def test_parse_error_never_raises(body: bytes) -> None:
    err = classify.parse_error(body)
    assert isinstance(err.words(), str)
    assert classify.field_fix(err) is None or "this model rejects" in str(classify.field_fix(err))


@SMALL
@given(headers=headers, message=st.text(max_size=120))
def test_request_id_and_retry_wait(headers: dict[str, str], message: str) -> None:
    rid = classify.request_id(headers, message)
    assert rid is None or ("\n" not in rid and len(rid) <= 120)
    wait = retry.server_wait(headers)
    assert wait is None or 0 <= wait <= retry.MAX_SERVER_WAIT

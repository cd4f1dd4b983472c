"""Property tests (issue 4): whatever status, headers and body come back, the parser
gives a Completion or a ParseFailure and the classifier a category with a one-line
message. Never another exception: that would be exit 1, "internal error"."""

from __future__ import annotations

import base64
import json
import os
from typing import Any
from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st

from smoke.categories import Category
from smoke.http import classify, parse, retry
from tests.support.fuzz import examples

# A few thousand examples in total under the CI profile (tests/support/fuzz.py).
FUZZ = examples(1500)
SMALL = examples(800)

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


@examples(1000)
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


# -- issue 11: never exit 1, never a leak, reports always valid ------------------------------
# Modest counts: each property runs in-process in a few seconds.
# CHAT_SMOKE_FUZZ_EXAMPLES=1000 for a longer hunt; the default keeps each a few seconds.
HARDEN = examples(int(os.environ.get("CHAT_SMOKE_FUZZ_EXAMPLES", "120")))
FUZZ_KEY = "sk-fuzz-" + "Q1w2E3r4T5y6U7i8O9p0A1s2D3f4G5h6"

# Text from outside: any code point (lone surrogates included), control characters, and
# the key itself in the forms a server echoes it in.
_key_forms = st.sampled_from([
    FUZZ_KEY, f"Bearer {FUZZ_KEY}", quote(FUZZ_KEY),
    base64.b64encode(f"Bearer {FUZZ_KEY}".encode()).decode(),
    base64.b64encode(f":{FUZZ_KEY}".encode()).decode(),
    json.dumps(FUZZ_KEY)[1:-1], FUZZ_KEY[:20], FUZZ_KEY[-16:],
])
outside_text = st.one_of(
    st.text(max_size=80),
    st.text(st.characters(min_codepoint=0, max_codepoint=0x1F), max_size=20),
    st.text(st.characters(categories=("Cs", "Cc", "Cf", "Zl", "Zp", "Co")), max_size=20),
    st.tuples(st.text(max_size=20), _key_forms, st.text(max_size=20)).map("".join),
)
outside_numbers = st.one_of(
    st.integers(-10**30, 10**30), st.floats(allow_nan=True, allow_infinity=True),
    st.none(), st.booleans(), outside_text,
)


def _result(texts: list[str], numbers: list[Any], status: int | None) -> Any:
    from itertools import cycle

    from smoke.categories import Category
    from smoke.results import Attempt, Check, Step
    from tests.support.results import gate_result

    t = cycle(texts)
    n = cycle(numbers)
    category = list(Category)[len(texts) % len(list(Category))]
    check = Check(id=f"positive:{next(t)}", kind="positive", name=next(t), model=next(t),
                  outcome="fail", category=category, http_status=status, attempts=1,
                  request_id=next(t), finish_reason=next(t), message=next(t), answer=next(t),
                  response_model=next(t),
                  usage={"prompt_tokens": next(n), "completion_tokens": next(n),
                         "total_tokens": next(n), next(t): next(n)},
                  steps=[Step("send", "fail", next(t))],
                  attempt_log=[Attempt(1, status, category.value, 5, next(t), next(n))],
                  details={"wire": {"error": next(t), "x": next(n)}, next(t): [next(n)]},
                  warnings=[next(t)])
    result = gate_result(check, started_at="2026-01-01T00:00:00.000Z", duration_ms=12,
                         environment=next(t), deployment_sha=None,
                         endpoint={"base_url": "https://h.example/v1", "host": "h.example",
                                   "path": "/v1"},
                         warnings=[next(t)])
    assert (result.exit_code, result.category) == (category.exit_code, category)
    return result


@HARDEN
@given(texts=st.lists(outside_text, min_size=1, max_size=6),
       numbers=st.lists(outside_numbers, min_size=1, max_size=6),
       status=st.one_of(st.none(), st.integers(0, 999)))
def test_every_report_stays_valid_and_secret_free(texts: list[str], numbers: list[Any],
                                                  status: int | None) -> None:
    import tempfile
    import xml.etree.ElementTree as ET
    from pathlib import Path

    from smoke import reports
    from smoke.ci import github
    from smoke.output import redact
    from smoke.output.console import Console
    from tests.support.hardkit import assert_no_secret, strict_json
    from tests.support.runner_rules import parse_output_file

    with redact.scope(FUZZ_KEY), tempfile.TemporaryDirectory() as folder:
        result = _result(texts, numbers, status)
        targets = {kind: str(Path(folder) / kind) for kind in reports.KINDS}
        reports.write_all(result, targets)
        written = {kind: Path(path).read_bytes().decode("utf-8")
                   for kind, path in targets.items()}
        strict_json(written["report_json"])
        ET.fromstring(written["report_junit"].encode("utf-8"))
        assert written["summary"].strip()
        assert all("=" in line for line in written["report_dotenv"].splitlines())
        output_file = Path(folder) / "github_output"
        github.write_outputs({"GITHUB_OUTPUT": str(output_file)},
                             github.outputs(result, {}, targets))
        pairs = parse_output_file(output_file.read_bytes().decode("utf-8"))
        assert [name for name, _ in pairs][:3] == ["verdict", "category", "exit-code"]
        console_file = Path(folder) / "console"
        with console_file.open("w", encoding="utf-8") as out:
            console = Console(out)
            for check in result.checks:
                console.check(check)
            console.verdict(result)
        written["console"] = console_file.read_text("utf-8")
        written["outputs"] = output_file.read_text("utf-8")
        assert_no_secret(written, FUZZ_KEY)


config_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**20, 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=30),
)
config_values = st.recursive(
    config_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _schema_keys() -> list[str]:
    from smoke.config.validate import schema

    return sorted(schema()["properties"])


config_docs = st.dictionaries(
    st.one_of(st.sampled_from(_schema_keys()), st.text(max_size=10)),
    st.one_of(config_values, st.sampled_from(["m", "https://h.example/v1", "5", "pong"])),
    max_size=6,
)
yaml_fragments = st.lists(st.one_of(
    st.sampled_from(["model: m\n", "timeout: .nan\n", "deadline: -.inf\n", "a: &a [1,2]\n",
                     "b: [*a,*a,*a]\n", "model: m\n", "\t", "- x\n", "---\n", "{", "}",
                     "extra_body: {top_p: 1.0e+999}\n", "? [a]\n: b\n", "!!python/object:x\n",
                     "<<: *a\n", "base_url: http://u:p@h/v1\n", "\x00", "\ufeff", "\x85",
                     'api_key_file: "k\\0"\n', 'ca_bundle: "\\0"\n', "model: [m, m]\n"]),
    st.text(max_size=20),
), max_size=12).map("".join)


def _load(files: dict[str, bytes], env: dict[str, str], flags: dict[str, Any]) -> Any:
    import tempfile
    from pathlib import Path

    from smoke import config
    from smoke.errors import ConfigError
    from smoke.output import redact

    with redact.scope(), tempfile.TemporaryDirectory() as folder:
        for name, data in files.items():
            (Path(folder) / name).write_bytes(data)
        try:
            return config.load(flags, env, Path(folder))
        except ConfigError as exc:
            message = str(exc)
            assert message and "\n" not in message.strip(), message
            return exc


@HARDEN
@given(doc=config_docs)
def test_any_config_mapping_loads_or_is_one_config_line(doc: dict[str, Any]) -> None:
    import yaml

    text = yaml.safe_dump(doc, allow_unicode=True).encode("utf-8")
    outcome = _load({"chat-smoke.yml": text}, {"COMETAPI_API_KEY": FUZZ_KEY}, {})
    from smoke.errors import ConfigError

    if isinstance(outcome, ConfigError):
        assert FUZZ_KEY not in str(outcome) and FUZZ_KEY[:12] not in str(outcome)


@HARDEN
@given(text=yaml_fragments | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_any_config_text_loads_or_is_one_config_line(text: str) -> None:
    data = text.encode("utf-8", errors="surrogatepass")
    _load({"chat-smoke.yml": data}, {"COMETAPI_API_KEY": FUZZ_KEY}, {"model": "m"})


@HARDEN
@given(flags=st.dictionaries(st.sampled_from(_schema_keys()),
                             st.text(st.characters(exclude_categories=("Cs",)), max_size=24),
                             max_size=4))
def test_any_flag_text_loads_or_is_one_config_line(flags: dict[str, str]) -> None:
    _load({}, {"COMETAPI_API_KEY": FUZZ_KEY}, {"model": "m", **flags})


keys = st.one_of(
    st.text(max_size=60),
    st.text(st.characters(exclude_categories=("Cs",)), min_size=8, max_size=60),
    st.tuples(st.just(FUZZ_KEY), st.sampled_from(["\n", " ", "\t", "\x00", "\x1b", "é", "ж",
                                                  "\u2028", "\r\n", "\x85"]),
              st.just(FUZZ_KEY[::-1])).map("".join),
)


@HARDEN
@given(key=keys, where=st.sampled_from(["env", "file"]))
def test_any_key_is_sendable_or_a_config_error_without_it(key: str, where: str) -> None:
    import re

    from smoke.errors import ConfigError

    if where == "env":
        if "\x00" in key:
            return  # an environment variable cannot hold NUL
        outcome = _load({}, {"COMETAPI_API_KEY": key}, {"model": "m"})
    else:
        outcome = _load({"key.txt": key.encode("utf-8", "surrogatepass")}, {},
                        {"model": "m", "api_key_file": "key.txt"})
    if isinstance(outcome, ConfigError):
        message = str(outcome)
        for piece in key.split():
            if len(piece) >= 8:
                assert piece not in message, message
        return
    sent = outcome.api_key
    assert sent == sent.strip() and sent
    f"Bearer {sent}".encode("latin-1")  # what http.client does with a header value
    assert not re.search(r"[\s\x00-\x1f\x7f-\x9f]", sent)

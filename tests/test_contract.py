"""The response contract (smoke/schema/chat-completion.contract.json, checked by
smoke/http/contract.py) against OpenAI's published OpenAPI specification.

The specification is read from ../shared/reference/openai-openapi/ (its version and source
are in the README there) and evaluated with ``jsonschema``, in tests only. Two directions:

- an answer (or stream chunk) the specification accepts has no deviation here;
- each deviation flagged here is one the specification rejects, at the same JSON path
  (a missing key as the specification's ``required`` for that key).

A table of cases pins down what real servers send, and Hypothesis mutates valid answers
(deleting keys, swapping values for wrong types and near-miss words) to search for a
disagreement. The specification still uses OpenAPI 3.0's ``nullable: true`` in a 3.1
document; JSON Schema ignores that keyword, so it is honoured here (a null is accepted
where the specification says ``nullable``): that makes the specification accept more,
which makes the first direction harder, never easier.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from smoke.http import contract
from smoke.stub import operational, wire

ROOT = Path(__file__).resolve().parent.parent
SPEC_PARTS = ("shared", "reference", "openai-openapi", "openapi.yaml")
URN = "urn:openai-openapi"


def spec_file() -> Path:
    """../shared from the checkout (a worktree one level deeper finds it one further up)."""
    for base in (ROOT.parent, ROOT.parent.parent):
        path = base.joinpath(*SPEC_PARTS)
        if path.is_file():
            return path
    pytest.fail(f"OpenAI's OpenAPI specification is not at ../{'/'.join(SPEC_PARTS)}: the "
                "contract cannot be cross-checked without it")


def _nullable(node: Any) -> Any:
    if isinstance(node, list):
        return [_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _nullable(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable") is True:
        return {"anyOf": [out, {"type": "null"}]}
    return out


@cache
def _spec_schemas() -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with spec_file().open("rb") as handle:
        spec = yaml.load(handle, Loader=loader)  # noqa: S506 - a safe loader
    assert spec["info"]["version"], "the specification has no version"
    return {"components": {"schemas": _nullable(spec["components"]["schemas"])}}


@cache
def spec_validator(name: str) -> Draft202012Validator:
    registry: Registry[Any] = Registry().with_resource(
        URN, Resource.from_contents(_spec_schemas(), default_specification=DRAFT202012))
    return Draft202012Validator({"$ref": f"{URN}#/components/schemas/{name}"},
                                registry=registry)


SPEC = {"answer": "CreateChatCompletionResponse", "chunk": "CreateChatCompletionStreamResponse"}
OURS = {"answer": contract.answer, "chunk": contract.chunk}
Location = tuple[str, tuple[Any, ...]]  # ("required" | "value", path)


def _flatten(errors: list[ValidationError]) -> list[ValidationError]:
    found: list[ValidationError] = []
    for error in errors:
        found.append(error)
        found += _flatten(list(error.context or []))
    return found


def spec_locations(kind: str, data: Any) -> set[Location]:
    """Where the specification finds a problem: ("required", path of the missing key) or
    ("value", path of a value it rejects), every branch of an anyOf/oneOf included."""
    found: set[Location] = set()
    for error in _flatten(list(spec_validator(SPEC[kind]).iter_errors(data))):
        path = tuple(error.absolute_path)
        if error.validator == "required":
            found |= {("required", (*path, name)) for name in error.validator_value
                      if isinstance(error.instance, dict) and name not in error.instance}
        else:
            found.add(("value", path))
    return found


def our_locations(kind: str, data: Any) -> set[Location]:
    return {("required" if d.rule == "required" else "value", d.parts)
            for d in OURS[kind](data)}


def assert_agrees(kind: str, data: Any) -> None:
    spec = spec_locations(kind, data)
    ours = our_locations(kind, data)
    unconfirmed = ours - spec
    assert not unconfirmed, (
        f"flagged where the specification finds nothing: {sorted(map(str, unconfirmed))} "
        f"in {json.dumps(data)[:400]} (the specification: {sorted(map(str, spec))})")
    if not spec:
        assert not ours


# -- what real servers send -------------------------------------------------------------
def _answer(**changes: Any) -> dict[str, Any]:
    body = wire.completion("gpt-4o-mini", "pong")
    body.update(changes)
    return body


def _with_message(**message: Any) -> dict[str, Any]:
    body = _answer()
    body["choices"][0]["message"].update(message)
    return body


TOOL_CALL = {"id": "call_1", "type": "function",
             "function": {"name": "lookup", "arguments": "{\"q\": 1}"}}
LOGPROBS = {"content": [{"token": "po", "logprob": -0.1, "bytes": [112, 111],
                         "top_logprobs": [{"token": "po", "logprob": -0.1, "bytes": None}]}],
            "refusal": None}
GOOD_ANSWERS: list[dict[str, Any]] = [
    _answer(),
    {k: v for k, v in _answer().items() if k not in ("usage", "system_fingerprint")},
    _answer(service_tier="default", metadata={"team": "a"}, usage={
        "prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 6, "audio_tokens": 0,
                                      "accepted_prediction_tokens": 0,
                                      "rejected_prediction_tokens": 0}}),
    _with_message(content=None, tool_calls=[TOOL_CALL]),
    _with_message(content=None, refusal="I can't help with that."),
    _with_message(annotations=[{"type": "url_citation", "url_citation": {
        "start_index": 0, "end_index": 4, "url": "https://example.com", "title": "x"}}]),
    _with_message(tool_calls=[{"id": "c", "type": "custom",
                               "custom": {"name": "n", "input": "i"}}]),
    {**_answer(), "choices": [{**_answer()["choices"][0], "logprobs": LOGPROBS}]},
    {**_answer(), "choices": []},
    {**_answer(), "created": 1741570283.0},  # an integral number is an integer
    {**_answer(), "x_gateway": {"anything": [1, 2]}},  # unknown fields are allowed
]
GOOD_CHUNKS: list[dict[str, Any]] = [
    json.loads(wire.chunk("m", {"role": "assistant", "content": ""})[6:]),
    json.loads(wire.chunk("m", {"content": "po"})[6:]),
    json.loads(wire.chunk("m", {}, "stop")[6:]),
    json.loads(wire.chunk("m", {"tool_calls": [{"index": 0, "function": {"arguments": "{"}}]})
               [6:]),
    {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m", "choices": [],
     "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}},
    {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m", "usage": None,
     "obfuscation": "r4N7", "choices": [{"index": 0, "delta": {}, "finish_reason": None}]},
]

# (case, kind, body, our deviations as (path, rule))
BAD: list[tuple[str, str, Any, set[tuple[str, str]]]] = [
    ("the stub's contract-broken answer", "answer",
     operational.broken_completion("m", "pong"),
     {("object", "enum"), ("created", "type"), ("choices[0].logprobs", "required"),
      ("choices[0].message.refusal", "required"), ("choices[0].finish_reason", "enum"),
      ("usage.total_tokens", "required"), ("system_fingerprint", "type")}),
    ("not an object", "answer", [1], {("", "type")}),
    ("content as a list of parts (Mistral, OpenRouter)", "answer",
     _with_message(content=[{"type": "text", "text": "pong"}]),
     {("choices[0].message.content", "type")}),
    ("a null system_fingerprint", "answer", _answer(system_fingerprint=None),
     {("system_fingerprint", "type")}),
    ("a tool call without its function", "answer",
     _with_message(tool_calls=[{"id": "c", "type": "function"}]),
     {("choices[0].message.tool_calls[0].function", "required")}),
    ("a role that is not assistant", "answer", _with_message(role="model"),
     {("choices[0].message.role", "enum")}),
    ("LiteLLM's usage chunk: a choice without finish_reason", "chunk",
     {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
      "choices": [{"index": 0, "delta": {}}],
      "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}},
     {("choices[0].finish_reason", "required")}),
    ("a chunk with a string index and no object", "chunk",
     {"id": "c", "created": 0, "model": "m",
      "choices": [{"index": "0", "delta": {"content": "x"}, "finish_reason": None}]},
     {("object", "required"), ("choices[0].index", "type")}),
    ("an undocumented finish reason in a chunk", "chunk",
     json.loads(wire.chunk("m", {}, "eos")[6:]), {("choices[0].finish_reason", "enum")}),
]


@pytest.mark.parametrize("body", GOOD_ANSWERS, ids=range(len(GOOD_ANSWERS)))
def test_answers_the_specification_accepts_pass(body: dict[str, Any]) -> None:
    assert not spec_locations("answer", body), "the case itself is wrong"
    assert contract.answer(body) == []


@pytest.mark.parametrize("body", GOOD_CHUNKS, ids=range(len(GOOD_CHUNKS)))
def test_chunks_the_specification_accepts_pass(body: dict[str, Any]) -> None:
    assert not spec_locations("chunk", body), "the case itself is wrong"
    assert contract.chunk(body) == []


@pytest.mark.parametrize(("kind", "body", "expected"), [case[1:] for case in BAD],
                         ids=[case[0] for case in BAD])
def test_each_deviation_is_one_the_specification_rejects(
        kind: str, body: Any, expected: set[tuple[str, str]]) -> None:
    found = OURS[kind](body)
    assert {(d.path, d.rule) for d in found} == expected
    assert_agrees(kind, body)
    assert all(str(d).startswith(f"{d.path or '(the answer)'}: ") for d in found)


# -- Hypothesis: mutate valid answers, the two must never disagree ------------------------
PLAUSIBLE = [None, True, False, 0, 1, -1, 1.5, "", "x", "stop", "eos", "length", "assistant",
             "user", "function", "custom", "chat.completion", "chat.completion.chunk", "auto",
             [], {}, [{}], {"type": "function"}, [{"index": 0}], {"name": "n"}]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(-2, 2) | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                  max_size=3),
    max_leaves=6)


def _paths(node: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [at]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*at, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _paths(value, (*at, i))
    return found


def _plausible(draw: Any) -> Any:
    return copy.deepcopy(draw(st.sampled_from(PLAUSIBLE)))  # never the shared list's own


def _mutate(doc: Any, draw: Any) -> Any:
    doc = copy.deepcopy(doc)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(doc)))
        op = draw(st.sampled_from(["delete", "plausible", "random", "add"]))
        if not path:
            if op in ("plausible", "random"):
                doc = _plausible(draw) if op == "plausible" else draw(JSON)
            continue
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        last = path[-1]
        if op == "delete":
            del parent[last]
        elif op == "add" and isinstance(parent[last], dict):
            parent[last][draw(st.sampled_from(["role", "type", "function", "usage", "index",
                                               "custom", "x"]))] = draw(JSON)
        else:
            parent[last] = _plausible(draw) if op != "random" else draw(JSON)
    return doc


CASES = [("answer", body) for body in GOOD_ANSWERS] + [("chunk", body) for body in GOOD_CHUNKS]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.sampled_from(CASES), data=st.data())
def test_mutated_answers_never_disagree_with_the_specification(
        case: tuple[str, Any], data: st.DataObject) -> None:
    kind, body = case
    assert_agrees(kind, _mutate(body, data.draw))


# -- our own schema and our own walker agree ------------------------------------------------
@cache
def our_schema_validator(kind: str) -> Draft202012Validator:
    schema = contract.schema()
    entry = {"answer": "completion", "chunk": "chunk"}[kind]
    return Draft202012Validator({**schema, "$ref": f"#/$defs/{entry}"})


def test_the_contract_schema_is_valid_json_schema() -> None:
    Draft202012Validator.check_schema(contract.schema())
    text = (ROOT / "smoke" / "schema" / "chat-completion.contract.json").read_text("utf-8")
    assert contract.schema() == json.loads(text)


@settings(max_examples=300, deadline=None)
@given(case=st.sampled_from(CASES), data=st.data())
def test_the_walker_reads_the_schema_as_jsonschema_does(
        case: tuple[str, Any], data: st.DataObject) -> None:
    kind, body = case
    mutated = _mutate(body, data.draw)
    reference = not list(our_schema_validator(kind).iter_errors(mutated))
    assert (not OURS[kind](mutated)) == reference


def test_nothing_of_the_specification_is_copied_into_the_project() -> None:
    """The project's schema is its own: no description, example or vendor key of the
    specification, and it is small."""
    text = (ROOT / "smoke" / "schema" / "chat-completion.contract.json").read_text("utf-8")
    for marker in ("x-oaiMeta", "x-stainless", "Represents a chat completion", "discriminator",
                   "The reason the model stopped"):
        assert marker not in text
    assert len(text) < 12_000

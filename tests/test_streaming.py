"""The streaming check (--stream) against the stub's SSE scenarios over loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from smoke.http.sse import Event, EventParser
from smoke.stub import StubServer
from tests.support.cli import run_cli
from tests.support.gatekit import run_gate


def test_a_stream_that_follows_the_contract_passes(stub: StubServer) -> None:
    before = len(stub.requests)
    run = run_gate(base_url=stub.url("stream-pass"), model="stub-model", stream=True)
    assert run.code == 0, run.console
    check = run.check("stream:stub-model")
    assert (check["kind"], check["outcome"], check["answer"]) == ("stream", "pass", "pong")
    assert check["usage"] == {"prompt_tokens": 19, "completion_tokens": 1, "total_tokens": 20}
    assert check["finish_reason"] == "stop" and check["system_fingerprint"] == "fp_stub"
    facts = check["details"]["stream"]
    assert facts["done"] and facts["usage_chunk"] and facts["comments"] == 1
    assert facts["chunks"] == 5  # role, "po", "ng", finish, usage
    assert facts["first_token_ms"] is not None and facts["total_ms"] >= facts["first_token_ms"]
    assert [s["name"] for s in check["steps"]] == [
        "send", "http_success", "stream", "contract", "output_condition"]
    assert check["details"]["contract"] == {"mode": "warn", "checked": 5, "deviations": []}
    # The positive check ran beside it (a stream scenario answers a plain request too).
    assert run.check("positive:stub-model")["outcome"] == "pass"
    sent = [r["payload"] for r in stub.requests[before:] if r["payload"].get("stream")]
    assert len(sent) == 1
    assert sent[0]["stream_options"] == {"include_usage": True}
    assert sent[0]["messages"][-1] == {"role": "user", "content": "ping"}


def test_litellm_usage_chunk_with_choices_and_chunked_framing_is_accepted(
        stub: StubServer) -> None:
    run = run_gate(base_url=stub.url("stream-litellm"), model="stub-model", stream=True)
    assert run.code == 0, run.console
    check = run.check("stream:stub-model")
    assert check["usage"]["total_tokens"] == 20
    assert check["details"]["stream"]["usage_chunk_with_choices"] is True
    assert check["details"]["stream"]["comments"] == 3  # ": PROCESSING" and keep-alives
    assert run.report["usage_total_tokens"] == 40  # the positive check's 20 and these 20


def test_a_stream_without_done_is_protocol(stub: StubServer) -> None:
    run = run_gate(base_url=stub.url("stream-no-done"), model="stub-model", stream=True)
    assert (run.code, run.report["category"]) == (4, "protocol")
    check = run.check("stream:stub-model")
    assert check["category"] == "protocol" and "[DONE]" in check["message"]
    assert check["details"]["stream"]["done"] is False
    assert check["usage"] is not None  # what did arrive is still recorded


def test_an_error_event_mid_stream_is_upstream_and_not_retried(stub: StubServer) -> None:
    run = run_gate(base_url=stub.url("stream-error"), model="stub-model", stream=True)
    assert (run.code, run.report["category"]) == (5, "upstream")
    check = run.check("stream:stub-model")
    assert (check["category"], check["http_status"], check["attempts"]) == ("upstream", 200, 1)
    assert "upstream connection lost" in check["message"]
    assert "after 2 chunks" in check["message"]


def test_a_stall_between_chunks_is_timeout(stub: StubServer) -> None:
    # The stub stalls 5 s after the first piece; --stall-timeout 1 must cut it (had it
    # waited the stall out, the stream would end without [DONE]: protocol, not timeout).
    run = run_gate(base_url=stub.url("stream-stall:5"), model="stub-model", stream=True,
                   stall_timeout="1")
    check = run.check("stream:stub-model")
    assert (run.code, check["category"]) == (5, "timeout"), check["message"]
    assert "stalled" in check["message"] and "--stall-timeout 1" in check["message"]


def test_the_deadline_bounds_a_stalled_stream(stub: StubServer) -> None:
    run = run_gate(base_url=stub.url("stream-stall:5~deadline"), model="stub-model",
                   stream=True, stall_timeout="30", deadline="1.5")
    check = run.check("stream:stub-model")
    assert (run.code, check["category"]) == (5, "timeout")
    assert "deadline" in check["message"]


def test_the_streamed_text_meets_the_output_condition(stub: StubServer) -> None:
    run = run_gate(base_url=stub.url("stream-wrong"), model="stub-model", stream=True)
    check = run.check("stream:stub-model")
    assert (run.code, check["category"], check["answer"]) == (6, "assertion", "hello there")


def test_a_server_that_ignores_stream_true_is_protocol(stub: StubServer) -> None:
    # "no-usage" answers every request with one JSON body, stream or not.
    run = run_gate(base_url=stub.url("no-usage"), model="stub-model", stream=True)
    check = run.check("stream:stub-model")
    assert (run.code, check["category"]) == (4, "protocol")
    assert "not server-sent events" in check["message"]
    assert run.check("positive:stub-model")["outcome"] == "pass"


def test_a_rejection_before_the_stream_is_classified_like_any_response(
        stub: StubServer) -> None:
    run = run_gate(base_url=stub.url("forbidden"), model="stub-model", stream=True)
    check = run.check("stream:stub-model")
    assert (run.code, check["category"], check["http_status"]) == (3, "permission", 403)


def test_a_transient_failure_before_the_stream_is_retried(stub: StubServer) -> None:
    # The first two requests fail with 500: the positive and the streaming check's first
    # attempts, sent at once; each retry then succeeds.
    run = run_gate(base_url=stub.url("server-error-then-pass:2~stream"), model="stub-model",
                   stream=True, retries="2")
    check = run.check("stream:stub-model")
    assert (run.code, check["outcome"], check["attempts"]) == (0, "pass", 2), run.console
    assert check["details"]["stream"]["done"] is True


def test_stream_settings_from_the_config_file(tmp_path: Path, stub: StubServer) -> None:
    (tmp_path / "chat-smoke.yml").write_text(
        f"base_url: {stub.url('stream-stall:5~yml')}\nmodel: stub-model\n"
        "stream: true\nstall_timeout: 1\n")
    run = run_cli(tmp_path)
    assert run.report is not None, run.stderr
    assert (run.code, run.check("stream:stub-model")["category"]) == (5, "timeout")


@pytest.mark.parametrize("pieces", [
    [b": PROCESSING\r\n\r\ndata: {\"a\": 1}\r\n\r\ndata: [DONE]\r\n\r\n"],
    [b": PROCESSING\r", b"\n\r\ndata: {\"a\"", b": 1}\r\n", b"\r\ndata: [DO", b"NE]\r\n\r\n"],
    [b": PROCESSING\n\ndata: {\"a\": 1}\n\ndata: [DONE]"],  # closed without the last blank
    [b": PROCESSING\r\rdata:{\"a\": 1}\r\rdata: [DONE]\r\r"],
], ids=["crlf", "split-anywhere", "no-final-blank", "cr"])
def test_event_parser_framing(pieces: list[bytes]) -> None:
    parser = EventParser()
    events = [event for piece in pieces for event in parser.feed(piece)] + parser.close()
    assert events == [Event('{"a": 1}'), Event("[DONE]")]
    assert parser.comments == 1


def test_event_parser_fields() -> None:
    parser = EventParser()
    events = parser.feed(b"id: 7\nretry: 100\nevent: error\ndata: line 1\ndata:line 2\n\n"
                         b"garbage line\n\n")
    assert events == [Event("line 1\nline 2", "error")]
    assert parser.stray == "garbage line"

"""Issue 22, items 1-4: per-model settings, the application's own request body, its own
parser in a child process, and the fields it depends on. Every test runs the gate over a
real socket against the stub (in-process, or as a ``chat-smoke`` process where the
process boundary matters: the parser's environment, exit codes)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smoke.stub import StubServer
from tests.support.cli import KEY, run_cli
from tests.support.gatekit import run_gate

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
REASONING = {"id": "scenario/reasoning", "temperature": None, "max_tokens": None}


@pytest.fixture
def own_stub() -> Iterator[StubServer]:
    """A stub of this test's own: its request log holds this test's requests only."""
    with StubServer(key=KEY) as server:
        yield server


def _config(folder: Path, **settings: Any) -> Path:
    path = folder / "chat-smoke.yml"
    path.write_text(json.dumps(settings))  # JSON is YAML
    return path


def _chat_requests(stub: StubServer) -> list[dict[str, Any]]:
    return [r for r in stub.requests if r["method"] == "POST"]


# -- 1. per-model settings ------------------------------------------------------------


def test_a_reasoning_model_that_spends_its_budget_is_fixed_by_its_own_max_completion_tokens(
        tmp_path: Path, own_stub: StubServer) -> None:
    # With a small budget the reasoning model answers nothing (finish_reason length,
    # all of it reasoning tokens): the failure names max_completion_tokens as the fix.
    _config(tmp_path, model=["stub-model", {**REASONING, "max_completion_tokens": 16,
                                            "stream": True}])
    short = run_gate(tmp_path, base_url=own_stub.base_url)
    assert short.code == 6
    for check_id in ("positive:scenario/reasoning", "stream:scenario/reasoning"):
        failed = short.check(check_id)
        assert failed["category"] == "assertion"
        assert ("spent its completion budget on reasoning (16 reasoning tokens"
                in failed["message"])
        assert "raise max_completion_tokens for this model" in failed["message"]
        assert "max_completion_tokens" in failed["hint"]
    assert short.check("positive:stub-model")["outcome"] == "pass"

    # The same model with its own, larger budget passes beside the chat model, and each
    # got its own request: the chat model the defaults, the reasoning model its entry's.
    own_stub.requests.clear()
    _config(tmp_path, model=["stub-model", {**REASONING, "max_completion_tokens": 2000,
                                            "reasoning_effort": "low"}])
    fixed = run_gate(tmp_path, base_url=own_stub.base_url)
    assert fixed.code == 0, fixed.console
    sent = {r["payload"]["model"]: r["payload"] for r in _chat_requests(own_stub)}
    assert sent["stub-model"]["max_tokens"] == 16 and sent["stub-model"]["temperature"] == 0
    assert "max_completion_tokens" not in sent["stub-model"]
    reasoning = sent["scenario/reasoning"]
    assert "max_tokens" not in reasoning and "temperature" not in reasoning
    assert reasoning["max_completion_tokens"] == 2000
    assert reasoning["reasoning_effort"] == "low"
    # The printout and the report show the effective settings per model.
    assert fixed.report["config"]["per_model"] == {"scenario/reasoning": {
        "temperature": None, "max_tokens": None, "max_completion_tokens": 2000,
        "reasoning_effort": "low"}}
    assert ("model scenario/reasoning: temperature null (not sent), max_tokens null (not "
            "sent), max_completion_tokens 2000, reasoning_effort low") in fixed.console


def test_without_its_own_settings_the_reasoning_model_is_refused(
        tmp_path: Path, own_stub: StubServer) -> None:
    _config(tmp_path, model=["scenario/reasoning"])
    result = run_gate(tmp_path, base_url=own_stub.base_url)
    assert result.code == 4
    assert "max_tokens" in result.check("positive:scenario/reasoning")["message"]


def test_per_model_checks_read_the_models_own_settings(tmp_path: Path,
                                                       own_stub: StubServer) -> None:
    # stream, expect, timeout and the prompts per model: one model streams, one expects
    # other text; the global settings hold for the rest.
    _config(tmp_path, expect="pong", model=[
        "stub-model",
        {"id": "gpt-4o-mini", "stream": True, "timeout": 7, "user_prompt": "ping twice"},
        {"id": "gpt-5-mini", "expect": "equals:something else", "system_prompt": ""},
    ])
    result = run_gate(tmp_path, base_url=own_stub.base_url)
    assert [i for i in result.ids if i.startswith("stream:")] == ["stream:gpt-4o-mini"]
    assert result.check("stream:gpt-4o-mini")["outcome"] == "pass"
    assert result.check("positive:gpt-4o-mini")["outcome"] == "pass"
    mismatch = result.check("positive:gpt-5-mini")
    assert mismatch["category"] == "assertion"
    assert "expected equals 'something else'" in mismatch["message"]
    assert result.code == 6
    sent = [r["payload"] for r in _chat_requests(own_stub)]
    by_model = {(p["model"], bool(p.get("stream"))): p for p in sent}
    assert by_model[("gpt-4o-mini", True)]["messages"][-1]["content"] == "ping twice"
    assert [m["role"] for m in by_model[("gpt-5-mini", False)]["messages"]] == ["user"]
    assert by_model[("stub-model", False)]["messages"][-1]["content"] == "ping"
    assert result.report["config"]["per_model"]["gpt-4o-mini"]["timeout"] == 7.0


def test_an_unknown_key_in_a_model_entry_names_the_model_and_the_key(
        tmp_path: Path, stub: StubServer) -> None:
    _config(tmp_path, model=["stub-model", {"id": "o4-mini", "max_token": 100}])
    run = run_cli(tmp_path, "--base-url", stub.base_url)
    assert run.code == 2
    assert "model 'o4-mini': unknown key 'max_token' (did you mean 'max_tokens'?)" in run.stderr
    assert "Traceback" not in run.stdout + run.stderr

    _config(tmp_path, model=[{"id": "o4-mini", "max_tokens": 0}])
    bad = run_gate(tmp_path, base_url=stub.base_url)
    assert bad.code == 2
    assert "model 'o4-mini': max_tokens: must be at least 1, got 0" in bad.check(
        "preflight:config")["message"]

    _config(tmp_path, model=[{"max_tokens": 10}])
    no_id = run_gate(tmp_path, base_url=stub.base_url)
    assert "model entry 1 has no id" in no_id.check("preflight:config")["message"]


def test_a_model_entry_accepts_latency_objectives(tmp_path: Path, stub: StubServer) -> None:
    # The latency objectives (issue 22, item 6) may be set per model: the schema's shape.
    _config(tmp_path, model=[{"id": "stub-model", "latency": {
        "ttfb_ms": {"warn": 2000, "fail": 8000}, "total_ms": {"fail": 20000}}}])
    assert run_gate(tmp_path, base_url=stub.base_url).code == 0
    _config(tmp_path, model=[{"id": "stub-model", "latency": {"ttfb": {"warn": 1}}}])
    bad = run_gate(tmp_path, base_url=stub.base_url)
    assert bad.code == 2
    assert "latency.ttfb: unknown key" in bad.check("preflight:config")["message"]


# -- 2. the application's own request body --------------------------------------------


def _body(folder: Path) -> Path:
    path = folder / "request.json"
    shutil.copy(EXAMPLES / "app-parser" / "request.json", path)
    return path


def test_the_applications_body_is_sent_and_recorded_by_hash_only(
        tmp_path: Path, own_stub: StubServer) -> None:
    body = _body(tmp_path)
    secret_prompt = "weather assistant of example.com"
    result = run_gate(tmp_path, base_url=own_stub.url("tool-call"), model="stub-model",
                      request_body="request.json", expect="tool_call:get_weather",
                      stream=True, report_json=str(tmp_path / "r.json"),
                      report_junit=str(tmp_path / "j.xml"), summary=str(tmp_path / "s.md"))
    assert result.code == 0, result.console
    assert result.check("positive:stub-model")["message"] == "called get_weather"
    assert result.check("stream:stub-model")["outcome"] == "pass"
    app = json.loads(body.read_text())
    posted = _chat_requests(own_stub)
    for request in posted:  # the app's body, with the model (and stream) set
        payload = request["payload"]
        assert payload["messages"] == app["messages"] and payload["tools"] == app["tools"]
        assert payload["model"] == "stub-model" and "temperature" not in payload
    plain = next(r for r in posted if "stream" not in r["payload"])
    recorded = result.check("positive:stub-model")["details"]["request_body"]
    sent = json.dumps(plain["payload"]).encode()
    assert recorded == {"file": str(body), "sha256": hashlib.sha256(sent).hexdigest(),
                        "bytes": len(sent)}
    # Never its text: not in the console, a report, the summary.
    outputs = [result.console, *(p.read_text() for p in tmp_path.iterdir()
                                 if p.suffix in (".json", ".xml", ".md") and p != body)]
    assert not [o for o in outputs if secret_prompt in o]


def test_a_tool_call_expectation_fails_when_another_tool_or_text_comes_back(
        tmp_path: Path, stub: StubServer) -> None:
    _body(tmp_path)
    other = run_gate(tmp_path, base_url=stub.url("tool-call"), model="stub-model",
                     request_body="request.json", expect="tool_call:book_flight")
    message = other.check("positive:stub-model")["message"]
    assert other.code == 6
    assert "the model called get_weather, not book_flight" in message
    text = run_gate(tmp_path, base_url=stub.base_url, model="stub-model",
                    request_body="request.json", expect="tool_call")
    assert "answered with text, no tool call: 'pong'" in text.check(
        "positive:stub-model")["message"]
    # The reproduction refers to the file, never pastes the body.
    reproduce = text.check("positive:stub-model")["reproduce"]
    assert "--data @request.json" in reproduce and "weather assistant" not in reproduce


@pytest.mark.parametrize(("content", "problems"), [
    ('["not", "a", "mapping"]', ["request.json: the body is a list, not a mapping"]),
    ('{"messages": []}', ["request.json: messages: an empty list: give the conversation"]),
    ('{"tools": {}, "messages": [{"content": "x"}]}',
     ["request.json: messages[0]: a mapping without a role",
      "request.json: tools: a mapping: give a list of tool definitions"]),
    ("{oops", ["request.json: not valid JSON at line 1"]),
])
def test_a_bad_body_is_a_config_error_before_anything_is_sent(
        tmp_path: Path, own_stub: StubServer, content: str, problems: list[str]) -> None:
    (tmp_path / "request.json").write_text(content)
    result = run_gate(tmp_path, base_url=own_stub.base_url, model="stub-model",
                      request_body="request.json")
    assert result.code == 2
    message = result.check("preflight:config")["message"]
    for problem in problems:
        assert problem in message
    assert not own_stub.requests


def test_a_yaml_body_and_a_per_model_body(tmp_path: Path, own_stub: StubServer) -> None:
    (tmp_path / "chat.yml").write_text("messages:\n  - {role: user, content: say pong}\n")
    _config(tmp_path, model=["stub-model", {**REASONING, "request_body": "chat.yml",
                                            "max_completion_tokens": 500}])
    result = run_gate(tmp_path, base_url=own_stub.base_url)
    assert result.code == 0, result.console
    sent = {r["payload"]["model"]: r["payload"] for r in _chat_requests(own_stub)}
    # The reasoning model's body is the file, plus what its entry sets on top.
    assert sent["scenario/reasoning"] == {"messages": [{"role": "user", "content": "say pong"}],
                                         "model": "scenario/reasoning",
                                         "max_completion_tokens": 500}
    assert sent["stub-model"]["messages"][-1]["content"] == "ping"


# -- 3. the application's own parser --------------------------------------------------

PARSERS = textwrap.dedent('''
    import os


    def text(body):
        return body["choices"][0]["message"]["content"]


    def broken(body):
        message = body["choices"][0]["message"]
        return message["text"]


    def number(body):
        return 42


    def hang(body):
        import time
        time.sleep(600)


    def environment(body):
        """pong only when no variable holds the key or the header's secret."""
        leaked = sorted(name for name, value in os.environ.items()
                        if os.environ["LEAK_PROBE_KEY"] in value
                        or "header-secret-value-123" in value)
        return "pong" if not leaked else "LEAKED " + " ".join(leaked)


    def strict(body):
        content = body["choices"][0]["message"]["content"]
        if not content:
            raise ValueError("empty reply")
        return content
''')


@pytest.fixture
def app(tmp_path: Path) -> Path:
    package = tmp_path / "myapp"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "parsers.py").write_text(PARSERS)
    return tmp_path


def test_a_python_parser_reads_the_answer_and_the_report_says_which(
        app: Path, stub: StubServer) -> None:
    result = run_gate(app, base_url=stub.base_url, model="stub-model", stream=True,
                      parser="myapp.parsers:text")
    assert result.code == 0, result.console
    for check_id in ("positive:stub-model", "stream:stub-model"):
        details = result.check(check_id)["details"]
        assert details["asserted_text_from"] == "myapp.parsers:text"
        assert details["parser"]["text"] == "pong"
        assert details["parser"]["builtin_text"] == "pong"
    assert result.check("parser:myapp.parsers:text")["outcome"] == "pass"


def test_a_broken_python_parser_fails_protocol_with_its_exception_and_line(
        app: Path, stub: StubServer) -> None:
    result = run_gate(app, base_url=stub.base_url, model="stub-model",
                      parser="myapp.parsers:broken")
    check = result.check("positive:stub-model")
    assert result.code == 4 and check["category"] == "protocol"
    assert check["message"] == ("the application's parser 'myapp.parsers:broken' failed: "
                                "KeyError: 'text' at myapp/parsers.py:11")
    assert check["hint"].startswith("The application's own parser, not the endpoint,")
    assert check["details"]["parser"]["builtin_text"] == "pong"

    wrong_type = run_gate(app, base_url=stub.base_url, model="stub-model",
                          parser="myapp.parsers:number")
    assert "'myapp.parsers:number' returned int, not str" in wrong_type.check(
        "positive:stub-model")["message"]


def test_a_parser_that_chokes_on_a_spent_reasoning_budget_says_why_it_was_empty(
        app: Path, stub: StubServer) -> None:
    _config(app, model=[{**REASONING, "max_completion_tokens": 10}], parser="myapp.parsers:strict")
    check = run_gate(app, base_url=stub.base_url).check("positive:scenario/reasoning")
    assert check["category"] == "protocol"
    assert check["message"].startswith("the application's parser 'myapp.parsers:strict' "
                                       "failed: ValueError: empty reply at myapp/parsers.py:")
    assert "spent its completion budget on reasoning (10 reasoning tokens" in check["message"]
    assert "max_completion_tokens" in check["hint"]


def test_a_parser_that_hangs_is_stopped_at_its_bound(app: Path, stub: StubServer) -> None:
    result = run_gate(app, base_url=stub.base_url, model="stub-model",
                      parser="myapp.parsers:hang", parser_timeout=1)
    check = result.check("positive:stub-model")
    assert result.code == 4 and check["category"] == "protocol"
    assert "'myapp.parsers:hang' ran past its 1s bound (parser_timeout 1s)" in check["message"]


def test_the_parser_child_gets_neither_the_key_nor_a_secret_header(
        app: Path, stub: StubServer) -> None:
    # A real process: the key is in the gate's environment, and a header's secret value
    # comes from another variable; the parser looks for both in its own environment.
    run = run_cli(app, "--base-url", stub.base_url, "--model", "stub-model",
                  "--parser", "myapp.parsers:environment",
                  "--header", "X-Api-Token: ${HEADER_SECRET}",
                  env={"LEAK_PROBE_KEY": KEY, "HEADER_SECRET": "header-secret-value-123"})
    # Not even a harmless variable of the gate's reaches the child (an allowlist): the
    # parser cannot read LEAK_PROBE_KEY. So it gets the secrets in its source instead.
    assert run.code == 4
    assert "KeyError: 'LEAK_PROBE_KEY'" in run.check("positive:stub-model")["message"]
    (app / "myapp" / "probe.py").write_text(textwrap.dedent(f'''
        import os
        SECRETS = ({KEY!r}, "header-secret-value-123")

        def environment(body):
            leaked = sorted(n for n, v in os.environ.items() if any(s in v for s in SECRETS))
            return "pong" if not leaked else "LEAKED " + " ".join(leaked)
    '''))
    run = run_cli(app, "--base-url", stub.base_url, "--model", "stub-model",
                  "--parser", "myapp.probe:environment",
                  "--header", "X-Api-Token: ${HEADER_SECRET}",
                  env={"HEADER_SECRET": "header-secret-value-123"})
    assert run.code == 0, run.stdout + run.stderr
    assert run.check("positive:stub-model")["details"]["parser"]["text"] == "pong"


def test_a_parser_that_cannot_be_imported_is_a_config_error_before_sending(
        app: Path, own_stub: StubServer) -> None:
    run = run_cli(app, "--base-url", own_stub.base_url, "--model", "stub-model",
                  "--parser", "myapp.nothere:text")
    assert run.code == 2
    assert "ModuleNotFoundError: No module named 'myapp.nothere'" in run.stdout
    assert run.check("positive:stub-model")["outcome"] == "skip"
    missing_function = run_gate(app, base_url=own_stub.base_url, model="stub-model",
                                parser="myapp.parsers:nothere")
    assert missing_function.code == 2
    assert "AttributeError" in missing_function.check("parser:myapp.parsers:nothere")[
        "message"]
    command = run_gate(app, base_url=own_stub.base_url, model="stub-model",
                       parser_command="no-such-program --flag")
    assert command.code == 2
    assert "'no-such-program' is not found" in command.check(
        "parser:no-such-program --flag")["message"]
    assert not _chat_requests(own_stub)


def _node() -> str:
    found = shutil.which("node")
    if found is None and os.environ.get("CI") and os.geteuid() == 0:
        for argv in (["apt-get", "-o", "DPkg::Lock::Timeout=600", "update", "-q"],
                     ["apt-get", "-o", "DPkg::Lock::Timeout=600", "install", "-y", "-q",
                      "--no-install-recommends", "nodejs"]):
            subprocess.run(argv, capture_output=True, check=False,
                           env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        found = shutil.which("node")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("node is needed for the Node parser test (apt-get install nodejs)")
        pytest.skip("node is not installed")
    return found


def test_a_node_parser_from_the_examples(tmp_path: Path, stub: StubServer) -> None:
    _node()
    shutil.copytree(EXAMPLES / "app-parser", tmp_path / "app")
    folder = tmp_path / "app"
    _config(folder, request_body="request.json", expect="tool_call:get_weather",
            parser_command="node parse.js")
    result = run_gate(folder, base_url=stub.url("tool-call"), model="stub-model", stream=True)
    assert result.code == 0, result.console
    for check_id in ("positive:stub-model", "stream:stub-model"):
        parsed = result.check(check_id)["details"]["parser"]
        assert parsed["kind"] == "command" and parsed["name"] == "node parse.js"
        assert parsed["text"] == "tool:get_weather"
    # Its failure: a non-zero exit, with the tail of its stderr.
    (folder / "request.json").write_text('{"messages": [{"role": "user", "content": "x"}]}')
    text = run_gate(folder, base_url=stub.url("refusal"), model="stub-model",
                    expect="nonempty")
    check = text.check("positive:stub-model")
    assert check["category"] == "protocol"
    assert ("'node parse.js' exited 1: content is object, the app expects a string"
            in check["message"])


def test_a_parser_commands_stderr_is_masked_and_a_model_entry_has_its_own_parser(
        app: Path, stub: StubServer) -> None:
    script = app / "parse.sh"
    script.write_text(f"#!/bin/sh\necho 'upstream said: bad key {KEY}' >&2\nexit 3\n")
    script.chmod(0o755)
    _config(app, model=["stub-model", {"id": "gpt-4o-mini", "parser_command": "./parse.sh",
                                       "require_fields": ["system_fingerprint"]}])
    result = run_gate(app, base_url=stub.base_url)
    assert result.check("positive:stub-model")["outcome"] == "pass"
    assert "parser" not in result.check("positive:stub-model")["details"]
    check = result.check("positive:gpt-4o-mini")
    assert check["category"] == "protocol"
    assert check["message"].startswith("the application's parser './parse.sh' exited 3: "
                                       "upstream said: bad key ")
    assert KEY not in json.dumps(result.report) and KEY not in result.console
    assert [s["name"] for s in check["steps"]][-2:] == ["required", "app_parser"]


def test_the_python_example_runs_as_configured(tmp_path: Path, stub: StubServer) -> None:
    shutil.copytree(EXAMPLES / "app-parser", tmp_path / "app")
    result = run_gate(tmp_path / "app", base_url=stub.url("tool-call"), model="stub-model")
    assert result.code == 0, result.console
    check = result.check("positive:stub-model")
    assert check["details"]["parser"]["text"] == "tool:get_weather"
    assert [s["name"] for s in check["steps"]][-3:] == ["required", "app_parser",
                                                        "output_condition"]


# -- 4. the fields the application depends on -----------------------------------------


def test_a_missing_required_field_or_header_fails_protocol(tmp_path: Path,
                                                          stub: StubServer) -> None:
    result = run_gate(tmp_path, base_url=stub.url("no-usage"), model="stub-model",
                      require_fields=["id", "usage.total_tokens", "choices[0].logprobs",
                                      "choices[2].message", "choices[0].message.content"],
                      require_headers=["x-request-id", "x-ratelimit-remaining-tokens"])
    check = result.check("positive:stub-model")
    assert result.code == 4 and check["category"] == "protocol"
    message = check["message"]
    assert "required field usage.total_tokens is absent (the answer has no 'usage')" in message
    assert "required field choices[0].logprobs is null" in message
    assert "required field choices[2].message is absent (choices is 1 item)" in message
    assert "required header x-ratelimit-remaining-tokens is absent" in message
    assert "field id " not in message and "x-request-id is" not in message
    assert "a field or header the application reads" in check["hint"]
    present = run_gate(tmp_path, base_url=stub.base_url, model="stub-model",
                       require_fields="id,usage.total_tokens,system_fingerprint",
                       require_headers="X-Request-Id")
    assert present.code == 0, present.console


def test_the_per_model_example_loads_with_each_models_settings() -> None:
    from smoke import config

    settings = config.load({}, {"COMETAPI_API_KEY": KEY}, EXAMPLES / "per-model")
    assert settings.models == ("gpt-4o-mini", "o4-mini", "gpt-5-mini")
    chat, reasoning = settings.for_model("gpt-4o-mini"), settings.for_model("o4-mini")
    assert chat is settings and chat.max_tokens == 16 and chat.temperature == 0.0
    assert reasoning.max_tokens is None and reasoning.temperature is None
    assert reasoning.max_completion_tokens == 2000 and reasoning.timeout == 90.0
    assert reasoning.reasoning_effort == "low" and not reasoning.stream
    assert settings.for_model("gpt-5-mini").stream and settings.any_model("stream")


def test_the_library_takes_model_entries_as_the_file_does(own_stub: StubServer) -> None:
    import smoke

    entries = ["stub-model", {**REASONING, "max_completion_tokens": 300}]
    result = smoke.run(base_url=own_stub.base_url, model=entries,
                       env={"COMETAPI_API_KEY": KEY})
    assert result.verdict == "pass", [c.message for c in result.checks]
    assert result.config["per_model"]["scenario/reasoning"]["max_completion_tokens"] == 300
    wrong = smoke.run(base_url=own_stub.base_url, env={"COMETAPI_API_KEY": KEY},
                      model=[{"id": "stub-model", "temprature": 1}])
    assert wrong.exit_code == 2
    assert "model 'stub-model': unknown key 'temprature'" in wrong.checks[0].message

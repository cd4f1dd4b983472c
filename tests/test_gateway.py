"""Gateways (issue 13): extra headers, auth styles, base URLs with a query, fallback
variables, tagged and traceable requests, the curl reproduction, gateway-aware hints.

Every test reads what a real loopback server received (``stub.requests``: method, path
with query, headers, payload) and, where a secret is involved, asserts that its raw value
is absent from every output, the curl reproduction included.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smoke import __version__, config
from smoke.errors import ConfigError
from smoke.http import payload
from smoke.stub import StubServer
from tests.support.cli import KEY, run_cli
from tests.support.gatekit import run_gate

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
SECRET = "pk-live-" + "Zq9Xw8Vu7Ts6Rr5Qp4On3Ml2"  # a gateway key given through ${VAR}
LITERAL = "cookie-" + "Hh7Gg6Ff5Ee4Dd3Cc2Bb1"  # a secret written literally on the command line
SIG = "sv2024" + "Kk9Jj8Ii7Hh6Gg5"  # a SAS-style signature in the base URL's query


def lowered(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def posts(stub: StubServer, scenario: str) -> list[dict[str, Any]]:
    return [r for r in stub.requests if r["scenario"] == scenario and r["method"] == "POST"]


@pytest.fixture
def api_key_stub() -> Iterator[StubServer]:
    with StubServer(key=KEY, auth_header="api-key") as server:
        yield server


@pytest.fixture
def open_stub() -> Iterator[StubServer]:
    """A gateway that holds the key itself: it checks none."""
    with StubServer(key=KEY, auth_header="none") as server:
        yield server


# -- extra headers ----------------------------------------------------------------------


def test_headers_reach_the_server_and_secrets_never_reach_any_output(
    tmp_path: Path, stub: StubServer
) -> None:
    run = run_cli(tmp_path, "--base-url", stub.url("wrong-answer~hdr"), "--model", "stub-model",
                  "--header", "x-portkey-provider: openai",
                  "--header", "x-portkey-api-key: ${PK_KEY}",
                  "--header", f"Cookie: session={LITERAL}",
                  "--report-junit", str(tmp_path / "junit.xml"),
                  "--summary", str(tmp_path / "summary.md"),
                  env={"PK_KEY": SECRET})
    assert run.code == 6, run.stdout + run.stderr
    sent = lowered(posts(stub, "wrong-answer~hdr")[-1]["headers"])
    assert sent["x-portkey-provider"] == "openai"
    assert sent["x-portkey-api-key"] == SECRET
    assert sent["cookie"] == f"session={LITERAL}"
    assert sent["authorization"] == f"Bearer {KEY}"
    for secret in (SECRET, LITERAL, KEY):
        assert secret not in run.all_output
    # The printout shows what was given, never a secret value.
    assert "x-portkey-provider: openai" in run.stdout
    assert "x-portkey-api-key: ${PK_KEY}" in run.stdout
    assert "Cookie: ***" in run.stdout
    # Written literally on the command line: it works, with a warning naming the fix.
    assert "warning: --header Cookie: a secret written on the command line is visible in " \
        "the process list" in run.stdout
    assert run.report is not None
    assert any("--header Cookie" in w for w in run.report["warnings"])
    assert not any("x-portkey-api-key" in w for w in run.report["warnings"])  # a ${VAR}


def test_headers_from_the_config_file_and_flags_add_up(tmp_path: Path, stub: StubServer) -> None:
    (tmp_path / "chat-smoke.yml").write_text(
        "headers:\n  X-Title: from-file\n  HTTP-Referer: https://example.test\n")
    run = run_gate(cwd=tmp_path, base_url=stub.url("pass~file"), model="stub-model",
                   headers=["x-title: from-flag"])
    assert run.code == 0, run.console
    sent = lowered(posts(stub, "pass~file")[-1]["headers"])
    assert sent["x-title"] == "from-flag" and sent["http-referer"] == "https://example.test"
    assert run.report["config"]["headers"] == ["HTTP-Referer: https://example.test",
                                               "x-title: from-flag"]


def test_a_users_user_agent_replaces_ours(stub: StubServer) -> None:
    run = run_gate(base_url=stub.url("pass~ua"), model="stub-model",
                   headers=["User-Agent: my-monitor/2.0"])
    assert run.code == 0
    assert lowered(posts(stub, "pass~ua")[-1]["headers"])["user-agent"] == "my-monitor/2.0"


@pytest.mark.parametrize(("header", "env", "problem"), [
    ("x-portkey-config: ${PORTKEY_CONFIG}", {}, "PORTKEY_CONFIG is not set"),
    ("Bad Name: x", {}, "'Bad Name' is not a valid header name"),
    ("no colon here", {}, "is not a header; write it as curl does"),
    ("X-Inject: ${INJECT}", {"INJECT": "a\r\nX-Evil: 1"}, "holds a line break"),
    ("Authorization: Bearer ${TOKEN}", {"TOKEN": "t" * 20}, "conflicts with the API key"),
])
def test_bad_headers_are_config_errors(tmp_path: Path, stub: StubServer, header: str,
                                       env: dict[str, str], problem: str) -> None:
    before = len(stub.requests)
    run = run_cli(tmp_path, "--base-url", stub.url("pass~bad"), "--model", "stub-model",
                  "--header", header, env=env)
    assert run.code == 2, run.stdout + run.stderr
    assert problem in run.stderr and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert len(stub.requests) == before  # nothing was sent


@pytest.mark.parametrize(("value", "problem"), [
    ("one\r\nX-B: two", "line break or control character"),
    ("bell\x07", "line break or control character"),
    ("caf\u00e9 \u2603", "characters a header cannot carry"),
])
def test_a_bad_value_in_a_config_header_is_refused(tmp_path: Path, value: str,
                                                   problem: str) -> None:
    flags = {"model": "m", "headers": {"X-A": value}}
    with pytest.raises(ConfigError, match=problem):
        config.load(flags, {"COMETAPI_API_KEY": KEY}, tmp_path)


def test_the_auth_headers_name_conflicts_too(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="X-Api-Key conflicts with the API key, which "
                       "chat-smoke sends as x-api-key"):
        config.load({"model": "m", "auth_header": "x-api-key", "headers": ["X-Api-Key: k"]},
                    {"COMETAPI_API_KEY": KEY}, tmp_path)


# -- auth styles -------------------------------------------------------------------------


def test_auth_header_api_key_sends_the_key_as_is(api_key_stub: StubServer) -> None:
    run = run_gate(base_url=api_key_stub.base_url, model="stub-model", auth_header="api-key")
    assert run.code == 0, run.console
    sent = lowered(api_key_stub.requests[-1]["headers"])
    assert sent["api-key"] == KEY and "authorization" not in sent
    assert run.report["config"]["auth_header"] == "api-key"


def test_the_default_auth_style_is_refused_by_an_api_key_gateway(
    api_key_stub: StubServer,
) -> None:
    run = run_gate(base_url=api_key_stub.base_url, model="stub-model", retries="0")
    assert (run.code, run.report["category"]) == (3, "auth")


def test_auth_header_none_needs_no_key_and_sends_none(tmp_path: Path,
                                                      open_stub: StubServer) -> None:
    run = run_cli(tmp_path, "--base-url", open_stub.base_url, "--model", "stub-model",
                  "--auth-header", "none", key=None)
    assert run.code == 0, run.stdout + run.stderr
    sent = lowered(open_stub.requests[-1]["headers"])
    assert "authorization" not in sent and "api-key" not in sent
    assert "api_key: not sent (auth_header: none)" in run.stdout


def test_auth_header_none_with_the_users_authorization(tmp_path: Path, stub: StubServer) -> None:
    """A gateway that takes its own credential: the key is the user's header, not ours."""
    run = run_cli(tmp_path, "--base-url", stub.url("pass~own"), "--model", "stub-model",
                  "--auth-header", "none", "--header", "Authorization: Bearer ${GW_TOKEN}",
                  key=None, env={"GW_TOKEN": KEY})
    assert run.code == 0, run.stdout + run.stderr
    assert lowered(posts(stub, "pass~own")[-1]["headers"])["authorization"] == f"Bearer {KEY}"
    assert KEY not in run.all_output


def test_invalid_key_check_with_auth_none_is_a_config_error(tmp_path: Path,
                                                            open_stub: StubServer) -> None:
    run = run_cli(tmp_path, "--base-url", open_stub.base_url, "--model", "stub-model",
                  "--auth-header", "none", "--negative", "invalid-key", key=None)
    assert run.code == 2
    assert "invalid-key negative check cannot mean anything with --auth-header none" \
        in run.stderr
    assert open_stub.requests == []


def test_no_key_without_auth_none_is_still_a_config_error(tmp_path: Path) -> None:
    run = run_cli(tmp_path, "--model", "m", key=None)
    assert run.code == 2 and "no API key" in run.stderr and "--auth-header none" in run.stderr


# -- base URLs with a query --------------------------------------------------------------


def test_the_query_is_sent_on_every_request_and_its_secrets_masked(
    tmp_path: Path, stub: StubServer
) -> None:
    base = f"{stub.url('wrong-answer~q')}?api-version=2024-10-21&sig={SIG}"
    run = run_cli(tmp_path, "--base-url", base, "--model", "stub-model", "--check-models",
                  "--stream", "--summary", str(tmp_path / "summary.md"))
    assert run.code == 6, run.stdout + run.stderr
    paths = [(r["method"], r["path"]) for r in stub.requests if r["scenario"] == "wrong-answer~q"]
    query = f"?api-version=2024-10-21&sig={SIG}"
    assert ("GET", f"/s/wrong-answer~q/v1/models{query}") in paths
    assert paths.count(("POST", f"/s/wrong-answer~q/v1/chat/completions{query}")) == 2
    assert SIG not in run.all_output
    assert run.report is not None
    assert run.report["endpoint"]["base_url"].endswith("?api-version=2024-10-21&sig=***")
    assert run.report["config"]["base_url_source"] == "--base-url"


def test_a_fragment_or_credentials_are_still_refused(tmp_path: Path) -> None:
    for url, problem in (("https://gw.example/v1#frag", "#fragment"),
                         ("https://u:p@gw.example/v1", "carries credentials")):
        with pytest.raises(ConfigError, match=problem):
            config.load({"model": "m", "base_url": url}, {"COMETAPI_API_KEY": KEY}, tmp_path)


# -- fallback variables ------------------------------------------------------------------


def test_openai_variables_are_used_when_nothing_else_speaks(tmp_path: Path,
                                                            stub: StubServer) -> None:
    run = run_cli(tmp_path, "--model", "stub-model", key=None,
                  env={"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": stub.url("pass~openai")})
    assert run.code == 0, run.stdout + run.stderr
    assert posts(stub, "pass~openai")
    assert "api_key: set (from OPENAI_API_KEY)" in run.stdout
    assert "base_url_source: OPENAI_BASE_URL" in run.stdout


def test_openai_variables_never_override_a_comet_variable_or_a_config_file(
    tmp_path: Path,
) -> None:
    env = {"OPENAI_API_KEY": "sk-openai-other-0123456789", "OPENAI_BASE_URL": "https://o.example/v1"}
    settings = config.load({"model": "m"}, {**env, "COMETAPI_API_KEY": KEY,
                                            "COMETAPI_BASE_URL": "https://c.example/v1"}, tmp_path)
    assert (settings.api_key, settings.base_url) == (KEY, "https://c.example/v1")
    assert settings.base_url_source == "COMETAPI_BASE_URL"
    (tmp_path / "chat-smoke.yml").write_text("model: m\n")
    with pytest.raises(ConfigError, match="no API key"):
        config.load({}, env, tmp_path)
    settings = config.load({}, {**env, "COMETAPI_API_KEY": KEY}, tmp_path)
    assert settings.base_url == "https://api.cometapi.com/v1"
    assert settings.base_url_source == "default"


# -- synthetic and traceable requests ----------------------------------------------------


def test_user_agent_is_the_synthetic_tag_with_a_sanitised_environment(stub: StubServer) -> None:
    run = run_gate(base_url=stub.url("pass~tag"), model="stub-model",
                   environment="prod eu/1;\u00e9")
    assert run.code == 0
    agent = lowered(posts(stub, "pass~tag")[-1]["headers"])["user-agent"]
    assert agent == f"chat-smoke/{__version__} (synthetic-check; environment=prod-eu-1)"


def test_every_attempt_carries_a_fresh_client_request_id(tmp_path: Path,
                                                         stub: StubServer) -> None:
    run = run_cli(tmp_path, "--base-url", stub.url("rate-limit-then-pass:2~cid"),
                  "--model", "stub-model", "--retries", "2",
                  "--report-junit", str(tmp_path / "junit.xml"))
    assert run.code == 0, run.stdout + run.stderr
    received = [lowered(r["headers"])["x-client-request-id"]
                for r in posts(stub, "rate-limit-then-pass:2~cid")]
    assert len(received) == 3 and len(set(received)) == 3
    assert all(UUID.match(cid) for cid in received)
    check = run.check("positive:stub-model")
    assert [a["client_request_id"] for a in check["attempt_log"]] == received
    assert check["client_request_id"] == received[-1]
    junit = ET.parse(tmp_path / "junit.xml").getroot()
    (case,) = [c for c in junit.iter("testcase") if c.get("name") == "positive:stub-model"]
    # The per-check facts are system-out lines (junit-10.xsd has no testcase properties).
    assert f"client_request_id: {received[-1]}" in (case.findtext("system-out") or "")


# -- the curl reproduction ---------------------------------------------------------------


def test_reproduce_is_the_exact_request_and_holds_no_secret(tmp_path: Path,
                                                            stub: StubServer) -> None:
    base = f"{stub.url('wrong-answer~curl')}?api-version=2024-10-21&sig={SIG}"
    run = run_cli(tmp_path, "--base-url", base, "--model", "stub-model",
                  "--header", "x-portkey-api-key: ${PK_KEY}",
                  "--header", f"Cookie: {LITERAL}", "--header", "X-Title: smoke test's",
                  "--summary", str(tmp_path / "summary.md"), env={"PK_KEY": SECRET})
    assert run.code == 6
    check = run.check("positive:stub-model")
    command = check["reproduce"]
    # Scrub-independent: the raw secret strings are not in it at all.
    for secret in (KEY, SECRET, LITERAL, SIG):
        assert secret not in command
    assert '"Authorization: Bearer $COMETAPI_API_KEY"' in command
    assert '"x-portkey-api-key: $PK_KEY"' in command
    assert '"Cookie: $HEADER_COOKIE"' in command
    assert "sig=$QUERY_SIG" in command
    assert f"X-Client-Request-Id: {check['client_request_id']}" in command
    # It is a working command: run it with the variables set, and the server receives the
    # same request (headers, query, body) as the gate's own last attempt.
    assert shutil.which("curl") and shutil.which("bash")
    gate_request = posts(stub, "wrong-answer~curl")[-1]
    env = {**os.environ, "COMETAPI_API_KEY": KEY, "PK_KEY": SECRET, "HEADER_COOKIE": LITERAL,
           "QUERY_SIG": SIG, "NO_PROXY": "*"}
    proc = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env,
                          timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["choices"][0]["message"]["content"].startswith("I am")
    replayed = posts(stub, "wrong-answer~curl")[-1]
    assert replayed["path"] == gate_request["path"]
    assert replayed["payload"] == gate_request["payload"]
    ours = {k: v for k, v in lowered(gate_request["headers"]).items()
            if k not in ("accept-encoding", "connection", "content-length")}
    assert {k: lowered(replayed["headers"]).get(k) for k in ours} == ours
    # In the incident block too, with what to export first; still no secret.
    summary = run.files["summary.md"]
    assert "reproduce:" in summary and "export first:" in summary
    assert "COMETAPI_API_KEY" in summary
    for secret in (KEY, SECRET, LITERAL, SIG):
        assert secret not in summary


def test_reproduce_names_the_key_file_and_the_action_input(tmp_path: Path,
                                                           stub: StubServer) -> None:
    key_file = tmp_path / "key.txt"
    key_file.write_text(KEY)
    run = run_gate(base_url=stub.url("server-error"), model="stub-model", retries="0",
                   api_key_file=str(key_file), env={"COMETAPI_API_KEY": ""})
    command = run.check("positive:stub-model")["reproduce"]
    assert f"# COMETAPI_API_KEY: the key came from the file {key_file}" in command
    assert '"Authorization: Bearer $COMETAPI_API_KEY"' in command and KEY not in command
    run = run_gate(base_url=stub.url("server-error"), model="stub-model", retries="0",
                   api_key_env="CHAT_SMOKE_ACTION_API_KEY",
                   env={"CHAT_SMOKE_ACTION_API_KEY": KEY})
    command = run.check("positive:stub-model")["reproduce"]
    assert "# COMETAPI_API_KEY: the key came from the action's api-key input" in command
    assert KEY not in command


def test_reproduce_uses_the_auth_style_and_only_failed_checks_have_one(
    api_key_stub: StubServer,
) -> None:
    run = run_gate(base_url=api_key_stub.url("wrong-answer"), model="stub-model",
                   auth_header="api-key", env={"MY_KEY": KEY}, api_key_env="MY_KEY",
                   negative="invalid-model")
    command = run.check("positive:stub-model")["reproduce"]
    assert '-H "api-key: $MY_KEY"' in command and "Authorization" not in command
    assert run.check("negative:invalid-model")["reproduce"] is None  # it passed
    assert run.check("preflight:config")["reproduce"] is None


def test_the_invalid_key_checks_reproduction_shows_the_random_key(stub: StubServer) -> None:
    run = run_gate(base_url=stub.url("accept-all"), model="stub-model", negative="invalid-key")
    check = run.check("negative:invalid-key")
    assert check["outcome"] == "fail"
    # The run's two requests (the positive check and this one) run concurrently, in
    # either order: exactly one carried another key, and the reproduction shows that one.
    sent = [p["headers"]["Authorization"] for p in posts(stub, "accept-all")[-2:]]
    fakes = [value for value in sent if value != f"Bearer {KEY}"]
    assert len(fakes) == 1 and f"Bearer {KEY}" in sent, sent
    assert f"-H 'Authorization: {fakes[0]}'" in check["reproduce"]
    assert "$COMETAPI_API_KEY" not in check["reproduce"]


# -- prompt version and output excerpt ---------------------------------------------------


def test_prompt_version_is_stable_and_ignores_the_model(tmp_path: Path) -> None:
    def version(**flags: Any) -> str:
        return payload.prompt_version(config.load({"model": "m", **flags},
                                                  {"COMETAPI_API_KEY": KEY}, tmp_path))

    first = version()
    assert re.fullmatch(r"[0-9a-f]{12}", first)
    assert version() == first and version(model="other-model") == first
    assert version(user_prompt="ping!") != first
    assert version(max_tokens="32") != first


def test_an_assertion_failure_records_a_masked_capped_excerpt(tmp_path: Path,
                                                              stub: StubServer) -> None:
    run = run_cli(tmp_path, "--base-url", stub.url("hostile"), "--model", "stub-model",
                  "--expect", "equals:pong", "--summary", str(tmp_path / "summary.md"))
    assert run.code == 6
    check = run.check("positive:stub-model")
    excerpt = check["output_excerpt"]
    assert excerpt.startswith("pong\\n::error title=pwned::owned\\n")
    assert "\n" not in excerpt and len(excerpt) <= 300
    assert run.report is not None and run.report["prompt_version"]
    summary = run.files["summary.md"]
    assert re.search(rf"prompt version:\s+{run.report['prompt_version']}\n", summary)
    assert "output:" in summary


def test_a_long_answer_is_marked_truncated() -> None:
    from smoke.checks.send import excerpt
    from smoke.output import redact

    redact.register(SECRET)
    text = f"{SECRET} \x1b[31m" + "x" * 500
    cut = excerpt(text)
    assert len(cut) == 300 and cut.endswith("… [truncated]")
    assert cut.startswith("*** \\x1b[31m") and SECRET not in cut


# -- gateway-aware hints -----------------------------------------------------------------


@pytest.mark.parametrize(("scenario", "category", "layer", "words"), [
    ("portkey-router", "request", "portkey-config", "rejected the routing/config"),
    ("portkey-config", "request", "portkey-config", "rejected the routing/config"),
    ("portkey-exception", "upstream", "portkey-exception", "gateway itself failed"),
    ("html-in-json", "upstream", "html-wrapped", "wrapped it in JSON"),
    ("litellm-no-deployment", "rate_limit", "litellm-routing", "LiteLLM proxy rejected"),
    ("invalid-model-name", "model", "litellm-routing", "LiteLLM proxy rejected"),
])
def test_the_gateways_own_errors_get_a_gateway_hint(stub: StubServer, scenario: str,
                                                     category: str, layer: str,
                                                     words: str) -> None:
    run = run_gate(base_url=stub.url(scenario), model="stub-model", retries="0")
    check = run.check("positive:stub-model")
    assert check["category"] == category  # the documented rules decide the category
    assert check["details"]["gateway_layer"] == layer
    assert words in check["hint"] and words in run.console
    assert check["reproduce"]


def test_portkey_exception_records_its_trace_id(stub: StubServer) -> None:
    run = run_gate(base_url=stub.url("portkey-exception"), model="stub-model", retries="0")
    assert run.check("positive:stub-model")["trace_ids"]["x-portkey-trace-id"] == \
        "trace-stub-0001"


def test_a_provider_error_keeps_the_categorys_hint(stub: StubServer) -> None:
    run = run_gate(base_url=stub.url("bad-request"), model="stub-model", retries="0")
    check = run.check("positive:stub-model")
    assert check["hint"].startswith("The endpoint rejected the request")
    assert "gateway_layer" not in check["details"]


def test_a_header_routed_gateway_passes_only_with_the_header(tmp_path: Path,
                                                             stub: StubServer) -> None:
    without = run_gate(base_url=stub.url("portkey-router~h"), model="stub-model", retries="0")
    assert (without.code, without.report["category"]) == (4, "request")
    assert "x-portkey-config or x-portkey-provider" in without.check(
        "positive:stub-model")["message"]
    with_header = run_gate(base_url=stub.url("portkey-router~h"), model="stub-model",
                           headers=["x-portkey-provider: openai"])
    assert with_header.code == 0, with_header.console


# -- the action and SDK parity -----------------------------------------------------------


def test_the_action_needs_no_api_key_with_auth_header_none(tmp_path: Path,
                                                           open_stub: StubServer) -> None:
    from tests.support.action_runner import run_action

    run = run_action(tmp_path, {
        "base-url": open_stub.base_url, "model": "stub-model", "auth-header": "none",
        "headers": f"x-portkey-provider: openai\nx-gateway-token: {LITERAL}\n"})
    assert run.code == 0, run.stdout + run.stderr
    sent = lowered(open_stub.requests[-1]["headers"])
    assert sent["x-portkey-provider"] == "openai" and sent["x-gateway-token"] == LITERAL
    assert "authorization" not in sent
    # The runner masks the secret header (its ::add-mask:: line carries it to the masker);
    # nothing else the action writes holds it.
    lines = [line for line in run.stdout.splitlines() if not line.startswith("::add-mask::")]
    assert f"::add-mask::{LITERAL}" in run.stdout
    assert LITERAL not in "\n".join(lines) + run.stderr + run.summary


def test_the_action_still_wants_a_key_with_another_auth_header(tmp_path: Path,
                                                               stub: StubServer) -> None:
    from tests.support.action_runner import run_action

    run = run_action(tmp_path, {"base-url": stub.base_url, "model": "stub-model",
                                "auth-header": "api-key"})
    assert run.code == 2 and "the api-key input is empty" in run.stdout


def test_sdk_parity_sends_the_same_headers_query_and_auth_style(
    api_key_stub: StubServer,
) -> None:
    base = f"{api_key_stub.url('pass~sdk')}?api-version=2024-10-21"
    run = run_gate(base_url=base, model="stub-model", auth_header="api-key", sdk_parity=True,
                   headers=["X-Title: parity"])
    assert run.code == 0, run.console
    assert run.check("sdk-parity:stub-model")["outcome"] == "pass"
    sent = [r for r in api_key_stub.requests if r["scenario"] == "pass~sdk"]
    assert len(sent) == 2
    sdk = lowered(sent[1]["headers"])
    assert sdk["x-stainless-lang"] == "python" and sdk["api-key"] == KEY
    assert sdk["x-title"] == "parity" and "authorization" not in sdk
    assert sent[1]["path"].endswith("/chat/completions?api-version=2024-10-21")


def test_the_reproduction_holds_no_secret_even_without_the_redactor(tmp_path: Path) -> None:
    """Scrub-independent: with nothing registered, the builder itself leaves every secret
    out (the key, ${VAR} values, literal secret headers, secret query parameters)."""
    from smoke.checks.send import endpoint_of
    from smoke.http import reproduce
    from smoke.http.transport import encode, request_headers
    from smoke.output import redact

    settings = config.load(
        {"model": "m", "base_url": f"https://gw.example/v1?api-version=1&sig={SIG}",
         "headers": [f"Cookie: {LITERAL}", "x-portkey-api-key: ${PK_KEY}", "X-Title: t"]},
        {"COMETAPI_API_KEY": KEY, "PK_KEY": SECRET}, tmp_path)
    redact.clear()
    body = payload.build(settings, "m")
    sent = request_headers(endpoint_of(settings), True, {})
    assert sent["Cookie"] == LITERAL and sent["Authorization"] == f"Bearer {KEY}"
    command = reproduce.curl(settings, "POST", "chat/completions", sent, encode(body))
    assert redact.registered() == ()
    for secret in (KEY, SECRET, LITERAL, SIG):
        assert secret not in command
    assert "-H 'X-Title: t'" in command and "api-version=1&sig=$QUERY_SIG" in command


def test_an_html_page_wrapped_in_json_is_named_by_its_title(stub: StubServer) -> None:
    run = run_gate(base_url=stub.url("html-in-json"), model="stub-model", retries="0")
    message = run.check("positive:stub-model")["message"]
    assert message == ("HTTP 502: the gateway wrapped an HTML page from upstream "
                       "(title: 502 Bad Gateway)")



# -- properties --------------------------------------------------------------------------

from hypothesis import event, given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.support.fuzz import examples  # noqa: E402

_PROPERTY = examples(300)


@_PROPERTY
@given(name=st.one_of(st.text(min_size=1, max_size=20),
                      st.from_regex(r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,20}", fullmatch=True)),
       value=st.one_of(st.text(max_size=40),
                       st.text(st.characters(min_codepoint=32, max_codepoint=255),
                               max_size=40)))
def test_any_header_is_refused_or_sent_exactly_and_reproduced(tmp_path: Path, name: str,
                                                              value: str) -> None:
    """Whatever a user writes is a config error, or a header the HTTP client accepts, sent
    as given, which the curl reproduction quotes so that the shell gives it back."""
    import requests

    from smoke.checks.send import endpoint_of
    from smoke.http import reproduce
    from smoke.http.transport import request_headers
    from smoke.output import redact

    redact.clear()
    try:
        settings = config.load({"model": "m", "headers": {name: value}},
                               {"COMETAPI_API_KEY": KEY}, tmp_path)
    except ConfigError:
        event("config error")
        return
    header = settings.headers[0]
    sent = request_headers(endpoint_of(settings), True, {})
    requests.models.PreparedRequest().prepare_headers(sent)  # raises InvalidHeader if bad
    if header.name.lower() in ("user-agent", "accept", "content-type", "x-client-request-id"):
        return  # replaces one of ours
    assert sent[header.name] == header.value == value.strip()
    if header.secret or header.variables:
        return  # shown as a variable reference
    command = reproduce.curl(settings, "POST", "chat/completions", sent, b"{}")
    shell = "args() { for a in \"$@\"; do printf '%s\\0' \"$a\"; done; }; "
    out = subprocess.run(["bash", "-c", shell + command.replace("curl ", "args ", 1)],
                         capture_output=True, timeout=10).stdout
    assert f"{header.name}: {header.value}".encode() in out.split(b"\0")
    event("reproduced through the shell")

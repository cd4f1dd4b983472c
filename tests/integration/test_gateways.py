"""The gate against REAL gateways that route or authenticate on headers (issue 13).

- LiteLLM proxy 1.108.7 (``litellm[proxy]``, tests/support/litellm_proxy.py). Its
  ``litellm/proxy/auth/user_api_key_auth.py`` (``get_api_key``) reads the key from, in
  order: ``x-litellm-api-key`` (``Bearer`` optional), ``Authorization: Bearer``,
  ``API-Key`` (Azure), ``x-api-key`` (Anthropic), ``x-goog-api-key`` (Google AI
  Studio) and ``Ocp-Apim-Subscription-Key`` (Azure APIM); names from
  ``litellm/types/proxy/auth/special_headers.py``. Each is tested through
  ``--auth-header`` and through ``--auth-header none`` plus ``--header``.
- Portkey's open-source gateway 1.15.2 (npm ``@portkey-ai/gateway``,
  tests/support/portkey_gateway.py), which refuses a request without ``x-portkey-provider`` or
  ``x-portkey-config``; routed to the bundled stub as its custom host. No proxy in between.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from smoke.stub import StubServer
from tests.support.cli import KEY, Run, run_cli
from tests.support.litellm_proxy import LiteLLMProxy
from tests.support.portkey_gateway import PortkeyGateway

KEY_HEADERS = ("x-litellm-api-key", "api-key", "x-api-key", "x-goog-api-key",
               "Ocp-Apim-Subscription-Key")


@pytest.fixture(scope="module")
def upstream() -> Iterator[StubServer]:
    """The provider behind Portkey: the bundled stub, validating the key."""
    with StubServer(key=KEY) as server:
        yield server


def gate(tmp_path: Path, base_url: str, model: str, *args: str, key: str | None,
         env: dict[str, str] | None = None, secrets: tuple[str, ...] = ()) -> Run:
    run = run_cli(tmp_path, "--base-url", base_url, "--model", model, "--deadline", "60",
                  "--summary", str(tmp_path / "summary.md"), *args, key=key, env=env)
    assert run.report is not None, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    for secret in (*secrets, *([key] if key else [])):
        assert secret not in run.all_output
    return run


# -- LiteLLM -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", KEY_HEADERS)
def test_litellm_reads_the_key_from_the_auth_header(litellm: LiteLLMProxy, tmp_path: Path,
                                                    name: str) -> None:
    run = gate(tmp_path, litellm.base_url, litellm.models.pong, "--auth-header", name,
               key=litellm.master_key)
    assert run.code == 0, run.stdout
    assert run.report is not None and run.report["config"]["auth_header"] == name
    assert run.check(f"positive:{litellm.models.pong}")["answer"] == "pong"


@pytest.mark.parametrize("name", KEY_HEADERS)
def test_litellm_refuses_a_wrong_key_in_that_header(litellm: LiteLLMProxy, tmp_path: Path,
                                                    name: str) -> None:
    wrong = "sk-" + "wrong" * 8
    run = gate(tmp_path, litellm.base_url, litellm.models.pong, "--auth-header", name,
               "--retries", "0", key=wrong)
    assert (run.code, run.report and run.report["category"]) == (3, "auth"), run.stdout


def test_litellm_passes_with_only_a_header_carrying_the_key(litellm: LiteLLMProxy,
                                                            tmp_path: Path) -> None:
    """--auth-header none: chat-smoke sends no key and needs none; the user's header
    (${VAR}, so the key is masked) is the credential."""
    run = gate(tmp_path, litellm.base_url, litellm.models.pong, "--auth-header", "none",
               "--header", "x-litellm-api-key: Bearer ${LITELLM_KEY}", key=None,
               env={"LITELLM_KEY": litellm.master_key}, secrets=(litellm.master_key,))
    assert run.code == 0, run.stdout
    assert "x-litellm-api-key: Bearer ${LITELLM_KEY}" in run.stdout


def test_litellm_with_a_query_and_a_tagged_request(litellm: LiteLLMProxy,
                                                   tmp_path: Path) -> None:
    run = gate(tmp_path, f"{litellm.base_url}?api-version=2024-10-21", litellm.models.pong,
               "--auth-header", "api-key", "--environment", "ci", key=litellm.master_key)
    assert run.code == 0, run.stdout
    check = run.check(f"positive:{litellm.models.pong}")
    assert check["client_request_id"] and check["trace_ids"]["x-litellm-call-id"]


def test_litellm_failure_reproduces_with_curl(litellm: LiteLLMProxy, tmp_path: Path) -> None:
    """The reproduction of a failed check, run as is against the real proxy with the key
    in the named variable, gets the same answer."""
    run = gate(tmp_path, litellm.base_url, litellm.models.wrong, "--auth-header", "x-api-key",
               "--header", "X-Title: chat-smoke it's", key=litellm.master_key)
    assert run.code == 6, run.stdout
    check = run.check(f"positive:{litellm.models.wrong}")
    command = check["reproduce"]
    assert litellm.master_key not in command and '-H "x-api-key: $COMETAPI_API_KEY"' in command
    assert check["output_excerpt"] == "I cannot help with that."
    env = {**os.environ, "COMETAPI_API_KEY": litellm.master_key, "NO_PROXY": "*"}
    proc = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    assert answer["choices"][0]["message"]["content"] == "I cannot help with that."


def test_litellm_unknown_model_hint_names_the_proxys_routing(litellm: LiteLLMProxy,
                                                             tmp_path: Path) -> None:
    run = gate(tmp_path, litellm.base_url, "no-such-model", "--retries", "0",
               key=litellm.master_key)
    assert (run.code, run.report and run.report["category"]) == (4, "model")
    check = run.check("positive:no-such-model")
    assert check["details"]["gateway_layer"] == "litellm-routing"
    assert "The LiteLLM proxy rejected the routing/config" in check["hint"]


# -- Portkey -----------------------------------------------------------------------------


def test_portkey_without_routing_headers_is_its_own_refusal(portkey: PortkeyGateway,
                                                            tmp_path: Path) -> None:
    run = gate(tmp_path, portkey.base_url, "stub-model", "--retries", "0", key=KEY)
    assert (run.code, run.report and run.report["category"]) == (4, "request"), run.stdout
    check = run.check("positive:stub-model")
    assert "Either x-portkey-config or x-portkey-provider header is required" in check["message"]
    assert check["details"]["gateway_layer"] == "portkey-config"
    assert "Portkey's gateway rejected the routing/config" in check["hint"]
    assert "rejected the routing/config" in run.files["summary.md"]


def test_portkey_routes_on_headers_and_the_gate_passes(portkey: PortkeyGateway,
                                                       upstream: StubServer,
                                                       tmp_path: Path) -> None:
    """Done when: against a real gateway that routes on headers, the gate passes using
    only --header."""
    before = len(upstream.requests)
    run = gate(tmp_path, portkey.base_url, "stub-model",
               "--header", "x-portkey-provider: openai",
               "--header", f"x-portkey-custom-host: {upstream.url('pass~portkey')}",
               "--environment", "staging", key=KEY)
    assert run.code == 0, run.stdout
    received = [r for r in upstream.requests[before:] if r["scenario"] == "pass~portkey"]
    assert len(received) == 1  # through the gateway, to its custom host
    headers = {k.lower(): v for k, v in received[0]["headers"].items()}
    assert headers["authorization"] == f"Bearer {KEY}"  # Portkey forwarded our key


def test_portkey_config_holds_the_key(portkey: PortkeyGateway, upstream: StubServer,
                                      tmp_path: Path) -> None:
    """A Portkey config (JSON, in a variable) carries the provider, host and key; the gate
    sends no key of its own (--auth-header none), and the config is never shown."""
    config = json.dumps({"provider": "openai", "api_key": KEY,
                         "custom_host": upstream.url("pass~pkconfig")})
    run = gate(tmp_path, portkey.base_url, "stub-model", "--auth-header", "none",
               "--header", "x-portkey-config: ${PORTKEY_CONFIG}", key=None,
               env={"PORTKEY_CONFIG": config}, secrets=(KEY, config))
    assert run.code == 0, run.stdout
    assert any(r["scenario"] == "pass~pkconfig" for r in upstream.requests)


def test_portkey_wraps_an_html_upstream(portkey: PortkeyGateway, upstream: StubServer,
                                        tmp_path: Path) -> None:
    run = gate(tmp_path, portkey.base_url, "stub-model", "--retries", "0",
               "--header", "x-portkey-provider: openai",
               "--header", f"x-portkey-custom-host: {upstream.url('upstream-html')}", key=KEY)
    assert (run.code, run.report and run.report["category"]) == (5, "upstream"), run.stdout
    check = run.check("positive:stub-model")
    assert check["details"]["gateway_layer"] == "html-wrapped"
    assert "wrapped an HTML page from upstream (title: 502 Bad Gateway)" in check["message"]

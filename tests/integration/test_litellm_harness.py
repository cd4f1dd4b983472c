"""Raw behaviour of the real LiteLLM proxy the harness starts (plain requests, no tool code)."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import pytest
import requests

from tests.support import litellm_proxy as harness
from tests.support.litellm_proxy import LITELLM_VERSION, LiteLLMProxy

PROMPT = [
    {"role": "system", "content": "Reply with exactly the word: pong"},
    {"role": "user", "content": "ping"},
]


def _post(proxy: LiteLLMProxy, body: dict[str, object], **kw: object) -> requests.Response:
    headers = kw.pop("headers", proxy.auth_headers)
    return requests.post(
        f"{proxy.base_url}/chat/completions", json=body, headers=headers, timeout=30, **kw
    )


def _events(resp: requests.Response) -> list[str]:
    lines = resp.iter_lines(decode_unicode=True)
    return [line[len("data: ") :] for line in lines if line.startswith("data: ")]


def test_harness_shape(litellm: LiteLLMProxy) -> None:
    assert litellm.base_url == f"http://127.0.0.1:{litellm.port}/v1"
    assert litellm.master_key.startswith("sk-") and len(litellm.master_key) >= 40
    assert litellm.master_key != "sk-1234"
    os.kill(litellm.pid, 0)  # alive
    assert litellm.version == LITELLM_VERSION


def test_models_listed(litellm: LiteLLMProxy) -> None:
    resp = requests.get(f"{litellm.base_url}/models", headers=litellm.auth_headers, timeout=30)
    assert resp.status_code == 200
    ids = {m["id"] for m in resp.json()["data"]}
    assert set(litellm.models.all()) <= ids


def test_positive_completion_returns_pong(litellm: LiteLLMProxy) -> None:
    resp = _post(
        litellm,
        {"model": litellm.models.pong, "messages": PROMPT, "temperature": 0, "max_tokens": 5},
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["content"] == "pong"
    assert body["choices"][0]["finish_reason"] == "stop"
    assert resp.headers.get("x-litellm-call-id")
    assert "x-request-id" not in resp.headers  # LiteLLM's id header is x-litellm-call-id only


def test_streaming_with_usage_ends_with_done(litellm: LiteLLMProxy) -> None:
    resp = _post(
        litellm,
        {
            "model": litellm.models.pong,
            "messages": PROMPT,
            "stream": True,
            "stream_options": {"include_usage": True},
        },
        stream=True,
    )
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/event-stream")
    assert resp.headers.get("x-litellm-call-id")
    events = _events(resp)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "pong"
    usage_chunk = chunks[-1]
    assert usage_chunk["usage"]["total_tokens"] > 0
    # LiteLLM departs from OpenAI here: the usage chunk's choices is NOT empty.
    assert usage_chunk["choices"] == [{"index": 0, "delta": {}}]


def test_auth_failures(litellm: LiteLLMProxy) -> None:
    body = {"model": litellm.models.pong, "messages": PROMPT}
    no_key = _post(litellm, body, headers={})
    assert no_key.status_code == 401
    assert no_key.json()["error"]["type"] == "auth_error"
    wrong_key = f"Bearer sk-{secrets.token_urlsafe(36)}"
    wrong = _post(litellm, body, headers={"Authorization": wrong_key})
    # Without a database LiteLLM cannot look a virtual key up: 400, not 401.
    assert wrong.status_code == 400
    assert wrong.json()["error"]["type"] == "no_db_connection"


def test_mock_errors(litellm: LiteLLMProxy) -> None:
    rl = _post(litellm, {"model": litellm.models.ratelimit, "messages": PROMPT})
    assert rl.status_code == 429
    assert rl.json()["error"]["code"] == "429"
    assert "retry-after" not in rl.headers
    ise = _post(litellm, {"model": litellm.models.internal, "messages": PROMPT})
    assert ise.status_code == 500
    assert ise.json()["error"]["type"] == "internal_server_error"


def test_midstream_error_is_a_data_event_without_done(litellm: LiteLLMProxy) -> None:
    resp = _post(
        litellm,
        {"model": litellm.models.midstream_error, "messages": PROMPT, "stream": True},
        stream=True,
    )
    assert resp.status_code == 200
    events = _events(resp)
    assert "[DONE]" not in events
    assert json.loads(events[0])["choices"][0]["delta"]["content"] == "pon"
    assert json.loads(events[-1])["error"]["code"] == "500"


def test_proxy_leads_its_own_process_group(litellm: LiteLLMProxy) -> None:
    # Stopping is SIGTERM then SIGKILL to this group, which cannot include pytest.
    assert os.getpgid(litellm.pid) == litellm.pid != os.getpgid(0)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def test_context_manager_stops_the_proxy_and_cleans_up(litellm: LiteLLMProxy) -> None:
    with harness.litellm_proxy() as second:
        assert second.port != litellm.port and second.master_key != litellm.master_key
        ok = _post(second, {"model": second.models.pong2, "messages": PROMPT})
        assert ok.json()["choices"][0]["message"]["content"] == "pong"
        # Each proxy accepts only its own key.
        assert (
            _post(
                second, {"model": "mock-pong", "messages": PROMPT}, headers=litellm.auth_headers
            ).status_code
            != 200
        )
        pid, home = second.pid, second.config_path.parent
    assert not _alive(pid)
    assert not home.exists()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{second.root_url}/health/liveliness", timeout=5)


def test_failed_install_raises_with_pip_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAT_SMOKE_CACHE", str(tmp_path))
    monkeypatch.setattr(harness, "REQUIREMENTS", (str(tmp_path / "no-such-package-1.0.whl"),))
    with pytest.raises(RuntimeError) as info:
        harness.ensure_venv()
    assert "pip install" in str(info.value) and "no-such-package" in str(info.value)
    assert not (harness.venv_path() / harness.MARKER_NAME).exists()

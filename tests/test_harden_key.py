"""The key, in every form, stays secret (issue 11, item 3; issue 10, item 7).

A key that cannot go into a header is a ``config`` error that names the problem without
the key, from every source (environment, --api-key-file, the action input), and nothing
is sent. A key inside base_url is refused unseen. A server that echoes the key encoded
(URL, base64 of ``Bearer KEY`` or basic auth, JSON escapes, a header dump) has every form
masked. The secret registry is scoped to a run."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from smoke.output import redact
from smoke.stub import StubServer
from tests.support.action_runner import ENTRYPOINT, runner_env
from tests.support.cli import KEY
from tests.support.hardkit import assert_no_secret, assert_reports, gate_all, record
from tests.support.rawserver import RawServer
from tests.support.runner_rules import parse_output_file

OTHER = "sk-test-" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4"
NOT_SENT = b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"

# (raw key as stored, the problem the message names)
UNSENDABLE = {
    "two-keys-pasted": (f"{KEY}\n{OTHER}\n", f"a line break at position {len(KEY) + 1}"),
    "crlf-inside": (f"{KEY}\r\n{OTHER}", f"a line break at position {len(KEY) + 1}"),
    "inner-space": (f"{KEY} {OTHER}", f"white space at position {len(KEY) + 1}"),
    "inner-tab": (f"{KEY[:20]}\t{KEY[20:]}", "white space at position 21"),
    "control-char": (f"{KEY[:10]}\x1b{KEY[10:]}", "a control character (U+001B) at position 11"),
    "non-latin-1": (f"{KEY[:12]}ключ{KEY[12:]}", "a character outside Latin-1 (U+043A) at "
                    "position 13"),
    "empty-after-trim": (" \t\n", "empty"),
}


def _secrets(raw: str) -> list[str]:
    return [part for part in raw.split() if len(part) >= 12]


# An empty variable is "no API key", which test_config.py tests; an empty file is here.
@pytest.mark.parametrize(("name", "source"), [
    (name, source) for name in UNSENDABLE for source in ("env", "file")
    if (name, source) != ("empty-after-trim", "env")
])
def test_an_unsendable_key_is_a_config_error_that_never_shows_it(
        tmp_path: Path, name: str, source: str) -> None:
    raw, problem = UNSENDABLE[name]
    with RawServer(NOT_SENT) as server:
        if source == "env":
            run, wall = gate_all(tmp_path, "--base-url", server.url, "--model", "m", key=raw)
        else:
            key_file = tmp_path / "key.txt"
            key_file.write_bytes(raw.encode("utf-8"))
            run, wall = gate_all(tmp_path, "--base-url", server.url, "--model", "m",
                                 "--api-key-file", str(key_file), key=None)
        assert server.requests == []  # nothing sent, nothing retried
    report = assert_reports(run, tmp_path, *_secrets(raw))
    assert (run.code, report["category"]) == (2, "config"), run.stderr
    line = run.stderr.strip().splitlines()[-1]
    assert problem in line and "not shown" in line or problem == "empty", line
    assert report["checks"][0]["category"] == "config"
    record(f"key: {name} ({source})", "config", run.code, wall)


def test_an_unsendable_action_input_is_a_config_error(tmp_path: Path) -> None:
    raw = f"{KEY}\n{OTHER}"
    workspace, files = tmp_path / "ws", tmp_path / "files"
    workspace.mkdir()
    for sub in ("home", "temp"):
        (files / sub).mkdir(parents=True)
    with RawServer(NOT_SENT) as server:
        env = runner_env(workspace, files, {"api-key": raw, "base-url": server.url,
                                            "model": "m"})
        proc = subprocess.run([sys.executable, str(ENTRYPOINT)], cwd=workspace, env=env,
                              capture_output=True, text=True, timeout=60)
        assert server.requests == []
    assert proc.returncode == 2, proc.stdout + proc.stderr
    outputs = dict(parse_output_file(Path(env["GITHUB_OUTPUT"]).read_text("utf-8")))
    assert outputs["category"] == "config"
    assert f"a line break at position {len(KEY) + 1}" in proc.stdout + proc.stderr
    shown = "\n".join(line for line in (proc.stdout + proc.stderr).splitlines()
                      if not line.startswith("::add-mask::"))
    files_text = {p.name: p.read_text("utf-8") for p in workspace.rglob("*") if p.is_file()}
    assert_no_secret({"log": shown, **files_text,
                      "summary": Path(env["GITHUB_STEP_SUMMARY"]).read_text("utf-8")},
                     KEY, OTHER)


@pytest.mark.parametrize("ending", ["\n", "\r\n", "  \n\n", "\t"])
def test_a_key_file_is_trimmed(tmp_path: Path, stub: StubServer, ending: str) -> None:
    key_file = tmp_path / "key.txt"
    key_file.write_text(f"  {KEY}{ending}")
    run, _ = gate_all(tmp_path, "--base-url", stub.url("pass"), "--model", "stub-model",
                      "--api-key-file", str(key_file), key=None)
    assert_reports(run, tmp_path, KEY)
    assert run.code == 0, run.stdout + run.stderr


@pytest.mark.parametrize("url", [
    "http://{key}@127.0.0.1:{port}/v1",
    "http://user:{key}@127.0.0.1:{port}/v1",
    "http://user:{quoted}@127.0.0.1:{port}/v1",
    "http://127.0.0.1:{port}/v1?api_key={key}",
    "http://127.0.0.1:{port}/v1?api-version=2024-06-01&key={quoted}",
    "127.0.0.1:{port}/v1?key={key}",  # not even an http URL: still not echoed
], ids=["username", "password", "password-encoded", "query", "query-encoded", "no-scheme"])
def test_a_key_inside_base_url_is_refused_unseen(tmp_path: Path, url: str) -> None:
    with RawServer(NOT_SENT) as server:
        base = url.format(key=KEY, quoted=quote(KEY, safe=""), port=server.port)
        run, wall = gate_all(tmp_path, "--base-url", base, "--model", "m")
        assert server.requests == []
    report = assert_reports(run, tmp_path, KEY)
    assert (run.code, report["category"]) == (2, "config"), run.stderr
    assert "base-url" in run.stderr and "not shown" in run.stderr or "not an http" in run.stderr
    record("key: inside base_url", "config", run.code, wall)


def test_a_key_inside_the_config_file_url_is_refused_unseen(tmp_path: Path) -> None:
    (tmp_path / "chat-smoke.yml").write_text(
        f"base_url: https://127.0.0.1:9/v1?token={KEY}\nmodel: m\n")
    run, _ = gate_all(tmp_path)
    report = assert_reports(run, tmp_path, KEY)
    assert (run.code, report["category"]) == (2, "config")
    assert "query carries the API key" in run.stderr


SLASHY = "sk-live/AbC+dEf=gh1234567890/xyZ~q"


ECHOES = {  # every form a server, a proxy or a debugging gateway is known to echo a key in
    "header-dump": lambda key: f"Authorization: Bearer {key}",
    "url-encoded": lambda key: quote(key, safe=""),
    "form-encoded": lambda key: quote_plus(key),
    "json-escaped": lambda key: json.dumps(key)[1:-1].replace("/", "\\/"),
    "json-bearer": lambda key: json.dumps(f"Bearer {key}", ensure_ascii=True),
    "base64-bearer": lambda key: base64.b64encode(f"Bearer {key}".encode()).decode(),
    "base64-header": lambda key: base64.b64encode(
        f"Authorization: Bearer {key}".encode()).decode(),
    "base64-basic-empty-user": lambda key: base64.b64encode(f":{key}".encode()).decode(),
    "base64-basic-empty-password": lambda key: base64.b64encode(f"{key}:".encode()).decode(),
    "base64-basic-user": lambda key: base64.b64encode(f"user:{key}".encode()).decode(),
    "base64-urlsafe": lambda key: base64.urlsafe_b64encode(f"x{key}".encode()).decode(),
    "abbreviated": lambda key: key[:16] + "..." + key[-6:],
}


def _encoded(key: str) -> list[str]:
    """What must not appear: the key in each encoding, long enough to identify it."""
    b64 = base64.b64encode
    found = [key, quote(key, safe=""), quote_plus(key), json.dumps(key)[1:-1],
             key.replace("/", "\\/"), key[:16]]
    for prefix in ("", ":", "x", "Bearer ", "user:", "Authorization: Bearer "):
        for encode in (b64, base64.urlsafe_b64encode):
            text = encode(f"{prefix}{key}".encode()).decode()
            found.append(text[len(prefix) * 4 // 3 + 4 : -4])  # the part that is the key's
    return [form for form in found if len(form) >= 12]


@pytest.mark.parametrize("form", list(ECHOES))
@pytest.mark.parametrize("key", [KEY, SLASHY], ids=["plain", "with-slash-plus-equals"])
def test_every_encoded_echo_of_the_key_is_masked(tmp_path: Path, key: str, form: str) -> None:
    # One form per run, at the start of the message, so that no cut hides a leak.
    echoed = ECHOES[form](key)
    body = json.dumps({"error": {"message": f"{echoed} is not a valid key",
                                 "type": "invalid_request_error", "code": "invalid_api_key"}})
    answer = (b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body.encode()) + body.encode())
    with RawServer(answer) as server:
        run, wall = gate_all(tmp_path, "--base-url", server.url, "--model", "m", key=key)
    report = assert_reports(run, tmp_path, key)
    assert (run.code, report["category"]) == (3, "auth")
    message = next(c for c in report["checks"] if c["id"] == "positive:m")["message"]
    assert "is not a valid key" in message and "***" in message, message
    outputs = {"stdout": run.stdout, "stderr": run.stderr,
               **{p.name: p.read_text("utf-8") for p in tmp_path.iterdir() if p.is_file()}}
    for where, text in outputs.items():
        for encoded in _encoded(key):
            assert encoded not in text, f"{encoded!r} leaked into {where}"
    record(f"key: echoed as {form}", "auth", run.code, wall)


def test_a_key_given_where_a_value_goes_is_not_echoed(tmp_path: Path) -> None:
    # The key pasted into the wrong setting: the error names the setting, masked.
    run, _ = gate_all(tmp_path, "--base-url", "http://127.0.0.1:9/v1", "--model", "m",
                      "--timeout", KEY)
    report = assert_reports(run, tmp_path, KEY)
    assert (run.code, report["category"]) == (2, "config")
    assert "--timeout" in run.stderr and "***" in run.stderr


# -- the registry is scoped to a run ----------------------------------------------------------
def test_two_scopes_do_not_unregister_each_other() -> None:
    first_in, second_done = threading.Event(), threading.Event()
    seen: list[str] = []

    def gate_a() -> None:
        with redact.scope("secret-of-gate-a-0123456789"):
            first_in.set()
            second_done.wait(5)
            seen.append(redact.scrub("a: secret-of-gate-a-0123456789"))

    thread = threading.Thread(target=gate_a)
    thread.start()
    first_in.wait(5)
    with redact.scope("secret-of-gate-a-0123456789", "secret-of-gate-b-0123456789"):
        assert redact.scrub("secret-of-gate-b-0123456789") == "***"
    second_done.set()  # b left its scope, which held a's key too
    thread.join(5)
    assert seen == ["a: ***"]
    assert redact.scrub("secret-of-gate-a-0123456789") == "secret-of-gate-a-0123456789"


def test_a_scope_forgets_its_secrets_and_the_ambient_registry_is_bounded() -> None:
    for number in range(10 * redact.AMBIENT_LIMIT):
        with redact.scope(f"scoped-secret-{number:06d}"):
            redact.register(f"proxy-pass-{number:06d}")
    assert redact.registered() == ()
    for number in range(10 * redact.AMBIENT_LIMIT):
        redact.register(f"ambient-secret-{number:06d}")
    assert len(redact.registered()) <= 3 * redact.AMBIENT_LIMIT
    newest = f"ambient-secret-{10 * redact.AMBIENT_LIMIT - 1:06d}"
    assert redact.scrub(newest) == "***"


def test_the_demo_leaves_other_secrets_registered() -> None:
    from smoke.demo import demo

    with redact.scope("outer-secret-0123456789"):
        assert demo("sk-demo-0123456789abcdef") == 0
        assert redact.scrub("outer-secret-0123456789") == "***"
    assert redact.scrub("sk-demo-0123456789abcdef") == "sk-demo-0123456789abcdef"

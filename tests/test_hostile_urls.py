"""Issue 26, class 2: every URL-borne secret (user info, user and password; secret-looking
query parameters; a fragment) is scrubbed before any report exists, on every path: a
refused URL, an unrelated config error, a pass, a cancel; in every report, the outputs
and the provisional file. One test drives each path, the real program in a subprocess.

Before: a refused user-info URL said "the URL is not shown" while report.json and JUnit
held it; a secret query parameter reached the reports when another setting failed first."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from smoke.stub import StubServer
from tests.support.action_runner import ENTRYPOINT, runner_env
from tests.support.cli import KEY
from tests.support.env import scrubbed
from tests.support.hardkit import assert_no_secret, assert_reports, gate_all
from tests.support.rawserver import RawServer
from tests.support.runner_rules import parse_output_file

USER = "deploy-bot-alice"
PASSWORD = "Pa55w0rd-" + "UrlSecret-0042"
SIG = "SasSig" + "nature0123456789abcdef"
TOKEN = "FragTok" + "en-9876543210zyx"
SECRETS = (USER, PASSWORD, SIG, TOKEN)


def _all(tmp_path: Path) -> dict[str, str]:
    return {p.name: p.read_text("utf-8", errors="replace")
            for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".yml"}


def test_a_refused_user_info_url_is_never_shown(tmp_path: Path, stub: StubServer) -> None:
    port = stub.url().split(":")[2].split("/")[0]
    url = f"http://{USER}:{PASSWORD}@127.0.0.1:{port}/v1?sig={SIG}#{TOKEN}"
    run, _ = gate_all(tmp_path, "--base-url", url, "--model", "stub-model")
    report = assert_reports(run, tmp_path, *SECRETS)
    assert run.code == 2 and report["category"] == "config"
    assert "credentials" in run.check("preflight:config")["message"]
    assert report["endpoint"]["base_url"] == f"http://127.0.0.1:{port}/v1?sig=***"
    assert report["endpoint"]["host"] == "127.0.0.1"


def test_an_unrelated_config_error_shows_no_url_secret(tmp_path: Path,
                                                       stub: StubServer) -> None:
    url = stub.url() + f"?api-version=2024-10-21&sig={SIG}"
    run, _ = gate_all(tmp_path, "--base-url", url, "--model", "stub-model",
                      "--timeout", "-1")
    report = assert_reports(run, tmp_path, SIG)
    assert run.code == 2 and "timeout" in run.check("preflight:config")["message"]
    assert report["endpoint"]["base_url"].endswith("?api-version=2024-10-21&sig=***")


def test_a_fragment_is_refused_and_never_shown(tmp_path: Path, stub: StubServer) -> None:
    run, _ = gate_all(tmp_path, "--base-url", stub.url() + f"#access_token={TOKEN}",
                      "--model", "stub-model")
    report = assert_reports(run, tmp_path, TOKEN)
    assert run.code == 2 and "fragment" in run.check("preflight:config")["message"]
    assert "#" not in report["endpoint"]["base_url"]


def _echo_url(conn: socket.socket, request: bytes) -> None:
    """A gateway that echoes the request line (with its query) in an error."""
    line = request.split(b"\r\n")[0].decode("latin-1")
    body = json.dumps({"error": {"message": f"no route for {line}", "type": "server_error",
                                 "code": "x"}}).encode()
    conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
                 b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


def test_a_run_that_reaches_the_server_masks_the_query_everywhere(tmp_path: Path) -> None:
    with RawServer(_echo_url) as server:
        run, _ = gate_all(tmp_path, "--base-url", server.url + f"?sig={SIG}",
                          "--model", "m", "--retries", "0")
        assert SIG.encode() in server.requests[0]  # sent as configured
    report = assert_reports(run, tmp_path, SIG)
    assert run.code == 4, run.stdout
    assert "no route for POST" in json.dumps(report)


def test_a_pass_and_a_cancel_with_their_provisional_report(tmp_path: Path,
                                                           stub: StubServer) -> None:
    passed, _ = gate_all(tmp_path, "--base-url", stub.url() + f"?sig={SIG}",
                         "--model", "stub-model")
    assert passed.code == 0
    assert_reports(passed, tmp_path, SIG)

    folder = tmp_path / "cancel"
    folder.mkdir()
    report = folder / "report.json"
    env = scrubbed()
    env["COMETAPI_API_KEY"] = KEY
    proc = subprocess.Popen(
        [sys.executable, "-m", "smoke", "run", "--base-url",
         stub.url("hang:20") + f"?sig={SIG}", "--model", "stub-model", "--retries", "0",
         "--report-json", str(report), "--report-junit", str(folder / "junit.xml"),
         "--summary", str(folder / "summary.md")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=folder)
    for _ in range(300):
        if report.exists():
            break
        time.sleep(0.05)
    provisional = report.read_text("utf-8")
    assert json.loads(provisional)["verdict"] == "incomplete"
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 143
    assert_no_secret({"provisional": provisional, "stdout": out, "stderr": err,
                      **_all(folder)}, SIG)


def test_the_actions_base_url_input_never_shows_its_secrets(tmp_path: Path,
                                                            stub: StubServer) -> None:
    port = stub.url().split(":")[2].split("/")[0]
    workspace, files = tmp_path / "workspace", tmp_path / "files"
    for folder in (workspace, files, files / "home", files / "temp"):
        folder.mkdir(parents=True)
    env = runner_env(workspace, files, {
        "api-key": KEY, "model": "stub-model",
        "base-url": f"http://{USER}:{PASSWORD}@127.0.0.1:{port}/v1?sig={SIG}#{TOKEN}"})
    proc = subprocess.run([sys.executable, str(ENTRYPOINT)], cwd=workspace, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    outputs = dict(parse_output_file(Path(env["GITHUB_OUTPUT"]).read_text("utf-8")))
    assert outputs["category"] == "config"
    texts = {"stdout": proc.stdout, "stderr": proc.stderr, **_all(workspace), **_all(files)}
    # The runner masks what ::add-mask:: names: the command itself carries the value.
    texts["stdout"] = "\n".join(line for line in proc.stdout.splitlines()
                                if not line.startswith("::add-mask::"))
    assert_no_secret(texts, *SECRETS)

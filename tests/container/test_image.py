"""The image, built from the Dockerfile and run the way each CI runs it, against the stub.

Every run asserts its exit code, the files it wrote (and their owner), and that the key
appears nowhere but on the ``::add-mask::`` line.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from pathlib import Path

import pytest
from junitparser import JUnitXml

from smoke.stub import StubServer
from tests.support.cli import KEY
from tests.support.container import (
    AS_ROOT,
    GITHUB_GID,
    GITHUB_TOKEN,
    GITHUB_UID,
    JENKINS_GID,
    JENKINS_UID,
    MODEL,
    Engine,
    GitHubRun,
    Image,
    Result,
    RunGitHub,
    assert_key_nowhere,
    host_chat_smoke,
    load_json,
    note,
)
from tests.support.env import scrubbed

REPORTS = "chat-smoke-reports"
OWN_LAYERS_LIMIT = 20_000_000  # bytes: the project's layers, procps included


def _assert_github_files(run: GitHubRun, verdict: str, code: int, category: str) -> None:
    assert run.outputs["verdict"] == verdict, run.outputs
    assert run.outputs["exit-code"] == str(code)
    assert run.outputs["category"] == category
    assert run.outputs["report-json"] == f"{REPORTS}/report.json"
    assert run.outputs["report-junit"] == f"{REPORTS}/junit.xml"
    reports = run.workspace / REPORTS
    report = load_json(reports / "report.json")
    assert (report["verdict"], report["exit_code"]) == (verdict, code)
    junit = JUnitXml.fromfile(str(reports / "junit.xml"))
    assert junit.tests >= 1
    assert (junit.failures + junit.errors == 0) == (verdict == "pass")
    assert run.summary.strip(), "no step summary"
    # The container runs as root; what it writes belongs to the workspace's owner.
    for path in [reports, *reports.iterdir()]:
        assert (path.stat().st_uid, path.stat().st_gid) == (GITHUB_UID, GITHUB_GID), path
    assert f"::add-mask::{KEY}" in run.result.stdout
    assert_key_nowhere(run.result)
    assert_key_nowhere(run.result, GITHUB_TOKEN)  # the github-token input's default


def test_github_runner_pass(run_github: RunGitHub, stub: StubServer) -> None:
    run = run_github(stub.url("pass"))
    assert run.result.code == 0, run.result.output
    _assert_github_files(run, "pass", 0, "")
    report = load_json(run.workspace / REPORTS / "report.json")
    assert {c["id"]: c["outcome"] for c in report["checks"]}[f"positive:{MODEL}"] == "pass"
    assert MODEL in run.summary and "::error" not in run.result.output


def test_github_runner_auth_failure(run_github: RunGitHub, stub: StubServer) -> None:
    run = run_github(stub.url("bad-key"))
    assert run.result.code == 3, run.result.output
    _assert_github_files(run, "fail", 3, "auth")
    assert "::error" in run.result.output


def test_github_runner_assertion_failure(run_github: RunGitHub, stub: StubServer) -> None:
    run = run_github(stub.url("wrong-answer"))
    assert run.result.code == 6, run.result.output
    _assert_github_files(run, "fail", 6, "assertion")
    assert "::error" in run.result.output


def _jenkins_workspace(tmp_path: Path) -> Path:
    """A workspace owned by the agent's uid, at a path the container sees unchanged."""
    tmp_path.chmod(0o755)
    ws = tmp_path / "jenkins" / "ws"
    ws.mkdir(parents=True)
    ws.parent.chmod(0o755)
    if AS_ROOT:
        os.chown(ws, JENKINS_UID, JENKINS_GID)
    return ws


def test_jenkins_inside_cat_then_exec(engine: Engine, image: Image, stub: StubServer,
                                      tmp_path: Path) -> None:
    """docker.image().inside {}: ``run -t -d -u UID:GID -w WS -v WS:WS IMAGE cat``, then
    ``exec`` each step; an abort runs ``ps`` and ``kill`` through exec."""
    ws = _jenkins_workspace(tmp_path)
    uid = f"{JENKINS_UID}:{JENKINS_GID}"
    started = engine.cmd("run", "-t", "-d", "--network", "host", "-u", uid, "-w", str(ws),
                         "-v", f"{ws}:{ws}:rw", image.ref, "cat", check=True)
    cid = started.stdout.strip()
    try:
        state = engine.cmd("inspect", "-f", "{{.State.Running}}", cid, check=True).stdout
        assert state.strip() == "true", "cat did not keep the container running"
        done = engine.cmd("exec", "-e", "COMETAPI_API_KEY", cid, "chat-smoke", "run",
                          "--base-url", stub.url("pass"), "--model", MODEL,
                          "--report-junit", f"{ws}/junit.xml",
                          "--report-json", f"{ws}/report.json",
                          env={"COMETAPI_API_KEY": KEY})
        result = Result(done.returncode, done.stdout, done.stderr, 0, ws)
        assert result.code == 0, result.output
        assert load_json(ws / "report.json")["verdict"] == "pass"
        assert JUnitXml.fromfile(str(ws / "junit.xml")).tests >= 1
        for name in ("junit.xml", "report.json"):
            assert (ws / name).stat().st_uid == JENKINS_UID, name
        assert_key_nowhere(result)
        # What Jenkins' abort path needs in the container.
        ps = engine.cmd("exec", cid, "ps", "-eo", "pid,user,args", check=True).stdout
        assert "cat" in ps, ps
        engine.cmd("exec", cid, "kill", "-0", "1", check=True)
    finally:
        engine.cmd("rm", "-f", cid)


def test_jenkins_api_key_file_as_uid_1000(engine: Engine, image: Image, stub: StubServer,
                                          tmp_path: Path) -> None:
    """The key from a file credential (read-only, mode 0400, owned by the agent's uid):
    never in the environment, never on argv."""
    ws = _jenkins_workspace(tmp_path)
    secrets = tmp_path / "jenkins" / "ws@tmp"
    secrets.mkdir()
    key_file = secrets / "api-key"
    key_file.write_text(KEY + "\n")
    key_file.chmod(0o400)
    if AS_ROOT:
        os.chown(secrets, JENKINS_UID, JENKINS_GID)
        os.chown(key_file, JENKINS_UID, JENKINS_GID)
    uid = f"{JENKINS_UID}:{JENKINS_GID}"
    started = engine.cmd("run", "-t", "-d", "--network", "host", "-u", uid, "-w", str(ws),
                         "-v", f"{ws}:{ws}:rw", "-v", f"{secrets}:{secrets}:ro",
                         image.ref, "cat", check=True)
    cid = started.stdout.strip()
    try:
        done = engine.cmd("exec", cid, "chat-smoke", "run", "--api-key-file", str(key_file),
                          "--base-url", stub.url("pass"), "--model", MODEL,
                          "--report-junit", f"{ws}/junit.xml", "--report-json",
                          f"{ws}/report.json")
        result = Result(done.returncode, done.stdout, done.stderr, 0, tmp_path / "jenkins")
        assert result.code == 0, result.output
        report = load_json(ws / "report.json")
        assert report["verdict"] == "pass"
        assert (ws / "report.json").stat().st_uid == JENKINS_UID
        assert "api_key: set" in result.stdout
        assert_key_nowhere(result)
        # The file really was read-only inside: the gate did not need to write it.
        ro = engine.cmd("exec", cid, "sh", "-c", f"test -w {key_file} || echo read-only")
        assert "read-only" in ro.stdout
        # and the stub saw the key from the file.
        assert stub.requests and stub.requests[-1]["headers"].get("Authorization") == \
            f"Bearer {KEY}"
    finally:
        engine.cmd("rm", "-f", cid)


def test_gitlab_entrypoint_cleared_sh_c(engine: Engine, image: Image, stub: StubServer,
                                        tmp_path: Path) -> None:
    build = tmp_path / "gitlab" / "build"
    build.mkdir(parents=True)
    script = (f"chat-smoke run --base-url {stub.url('pass')} --model {MODEL} "
              "--report-dotenv gate.env --report-junit junit.xml --report-json report.json")
    done = engine.cmd("run", "--rm", "--network", "host", "--entrypoint", "", "-w", str(build),
                      "-v", f"{build}:{build}", "-e", "COMETAPI_API_KEY", image.ref,
                      "sh", "-c", script, env={"COMETAPI_API_KEY": KEY})
    result = Result(done.returncode, done.stdout, done.stderr, 0, build)
    assert result.code == 0, result.output
    dotenv = dict(line.split("=", 1) for line in (build / "gate.env").read_text().splitlines())
    assert dotenv["CHAT_SMOKE_VERDICT"] == "pass"
    assert dotenv["CHAT_SMOKE_EXIT_CODE"] == "0"
    assert all(name.replace("_", "").isalnum() for name in dotenv)
    junit = JUnitXml.fromfile(str(build / "junit.xml"))
    assert junit.tests >= 1 and junit.failures + junit.errors == 0
    assert_key_nowhere(result)


def test_gitlab_failure_writes_its_reports(engine: Engine, image: Image, stub: StubServer,
                                           tmp_path: Path) -> None:
    build = tmp_path / "gitlab" / "build"
    build.mkdir(parents=True)
    script = (f"chat-smoke run --base-url {stub.url('wrong-answer')} --model {MODEL} "
              "--report-dotenv gate.env --report-junit junit.xml")
    done = engine.cmd("run", "--rm", "--network", "host", "--entrypoint", "", "-w", str(build),
                      "-v", f"{build}:{build}", "-e", "COMETAPI_API_KEY", image.ref,
                      "sh", "-c", script, env={"COMETAPI_API_KEY": KEY})
    result = Result(done.returncode, done.stdout, done.stderr, 0, build)
    assert result.code == 6, result.output
    assert "CHAT_SMOKE_VERDICT=fail" in (build / "gate.env").read_text()
    assert JUnitXml.fromfile(str(build / "junit.xml")).failures >= 1
    assert_key_nowhere(result)


def _plain(engine: Engine, image: Image, base_url: str, tmp_path: Path) -> Result:
    started = time.monotonic()
    done = engine.cmd("run", "--rm", "--network", "host", "-e", "COMETAPI_API_KEY", image.ref,
                      "run", "--base-url", base_url, "--model", MODEL,
                      env={"COMETAPI_API_KEY": KEY})
    return Result(done.returncode, done.stdout, done.stderr, time.monotonic() - started,
                  tmp_path)


def test_plain_run(engine: Engine, image: Image, stub: StubServer, tmp_path: Path) -> None:
    result = _plain(engine, image, stub.url("pass"), tmp_path)
    assert result.code == 0, result.output
    assert "chat-smoke: PASS" in result.stdout
    assert_key_nowhere(result)
    failed = _plain(engine, image, stub.url("bad-key"), tmp_path)
    assert failed.code == 3, failed.output
    assert_key_nowhere(failed)


def test_the_image_has_ps_and_kill(engine: Engine, image: Image) -> None:
    """Exec form, no shell (as ``docker exec CID ps`` / ``kill``): the programs, not
    shell builtins."""
    ps = engine.cmd("run", "--rm", "--entrypoint", "", image.ref, "ps", "-o", "pid=,comm=",
                    "-p", "1")
    assert (ps.returncode, ps.stdout.split()) == (0, ["1", "ps"]), ps.stdout + ps.stderr
    kill = engine.cmd("run", "--rm", "--entrypoint", "", image.ref, "kill", "-l", "TERM")
    assert (kill.returncode, kill.stdout.strip()) == (0, "15"), kill.stdout + kill.stderr


def test_the_image_keeps_no_apt_lists(engine: Engine, image: Image) -> None:
    done = engine.cmd("run", "--rm", "--entrypoint", "", image.ref, "sh", "-c",
                      "ls -A /var/lib/apt/lists | grep -v '^partial$' | grep -v '^lock$' | wc -l")
    assert done.returncode == 0 and done.stdout.strip() == "0", done.stdout + done.stderr


def test_own_layers_at_most_20_mb(image: Image) -> None:
    assert image.own_layers, "no layers of our own found"
    for size, created in image.own_layers:
        if size:
            note(f"  own layer {size / 1e6:6.1f} MB  {created.strip()[:90]}")
    assert image.own_size <= OWN_LAYERS_LIMIT, (
        f"the project's layers take {image.own_size / 1e6:.1f} MB, more than 20 MB")


def test_measure_time_to_verdict(engine: Engine, image: Image, stub: StubServer,
                                 tmp_path: Path) -> None:
    """Printed, not asserted: `run IMAGE run ...` to verdict, against the host's venv."""
    env = scrubbed(COMETAPI_API_KEY=KEY)
    image_times, host_times = [], []
    for _ in range(3):
        result = _plain(engine, image, stub.url("pass"), tmp_path)
        assert result.code == 0, result.output
        image_times.append(result.seconds)
        started = time.monotonic()
        host = subprocess.run([*host_chat_smoke(), "run", "--base-url", stub.url("pass"),
                               "--model", MODEL], env=env, capture_output=True, text=True,
                              cwd=tmp_path, timeout=60)
        host_times.append(time.monotonic() - started)
        assert host.returncode == 0, host.stdout + host.stderr
    note(f"time to verdict (`{engine.name} run --rm IMAGE run ...` against the stub, median of 3): "
         f"image {statistics.median(image_times):.2f} s "
         f"(min {min(image_times):.2f}), host venv {statistics.median(host_times):.2f} s "
         f"(min {min(host_times):.2f})")
    note(f"build time with no cache: {image.build_seconds:.1f} s; image {image.size / 1e6:.1f} MB;"
         f" own layers {image.own_size / 1e6:.1f} MB")


@pytest.mark.parametrize("flag", ["--help"])
def test_entrypoint_runs_the_cli(engine: Engine, image: Image, flag: str) -> None:
    done = engine.cmd("run", "--rm", image.ref, "chat-smoke", flag)
    assert done.returncode == 0 and "Usage: chat-smoke" in done.stdout, done.stderr


def test_the_image_ships_no_build_leftovers(engine: Engine, image: Image) -> None:
    """setuptools builds the package and is removed in the same layer; the sources and
    build folders go; .dockerignore kept everything else out of /opt/chat-smoke."""
    done = engine.cmd("run", "--rm", "--entrypoint", "", image.ref, "python", "-c",
                      "import importlib.util as u, os; print(u.find_spec('setuptools')); "
                      "print(' '.join(sorted(os.listdir('/opt/chat-smoke'))))")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines() == [
        "None", "README.md entrypoint.py pyproject.toml requirements.txt"], done.stdout

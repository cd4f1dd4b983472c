"""Reports can't be lost to a bad path (issue 11, item 6), and a closed or broken stdout
stops nothing: real processes, real files and devices, the stub on loopback."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from smoke.stub import StubServer
from tests.support.action_runner import require as _require
from tests.support.action_runner import skip_off_ci as _skip_off_ci
from tests.support.cli import KEY, run_cli
from tests.support.env import scrubbed

# Reports go to /dev/null, /dev/full and /dev/stdout below. As root, a chat-smoke that
# replaced a device with a regular file (the bug this file tests for) would break the
# machine's /dev for everyone; so, as root, each such run gets a private /dev: a tmpfs in
# its own mount namespace with the same devices, and the run reports what they are after.
_PRIVATE_DEV = (
    "mount -t tmpfs chat-smoke-test-dev /dev && mknod -m 666 /dev/null c 1 3 && "
    "mknod -m 666 /dev/full c 1 7 && ln -s /proc/self/fd/1 /dev/stdout && "
    "ln -s /proc/self/fd/2 /dev/stderr && "
    '{ "$@"; code=$?; stat -c "%n: %F" /dev/null /dev/full /dev/stdout >&2; exit $code; }'
)
PRIVATE = os.geteuid() == 0 and shutil.which("unshare") is not None


@dataclass
class DevRun:
    code: int
    stdout: str
    stderr: str
    devices: dict[str, str]  # path -> file type, after the run

    def report(self, path: Path) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(path.read_text("utf-8"))
        return loaded


def run_with_devices(tmp_path: Path, *args: str, key: str | None = KEY,
                     stdout: Any = subprocess.PIPE) -> DevRun:
    """``python -m smoke run ARGS``, in a private /dev as root (see above)."""
    argv = [sys.executable, "-m", "smoke", "run", *args]
    if PRIVATE:
        argv = ["unshare", "--mount", "--propagation", "private", "bash", "-c", _PRIVATE_DEV,
                "bash", *argv]
    env = scrubbed(**({"COMETAPI_API_KEY": key} if key else {}))
    proc = subprocess.run(argv, stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=60,
                          cwd=tmp_path, env=env)
    devices: dict[str, str] = {}
    lines = proc.stderr.splitlines()
    while PRIVATE and lines and lines[-1].startswith("/dev/"):
        name, kind = lines.pop().split(": ", 1)
        devices[name] = kind
    if not PRIVATE:
        for name in ("/dev/null", "/dev/full", "/dev/stdout"):
            mode = os.lstat(name).st_mode
            devices[name] = ("character special file" if stat.S_ISCHR(mode) else
                             "symbolic link" if stat.S_ISLNK(mode) else "other")
    return DevRun(proc.returncode, proc.stdout or "", "\n".join(lines), devices)


DEVICES = {"/dev/null": "character special file", "/dev/full": "character special file",
           "/dev/stdout": "symbolic link"}


def junit_ids(path: Path) -> list[str]:
    return [case.get("name", "") for case in ET.parse(path).getroot().iter("testcase")]


def report_check(report: dict[str, Any], check_id: str) -> dict[str, Any]:
    found = [c for c in report["checks"] if c["id"] == check_id]
    assert len(found) == 1, [c["id"] for c in report["checks"]]
    return found[0]


def test_a_directory_as_the_junit_path_is_a_report_check_and_a_pass_exits_2(
    tmp_path: Path, stub: StubServer
) -> None:
    folder = tmp_path / "junit-is-a-folder"
    folder.mkdir()
    run = run_cli(tmp_path, "--base-url", stub.url(), "--model", "stub-model",
                  "--report-junit", str(folder), "--summary", str(tmp_path / "summary.md"))
    assert run.code == 2, run.stderr
    assert run.report is not None and run.report["verdict"] == "fail"
    check = report_check(run.report, "report:junit")
    assert check["outcome"] == "fail" and check["category"] == "config"
    assert str(folder) in check["message"]
    assert report_check(run.report, "positive:stub-model")["outcome"] == "pass"
    lines = [line for line in run.stdout.splitlines() if "cannot write" in line]
    assert lines == [f"chat-smoke: error: cannot write {folder}: Is a directory. Give a path "
                     "to a file in a folder this user can write (the other reports were "
                     "written; see docs/failures.md#config)"]
    assert "report:junit" in run.files["summary.md"]  # every other report names it
    assert run.stdout.splitlines()[-1].startswith("chat-smoke: FAIL [config] exit 2 (")
    assert list(folder.iterdir()) == []
    assert "Traceback" not in run.stderr and KEY not in run.all_output


def test_an_auth_failure_still_exits_3_when_a_report_cannot_be_written(
    tmp_path: Path, stub: StubServer
) -> None:
    run = run_with_devices(tmp_path, "--base-url", stub.url("bad-key"), "--model",
                           "stub-model", "--report-json", "report.json",
                           "--report-junit", "/dev/full")
    assert run.code == 3, run.stderr
    report = run.report(tmp_path / "report.json")
    assert report["category"] == "auth"
    assert report_check(report, "report:junit")["category"] == "config"
    assert "cannot write /dev/full: No space left on device" in run.stdout
    assert run.devices == DEVICES


def test_an_unwritable_json_report_is_named_in_the_junit_report(
    tmp_path: Path, stub: StubServer
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    junit = tmp_path / "reports" / "deep" / "junit.xml"  # parents created, as before
    run = run_cli(tmp_path, "--base-url", stub.url(), "--model", "stub-model",
                  "--report-json", str(blocker / "report.json"), "--report-junit", str(junit),
                  "--report-dotenv", str(tmp_path / "gate.env"))
    assert run.code == 2, run.stderr
    assert "report:json" in junit_ids(junit)
    assert "CHAT_SMOKE_EXIT_CODE=2\n" in (tmp_path / "gate.env").read_text()
    assert f"cannot write {blocker / 'report.json'}: Not a directory" in run.stdout


def test_a_config_failure_with_an_unwritable_report_still_exits_2(
    tmp_path: Path, stub: StubServer
) -> None:
    run = run_with_devices(tmp_path, "--base-url", stub.url(), "--model", "stub-model",
                           "--report-json", "report.json", "--report-junit", "/dev/full",
                           key=None)
    assert run.code == 2
    report = run.report(tmp_path / "report.json")
    assert report["category"] == "config"
    assert [c["id"] for c in report["checks"]] == ["preflight:config", "report:junit"]
    assert run.devices == DEVICES


@pytest.mark.parametrize("device", ["/dev/null", "/dev/stdout"])
def test_a_device_is_written_to_never_replaced(
    tmp_path: Path, stub: StubServer, device: str
) -> None:
    # /dev/null may take several reports; stdout only one (issue 26), which then has
    # stdout to itself: the console goes to stderr.
    json_to = device if device == "/dev/null" else "report.json"
    run = run_with_devices(tmp_path, "--base-url", stub.url(), "--model", "stub-model",
                           "--report-junit", device, "--report-json", json_to)
    assert run.code == 0, run.stderr
    assert run.devices == DEVICES
    if device == "/dev/stdout":
        assert "positive:stub-model" in junit_ids_from_text(run.stdout)  # nothing else
        assert "chat-smoke: PASS" in run.stderr


def junit_ids_from_text(text: str) -> list[str]:
    return [case.get("name", "") for case in ET.fromstring(text).iter("testcase")]


def test_dash_means_stdout_and_a_file_behind_dev_stdout_is_not_overwritten(
    tmp_path: Path, stub: StubServer
) -> None:
    log = tmp_path / "log.txt"
    with log.open("w") as out:
        run = run_with_devices(tmp_path, "--base-url", stub.url(), "--model", "stub-model",
                               "--report-json", "-", "--summary", "summary.md", stdout=out)
    assert run.code == 0, run.stderr
    assert run.devices == DEVICES
    # stdout (a regular file here) holds the JSON report alone, written into the stream
    # rather than replacing the file; the console went to stderr (issue 26).
    report = json.loads(log.read_text())
    assert report["verdict"] == "pass"
    assert run.stderr.startswith("chat-smoke configuration\n") and "chat-smoke: PASS" in run.stderr
    assert "✅ chat-smoke passed" in (tmp_path / "summary.md").read_text("utf-8")
    assert not (tmp_path / "-").exists()


def test_a_broken_stdout_stops_neither_the_gate_nor_its_reports(
    tmp_path: Path, stub: StubServer
) -> None:
    read, write = os.pipe()
    os.close(read)  # every write to stdout now fails with EPIPE
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "smoke", "run", "--base-url", stub.url(), "--model",
             "stub-model", "--report-json", str(tmp_path / "report.json"),
             "--report-junit", "-"],
            stdout=write, stderr=subprocess.PIPE, text=True, timeout=60, cwd=tmp_path,
            env=scrubbed(COMETAPI_API_KEY=KEY))
    finally:
        os.close(write)
    assert proc.returncode == 0, proc.stderr
    # The console is on stderr (a report is on stdout): no BrokenPipeError, no "Exception
    # ignored" there.
    assert "chat-smoke: PASS" in proc.stderr
    assert "Error" not in proc.stderr and "Exception ignored" not in proc.stderr
    assert json.loads((tmp_path / "report.json").read_text())["verdict"] == "pass"


def test_piped_into_head_the_gate_exits_with_its_own_code(
    tmp_path: Path, stub: StubServer
) -> None:
    script = (f'"{sys.executable}" -m smoke run --base-url {stub.url("bad-key")} '
              f'--model stub-model --report-json report.json --report-junit - | head -1; '
              'echo "gate=${PIPESTATUS[0]}" >&2')
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path, env=scrubbed(COMETAPI_API_KEY=KEY))
    assert proc.stdout == '<?xml version="1.0" encoding="UTF-8"?>\n'  # the report's first line
    assert proc.stderr.endswith("gate=3\n"), proc.stderr
    assert "BrokenPipeError" not in proc.stderr and "Exception ignored" not in proc.stderr
    assert json.loads((tmp_path / "report.json").read_text())["category"] == "auth"


@pytest.mark.parametrize("closed", [">&-", ">&- 2>&-"])
def test_a_closed_stdout_stops_neither_the_gate_nor_its_reports(
    tmp_path: Path, stub: StubServer, closed: str
) -> None:
    script = (f'exec "{sys.executable}" -m smoke run --base-url {stub.url()} --model '
              f'stub-model --report-json report.json --summary - {closed}')
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path, env=scrubbed(COMETAPI_API_KEY=KEY))
    assert proc.returncode == 0, proc.stderr
    # The console goes to stderr (a report is on stdout), open or closed itself.
    assert "Error" not in proc.stderr and "Exception ignored" not in proc.stderr
    assert json.loads((tmp_path / "report.json").read_text())["verdict"] == "pass"


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder another user can reach (pytest's tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="chat-smoke-readonly-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _as_nobody(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
            sys.executable, "-m", "smoke", "run", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=folder,
                          env=scrubbed(COMETAPI_API_KEY=KEY))


_AS_NOBODY = "needs root and setpriv to run the gate as another user"
_CAN_SWITCH = os.geteuid() == 0 and shutil.which("setpriv") is not None


@pytest.mark.root_only
@_skip_off_ci(_CAN_SWITCH, _AS_NOBODY)
def test_a_read_only_folder_is_a_report_check_and_an_existing_file_is_still_written(
    shared_dir: Path, stub: StubServer
) -> None:
    _require(_CAN_SWITCH, _AS_NOBODY)
    closed = shared_dir / "closed"
    closed.mkdir(mode=0o755)  # root's: the gate, run as nobody, cannot add a file here
    kept = closed / "kept.json"
    kept.write_text("{}\n")
    kept.chmod(0o666)  # but this existing file it may rewrite
    writable = shared_dir / "out"
    writable.mkdir()
    os.chown(writable, 65534, 65534)
    proc = _as_nobody(shared_dir, "--base-url", stub.url(), "--model", "stub-model",
                      "--report-json", str(closed / "report.json"),
                      "--report-junit", str(writable / "junit.xml"),
                      "--summary", str(kept))
    assert proc.returncode == 2, proc.stderr
    assert f"cannot write {closed / 'report.json'}: Permission denied" in proc.stdout
    assert "report:json" in junit_ids(writable / "junit.xml")
    assert "report:json" in kept.read_text()  # written in place: the folder was closed
    assert not (closed / "report.json").exists()
    assert "Traceback" not in proc.stderr and KEY not in proc.stdout + proc.stderr

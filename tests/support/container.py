"""The container suite's helpers (tests/container/conftest.py holds its fixtures): the
engine (docker where one answers, else podman set up by tests/container/setup.sh), the
image build, and runs of the image the way GitHub's runner, Jenkins and GitLab run it.
Also used by bench/bench_container.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.cli import KEY
from tests.support.env import NETWORK, scrubbed

REPO = Path(__file__).resolve().parents[2]
SETUP = REPO / "tests" / "container" / "setup.sh"
IMAGE = "localhost/chat-smoke:container-suite"
MODEL = "stub-model"
# As root (this project's CI) the tests hand folders to the uids a runner and a Jenkins
# agent have; as a user (GitHub's runner) the folders are already that user's.
AS_ROOT = os.geteuid() == 0
GITHUB_UID = 1001 if AS_ROOT else os.getuid()  # the runner user owns the workspace
GITHUB_GID = 1001 if AS_ROOT else os.getgid()
JENKINS_UID = 1000 if AS_ROOT else os.getuid()  # Jenkins runs the agent's uid:gid
JENKINS_GID = 1000 if AS_ROOT else os.getgid()

# Read now, at collection: the autouse clean_env fixture deletes CI before every test.
IN_CI = bool(os.environ.get("CI"))
CHOICE = os.environ.get("CHAT_SMOKE_CONTAINER", "").strip().lower()

NOTES: list[str] = []  # printed in the terminal summary: what was built, measured, replaced


def note(text: str) -> None:
    NOTES.append(text)
    print(text)


def unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"container suite: {reason} (CI is set: this suite must run, it may not skip)",
                    pytrace=False)
    pytest.skip(f"container suite: {reason}")


def _host_env() -> dict[str, str]:
    """The engine's own environment: the host's, without the project's variables (the
    tests hand the container exactly what each CI hands it)."""
    return scrubbed(keep=NETWORK)  # the network settings: the engine pulls and builds


@dataclass
class Engine:
    """A container CLI (docker or podman) with the environment it needs."""

    name: str
    env: dict[str, str]
    standin: bool  # podman with the locally made base instead of the real one

    def cmd(self, *args: str, env: dict[str, str] | None = None, timeout: float = 120,
            check: bool = False) -> subprocess.CompletedProcess[str]:
        """Run ``ENGINE args``; ``env`` adds variables (a key passed as ``-e NAME`` with no
        value is read from here, so it never sits on a command line)."""
        full = {**self.env, **(env or {})}
        done = subprocess.run([self.name, *args], capture_output=True, text=True, env=full,
                              timeout=timeout)
        if check and done.returncode != 0:
            raise AssertionError(f"{self.name} {' '.join(args[:3])} ...: exit "
                                 f"{done.returncode}\n{done.stdout}\n{done.stderr}")
        return done


def _docker() -> Engine | None:
    if shutil.which("docker") is None:
        return None
    env = _host_env()
    try:
        done = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"],
                              capture_output=True, text=True, env=env, timeout=30)
    except subprocess.TimeoutExpired:
        return None
    if done.returncode != 0 or not done.stdout.strip():
        return None
    note(f"engine: docker, server {done.stdout.strip()} (`docker info` answered); "
         "the Dockerfile as it is, with its real base")
    return Engine("docker", env, standin=False)


def _podman() -> tuple[Engine | None, str]:
    if shutil.which("bash") is None:
        return None, "no bash to run tests/container/setup.sh"
    try:
        done = subprocess.run(["bash", str(SETUP), str(REPO / "Dockerfile")],
                              capture_output=True, text=True, env=_host_env(), timeout=1200)
    except subprocess.TimeoutExpired:
        return None, "tests/container/setup.sh took more than 20 minutes"
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        return None, f"tests/container/setup.sh failed (exit {done.returncode}):\n{tail}"
    env = _host_env()
    for line in done.stdout.splitlines():
        name, sep, value = line.partition("=")
        if sep and name.startswith("CONTAINERS_"):
            env[name] = value
    for line in done.stderr.strip().splitlines():
        note(f"setup: {line}")
    return Engine("podman", env, standin=True), ""


def select_engine(choice: str = CHOICE) -> tuple[Engine | None, str]:
    """docker where an engine answers, else podman with the stand-in base; or the reason
    there is none. Also used by bench/bench_container.py."""
    if choice == "skip":
        return None, "CHAT_SMOKE_CONTAINER=skip"
    if choice in ("", "docker"):
        found = _docker()
        if found is not None:
            return found, ""
        if choice == "docker":
            return None, "CHAT_SMOKE_CONTAINER=docker but `docker info` fails"
    found, why = _podman()
    if found is None:
        return None, why
    note("engine: podman with the stand-in base (Debian bookworm python3 3.11 in a venv at "
         "/usr/local, built by tests/container/setup.sh), not the official python image")
    return found, ""


@dataclass
class Image:
    ref: str
    base: str
    build_seconds: float
    size: int
    own_size: int
    own_layers: list[tuple[int, str]] = field(default_factory=list)


def _from_line(dockerfile: str) -> str:
    for line in dockerfile.splitlines():
        if line.strip().upper().startswith("FROM "):
            return line.split()[1]
    raise AssertionError("the Dockerfile has no FROM line")


def _history(engine: Engine, ref: str) -> list[tuple[int, str]]:
    """(size in bytes, created by) per history entry, newest first."""
    if engine.name == "podman":  # podman 4 humanizes {{.Size}} even with --human=false
        done = engine.cmd("history", "--format", "json", ref, check=True)
        return [(int(row["size"]), str(row["CreatedBy"])) for row in json.loads(done.stdout)]
    done = engine.cmd("history", "--human=false", "--no-trunc", "--format",
                      "{{.Size}}\t{{.CreatedBy}}", ref, check=True)
    rows = []
    for line in done.stdout.splitlines():
        size, _, created = line.partition("\t")
        rows.append((int(size or 0), created))
    return rows


def build_image(engine: Engine, workdir: Path, ref: str = IMAGE) -> Image:
    """Build the project's image as ``ref`` with no cache (dependencies from PyPI, as a
    fresh build does) and read its sizes. ``workdir`` holds the stand-in's Dockerfile copy.
    Also used by bench/bench_container.py."""
    dockerfile = (REPO / "Dockerfile").read_text("utf-8")
    base = _from_line(dockerfile)
    args = ["build", "--no-cache", "-t", ref]
    local = base if "/" in base.split(":")[0] else f"docker.io/library/{base}"
    if engine.standin:
        # The stand-in base is tagged with the FROM reference itself, so the copy's FROM
        # names it explicitly (docker.io/library/...) and --pull=never keeps it local.
        copy = workdir / "Dockerfile"
        copy.write_text(dockerfile.replace(f"FROM {base}", f"FROM {local}", 1), "utf-8")
        changed = [a for a, b in zip(dockerfile.splitlines(), copy.read_text().splitlines(),
                                     strict=True) if a != b]
        assert all(line.startswith("FROM ") for line in changed), changed
        note(f"build: a copy of the Dockerfile with only its FROM line rewritten: "
             f"`FROM {base}` -> `FROM {local}` (the stand-in base, --pull=never)")
        args += ["--pull=never", "--network", "host", "-f", str(copy)]
    else:
        # BuildKit does not tag the base it pulls; pull it so its history can be read.
        if engine.cmd("image", "inspect", base).returncode != 0:
            engine.cmd("pull", base, timeout=600, check=True)
        args += ["-f", str(REPO / "Dockerfile")]
    started = time.monotonic()
    done = engine.cmd(*args, str(REPO), timeout=900)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise BuildError(f"{engine.name} build failed (exit {done.returncode}):\n"
                         f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    if engine.standin:  # the suite's private storage: drop the images this build replaced
        engine.cmd("image", "prune", "-f")
    size = int(engine.cmd("image", "inspect", "--format", "{{.Size}}", ref,
                          check=True).stdout.strip())
    ours = _history(engine, ref)
    theirs = _history(engine, local if engine.standin else base)
    own = ours[: len(ours) - len(theirs)]
    own_size = sum(size for size, _ in own)
    note(f"build: {seconds:.1f} s with no cache ({engine.name}, base {base}"
         f"{' = the stand-in' if engine.standin else ''})")
    note(f"image: {size / 1e6:.1f} MB; the project's own layers: {own_size / 1e6:.1f} MB "
         f"in {sum(1 for s, _ in own if s)} non-empty layers")
    return Image(ref, base, seconds, size, own_size, own)


class BuildError(Exception):
    """The engine could not build the image (its output is the message)."""


# --- running the image ---------------------------------------------------------------


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str
    seconds: float
    root: Path  # every folder the container could write to lives under here

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def files(self) -> dict[Path, str]:
        return {p: p.read_text("utf-8", errors="replace")
                for p in sorted(self.root.rglob("*")) if p.is_file()}


def assert_key_nowhere(result: Result, key: str = KEY) -> None:
    """The key appears only on the ``::add-mask::`` line: nowhere else in the output, and
    in no file the container wrote."""
    for stream, text in (("stdout", result.stdout), ("stderr", result.stderr)):
        for line in text.splitlines():
            if key in line:
                assert line.strip() == f"::add-mask::{key}", f"key in {stream}: {line!r}"
    for path, text in result.files().items():
        if path.name == "api-key":  # the credential file the test itself put there
            continue
        assert key not in text, f"key in {path}"


# What the runner puts in for `${{ github.token }}` (a made-up one: nothing here calls GitHub).
GITHUB_TOKEN = "ghs_" + "c0ntainerSuiteMadeUpToken0123456789"
_EXPRESSIONS = {"${{ github.token }}": GITHUB_TOKEN}


def action_inputs() -> dict[str, str]:
    """Every input of action.yml with its default ("" when none), as the runner sets them:
    a default that is an expression arrives evaluated."""
    loaded = yaml.safe_load((REPO / "action.yml").read_text("utf-8"))
    inputs = {f"INPUT_{name.upper().replace(' ', '_')}": str(spec.get("default", ""))
              for name, spec in loaded["inputs"].items()}
    for name, value in inputs.items():
        assert value not in _EXPRESSIONS.values()
        inputs[name] = _EXPRESSIONS.get(value, value)
        assert "${{" not in inputs[name], f"{name}: evaluate {value!r} as the runner would"
    return inputs


@dataclass
class GitHubRun:
    result: Result
    workspace: Path
    outputs: dict[str, str]
    summary: str


def read_outputs(path: Path) -> dict[str, str]:
    """GITHUB_OUTPUT: name=value lines and name<<DELIM blocks."""
    out: dict[str, str] = {}
    lines = path.read_text("utf-8").splitlines() if path.exists() else []
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            end = lines.index(delim, i + 1)
            out[name] = "\n".join(lines[i + 1:end])
            i = end + 1
            continue
        name, _, value = line.partition("=")
        out[name] = value
        i += 1
    return out


def github_dirs(root: Path) -> dict[str, Path]:
    dirs = {name: root / name for name in ("workspace", "home", "workflow", "file_commands")}
    for path in dirs.values():
        path.mkdir(parents=True)
    if AS_ROOT:
        os.chown(dirs["workspace"], GITHUB_UID, GITHUB_GID)
    for name in ("set_output", "step_summary", "set_env", "add_path"):
        (dirs["file_commands"] / name).touch()
    return dirs


def github_args(dirs: dict[str, Path], base_url: str,
                **inputs: str) -> tuple[list[str], dict[str, str]]:
    """``run`` arguments and environment as actions/runner's container handler builds them:
    ``-e NAME`` for each variable (the values travel in the engine's environment)."""
    env = action_inputs()
    env.update({"INPUT_API-KEY": KEY, "INPUT_BASE-URL": base_url, "INPUT_MODEL": MODEL})
    env.update({f"INPUT_{k.upper().replace('_', '-')}": v for k, v in inputs.items()})
    env.update({
        "HOME": "/github/home", "CI": "true", "GITHUB_ACTIONS": "true", "RUNNER_OS": "Linux",
        "GITHUB_WORKSPACE": "/github/workspace", "GITHUB_SHA": "0" * 40,
        "GITHUB_OUTPUT": "/github/file_commands/set_output",
        "GITHUB_STEP_SUMMARY": "/github/file_commands/step_summary",
        "GITHUB_ENV": "/github/file_commands/set_env",
        "GITHUB_PATH": "/github/file_commands/add_path",
    })
    args = ["--network", "host", "--workdir", "/github/workspace",
            "-v", f"{dirs['workspace']}:/github/workspace",
            "-v", f"{dirs['home']}:/github/home",
            "-v", f"{dirs['workflow']}:/github/workflow",
            "-v", f"{dirs['file_commands']}:/github/file_commands"]
    for name in env:
        args += ["-e", name]
    return args, env


def collect_github(result: Result, dirs: dict[str, Path]) -> GitHubRun:
    return GitHubRun(result, dirs["workspace"],
                     read_outputs(dirs["file_commands"] / "set_output"),
                     (dirs["file_commands"] / "step_summary").read_text("utf-8"))


RunGitHub = Callable[..., GitHubRun]


def load_json(path: Path) -> dict[str, Any]:
    loaded = json.loads(path.read_text("utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def host_chat_smoke() -> list[str]:
    return [sys.executable, "-m", "smoke"]

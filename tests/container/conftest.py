"""The container suite: build the project's image once per session and run it the way
GitHub's runner, Jenkins, GitLab and a plain ``docker run`` do.

Engine: ``docker`` where an engine answers (GitHub's CI), building the Dockerfile as it
is against the real base. Otherwise podman, set up by ``tests/container/setup.sh`` (as
root: apt packages, a private config and storage, a stand-in base made with mmdebstrap,
cached under /var/cache/chat-smoke-container). The stand-in build uses a copy of the
Dockerfile whose FROM line names the stand-in; that is the only change, and the session
summary says so.

If the engine cannot be set up the suite fails where CI is set (it must run there) and
skips with the reason elsewhere. ``CHAT_SMOKE_CONTAINER=skip`` skips it on purpose (not
in CI); ``CHAT_SMOKE_CONTAINER=podman`` or ``docker`` picks the engine.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.container import (
    NOTES,
    BuildError,
    Engine,
    GitHubRun,
    Image,
    Result,
    RunGitHub,
    build_image,
    collect_github,
    github_args,
    github_dirs,
    select_engine,
    unavailable,
)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if NOTES:
        terminalreporter.section("chat-smoke container suite")
        for line in NOTES:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def engine() -> Engine:
    found, why = select_engine()
    if found is None:
        unavailable(why)
    assert found is not None
    return found


@pytest.fixture(scope="session")
def image(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Image:
    """The project's image, built once per session with no cache, and its sizes."""
    try:
        return build_image(engine, tmp_path_factory.mktemp("build"))
    except BuildError as failed:
        pytest.fail(str(failed), pytrace=False)


@pytest.fixture
def run_github(engine: Engine, image: Image, tmp_path: Path) -> RunGitHub:
    def run(base_url: str, **inputs: str) -> GitHubRun:
        dirs = github_dirs(tmp_path / "github")
        args, env = github_args(dirs, base_url, **inputs)
        started = time.monotonic()
        done = engine.cmd("run", "--rm", *args, image.ref, env=env)
        result = Result(done.returncode, done.stdout, done.stderr, time.monotonic() - started,
                        tmp_path / "github")
        return collect_github(result, dirs)
    return run

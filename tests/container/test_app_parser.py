"""The application's own request and parser in the image, run as GitHub's runner runs the
action: the workspace (examples/app-parser) is mounted and is the working directory, so
the child Python imports the parser from it. The image has no Node: a Node parser is a
``config`` error that says to extend the image (docs/container.md shows how)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from smoke.stub import StubServer
from tests.support.container import (
    MODEL,
    Engine,
    GitHubRun,
    Image,
    Result,
    assert_key_nowhere,
    collect_github,
    github_args,
    github_dirs,
    load_json,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "app-parser"
REPORT = Path("chat-smoke-reports") / "report.json"


def _run(engine: Engine, image: Image, base_url: str, root: Path,
         **config: object) -> GitHubRun:
    dirs = github_dirs(root)
    workspace = dirs["workspace"]
    shutil.copytree(EXAMPLE, workspace, dirs_exist_ok=True)
    if config:
        (workspace / "chat-smoke.yml").write_text(json.dumps(config))
    args, env = github_args(dirs, base_url)
    started = time.monotonic()
    done = engine.cmd("run", "--rm", *args, image.ref, env=env)
    result = Result(done.returncode, done.stdout, done.stderr, time.monotonic() - started,
                    root)
    return collect_github(result, dirs)


def test_the_workspaces_python_parser_runs_in_the_image(
        engine: Engine, image: Image, stub: StubServer, tmp_path: Path) -> None:
    run = _run(engine, image, stub.url("tool-call"), tmp_path / "python")
    assert run.result.code == 0, run.result.output
    report = load_json(run.workspace / REPORT)
    check = {c["id"]: c for c in report["checks"]}[f"positive:{MODEL}"]
    assert check["details"]["parser"]["name"] == "myapp.reply:extract_reply"
    assert check["details"]["parser"]["text"] == "tool:get_weather"
    assert check["details"]["request_body"]["file"] == "/github/workspace/request.json"
    assert "weather assistant" not in run.result.output + run.summary
    assert_key_nowhere(run.result)


def test_a_node_parser_needs_an_extended_image(
        engine: Engine, image: Image, stub: StubServer, tmp_path: Path) -> None:
    before = len(stub.requests)
    run = _run(engine, image, stub.url("tool-call"), tmp_path / "node",
               request_body="request.json", expect="tool_call:get_weather",
               parser_command="node parse.js")
    assert run.result.code == 2, run.result.output
    report = load_json(run.workspace / REPORT)
    preflight = {c["id"]: c for c in report["checks"]}["parser:node parse.js"]
    assert "'node' is not found" in preflight["message"]
    assert "extend the image" in preflight["message"]
    assert not [r for r in stub.requests[before:] if r["method"] == "POST"]  # nothing sent

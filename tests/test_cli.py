"""Meta tests: every command has help, documented options exist, the demo works."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner

from smoke.cli import main
from smoke.stub import StubServer
from tests.support.cli import run_cli

ROOT = Path(__file__).resolve().parent.parent


def test_every_command_has_help() -> None:
    runner = CliRunner()
    assert isinstance(main, click.Group)
    for name, command in main.commands.items():
        assert command.help, name
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0, result.output
        for param in command.params:
            if isinstance(param, click.Option) and param.name not in ("help",):
                assert param.help, f"{name} {param.opts} has no help text"


def _options(name: str) -> set[str]:
    """The whole option names of ``chat-smoke NAME`` (``--stream`` and ``--no-stream``),
    each also shown in its --help as a whole word (so a hidden option does not count, and
    ``--summary`` is not found inside ``--summary-template``)."""
    command = main.commands[name]
    help_text = CliRunner().invoke(main, [name, "--help"]).output
    params = command.get_params(click.Context(command))  # the derived flags too
    names = {opt for param in params if isinstance(param, click.Option)
             for opt in (*param.opts, *param.secondary_opts) if opt.startswith("--")}
    shown = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)(?![\w-])", help_text))
    assert names <= shown, f"{name}: options missing from --help: {sorted(names - shown)}"
    return names


def test_options_are_matched_whole() -> None:
    run = _options("run")
    assert {"--summary", "--summary-template", "--stream", "--no-stream"} <= run
    assert "--summary-templ" not in run and "--stre" not in run


def test_options_named_in_the_docs_exist() -> None:
    # The README and the guides under docs/ (where its long sections moved); an option
    # written as a prefix (`--expect-*`) is not a name.
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    named = {option for page in pages
             for option in re.findall(r"`(--[a-z][a-z0-9-]*[a-z0-9])(?![\w-])", page.read_text())}
    named -= {"--help", "--version"}
    assert len(named) >= 40
    known = set().union(*(_options(name) for name in main.commands))
    missing = sorted(named - known)
    assert not missing, f"the docs name options the CLI lacks: {missing}"


def test_issue_contract_options_exist() -> None:
    options = _options("run")
    for flag in ("--config", "--base-url", "--model", "--api-key-env", "--environment",
                 "--connect-timeout", "--timeout", "--deadline", "--retries", "--ca-bundle",
                 "--expect-contains", "--expect-regex", "--expect-equals", "--report-json",
                 "--report-junit", "--summary"):
        assert flag in options, flag
    assert "--api-key" not in options  # the key is never a flag


def test_python_dash_m_and_demo() -> None:
    proc = subprocess.run([sys.executable, "-m", "smoke", "demo"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "chat-smoke: PASS" in proc.stdout
    assert "FAIL [auth] exit 3" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_stub_rejects_unknown_scenario() -> None:
    result = CliRunner().invoke(main, ["stub", "--scenario", "nope", "--port", "0"])
    assert result.exit_code == 2 and "unknown scenario 'nope'" in result.output


def test_every_setting_a_command_line_can_carry_is_a_flag() -> None:
    """A schema key with a string, number, boolean or list-of-strings value is a flag of
    ``run`` (spelled out in smoke/cli.py or derived from the schema): a new setting needs
    no edit of the CLI."""
    from smoke.config.validate import schema

    options = _options("run")
    for key, node in schema()["properties"].items():
        kinds = {str(sub.get("type")) for sub in node.get("anyOf", [node])}
        if "object" in kinds or node.get("items", {}).get("type", "string") != "string":
            continue
        assert "--" + key.replace("_", "-") in options, key
    assert {"--system-prompt", "--user-prompt"} <= options
    assert "--extra-body" not in options  # a mapping: the config file carries it


def test_a_derived_flag_reaches_the_request(tmp_path: Path, stub: StubServer) -> None:
    before = len(stub.requests)
    run = run_cli(tmp_path, "--base-url", stub.url(), "--model", "stub-model",
                  "--system-prompt", "Say pong, nothing else", "--user-prompt", "ping?")
    assert run.code == 0, run.stdout + run.stderr
    sent = [r["payload"] for r in stub.requests[before:] if r["method"] == "POST"]
    assert sent and sent[0]["messages"] == [
        {"role": "system", "content": "Say pong, nothing else"},
        {"role": "user", "content": "ping?"}]

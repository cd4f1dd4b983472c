"""smoke.github: workflow commands, masks, outputs and the step summary, read back by the
runner's own rules (tests/support/runner_rules.py). Gate results come from real runs against
the stub on loopback."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest

from smoke import action, config
from smoke.ci import github
from smoke.ci.github import GitHubConsole, escape_data, escape_property, format_command
from smoke.ci.platform import PlatformStream
from smoke.ci.publish import Publisher
from smoke.errors import ReportError
from smoke.output import redact
from smoke.stub import StubServer
from tests.support.cli import KEY
from tests.support.github import gate, publish, runner_files
from tests.support.runner_rules import parse_line, parse_output_file, run_commands

HOSTILE_LINES = [
    "::error title=pwned::owned",
    "   ::warning::indented, still a command for the runner (it trims the start)",
    "text before ##[error]legacy form, anywhere in a line",
    "::add-mask::x",
    "::stop-commands::attacker",
    "::attacker::",
    "::endgroup::",
    "::ERROR::upper case names count too",
    "%0A::notice::encoded newline",
]


# -- escaping, exactly as actions/toolkit packages/core/src/command.ts ------------------
@pytest.mark.parametrize(("text", "data", "prop"), [
    ("plain", "plain", "plain"),
    ("100%", "100%25", "100%25"),
    ("a\r\nb", "a%0D%0Ab", "a%0D%0Ab"),
    ("k: v, w", "k: v, w", "k%3A v%2C w"),
    ("%0A", "%250A", "%250A"),
])
def test_escaping_matches_the_toolkit(text: str, data: str, prop: str) -> None:
    assert (escape_data(text), escape_property(text)) == (data, prop)


@pytest.mark.parametrize("text", [*HOSTILE_LINES, "a\nb\r\nc", "100%0A%25", "x::y,z=1"])
def test_a_command_reads_back_as_written(text: str) -> None:
    line = format_command("error", text, title=text, file="")
    assert "\n" not in line and "\r" not in line
    parsed = parse_line(line, {"error"})
    assert parsed is not None
    assert (parsed.name, parsed.data, parsed.properties) == ("error", text, {"title": text})


# -- the console: masks first, every echoed line inert -------------------------------------
def test_the_key_is_masked_before_the_first_line() -> None:
    out = io.StringIO()
    redact.register(KEY)
    console = GitHubConsole(out)
    console.line(f"the key is {KEY}")
    lines = out.getvalue().splitlines()
    assert lines[0] == f"::add-mask::{KEY}"
    assert KEY not in "\n".join(lines[1:])


def test_a_secret_registered_later_is_masked_before_the_next_line() -> None:
    out = io.StringIO()
    console = GitHubConsole(out)
    console.line("before any secret")
    redact.register("proxy-pass%word\nwith-newline")
    console.line("after")
    commands = run_commands(out.getvalue())
    # redact registers the value and its URL-quoted form; the runner gets both, and the
    # newline and "%" survive the trip (escaped on the wire).
    assert [c.name for c in commands] == ["add-mask"] * 2
    assert {c.data for c in commands} == {"proxy-pass%word\nwith-newline",
                                          "proxy-pass%25word%0Awith-newline"}
    assert "after" in out.getvalue().split("::add-mask::")[-1]


def test_echoed_text_runs_no_command() -> None:
    out = io.StringIO()
    console = GitHubConsole(out)
    console.group("chat-smoke: checks")
    for text in HOSTILE_LINES:
        console.line(text)
    console.line("\n".join(HOSTILE_LINES))
    console.command("warning", "ours", title="chat-smoke")
    console.close()
    commands = run_commands(out.getvalue())
    assert [(c.name, c.data) for c in commands] == [
        ("group", "chat-smoke: checks"), ("warning", "ours"), ("endgroup", "")]
    for text in HOSTILE_LINES:
        assert text in out.getvalue()  # shown as text, unchanged


def test_text_holding_the_live_token_cannot_resume_commands() -> None:
    out = io.StringIO()
    console = GitHubConsole(out)
    console.line("first")
    token = console._token
    assert token is not None
    console.line(f"::{token}::")
    console.line(f"::{token.upper()}::")  # the runner ignores case
    console.line("::error::after the forged resume")
    assert run_commands(out.getvalue()) == []


def test_each_block_gets_a_fresh_token() -> None:
    out = io.StringIO()
    console = GitHubConsole(out)
    tokens = []
    for _ in range(3):
        console.line("text")
        tokens.append(console._token)
        console.command("endgroup")
    assert len(set(tokens)) == 3


def test_groups_follow_the_phases(stub: StubServer) -> None:
    out = io.StringIO()
    gate(stub, None, out)
    names = [(c.name, c.data) for c in run_commands(out.getvalue())]
    assert names == [("add-mask", KEY), ("group", "chat-smoke: configuration"),
                     ("endgroup", ""), ("group", "chat-smoke: checks"), ("endgroup", "")]


# -- publish: annotations, outputs, summary ---------------------------------------------
def test_publish_a_failure(tmp_path: Path, stub: StubServer) -> None:
    out = io.StringIO()
    result = gate(stub, "bad-key", out)
    env = runner_files(tmp_path)
    targets = {"report_json": str(tmp_path / "r" / "report.json"),
               "report_junit": str(tmp_path / "r" / "junit.xml")}
    publish(out, result, env, targets)
    errors = [c for c in run_commands(out.getvalue()) if c.name == "error"]
    assert len(errors) == len(result.failures) == 1
    assert errors[0].properties == {"title": "chat-smoke auth: chat completion (stub-model)"}
    assert "Rotate or re-mount the secret" in errors[0].data
    assert "docs/failures.md#auth" in errors[0].data
    assert "Owner: the secret's owner" in errors[0].data
    outputs = dict(parse_output_file(Path(env["GITHUB_OUTPUT"]).read_bytes().decode()))
    assert outputs == {
        "verdict": "fail", "category": "auth", "exit-code": "3",
        "request-id": result.checks[1].request_id, "duration-ms": str(result.duration_ms),
        "owner": "the secret's owner",  # issue 23: the category's role name without a map
        "report-json": "r/report.json", "report-junit": "r/junit.xml",
        "summary": ""}  # issue 15's output: empty when no summary file was asked for
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text()
    assert summary.startswith("## ❌ chat-smoke failed on staging\\: auth (exit 3)")


def test_publish_with_fail_on_error_false_warns(tmp_path: Path, stub: StubServer) -> None:
    out = io.StringIO()
    result = gate(stub, "wrong-answer", out)
    publish(out, result, runner_files(tmp_path), soft=True)  # fail-on-error: false
    commands = run_commands(out.getvalue())
    assert not [c for c in commands if c.name == "error"]
    titles = [c.properties["title"] for c in commands if c.name == "warning"]
    assert titles == ["chat-smoke assertion: chat completion (stub-model)",
                      "chat-smoke: failure reported as a warning"]


def test_publish_a_pass_annotates_nothing(tmp_path: Path, stub: StubServer) -> None:
    out = io.StringIO()
    result = gate(stub, None, out)
    env = runner_files(tmp_path)
    publish(out, result, env)
    assert {c.name for c in run_commands(out.getvalue())} <= {"add-mask", "group", "endgroup"}
    outputs = dict(parse_output_file(Path(env["GITHUB_OUTPUT"]).read_bytes().decode()))
    assert outputs["verdict"] == "pass"


def test_an_unwritable_output_file_is_an_error_annotation(tmp_path: Path,
                                                         stub: StubServer) -> None:
    out = io.StringIO()
    result = gate(stub, None, out)
    env = runner_files(tmp_path, GITHUB_OUTPUT=str(tmp_path))  # a folder: cannot append
    publish(out, result, env)
    errors = [c for c in run_commands(out.getvalue()) if c.name == "error"]
    assert len(errors) == 1 and errors[0].properties["title"] == "chat-smoke: GitHub output"
    assert "cannot append to GITHUB_OUTPUT" in errors[0].data


# -- GITHUB_OUTPUT --------------------------------------------------------------------------
def test_outputs_survive_hostile_values(tmp_path: Path) -> None:
    path = tmp_path / "out"
    values = {
        "verdict": "pass\nverdict=fail\nghadelimiter_0000\nEOF",
        "category": "",
        "request-id": "a<<b=c",
        "exit-code": "0\r\n",
    }
    github.write_outputs({"GITHUB_OUTPUT": str(path)}, values)
    github.write_outputs({"GITHUB_OUTPUT": str(path)}, {"duration-ms": "12"})
    assert parse_output_file(path.read_bytes().decode()) == [*values.items(), ("duration-ms", "12")]


def test_outputs_are_scrubbed(tmp_path: Path) -> None:
    redact.register(KEY)
    path = tmp_path / "out"
    github.write_outputs({"GITHUB_OUTPUT": str(path)}, {"request-id": f"id {KEY}"})
    assert parse_output_file(path.read_bytes().decode()) == [("request-id", "id ***")]


def test_a_value_holding_the_delimiter_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    fixed = uuid.UUID("12345678-1234-5678-1234-567812345678")
    monkeypatch.setattr(uuid, "uuid4", lambda: fixed)
    with pytest.raises(ReportError, match="contains the delimiter"):
        github.format_output("verdict", f"x\nghadelimiter_{fixed}\nverdict=pass")


def test_each_value_gets_a_fresh_delimiter() -> None:
    heads = {github.format_output("a", "1").split("\n")[0] for _ in range(50)}
    assert len(heads) == 50


def test_writes_do_nothing_when_the_variables_are_unset(tmp_path: Path,
                                                        stub: StubServer) -> None:
    github.write_outputs({}, {"verdict": "pass"})
    github.append_summary({}, "# x")
    out = io.StringIO()
    publish(out, gate(stub, None, out), {"GITHUB_ACTIONS": "true"})
    assert list(tmp_path.iterdir()) == []


def test_output_paths_are_relative_to_the_workspace(tmp_path: Path) -> None:
    assert github._relative(str(tmp_path / "a" / "r.json"), str(tmp_path)) == "a/r.json"
    assert github._relative("/elsewhere/r.json", str(tmp_path)) == "/elsewhere/r.json"
    assert github._relative(None, str(tmp_path)) == ""


# -- GITHUB_STEP_SUMMARY ----------------------------------------------------------------
def test_the_summary_is_appended(tmp_path: Path) -> None:
    path = tmp_path / "summary"
    path.write_text("earlier step\n")
    github.append_summary({"GITHUB_STEP_SUMMARY": str(path)}, "## ours\n")
    assert path.read_text() == "earlier step\n## ours\n"


def test_a_summary_that_would_pass_1_mib_becomes_a_note(tmp_path: Path) -> None:
    path = tmp_path / "summary"
    path.write_text("x" * (github.SUMMARY_LIMIT - 2000))
    github.append_summary({"GITHUB_STEP_SUMMARY": str(path)}, "y" * 5000, "out/report.json")
    text = path.read_text()
    assert len(text.encode()) < github.SUMMARY_LIMIT
    assert "summary is full" in text and "out/report.json" in text
    path.write_text("x" * (github.SUMMARY_LIMIT - 10))
    github.append_summary({"GITHUB_STEP_SUMMARY": str(path)}, "y" * 5000)
    assert path.stat().st_size == github.SUMMARY_LIMIT - 10


@pytest.mark.parametrize(("text", "value"), [
    ("true", True), ("TRUE", True), ("yes", True), ("1", True), ("on", True),
    ("false", False), ("False", False), ("no", False), ("0", False), (" off ", False),
    ("", None), ("maybe", None),
])
def test_booleans(text: str, value: bool | None) -> None:
    assert config.parse_bool(text) is value
    assert action.fail_on_error({"INPUT_FAIL-ON-ERROR": text}) is (value is not False)


def test_an_annotation_never_carries_the_key_even_escaped() -> None:
    key = "pa%ss\nword-0123456789"
    redact.register(key)
    out = io.StringIO()
    publisher = Publisher(github.PLATFORM, GitHubConsole(out), {})
    publisher.annotate("error", f"rejected {key}", f"about {key}")
    publisher.close()
    (error,) = [c for c in run_commands(out.getvalue()) if c.name == "error"]
    assert (error.data, error.properties["title"]) == ("rejected ***", "about ***")


def test_stderr_through_the_console_runs_no_command(capsys: pytest.CaptureFixture[str]) -> None:
    console = GitHubConsole()  # on sys.stdout, as in the action
    stream = PlatformStream(console)
    stream.write("chat-smoke: internal error: KeyError('##[error]x')\n::error::y\npartial ")
    console.command("warning", "ours")
    stream.write("::error::z")
    stream.flush()
    console.close()
    out = capsys.readouterr().out
    assert [c.name for c in run_commands(out)] == ["warning"]
    # A partial write waits for the rest of its line: the line is shown as written.
    assert "KeyError('##[error]x')" in out and "\npartial ::error::z\n" in out

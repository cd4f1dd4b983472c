"""One voice (issue 21): booleans as true/false, the config file named as given, no double
punctuation or "(s)" in any message, a usage text for every platform when the image gets
no arguments outside GitHub, and the summary counting what JUnit counts."""

from __future__ import annotations

import ast
import io
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from smoke import pipeline
from smoke.output.console import Console
from smoke.reports import junit
from smoke.reports.summary import markdown
from smoke.stub import StubServer
from smoke.stub.scenarios import SCENARIOS
from tests.support.cli import KEY, run_cli
from tests.support.env import scrubbed

REPO = Path(__file__).resolve().parents[1]
# Slips a message must not have: two periods that are not an ellipsis or a path, a
# space before a period or comma, doubled commas, a "(s)" plural, Python's booleans.
SLIPS = re.compile(r"(?<![.\w/])\w+[a-z)\]]\.\.(?![./\w])|\w \.(?=$|\s+[A-Z])|\w ,|,,|"
                   r"(?<!http)\(s\)|(?<![\w'\"])(True|False|None)(?![\w'\"(])")


def _slips(text: str) -> list[str]:
    return [m.group(0) for m in SLIPS.finditer(text)]


def _templates() -> list[tuple[str, str]]:
    """Every string constant of smoke/ that is text for people (docstrings left out)."""
    found: list[tuple[str, str]] = []
    for path in sorted((REPO / "smoke").rglob("*.py")):
        # Compiled templates; the stub's bodies imitate other servers' words.
        if path.name.endswith("_j2.py") or "stub" in path.parts:
            continue
        tree = ast.parse(path.read_text("utf-8"))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
                      and node.body and isinstance(node.body[0], ast.Expr)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and id(node) not in docstrings and " " in node.value \
                    and "import " not in node.value:  # code run in a child process
                found.append((f"{path.relative_to(REPO)}:{node.lineno}", node.value))
    for path in sorted((REPO / "smoke").rglob("*.j2")):
        found.append((str(path.relative_to(REPO)), path.read_text("utf-8")))
    return found


def test_the_slip_finder_finds_slips() -> None:
    for slip in ("supported.. Fix: x", "1 change(s)", "got True", "stream: True", "end .",
                 "a sentence . Next",
                 "word , next", "a,, b"):
        assert _slips(slip), slip
    for fine in ("the path (.../openai/deployments/NAME)", "wait...", "../shared",
                 "letters, digits and . _ : / @ - only",
                 "http(s) URL", "'True' is", "v1.2.3", "e.g. this", "True()"):
        assert not _slips(fine), fine


def test_no_message_template_has_a_slip() -> None:
    problems = [(where, _slips(text)) for where, text in _templates() if _slips(text)]
    assert not problems, problems


# Slow ones, and those whose body (quoted in the message) is another server's own words:
# LiteLLM says "pre-call-checks=False", the hostile ones say anything.
_QUIET = {"slow", "hang", "drip", "hostile", "ci-hostile", "ci-hostile-error", "echo-key",
          "html-in-json", "litellm-no-deployment"}


def test_no_message_the_stub_provokes_has_a_slip(stub: StubServer) -> None:
    """Messages put together at run time (a body's sentence, then ". Fix: …")."""
    texts: list[str] = []
    for name in sorted(set(SCENARIOS) - _QUIET):
        out = io.StringIO()
        result, _ = pipeline.check({"base_url": stub.url(name), "model": "stub-model",
                              "api_key_env": "K", "retries": "0", "timeout": "3",
                              "deadline": "8", "stream": "true"}, {"K": KEY},
                             console=Console(out))
        texts.append(out.getvalue())
        texts += [f"{c.message} {c.hint or ''}" for c in result.checks]
    problems = [(s, text[:300]) for text in texts for s in _slips(text)]
    assert not problems, problems[:5]


def test_booleans_print_as_true_and_false(tmp_path: Path, stub: StubServer) -> None:
    run = run_cli(tmp_path, "--base-url", stub.url(), "--model", "stub-model", "--stream",
                  "--summary", str(tmp_path / "s.md"))
    assert run.code == 0
    assert "  stream: true\n" in run.stdout and "True" not in run.stdout
    assert "| stream | true |" in run.files["s.md"]
    (tmp_path / "chat-smoke.yml").write_text("environment: true\n")
    bad = run_cli(tmp_path, "--base-url", stub.url(), "--model", "stub-model")
    assert bad.code == 2 and "got true" in bad.stderr and "True" not in bad.stderr


@pytest.mark.parametrize("content", ["temperature: hot\n", "model: [\n", "expect: equal:x\n"])
def test_the_config_file_is_named_as_given(content: str, tmp_path: Path,
                                           stub: StubServer) -> None:
    (tmp_path / "chat-smoke.yml").write_text(content)
    run = run_cli(tmp_path, "--base-url", stub.url(), "--model", "m")
    assert run.code == 2
    assert str(tmp_path) not in run.stderr
    assert "chat-smoke.yml: " in run.stderr
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "gate.yml").write_text(content)
    given = run_cli(tmp_path, "--base-url", stub.url(), "--model", "m", "--config",
                    "conf/gate.yml")
    assert given.code == 2 and str(tmp_path) not in given.stderr
    assert "conf/gate.yml: " in given.stderr


def test_the_console_names_a_loaded_config_file_as_given(tmp_path: Path,
                                                         stub: StubServer) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "gate.yml").write_text("retries: 0\n")
    loaded = run_cli(tmp_path, "--base-url", stub.url(), "--model", "stub-model", "--config",
                     "conf/gate.yml")
    assert loaded.code == 0, loaded.stderr
    assert "loaded (file: conf/gate.yml;" in loaded.stdout + loaded.stderr
    assert str(tmp_path) not in loaded.stdout + loaded.stderr
    outside = tmp_path.parent / f"{tmp_path.name}-elsewhere.yml"
    outside.write_text("retries: 0\n")
    try:
        far = run_cli(tmp_path, "--base-url", stub.url(), "--model", "stub-model", "--config",
                      str(outside))
    finally:
        outside.unlink()
    assert far.code == 0 and f"loaded (file: {outside};" in far.stdout + far.stderr


def test_the_image_without_arguments_outside_github_prints_usage(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(REPO / "entrypoint.py")], capture_output=True,
                          text=True, env=scrubbed(), cwd=tmp_path, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.startswith("chat-smoke: no command given")
    for platform in ("GitHub Actions", "GitLab CI", "Jenkins", "Azure Pipelines",
                     "Buildkite", "podman run"):
        assert platform in proc.stderr
    assert "api-key input is empty" not in proc.stderr


def test_the_summary_counts_what_junit_counts(stub: StubServer) -> None:
    result, _ = pipeline.check({"base_url": stub.url(), "model": "stub-model,gpt-4o-mini",
                          "api_key_env": "K", "stream": "true", "max_total_tokens": "100000",
                          "negative": "invalid-model,missing-field"}, {"K": KEY},
                         console=Console(io.StringIO()))
    assert result.exit_code == 0
    tests = int(ET.fromstring(junit.render(result).encode()).get("tests") or 0)
    summary = markdown.render(result)
    tally = re.search(r"\*\*(\d+) checks passed", summary)
    assert tally is not None and int(tally.group(1)) == tests == len(result.checks)


def test_a_single_verdict_line(tmp_path: Path, stub: StubServer) -> None:
    """A report that cannot be written changes the verdict: it is printed once, after
    the reports, not PASS and then FAIL."""
    folder = tmp_path / "a-folder"
    folder.mkdir()
    run = run_cli(tmp_path, "--base-url", stub.url(), "--model", "stub-model",
                  "--report-junit", str(folder))  # a folder: cannot be written as a file
    assert run.code == 2
    verdicts = [line for line in (run.stdout + run.stderr).splitlines()
                if re.match(r"chat-smoke: (PASS|FAIL|CANCELLED)", line)]
    assert len(verdicts) == 1, verdicts
    assert verdicts[0].startswith("chat-smoke: FAIL [config] exit 2")
    ok = run_cli(tmp_path, "--base-url", stub.url(), "--model", "stub-model")
    assert [line for line in ok.stdout.splitlines()
            if line.startswith("chat-smoke: PASS")] != []

"""The incident block's curl command pastes (issue 21): taken from the *rendered* summary
(cmark-gfm's HTML, read as the text a person selects and copies), run with bash against
the stub, it sends the very request the gate sent: valid JSON equal to the original,
for long model ids, quotes of every kind and custom prompts. A wrap inside the quotes
used to send invalid JSON."""

from __future__ import annotations

import html
import io
import json
import os
import re
import shlex
import shutil
import subprocess
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smoke import pipeline
from smoke.output.console import Console
from smoke.reports.summary import markdown
from smoke.reports.summary.text import PRE_WIDTH, fold_shell
from smoke.stub import StubServer
from tests.support.cli import KEY

pytestmark = pytest.mark.skipif(not (shutil.which("bash") and shutil.which("curl")),
                                reason="needs bash and curl")

CASES: list[tuple[str, dict[str, str]]] = [
    ("o3", {}),
    ("gpt-4o-mini", {"system_prompt": "You are a release gate. Reply with exactly: pong"}),
    ("org/" + "very-long-deployment-name-" * 6 + "2024-11-20", {}),
    ("m", {"system_prompt": "It's \"quoted\" — 'single' and \"double\", `backticks`, "
                            "$HOME, ${PATH}, \\backslash\\ and a\ttab " * 3}),
    ("claude-3-5-sonnet@20241022", {"user_prompt": "ping " * 60}),
    ("x" * 180, {"system_prompt": "日本語のシステムプロンプト、とても長い。" * 8}),
    ("qwen/qwen2.5-72b-instruct:free", {"system_prompt": "a" * 250,
                                        "user_prompt": "'" * 40 + '"' * 40}),
]


def _copied_commands(summary: str) -> list[str]:
    """Each reproduction block as a person copies it from the rendered page."""
    import cmarkgfm
    from cmarkgfm.cmark import Options

    page = cmarkgfm.github_flavored_markdown_to_html(summary, options=Options.CMARK_OPT_UNSAFE)
    blocks = re.findall(r"To reproduce, paste into bash.*?<pre>(.*?)</pre>", page, re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", block)).strip("\n") for block in blocks]


@pytest.fixture(scope="module")
def served() -> Any:
    """A stub that knows every model of CASES."""
    with StubServer(key=KEY, models=tuple(model for model, _ in CASES)) as server:
        yield server


def _posts(stub: StubServer, scenario: str) -> list[dict[str, Any]]:
    return [r for r in stub.requests if r["scenario"] == scenario and r["method"] == "POST"]


@pytest.mark.parametrize(("model", "extra"), CASES, ids=range(len(CASES)))
def test_the_pasted_command_sends_the_same_request(model: str, extra: dict[str, str],
                                                   served: StubServer) -> None:
    stub = served
    pytest.importorskip("cmarkgfm", reason="cmarkgfm renders as GitHub does")
    scenario = "wrong-answer~paste"
    result, _ = pipeline.check({"base_url": stub.url(scenario), "model": model, "api_key_env": "K",
                          "retries": "0", **extra}, {"K": KEY}, console=Console(io.StringIO()))
    assert result.exit_code == 6
    sent = _posts(stub, scenario)[-1]
    summary = markdown.render(result)
    (command,) = _copied_commands(summary)
    assert all(len(line) <= PRE_WIDTH for line in command.splitlines())
    assert KEY not in summary
    env = {**os.environ, "K": KEY, "NO_PROXY": "*"}  # the command reads $K
    proc = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env,
                          timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert "could not parse" not in proc.stdout.lower()
    replayed = _posts(stub, scenario)[-1]
    assert replayed is not sent and replayed["payload"] is not None  # valid JSON arrived
    assert replayed["payload"] == sent["payload"]
    assert replayed["path"] == sent["path"]
    assert json.loads(proc.stdout)["choices"][0]["message"]["content"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(words=st.lists(st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
                              max_size=120), min_size=1, max_size=4),
       columns=st.integers(min_value=24, max_value=120))
def test_folding_never_changes_the_words(words: list[str], columns: int) -> None:
    """Whatever the quoting, the folded command is the same words to bash."""
    command = "printf '%s\\0' " + " \\\n  ".join(
        shlex.quote(w) + '"$V"x' for w in words)
    folded = "\n".join(fold_shell(command, columns))
    env = {"V": "v a l", "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    run = [subprocess.run(["bash", "-c", c], capture_output=True, env=env, timeout=10).stdout
           for c in (command, folded)]
    assert run[0] == run[1]
    assert run[0].split(b"\0")[:-1] == [f"{w}v a lx".encode() for w in words]

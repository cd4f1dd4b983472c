"""Shell completion (click's): the script ``chat-smoke completion SHELL`` prints, and what
the installed command completes when bash asks it, as bash's ``complete -F`` does."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CHAT_SMOKE = str(Path(sys.executable).with_name("chat-smoke"))


def _complete(*words: str) -> list[str]:
    env = {**os.environ, "COMP_WORDS": " ".join(["chat-smoke", *words]),
           "COMP_CWORD": str(len(words)), "_CHAT_SMOKE_COMPLETE": "bash_complete"}
    done = subprocess.run([CHAT_SMOKE], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return [line.split(",", 1)[1] for line in done.stdout.splitlines()]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_the_script(shell: str) -> None:
    done = subprocess.run([CHAT_SMOKE, "completion", shell], capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 0, done.stderr
    assert "_CHAT_SMOKE_COMPLETE" in done.stdout


def test_commands_options_and_choices_complete() -> None:
    assert "run" in _complete("r") and "init" in _complete("i")
    assert {"--base-url", "--baseline"} <= set(_complete("run", "--ba"))
    assert _complete("init", "--ci", "git") == ["github", "gitlab"]


def test_bash_loads_the_script_and_completes() -> None:
    bash = shutil.which("bash")
    assert bash is not None
    script = (f'eval "$({CHAT_SMOKE} completion bash)"; COMP_WORDS=(chat-smoke run --max-t); '
              'COMP_CWORD=2; _chat_smoke_completion chat-smoke; printf "%s\\n" "${COMPREPLY[@]}"')
    done = subprocess.run([bash, "--norc", "--noprofile", "-c", script], capture_output=True,
                          text=True, timeout=30,
                          env={**os.environ, "PATH": f"{Path(CHAT_SMOKE).parent}:"
                               f"{os.environ.get('PATH', '')}"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["--max-tokens", "--max-total-tokens"]

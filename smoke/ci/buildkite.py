"""Buildkite: log groups and an annotation with the summary.

- A line starting ``--- `` opens a collapsed group, ``+++ `` an expanded one, ``~~~ `` a
  group that stays collapsed, and ``^^^ +++`` expands the previous group (Buildkite
  docs, "Managing log output"). Outside text starting a line with any of them gets a
  prefix (smoke.output.commands). When the gate fails, ``^^^ +++`` opens the checks.
- When ``buildkite-agent`` is on PATH, ``buildkite-agent annotate --style error|success
  --context chat-smoke`` puts the Markdown summary on the build page (body on stdin;
  Buildkite renders Markdown and sanitises HTML; an annotation holds at most 1 MiB, the
  summary stays far below). The key goes to ``buildkite-agent redactor add`` (on
  stdin, never in argv), which masks it in the rest of the job's log on agents that
  have the command; on older agents the call fails and chat-smoke's own scrub remains.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from typing import TYPE_CHECKING

from smoke.ci.platform import PlatformConsole
from smoke.ci.publish import RANK_NOTE, Page, Platform, Publisher
from smoke.errors import ReportError
from smoke.output import redact

if TYPE_CHECKING:
    from smoke.results import GateResult

AGENT = "buildkite-agent"
AGENT_TIMEOUT = 20.0  # seconds per call; the agent talks to Buildkite's API
CONTEXT = "chat-smoke"


def agent(env: Mapping[str, str] | None = None) -> str | None:
    """The agent's path, when it is on PATH."""
    return shutil.which(AGENT, path=env.get("PATH") if env else None)


class BuildkiteConsole(PlatformConsole):
    def mask(self, secret: str) -> None:
        path = agent()
        if path is not None:
            _call([path, "redactor", "add"], secret)

    def open_group(self, title: str) -> None:
        self.emit("--- " + self.neutralise(redact.scrub(title)).replace("\n", " "))

    def verdict(self, result: GateResult) -> None:
        if result.verdict != "pass":
            self.emit("^^^ +++")  # open the checks group: the failure is in there
        super().verdict(result)


class Annotate(Page):
    """The Markdown summary as the build's annotation (the summary page)."""

    def publish(self, publisher: Publisher, result: GateResult) -> None:
        if agent(publisher.env) is None:
            return
        try:
            markdown = publisher.summary_markdown(result)
        except ReportError as exc:
            publisher.annotate("warning", str(exc), "chat-smoke: summary", (RANK_NOTE,))
            return
        self.page(publisher, markdown, result.verdict == "pass")

    def page(self, publisher: Publisher, markdown: str, passed: bool) -> None:
        path = agent(publisher.env)
        if path is None:
            return
        style = "success" if passed else "error"
        problem = _call([path, "annotate", "--style", style, "--context", CONTEXT],
                        redact.scrub(markdown))
        if problem:
            publisher.line(f"chat-smoke: warning: the build annotation was not added: "
                           f"{problem}. The summary is in the log and the reports.")


PLATFORM = Platform("buildkite", BuildkiteConsole, (Annotate(),))


def _call(argv: list[str], stdin: str) -> str | None:
    """Run the agent with ``stdin``; a problem as one line, or None."""
    what = f"{AGENT} {argv[1]}"
    try:
        done = subprocess.run(argv, input=stdin, capture_output=True, text=True,
                              timeout=AGENT_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        return f"{what} did not finish within {AGENT_TIMEOUT:g} s"
    except OSError as exc:
        return f"{what}: {exc.strerror or exc}"
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()
        return f"{what} exited {done.returncode}" + (
            f" ({tail[-1][:200]})" if tail else "")
    return None

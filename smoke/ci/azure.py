"""Azure Pipelines: logging commands.

Facts (microsoft/azure-pipelines-agent ``src/Agent.Worker/Command.cs`` and
azure-pipelines-task-lib ``node/taskcommand.ts``):

- The agent runs ``##vso[area.action key=value;key=value]data`` found *anywhere* in a
  line of stdout or stderr (``message.IndexOf("##vso[")``); lines are split by
  ``ReadLine``, so a bare CR ends a line too. The web log renders ``##[group]``,
  ``##[endgroup]``, ``##[error]``, ``##[warning]``, ``##[section]`` formatting commands.
  Outside text gets both broken (smoke.output.commands) and loses CR.
- Escaping as the task library does: data ``%`` → ``%AZP25``, CR → ``%0D``, LF →
  ``%0A``; properties also ``;`` → ``%3B`` and ``]`` → ``%5D``.
- The agent keeps at most 10 issues of each type per step (``_maxIssueCount`` in its
  ExecutionContext), like GitHub: the same cap applies.

Natively: ``task.setsecret`` masks the key, ``task.logissue`` annotates,
``##[group]`` folds, ``task.setvariable …;isOutput=true`` hands the verdict to later
steps and jobs (the dotenv names: ``CHAT_SMOKE_VERDICT``…), and ``task.uploadsummary``
attaches the Markdown summary to the run's Extensions tab.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from smoke.ci.platform import PlatformConsole
from smoke.ci.publish import RANK_NOTE, Page, Platform, Publisher, Sink
from smoke.errors import ReportError
from smoke.output import redact
from smoke.output.commands import defuse_characters

if TYPE_CHECKING:
    from smoke.results import GateResult

ISSUES_PER_TYPE = 10


def escape_data(text: str) -> str:
    return text.replace("%", "%AZP25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(";", "%3B").replace("]", "%5D")


def format_command(name: str, data: str = "", **properties: str) -> str:
    """``##vso[name key=value;…]data``, escaped. Data and values are our own or scrubbed
    outside text; outside text also loses any ``##vso[`` of its own, so the line holds
    exactly one command."""
    props = ";".join(f"{key}={escape_property(defuse_characters(value))}"
                     for key, value in properties.items() if value)
    return f"##vso[{name}{' ' + props if props else ''}]{escape_data(defuse_characters(data))}"


class AzureConsole(PlatformConsole):
    def mask(self, secret: str) -> None:
        # Not through format_command: the secret must reach the masker exactly.
        self.emit(f"##vso[task.setsecret]{escape_data(secret)}")

    def open_group(self, title: str) -> None:
        self.emit("##[group]" + self.neutralise(redact.scrub(title)).replace("\n", " "))

    def close_group(self, title: str) -> None:
        self.emit("##[endgroup]")

    def write_annotation(self, level: str, message: str, title: str) -> None:
        text = f"{title}: {message}" if title else message
        self.emit(format_command("task.logissue", text,
                                 type="error" if level == "error" else "warning"))


class Variables(Sink):
    """The verdict as output variables (the dotenv names: ``CHAT_SMOKE_VERDICT``...)."""

    def publish(self, publisher: Publisher, result: GateResult) -> None:
        from smoke.reports import dotenv

        # The dotenv names and values: one line of plain characters each, no "]" or ";".
        for name, value in dotenv.values(result).items():
            publisher.console.emit(format_command("task.setvariable", dotenv.safe_value(value),
                                                  variable=name, isOutput="true"))


class UploadSummary(Page):
    """The Markdown summary on the run's Extensions tab (``task.uploadsummary``)."""

    def publish(self, publisher: Publisher, result: GateResult) -> None:
        summary = publisher.reports.get("summary")
        if summary and Path(summary).is_file():  # the summary the user asked for
            publisher.console.emit(format_command("task.uploadsummary",
                                                  str(Path(summary).resolve())))
            return
        try:
            markdown = publisher.summary_markdown(result)
        except ReportError as exc:
            self._warn(publisher, exc)
            return
        self.page(publisher, markdown, result.verdict == "pass")

    def page(self, publisher: Publisher, markdown: str, passed: bool) -> None:
        try:
            path = _summary_file(publisher.env, markdown)
        except ReportError as exc:
            self._warn(publisher, exc)
            return
        publisher.console.emit(format_command("task.uploadsummary", str(path.resolve())))

    @staticmethod
    def _warn(publisher: Publisher, exc: ReportError) -> None:
        publisher.annotate("warning", f"the Markdown summary was not attached: {exc}",
                           "chat-smoke: summary", (RANK_NOTE,))


PLATFORM = Platform("azure", AzureConsole, (Variables(), UploadSummary()),
                    annotation_cap=ISSUES_PER_TYPE, annotates_failures=True)


def _summary_file(env: Mapping[str, str], markdown: str) -> Path:
    """``markdown`` rendered into the agent's temp folder (mapped into container jobs),
    else into a fresh temp folder."""
    from smoke.reports.files import write_text

    folder = env.get("AGENT_TEMPDIRECTORY", "").strip()
    if not folder or not os.path.isdir(folder):
        folder = tempfile.mkdtemp(prefix="chat-smoke-")
    return write_text(os.path.join(folder, "chat-smoke-summary.md"), markdown)

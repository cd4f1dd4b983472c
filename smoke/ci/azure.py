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
from typing import TYPE_CHECKING, ClassVar

from smoke.ci.platform import RANK_NOTE, Platform
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


class Azure(Platform):
    name: ClassVar[str] = "azure"
    annotation_cap: ClassVar[int | None] = ISSUES_PER_TYPE
    annotates_failures: ClassVar[bool] = True

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

    def publish_native(self, result: GateResult, env: Mapping[str, str],
                       template: str | None, reports: Mapping[str, str]) -> None:
        from smoke.reports import dotenv

        # The dotenv names and values: one line of plain characters each, no "]" or ";".
        for name, value in dotenv.values(result).items():
            self.emit(format_command("task.setvariable", dotenv.safe_value(value),
                                     variable=name, isOutput="true"))
        try:
            path = _summary_file(result, env, template, reports, self)
        except ReportError as exc:
            self.annotate("warning", f"the Markdown summary was not attached: {exc}",
                          "chat-smoke: summary", (RANK_NOTE,))
            return
        self.emit(format_command("task.uploadsummary", str(path.resolve())))


def _summary_file(result: GateResult, env: Mapping[str, str], template: str | None,
                  reports: Mapping[str, str], platform: Platform) -> Path:
    """The summary the user asked for (already written), else one rendered into the
    agent's temp folder (mapped into container jobs), else into a fresh temp folder."""
    if reports.get("summary") and Path(reports["summary"]).is_file():
        return Path(reports["summary"])
    from smoke.reports.files import write_text

    folder = env.get("AGENT_TEMPDIRECTORY", "").strip()
    if not folder or not os.path.isdir(folder):
        folder = tempfile.mkdtemp(prefix="chat-smoke-")
    return write_text(os.path.join(folder, "chat-smoke-summary.md"),
                      platform.summary_markdown(result, template))

"""All GitHub runner I/O: masks, log groups, annotations, step outputs, the job summary.

Facts this module is built on (read in the runner and toolkit sources):

- The runner reads workflow commands from every line of stdout and stderr. A line is a
  command when, *after its leading white space is trimmed*, it starts with ``::``
  (actions/runner ``src/Runner.Common/ActionCommand.cs``, ``TryParseV2``), or when it
  contains the legacy ``##[`` *anywhere* (``TryParse``). Command names ignore case.
- ``::stop-commands::TOKEN`` makes the runner ignore every command until a line
  ``::TOKEN::`` (``src/Runner.Worker/ActionCommandManager.cs``). Every piece of text this
  module prints that is not its own command goes inside such a block, with a fresh
  random token, so text from a server or a model cannot run a command.
- Escaping (actions/toolkit ``packages/core/src/command.ts``): data ``%``, ``\\r``,
  ``\\n``; properties also ``:`` and ``,``.
- ``GITHUB_OUTPUT`` is parsed line by line: ``name=value``, or ``name<<DELIM`` then the
  value until a line that is exactly ``DELIM`` (actions/runner
  ``src/Runner.Worker/FileCommandManager.cs``, ``EnvFileKeyValuePairs``). Like the
  toolkit (``packages/core/src/file-command.ts``, ``prepareKeyValueMessage``) every value
  gets a fresh ``ghadelimiter_<uuid>`` and a value containing it is refused.
- The step summary file may hold at most 1 MiB (``CreateStepSummaryCommand``,
  ``AttachmentSizeLimit``); a larger one is dropped with an error.

Each write does nothing when its variable is unset. Everything passes through
`smoke.output.redact.scrub`, except the ``::add-mask::`` lines, whose job is to carry
the secret to the runner's masker.
"""

from __future__ import annotations

import os
import re
import secrets
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from smoke.ci.platform import PlatformConsole
from smoke.ci.publish import ANNOTATION_LIMIT as ANNOTATION_LIMIT  # re-exported
from smoke.ci.publish import RANK_NOTE, Page, Platform, Publisher, Sink
from smoke.errors import ReportError
from smoke.output import redact

if TYPE_CHECKING:
    from smoke.results import GateResult

# The runner drops a step summary file over 1 MiB; stay clear of it, because other steps
# of the job may have written to the same file before us.
SUMMARY_LIMIT = 1024 * 1024
# GitHub shows at most 10 error and 10 warning annotations per step; the rest are only
# counted (actions/runner src/Runner.Worker/ExecutionContext.cs, ``_maxIssueCount``).
ANNOTATIONS_PER_LEVEL = 10

_DELIMITER_IN_VALUE = (
    "output {name}: the value contains the delimiter {delimiter!r}, so it could end its "
    "block early; it was not written. See "
    "https://docs.github.com/actions/reference/workflow-commands-for-github-actions"
    "#multiline-strings"
)
_SUMMARY_FULL = (
    "\n> chat-smoke: the job summary is full (GitHub keeps at most 1 MiB per step), so "
    "this step's summary was left out. Read {where} instead.\n"
)


def escape_data(text: str) -> str:
    """Escape a command's message as the toolkit's ``escapeData`` does."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a command property as the toolkit's ``escapeProperty`` does."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_command(name: str, message: str = "", **properties: str) -> str:
    """``::name key=value,key=value::message``, escaped; empty properties are left out,
    as the toolkit does."""
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items()
                     if value)
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


class GitHubConsole(PlatformConsole):
    """The GitHub Actions log: masks first, one log group per phase, every line of text
    inside a ``::stop-commands::`` block so no echoed text runs a command, annotations as
    workflow commands."""

    def __init__(self, out: TextIO | None = None, quiet: bool = False) -> None:
        self._token: str | None = None  # the open stop-commands block, if any
        super().__init__(out, quiet)

    # -- our own commands -------------------------------------------------------------
    def _resume(self) -> None:
        if self._token is not None:
            self.emit(f"::{self._token}::")
            self._token = None

    def command(self, name: str, message: str = "", **properties: str) -> None:
        """Write one workflow command of our own, scrubbed before it is escaped (an
        escape inside a secret, "%25" for "%", would hide it from the scrub)."""
        self.mask_new()
        self._resume()
        scrubbed = {key: redact.scrub(value) for key, value in properties.items()}
        self.emit(format_command(name, redact.scrub(message), **scrubbed))

    # -- the console -----------------------------------------------------------------
    def mask(self, secret: str) -> None:
        self._resume()
        self.emit(format_command("add-mask", secret))

    def line(self, text: str = "") -> None:
        if self.quiet:
            return
        self.mask_new()
        if self._token is None:
            # 128 random bits: text that reached us before the token existed cannot hold it.
            self._token = secrets.token_hex(16)
            self.emit(f"::stop-commands::{self._token}")
        # The runner compares the resume token ignoring case.
        safe = re.sub(re.escape(self._token), "***", redact.scrub(text), flags=re.IGNORECASE)
        for part in safe.split("\n"):
            self.emit(part.replace("\r", " "))

    def report_error(self, text: str) -> None:
        self.line(text)  # inside the console's command protection

    def open_group(self, title: str) -> None:
        self.command("group", title)

    def close_group(self, title: str) -> None:
        self.command("endgroup")

    def write_annotation(self, level: str, message: str, title: str) -> None:
        self.command(level, message, title=title)

    def close(self) -> None:
        """End the open log group and the stop-commands block."""
        self.mask_new()
        super().close()
        self._resume()


class Outputs(Sink):
    """The step's outputs (``GITHUB_OUTPUT``)."""

    def publish(self, publisher: Publisher, result: GateResult) -> None:
        try:
            write_outputs(publisher.env, outputs(result, publisher.env, publisher.reports))
        except ReportError as exc:
            publisher.annotate("error", str(exc), "chat-smoke: GitHub output", (RANK_NOTE,))


class StepSummary(Page):
    """The job summary (``GITHUB_STEP_SUMMARY``): the summary page."""

    def publish(self, publisher: Publisher, result: GateResult) -> None:
        try:
            markdown = publisher.summary_markdown(result)
        except ReportError as exc:
            publisher.annotate("error", str(exc), "chat-smoke: GitHub output", (RANK_NOTE,))
            return
        self.page(publisher, markdown, result.verdict == "pass")

    def page(self, publisher: Publisher, markdown: str, passed: bool) -> None:
        try:
            append_summary(publisher.env, markdown,
                           publisher.reports.get("report_json", "report.json"))
        except ReportError as exc:
            publisher.annotate("error", str(exc), "chat-smoke: GitHub output", (RANK_NOTE,))


class PullRequestComment(Sink):
    """``comment-on-pr``: its warnings go through the publisher's annotation cap too."""

    def publish(self, publisher: Publisher, result: GateResult) -> None:
        from smoke.ci.github_comment import comment_on_pr  # warns, never raises

        comment_on_pr(result, publisher.env, publisher)


PLATFORM = Platform(
    "github", GitHubConsole, (Outputs(), StepSummary(), PullRequestComment()),
    annotation_cap=ANNOTATIONS_PER_LEVEL, annotates_failures=True,
    fail_on_error_input="INPUT_FAIL-ON-ERROR")


# -- step outputs ------------------------------------------------------------------
def outputs(
    result: GateResult, env: Mapping[str, str], reports: Mapping[str, str]
) -> dict[str, str]:
    """The action's outputs (action.yml) for ``result``."""
    primary = result.primary
    workspace = env.get("GITHUB_WORKSPACE") or os.getcwd()
    return {
        "verdict": result.verdict,
        "category": result.category.value if result.category else "",
        "exit-code": str(result.exit_code),
        "request-id": (primary.request_id or "") if primary else "",
        "duration-ms": str(result.duration_ms),
        "owner": result.owner.team if result.owner else "",
        "report-json": _relative(reports.get("report_json"), workspace),
        "report-junit": _relative(reports.get("report_junit"), workspace),
        "summary": _relative(reports.get("summary"), workspace),
    }


def _relative(path: str | None, workspace: str) -> str:
    """``path`` relative to the workspace when it lies inside it (later steps run with
    the workspace as their working directory, at another absolute path than ours)."""
    if not path:
        return ""
    full = Path(os.path.abspath(path))
    root = Path(os.path.abspath(workspace))
    try:
        return full.relative_to(root).as_posix()
    except ValueError:
        return str(full)


def format_output(name: str, value: str) -> str:
    """One ``name<<DELIM`` block with a fresh delimiter, as the toolkit writes it."""
    delimiter = f"ghadelimiter_{uuid.uuid4()}"
    if delimiter in name or delimiter in value:
        raise ReportError(_DELIMITER_IN_VALUE.format(name=name, delimiter=delimiter))
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def write_outputs(env: Mapping[str, str], values: Mapping[str, str]) -> None:
    """Append ``values`` to the ``GITHUB_OUTPUT`` file; nothing when it is unset."""
    path = env.get("GITHUB_OUTPUT", "")
    if not path:
        return
    text = "".join(format_output(name, redact.scrub(value)) for name, value in values.items())
    _append(path, text, "GITHUB_OUTPUT")


def append_summary(env: Mapping[str, str], markdown: str, where: str = "report.json") -> None:
    """Append ``markdown`` to the job summary; nothing when ``GITHUB_STEP_SUMMARY`` is
    unset. When the file would pass 1 MiB, a one-line note goes in instead."""
    path = env.get("GITHUB_STEP_SUMMARY", "")
    if not path:
        return
    text = redact.scrub(markdown)
    try:
        used = os.path.getsize(path)
    except OSError:
        used = 0
    if used + len(text.encode("utf-8")) >= SUMMARY_LIMIT:
        text = _SUMMARY_FULL.format(where=where)
        if used + len(text.encode("utf-8")) >= SUMMARY_LIMIT:
            return
    _append(path, text, "GITHUB_STEP_SUMMARY")


def _append(path: str, text: str, variable: str) -> None:
    try:
        with open(path, "a", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    except OSError as exc:
        raise ReportError(
            f"cannot append to {variable} ({path}): {exc.strerror or exc}. The runner "
            "creates this file for each step; check that the step runs as a user who can "
            "write it"
        ) from None

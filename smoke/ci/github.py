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
:func:`smoke.redact.scrub`, except the ``::add-mask::`` lines, whose job is to carry
the secret to the runner's masker.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from smoke.config import parse_bool
from smoke.errors import ReportError
from smoke.output import redact
from smoke.output.console import Console, write_safely

if TYPE_CHECKING:
    from smoke.config.settings import Settings
    from smoke.results import Check, GateResult

# The runner drops a step summary file over 1 MiB; stay clear of it, because other steps
# of the job may have written to the same file before us.
SUMMARY_LIMIT = 1024 * 1024
ANNOTATION_LIMIT = 4000  # characters; an annotation is a headline, report.json has the rest
OUTPUT_NAMES = (
    "verdict", "category", "exit-code", "request-id", "duration-ms", "report-json",
    "report-junit",
)
FAIL_ON_ERROR_INPUT = "INPUT_FAIL-ON-ERROR"

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


def fail_on_error(env: Mapping[str, str]) -> bool:
    """The ``fail-on-error`` input: true unless it says false. A value that is neither
    counts as true here (fail closed); :mod:`smoke.action` reports it as a config error."""
    return parse_bool(env.get(FAIL_ON_ERROR_INPUT, "")) is not False


class GitHubConsole(Console):
    """The console on a GitHub runner: masks first, one log group per phase, and every
    line of text inside a ``::stop-commands::`` block so no echoed text runs a command."""

    def __init__(self, out: TextIO | None = None, quiet: bool = False) -> None:
        super().__init__(out, quiet)
        self._masked: set[str] = set()
        self._token: str | None = None  # the open stop-commands block, if any
        self._group: str | None = None
        global _current
        _current = self
        self._mask_new()

    # -- the raw stream ----------------------------------------------------------------
    def _emit(self, raw: str) -> None:
        write_safely(self.out, raw + "\n")
        self.out.flush()

    def _mask_new(self) -> None:
        """``::add-mask::`` every secret registered since the last look, before any line
        that could carry it. Runs on every write: the key is registered when the config
        loads and a proxy password later, both after this console was made."""
        fresh = [s for s in redact.registered() if s not in self._masked and s.strip()]
        if not fresh:
            return
        self._resume()
        for secret in fresh:
            self._masked.add(secret)
            self._emit(format_command("add-mask", secret))

    def _resume(self) -> None:
        if self._token is not None:
            self._emit(f"::{self._token}::")
            self._token = None

    def command(self, name: str, message: str = "", **properties: str) -> None:
        """Issue one workflow command of our own, scrubbed before it is escaped (an
        escape inside a secret, "%25" for "%", would hide it from the scrub)."""
        self._mask_new()
        self._resume()
        scrubbed = {key: redact.scrub(value) for key, value in properties.items()}
        self._emit(format_command(name, redact.scrub(message), **scrubbed))

    def close(self) -> None:
        """End the open log group and stop-commands block."""
        self._mask_new()
        if self._group is not None:
            self._group = None
            self.command("endgroup")
        self._resume()

    # -- Console -------------------------------------------------------------------
    def line(self, text: str = "") -> None:
        if self.quiet:
            return
        self._mask_new()
        if self._token is None:
            # 128 random bits: text that reached us before the token existed cannot hold it.
            self._token = secrets.token_hex(16)
            self._emit(f"::stop-commands::{self._token}")
        # The runner compares the resume token ignoring case.
        safe = re.sub(re.escape(self._token), "***", redact.scrub(text), flags=re.IGNORECASE)
        for part in safe.split("\n"):
            self._emit(part.replace("\r", " "))

    def group(self, title: str) -> None:
        if self._group == title:
            return
        if self._group is not None:
            self.command("endgroup")
        self._group = title
        self.command("group", title)

    def configuration(self, settings: Settings) -> None:
        self.group("chat-smoke: configuration")
        super().configuration(settings)

    def check(self, check: Check) -> None:
        self.group("chat-smoke: checks")
        super().check(check)

    def verdict(self, result: GateResult) -> None:
        self.close()
        super().verdict(result)


_current: GitHubConsole | None = None


class ConsoleStream(io.TextIOBase):
    """A text stream (for ``sys.stderr``) whose lines go through the GitHub console, so
    a message that quotes outside text (an internal error, a config error) is inside a
    stop-commands block like every other line. The runner merges both streams anyway."""

    def __init__(self) -> None:
        super().__init__()
        self._pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        *lines, self._pending = (self._pending + text).split("\n")
        for line in lines:
            _console().line(line)
        return len(text)

    def flush(self) -> None:
        if self._pending:
            pending, self._pending = self._pending, ""
            _console().line(pending)


def close() -> None:
    """End the open group and stop-commands block of the current console, if any."""
    if _current is not None:
        _current.close()


def _console() -> GitHubConsole:
    """The console the gate printed through (its stop-commands state matters), or a new
    one on stdout."""
    return _current if _current is not None else GitHubConsole(sys.stdout)


def publish(
    result: GateResult,
    env: Mapping[str, str],
    template: str | None = None,
    reports: Mapping[str, str] | None = None,
) -> None:
    """Annotate the run, set the step's outputs and append the job summary."""
    console = _console()
    console.close()
    soft = not fail_on_error(env)
    for check in result.failures:
        console.command("warning" if soft else "error", _failure_message(check),
                        title=_failure_title(check))
    for warning in dict.fromkeys(result.warnings):
        console.command("warning", warning[:ANNOTATION_LIMIT], title="chat-smoke warning")
    if soft and result.verdict == "fail":
        category = result.category.value if result.category else "internal error"
        console.command(
            "warning",
            f"The gate failed ({category}, exit code {result.exit_code}), but fail-on-error "
            "is false, so this step succeeds. Read the outputs verdict and exit-code to act "
            "on it.",
            title="chat-smoke: failure reported as a warning",
        )
    problems: list[str] = []
    try:
        write_outputs(env, outputs(result, env, reports or {}))
    except ReportError as exc:
        problems.append(str(exc))
    try:
        append_summary(env, _summary(result, template, console),
                       (reports or {}).get("report_json", "report.json"))
    except ReportError as exc:
        problems.append(str(exc))
    for problem in problems:
        console.command("error", problem, title="chat-smoke: GitHub output")
    console.close()


def _failure_title(check: Check) -> str:
    category = check.category.value if check.category else "internal error"
    return f"chat-smoke {category}: {check.name}"


def _failure_message(check: Check) -> str:
    text = check.message or "failed"
    if check.category:
        text += f"\n{check.category.hint}\nSee {check.category.docs_url}"
    else:
        text += ("\nThis is a bug in chat-smoke, not a finding about the endpoint. "
                 "Please report it with report.json.")
    if check.request_id:
        text += f"\nRequest id: {check.request_id}"
    return text[:ANNOTATION_LIMIT]


def _summary(result: GateResult, template: str | None, console: GitHubConsole) -> str:
    from smoke.reports.summary import markdown

    try:
        return markdown.render(result, template)
    except ReportError as exc:
        if template is None:
            raise
        # The user's template is broken: say so, and still give the built-in summary.
        console.command("warning", f"{exc}; the built-in summary was used instead",
                        title="chat-smoke: summary-template")
        return markdown.render(result, None)


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
        "report-json": _relative(reports.get("report_json"), workspace),
        "report-junit": _relative(reports.get("report_junit"), workspace),
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

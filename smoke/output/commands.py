"""Defuse the log commands of every CI in text that came from outside.

A CI reads commands out of a job's log. Model output, error bodies, headers and ids are
data: whatever CI reads the log (or a log pasted into another one), they must not run a
command. What each parser looks for, and how it is broken here:

- GitHub Actions: a line whose start, after white space, is ``::`` (actions/runner
  ``ActionCommand.TryParseV2``); the legacy ``##[`` anywhere (``TryParse``).
  The line gets a ``> `` prefix; ``##[`` becomes ``## [``.
- Azure Pipelines: ``##vso[area.action props]`` anywhere in a line
  (azure-pipelines-agent ``Command.TryParse``: ``IndexOf("##vso[")``), and the
  ``##[group]``/``##[error]``… formatting commands. ``##vso[`` becomes ``##vso [``.
- TeamCity (and tools that copy it): ``##teamcity[`` anywhere. Becomes ``##teamcity [``.
- GitLab: ``section_start:<ts>:<name>\\r\\e[0K`` (``Gitlab::Regex.build_trace_section_regex``,
  tried at every position of the trace): it needs the carriage return and the escape,
  so outside text loses both (ESC is shown as ``^[``, CR as a space). No escape also
  means no ANSI colours or cursor moves from outside.
- Buildkite: a line starting ``---``, ``+++``, ``~~~`` (a group) or ``^^^ +++`` (open
  the previous group). The line gets a ``> `` prefix.

:func:`defuse` is used by the plain console on every line; platform consoles that have a
better mechanism for their own syntax (GitHub's ``::stop-commands::``) still use the
character-level parts.
"""

from __future__ import annotations

import re

PREFIX = "> "
# "##[", "##vso[", "##teamcity[" and any other "##word[" form, any case.
_HASH_BRACKET = re.compile(r"(##[A-Za-z]*)\[")
# A line that a parser reads as a command by its start (after white space).
_LINE_START = re.compile(r"^\s*(::|---|\+\+\+|~~~|\^\^\^)")
_ESCAPES = {"\x1b": "^[", "\x9b": "^[[", "\r": " "}
_ESCAPE_RE = re.compile("[\x1b\x9b\r]")


def defuse_characters(text: str) -> str:
    """The parts that work anywhere in a line: ``##…[`` forms, ESC and CR."""
    text = _ESCAPE_RE.sub(lambda m: _ESCAPES[m.group(0)], text)
    return _HASH_BRACKET.sub(r"\1 [", text)


def defuse_line(line: str) -> str:
    """One line (no newline in it) that runs no command on any known CI."""
    line = defuse_characters(line)
    return PREFIX + line if _LINE_START.match(line) else line


def defuse(text: str) -> str:
    """``text``, line by line, with every known CI command syntax broken."""
    return "\n".join(defuse_line(part) for part in text.split("\n"))


# JUnit readers that turn markers in system-out into links: GitLab
# (``Gitlab::Ci::Parsers::Test::Junit``, ``[[ATTACHMENT|path]]``) and Jenkins'
# junit-attachments plugin (``[[ATTACHMENT|path]]``, ``[[PROPERTY|name=value]]``).
def defuse_junit(text: str) -> str:
    """Text for a JUnit file: no ``[[`` marker a reader could act on."""
    while "[[" in text:
        text = text.replace("[[", "[ [")
    return text

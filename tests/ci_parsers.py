"""How each CI reads a job's log and its JUnit files, re-implemented for the tests (as
tests/runner_rules.py does for GitHub). Each parser is at least as eager as the real
one (case-insensitive where the real one is not, anywhere in a line where the real one
may need the start), so "finds nothing" here means "runs nothing" there.

- Azure Pipelines: microsoft/azure-pipelines-agent ``src/Agent.Worker/Command.cs``
  (``TryParse``: ``IndexOf("##vso[")``, then ``]``, ``area.event``, ``;``-separated
  properties, data after ``]``); lines from ``ReadLine`` (``\\n``, ``\\r`` and ``\\r\\n``
  end a line). The web log's formatting commands (``##[group]``, ``##[error]``…) are
  found with ``Contains``, so anywhere.
- GitLab: ``Gitlab::Regex.build_trace_section_regex`` (prefix, options, ``\\r\\e[0K``),
  scanned at every position of the raw trace.
- Buildkite: buildkite-agent's ``headerRegex`` ``^(?:---|\\+\\+\\+|~~~)\\s(.+)?$`` and
  ``headerExpansionRegex`` ``^(?:\\^\\^\\^\\s+\\+\\+\\+)\\s*$``, after removing ANSI colours.
- TeamCity service messages: ``##teamcity[name …]``.
- JUnit attachments: GitLab ``Gitlab::Ci::Parsers::Test::Junit`` (``ATTACHMENT_TAG_REGEX``
  ``\\[\\[ATTACHMENT\\|(?<path>.+?)\\]\\]`` in system-out) and Jenkins' junit-attachments
  plugin (the same marker, in any test output); we look in every text and attribute.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field


@dataclass
class AzureCommand:
    name: str  # area.event, or "##[group]"-style formatting
    properties: dict[str, str] = field(default_factory=dict)
    data: str = ""


def _azure_unescape(text: str) -> str:
    for escaped, plain in (("%3B", ";"), ("%0D", "\r"), ("%0A", "\n"), ("%5D", "]"),
                           ("%AZP25", "%")):
        text = text.replace(escaped, plain)
    return text


def agent_lines(log: str) -> list[str]:
    """Lines as .NET's ReadLine splits them."""
    return re.split(r"\r\n|\r|\n", log)


def azure_commands(log: str) -> list[AzureCommand]:
    found: list[AzureCommand] = []
    for line in agent_lines(log):
        lower = line.lower()
        start = lower.find("##vso[")
        if start >= 0:
            close = line.find("]", start)
            if close >= 0:
                info = line[start + 6:close]
                name, _, props = info.partition(" ")
                if len([p for p in name.split(".") if p]) == 2:
                    cmd = AzureCommand(name.lower(), data=_azure_unescape(line[close + 1:]))
                    for part in props.split(";"):
                        key, eq, value = part.partition("=")
                        if eq and key and value:
                            cmd.properties[key.lower()] = _azure_unescape(value)
                    found.append(cmd)
                    continue
        match = re.search(r"##\[(\w+)\]", line, re.I)
        if match:
            found.append(AzureCommand("##[" + match.group(1).lower() + "]",
                                      data=line[match.end():]))
    return found


SECTION = re.compile(
    r"section_((?:start)|(?:end)):(\d+):([a-zA-Z0-9_.-]+)"
    r"(\[(?:\w+=\w+)(?:, ?(?:\w+=\w+))*\])?"
    r"\r\x1b\[0K")


def gitlab_sections(trace: str) -> list[tuple[str, str, str]]:
    """(start|end, name, options) for every section marker in the raw trace."""
    return [(m.group(1), m.group(3), m.group(4) or "") for m in SECTION.finditer(trace)]


_ANSI_COLOUR = re.compile(r"\x1b\[([;\d]+)?[mK]")
_HEADER = re.compile(r"^(?:---|\+\+\+|~~~)\s(.+)?$")
_EXPANSION = re.compile(r"^(?:\^\^\^\s+\+\+\+)\s*$")


def buildkite_headers(log: str) -> list[str]:
    """Every line Buildkite reads as a group header or an expansion."""
    found = []
    for line in log.split("\n"):
        plain = _ANSI_COLOUR.sub("", line.rstrip("\r"))
        # The agent anchors at the line start; stripping white space first is stricter.
        if _HEADER.match(plain.lstrip()) or _EXPANSION.match(plain.lstrip()):
            found.append(plain)
    return found


def teamcity_messages(log: str) -> list[str]:
    return re.findall(r"##teamcity\[[^\]]*\]", log, re.I)


ATTACHMENT = re.compile(r"\[\[(ATTACHMENT|PROPERTY)\|(.+?)\]\]", re.I)


def junit_attachments(xml_text: str) -> list[str]:
    """Every attachment (or property) marker in any text or attribute of the file."""
    root = ET.fromstring(xml_text.encode("utf-8"))
    texts = []
    for element in root.iter():
        texts += [element.text or "", element.tail or "", *element.attrib.values()]
    return [m.group(0) for text in texts for m in ATTACHMENT.finditer(text)]

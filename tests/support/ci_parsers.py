"""How each CI reads a job's log and its JUnit files, re-implemented for the tests (as
tests/support/runner_rules.py does for GitHub). Each parser is at least as eager as the real
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

What three JUnit readers make of a file (issue 21), each from its source:

- GitLab: ``lib/gitlab/ci/parsers/test/junit.rb`` (every ``testcase`` under a
  ``testsuites``/``testsuite``; status from ``failure``/``error``/``skipped``; the shown
  "system output" is the failure or error *body*, then ``System Out:`` and the
  testcase's ``system-out``; ``classname`` is the suite shown; ``message`` and ``type``
  are never read) through ``Gitlab::XmlConverter`` (ActiveSupport's XMLConverter: an
  element with attributes and text becomes its text, unless its ``type`` attribute is a
  disallowed type, ``symbol`` or ``yaml``, which fails the whole file).
- mikepenz/action-junit-report ``src/testParser.ts`` (``parseSuite``,
  ``resolveFileAndLine``) at 0289ec72: the annotation's message is the failure's
  ``message`` attribute (else the body's first two lines, else the test name); its path
  is ``testcase@file``, else the failure's, else the suite's, else the last
  dot-separated part of ``classname``; its line is found by searching the body for
  `` <file>…:<n>``; the title is ``<file>.<name>`` when the two differ.
- dorny/test-reporter ``src/parsers/java-junit/java-junit-parser.ts`` and
  ``src/report/get-annotations.ts`` at 035c1f9d/411cf3d7 (``java-junit``): ``message``
  attribute, else the body's first non-empty line; the path from a Java stack frame
  (``at pkg.Class(File.java:N)``) matched against tracked files, else the report file;
  the title ``<suite> ► [<classname> ► ]<name>`` (the classname only when it differs
  from the suite's name).
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


# -- JUnit readers ---------------------------------------------------------------------
@dataclass
class GitLabCase:
    suite_name: str
    classname: str
    name: str
    file: str | None
    status: str  # failed, error, skipped, success
    system_output: str | None


_GITLAB_DISALLOWED = ("symbol", "yaml")  # ActiveSupport::XMLConverter::DISALLOWED_TYPES


def _gitlab_content(element: ET.Element) -> str:
    kind = element.get("type")
    if kind in _GITLAB_DISALLOWED:
        raise ValueError(f"JUnit data parsing failed: Disallowed type attribute: {kind!r}")
    return element.text or ""


def gitlab_cases(xml_text: str) -> list[GitLabCase]:
    """The test cases GitLab's unit test report shows."""
    root = ET.fromstring(xml_text.encode("utf-8"))
    found: list[GitLabCase] = []

    def walk(suite: ET.Element) -> None:
        for case in suite.findall("testcase"):
            out = case.find("system-out")
            err = case.find("system-err")
            extra = [f"System Out:\n\n{out.text or ''}" if out is not None else None,
                     f"System Err:\n\n{err.text or ''}" if err is not None else None]
            failure, error, skipped = (case.find(t) for t in ("failure", "error", "skipped"))
            if failure is not None:
                status = "failed"
                output: str | None = "\n\n".join(
                    x for x in [_gitlab_content(failure), *extra] if x is not None)
            elif error is not None:
                status = "error"
                output = "\n\n".join(
                    x for x in [_gitlab_content(error), *extra] if x is not None)
            elif skipped is not None:
                status, output = "skipped", _gitlab_content(skipped)
            else:
                status, output = "success", None
            found.append(GitLabCase(suite.get("name", ""), case.get("classname", ""),
                                    case.get("name", ""), case.get("file"), status, output))
        for inner in suite.findall("testsuite"):
            walk(inner)

    if root.tag == "testsuites":
        for suite in root.findall("testsuite"):
            walk(suite)
    elif root.tag == "testsuite":
        walk(root)
    return found


@dataclass
class Annotation:
    path: str
    line: int
    level: str  # failure, notice
    title: str
    message: str
    raw_details: str


def _mikepenz_position(file: str | None, classname: str, output: str) -> tuple[str, int]:
    name = file if file else classname.split(".")[-1]
    escaped = re.escape(name).replace("::", "/", 1)
    # JavaScript's "." does not match a line break; neither does Python's by default.
    matches = re.findall(rf" [^ ]*{escaped}.*?:\d+", output)
    if not matches:
        return name, 1
    line = matches[-1].split(":")[-1]
    return name, int(line) if line.isdigit() else -1


def mikepenz_annotations(xml_text: str) -> list[Annotation]:
    """action-junit-report's annotations (default inputs, no workspace to glob)."""
    root = ET.fromstring(xml_text.encode("utf-8"))
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    found: list[Annotation] = []
    for suite in suites:
        for case in suite.findall("testcase"):
            failure = case.find("failure")
            error = case.find("error")
            skip = case.find("skipped") is not None
            failed_element = failure if failure is not None else error
            stack = ""
            if failure is not None:
                stack = (failure.text or "").strip()
            if not stack and error is not None:
                stack = (error.text or "").strip()
            brief = "\n".join(stack.split("\n")[:2])
            message = ((failure.get("message") if failure is not None else None)
                       or (error.get("message") if error is not None else None)
                       or brief or case.get("name", "")).strip()
            file = (case.get("file") or (failure.get("file") if failure is not None else None)
                    or suite.get("file"))
            classname = case.get("classname") or case.get("name", "")
            path, line = _mikepenz_position(file, classname, stack)
            name = case.get("name", "")
            title = f"{path}.{name}" if path != name else name
            failed = failed_element is not None and not skip
            found.append(Annotation(path, line, "failure" if failed else "notice", title,
                                    message, stack))
    return found


def dorny_annotations(xml_text: str, report_path: str) -> list[Annotation]:
    """test-reporter's annotations for the java-junit reporter (nothing tracked)."""
    root = ET.fromstring(xml_text.encode("utf-8"))
    suites = root.findall("testsuite") if root.tag == "testsuites" else [root]
    found: list[Annotation] = []
    for suite in suites:
        suite_name = suite.get("name", "").strip()
        for case in suite.findall("testcase"):
            failures = case.findall("failure") or case.findall("error")
            if not failures:
                continue
            failure = failures[0]
            details = failure.text or ""
            classname = case.get("classname", "")
            group = "" if classname == suite.get("name") else classname
            test = f"{group} ► {case.get('name', '').strip()}" if group else \
                case.get("name", "").strip()
            first = next((line for line in details.splitlines() if line.strip()), None)
            message = failure.get("message")
            if message is None:
                message = first or "Test failed"
            body = "\n".join(["Failed test found in:", f"  {report_path}", "Error:",
                              "\n".join("  " + line for line in message.split("\n"))])
            found.append(Annotation(report_path, 0, "failure", f"{suite_name} ► {test}",
                                    body, details))
    return found

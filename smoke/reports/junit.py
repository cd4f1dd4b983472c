"""JUnit XML: one testsuite for the run, one testcase per check.

Written for the readers that matter: GitLab's ``artifacts:reports:junit`` (testcase
name, classname, time, failure/error/skipped, system-out) and the Jenkins ``junit``
step (the Ant/Surefire shape). A failure's ``type`` is the category, but GitLab shows
neither ``type`` nor ``message``, only the test case name and the failure body: so the
body's first line starts with the category too (``auth: HTTP 401 …``). Per-check facts
go in ``<properties>`` inside the testcase (the Surefire/pytest xunit2 place); readers
that do not know them skip them.

Outside text (answers, error bodies, ids) can hold ``[[ATTACHMENT|path]]``, which GitLab
and Jenkins' junit-attachments plugin turn into a link to a file of the job: every text
goes through :func:`smoke.output.commands.defuse_junit` in :func:`clean`.
"""

from __future__ import annotations

import re
import socket
import xml.etree.ElementTree as ET
from datetime import datetime

from smoke.output import redact
from smoke.output.commands import defuse_junit
from smoke.results import Check, GateResult

# XML 1.0 allows TAB, LF, CR and these ranges; anything else (NUL, ESC, lone
# surrogates from a JSON body, U+FFFE/U+FFFF) makes the file unparseable.
# What XML 1.0 does not allow (control characters but tab, LF, CR; surrogates; U+FFFE,
# U+FFFF), spelled positively: the negated class with astral ranges costs ~3 ms to compile.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
MESSAGE_LIMIT = 1000


def clean(text: object) -> str:
    """``text`` as a string that XML 1.0 can carry, scrubbed before the XML escaping can
    split a secret ("a&b" becomes "a&amp;b", which the writer's scrub would not match),
    with no attachment marker a JUnit reader would follow."""
    return defuse_junit(_ILLEGAL.sub("", redact.scrub(str(text))))


def _seconds(ms: int) -> str:
    return f"{max(ms, 0) / 1000:.3f}"


def _timestamp(started_at: str) -> str:
    """The Ant schema's ``timestamp``: ISO 8601 without zone or fraction (UTC here)."""
    try:
        moment = datetime.fromisoformat(started_at.replace("Z", "+00:00"))
    except ValueError:
        return ""
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _properties(parent: ET.Element, values: dict[str, object]) -> None:
    props = ET.SubElement(parent, "properties")
    for name, value in values.items():
        ET.SubElement(props, "property", name=name,
                      value=clean("" if value is None else value))


def _details(check: Check) -> str:
    """The failure element's text: category and message on the first line (all GitLab
    shows besides the test case name), then what to do, steps and attempts."""
    label = check.category.value if check.category else "internal"
    lines = [f"{label}: {check.message}"]
    if check.category:
        lines += [f"hint: {check.hint}", f"docs: {check.category.docs_url}"]
        owner = check.responsible
        if owner is not None:
            lines.append(f"owner: {owner.label}")
            if owner.runbook:
                lines.append(f"runbook: {owner.runbook}")
    if check.http_status is not None:
        lines.append(f"http status: {check.http_status}")
    if check.request_id:
        lines.append(f"request id: {check.request_id}")
    if check.client_request_id:
        lines.append(f"client request id: {check.client_request_id}")
    if check.output_excerpt:
        lines.append(f"output excerpt: {check.output_excerpt}")
    if check.reproduce and check.outcome == "fail":
        lines.append(f"reproduce:\n{check.reproduce}")
    for step in check.steps:
        lines.append(f"step {step.name}: {step.outcome}" + (f" ({step.message})"
                                                           if step.message else ""))
    for attempt in check.attempt_log:
        status = attempt.http_status if attempt.http_status is not None else "-"
        lines.append(f"attempt {attempt.number}: HTTP {status}, {attempt.category or 'ok'}, "
                     f"{attempt.duration_ms} ms" + (f", {attempt.message}"
                                                    if attempt.message else ""))
    return clean("\n".join(lines))


def _testcase(suite: ET.Element, check: Check) -> None:
    case = ET.SubElement(suite, "testcase", name=clean(check.id),
                         classname=f"chat-smoke.{clean(check.kind)}",
                         time=_seconds(check.duration_ms))
    _properties(case, {
        "name": check.name,
        "model": check.model,
        "attempts": check.attempts,
        "request_id": check.request_id,
        "client_request_id": check.client_request_id,
        "duration_ms": check.duration_ms,
        "http_status": check.http_status,
        "category": check.category.value if check.category else None,
    })
    message = clean(check.message)[:MESSAGE_LIMIT]
    if check.outcome == "fail" and check.category is not None:
        failure = ET.SubElement(case, "failure", type=check.category.value, message=message)
        failure.text = _details(check)
    elif check.outcome == "fail":
        # No category means chat-smoke itself broke: an error, not a finding.
        error = ET.SubElement(case, "error", type="internal", message=message)
        error.text = _details(check)
    elif check.outcome == "cancelled":
        # Not a pass and not a finding: the run was stopped before this check finished.
        error = ET.SubElement(case, "error", type="cancelled", message=message)
        error.text = _details(check)
    elif check.outcome == "skip":
        ET.SubElement(case, "skipped", message=message)
    if check.answer:
        ET.SubElement(case, "system-out").text = clean(f"answer: {check.answer}")


def render(result: GateResult) -> str:
    failures = sum(1 for c in result.checks if c.outcome == "fail" and c.category is not None)
    errors = sum(1 for c in result.checks
                 if (c.outcome == "fail" and c.category is None) or c.outcome == "cancelled")
    skipped = sum(1 for c in result.checks if c.outcome == "skip")
    counts = {"tests": str(len(result.checks)), "failures": str(failures),
              "errors": str(errors), "skipped": str(skipped),
              "time": _seconds(result.duration_ms)}
    root = ET.Element("testsuites", {"name": "chat-smoke", **counts})
    suite = ET.SubElement(root, "testsuite", {
        "name": "chat-smoke", **counts, "timestamp": _timestamp(result.started_at),
        "hostname": clean(socket.gethostname() or "localhost")})
    _properties(suite, {
        "verdict": result.verdict,
        "exit_code": result.exit_code,
        "category": result.category.value if result.category else None,
        "environment": result.environment,
        "deployment_sha": result.deployment_sha,
        "base_url": result.endpoint.get("base_url", ""),
        "prompt_version": result.prompt_version,
    })
    for check in result.checks:
        _testcase(suite, check)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"

"""The JUnit file as third-party readers take it (issue 21): valid against the published
schemas (xunit's junit-10.xsd binding, windyroad's JUnit.xsd informative), and read by
junitparser and by re-implementations of GitLab's, mikepenz/action-junit-report's and
dorny/test-reporter's parsers (tests/support/ci_parsers.py), each showing the failure's category
and message where its users look."""

from __future__ import annotations

import io
import re

import pytest
from junitparser import Error, Failure, JUnitXml

from smoke import pipeline
from smoke.categories import CANCELLED_HINT, Category
from smoke.output.console import Console
from smoke.reports import junit
from smoke.results import Check, GateResult
from smoke.stub import StubServer
from tests.support import junit_schema
from tests.support.ci_parsers import dorny_annotations, gitlab_cases, mikepenz_annotations
from tests.support.cli import KEY
from tests.support.results import gate_result

# What windyroad's JUnit.xsd still rejects, on purpose (docs/reports.md says why):
# <testsuites> attributes (GitLab and dorny read its time) and a testcase's system-out
# (GitLab shows only a testcase's, after the failure body).
WINDYROAD_KNOWN = (
    re.compile(r"Element 'testsuites', attribute '(name|tests|failures|errors|time)': The "
               r"attribute '\w+' is not allowed\."),
    re.compile(r"Element 'system-out': This element is not expected\.( Expected is one of "
               r"\( skipped, error, failure \)\.)?"),
)


def _run(stub: StubServer, models: str, **flags: str) -> GateResult:
    result, _ = pipeline.check({"base_url": stub.url(), "model": models, "api_key_env": "K",
                          "retries": "0", **flags}, {"K": KEY}, console=Console(io.StringIO()))
    return result


def _by_hand(*checks: Check, cancelled_by: int | None = None) -> GateResult:
    """A result no single run gives; ``cancelled_by``: the exit code of a signal."""
    return gate_result(*checks, stopped="cancelled" if cancelled_by else None,
                       stop_code=cancelled_by, duration_ms=40, environment="prod",
                       deployment_sha=None, endpoint={"base_url": "https://gw.example.test/v1"})


def _cancelled() -> Check:
    return Check("positive:slow-model", "positive", "chat completion (slow-model)",
                 "slow-model", duration_ms=30).cancel(
        "cancelled by SIGTERM after 2.1 s, before the answer came")


def _internal() -> Check:
    return Check("positive:m", "positive", "chat completion (m)", "m", outcome="fail",
                 message="internal error: KeyError: 'choices'")


@pytest.fixture(scope="module")
def failing(stub: StubServer) -> GateResult:
    """One run, every fate: a pass, an auth, an assertion, an upstream and a model failure,
    a stream check, the negative checks and a skip."""
    return _run(stub, "stub-model,scenario/bad-key,scenario/wrong-answer,"
                "scenario/server-error,scenario/unknown-model",
                stream="true", negative="invalid-model,missing-field,invalid-key")


def _expected(check: Check) -> str:
    """What the reader must show first: the category (or cancelled / internal), then the
    check's message."""
    kind = ("cancelled" if check.outcome == "cancelled"
            else check.category.value if check.category else "internal")
    return f"{kind}: {check.message}"


def _results(failing: GateResult) -> list[GateResult]:
    return [failing, _by_hand(_cancelled(), cancelled_by=143),
            _by_hand(_internal())]


def test_the_schemas_are_where_the_tests_read_them() -> None:
    junit_schema.require()
    assert junit_schema.errors('<testsuites><testsuite name="x" tests="1" failures="0" '
                               'errors="0"><testcase name="t"><properties/></testcase>'
                               "</testsuite></testsuites>")  # the old shape: rejected


def test_valid_against_junit_10_and_windyroad_where_free(failing: GateResult) -> None:
    junit_schema.require()
    for result in _results(failing):
        text = junit.render(result)
        assert junit_schema.errors(text) == []
        left = [e for e in junit_schema.errors(text, junit_schema.INFORMATIVE)
                if not any(known.search(e) for known in WINDYROAD_KNOWN)]
        assert left == [], left


def test_junitparser_reads_category_and_message(failing: GateResult) -> None:
    for result in _results(failing):
        xml = JUnitXml.fromstring(junit.render(result).encode("utf-8"))
        cases = {case.name: case for suite in xml for case in suite}
        for check in result.checks:
            if check.outcome not in ("fail", "cancelled"):
                continue
            (found,) = cases[check.id].result
            assert isinstance(found, Failure if check.category else Error)
            assert found.message == _expected(check)[:junit.MESSAGE_LIMIT]
            assert found.type == _expected(check).split(":")[0]
            assert (found.text or "").startswith(_expected(check))


def test_gitlab_shows_category_message_and_answer(failing: GateResult) -> None:
    for result in _results(failing):
        cases = {c.name: c for c in gitlab_cases(junit.render(result))}
        assert len(cases) == len(result.checks)
        for check in result.checks:
            case = cases[check.id]
            assert case.classname == "chat-smoke"
            if check.outcome == "fail":
                assert case.status == ("failed" if check.category else "error")
            elif check.outcome == "cancelled":
                assert case.status == "error"
                assert "internal" not in (case.system_output or "")
                assert CANCELLED_HINT in (case.system_output or "")
            if check.outcome in ("fail", "cancelled"):
                # GitLab shows this text and nothing of message= or type=.
                assert (case.system_output or "").startswith(_expected(check))
                if check.answer:
                    assert f"answer: {check.answer}" in (case.system_output or "")
    wrong = next(c for c in failing.checks if c.id == "positive:scenario/wrong-answer")
    shown = {c.name: c for c in gitlab_cases(junit.render(failing))}[wrong.id].system_output
    assert wrong.answer and f"answer: {wrong.answer}" in (shown or "")


def test_mikepenz_annotates_with_the_category_and_no_made_up_file(
        failing: GateResult) -> None:
    for result in _results(failing):
        annotations = {a.title.split(".", 1)[-1]: a
                       for a in mikepenz_annotations(junit.render(result))}
        for check in result.checks:
            annotation = annotations[check.id]
            # The file is the tool's name (a chat-smoke.yml in the workspace, once its glob
            # runs), never a check kind such as "positive".
            assert annotation.path == "chat-smoke"
            assert annotation.title == f"chat-smoke.{check.id}"
            if check.outcome in ("fail", "cancelled"):
                assert annotation.level == "failure"
                assert annotation.message == _expected(check)[:junit.MESSAGE_LIMIT].strip()
                assert annotation.line == 1
            else:
                assert annotation.level == "notice"


def test_dorny_annotates_with_the_category(failing: GateResult) -> None:
    for result in _results(failing):
        annotations = {a.title: a for a in dorny_annotations(junit.render(result), "junit.xml")}
        failed = [c for c in result.checks if c.outcome in ("fail", "cancelled")]
        assert len(annotations) == len(failed)
        for check in failed:
            annotation = annotations[f"chat-smoke ► {check.id}"]
            assert annotation.path == "junit.xml"
            assert f"Error:\n  {_expected(check)[:junit.MESSAGE_LIMIT]}" in annotation.message


def test_gitlab_would_not_drop_the_file_for_a_type_it_disallows() -> None:
    # ActiveSupport's XML converter fails the whole file on type="symbol"/"yaml": no
    # category, cancelled or internal may be one of those names.
    kinds = {c.value for c in Category} | {"cancelled", "internal"}
    assert not kinds & {"symbol", "yaml", "array", "file", "integer", "boolean"}

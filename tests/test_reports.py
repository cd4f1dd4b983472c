"""The JUnit, Markdown and dotenv reports: read back by the libraries their consumers use
(junitparser for JUnit, cmark-gfm, GitHub's own Markdown engine, for the summary)."""

from __future__ import annotations

import html as html_lib
import io
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from junitparser import Error, Failure, JUnitXml, Properties, Skipped

from smoke import pipeline
from smoke.categories import Category
from smoke.errors import ReportError
from smoke.output import redact
from smoke.output.console import Console
from smoke.reports import dotenv, junit
from smoke.reports.summary import markdown
from smoke.results import Check, GateResult
from smoke.stub import StubServer
from smoke.stub.scenarios import HOSTILE
from tests.support.cli import KEY
from tests.support.github_filters import filtered_text, notifications
from tests.support.results import gate_result

NASTY = HOSTILE + "\x00\x1b[31m\ud800\uffff]]><![CDATA[ & \"quotes\" \t tab\r\nline"


def _run(stub: StubServer, models: str, scenario: str | None = None,
         **flags: str) -> GateResult:
    result, _ = pipeline.check({"base_url": stub.url(scenario), "model": models,
                          "api_key_env": "K", "environment": "staging", "retries": "0",
                          **flags}, {"K": KEY, "GITHUB_SHA": "4f1c2a9"},
                         console=Console(io.StringIO()))
    return result


def _nasty_check(i: int = 0, message: str = NASTY) -> Check:
    check = Check(f"positive:m{i}", "positive", f"chat completion (m{i})", f"m{i}",
                  http_status=200, attempts=2, duration_ms=17, request_id="req_|<b>x</b>")
    return check.fail(Category.ASSERTION, message)


# -- JUnit ------------------------------------------------------------------------------
def test_junit_has_one_testcase_per_check(tmp_path: Path, stub: StubServer) -> None:
    # A model id scenario/NAME picks the stub's scenario per request: one run, three fates.
    result = _run(stub, "stub-model,scenario/wrong-answer,scenario/server-error",
                  negative="invalid-model")
    path = tmp_path / "junit.xml"
    path.write_text(junit.render(result), "utf-8")
    xml = JUnitXml.fromfile(str(path))
    suites = list(xml)
    assert len(suites) == 1
    cases = {case.name: case for case in suites[0]}
    assert set(cases) == {c.id for c in result.checks}
    assert "negative:invalid-model" in cases
    assert suites[0].tests == len(result.checks)
    assert suites[0].failures == len(result.failures)
    for check in result.checks:
        case = cases[check.id]
        # One classname: a reader that takes a file from it (mikepenz) names the tool.
        assert case.classname == "chat-smoke"
        assert case.time == pytest.approx(check.duration_ms / 1000, abs=0.001)
        # junit-10.xsd allows no <properties> in a testcase: the facts are system-out lines.
        assert not list(case.iterchildren(Properties))
        facts = dict(line.split(": ", 1) for line in (case.system_out or "").splitlines()
                     if not line.startswith("answer: "))
        assert facts["attempts"] == str(check.attempts)
        assert facts["duration_ms"] == str(check.duration_ms)
        assert facts.get("request_id") == check.request_id
        assert facts.get("http_status") == (None if check.http_status is None
                                            else str(check.http_status))
        assert facts.get("category") == (check.category.value if check.category else None)
        if check.outcome == "fail":
            (failure,) = case.result
            assert isinstance(failure, Failure)
            assert failure.type == check.category.value if check.category else "internal"
            # The category leads the message attribute, as it leads the body.
            assert failure.message == f"{failure.type}: {check.message}"
            assert (failure.text or "").startswith(f"{failure.type}: {check.message}")
        else:
            assert case.is_passed
    kinds = {case.name: case.result[0].type for case in suites[0] if case.result}
    assert kinds["positive:scenario/wrong-answer"] == "assertion"
    assert kinds["positive:scenario/server-error"] == "upstream"


def test_junit_survives_any_text() -> None:
    skipped = Check("stream:m", "stream", "streaming", "m", outcome="skip", message="off\x07")
    broken = Check("positive:m9", "positive", "chat completion (m9)", "m9", outcome="fail",
                   message="internal error: KeyError\x00")
    text = junit.render(gate_result(_nasty_check(), skipped, broken))
    root = ET.fromstring(text.encode("utf-8"))  # strict XML 1.0 parser
    failure = root.find(".//testcase[@name='positive:m0']/failure")
    assert failure is not None
    assert "\x00" not in text and "\x1b" not in text
    assert failure.get("message", "").startswith("assertion: pong\n::error title=pwned::owned")
    assert "</details><script>" in failure.get("message", "")
    xml = JUnitXml.fromstring(text.encode("utf-8"))  # lxml: bytes, as a file is read
    results = {case.name: case.result for suite in xml for case in suite}
    assert isinstance(results["stream:m"][0], Skipped)
    assert isinstance(results["positive:m9"][0], Error)


# -- Markdown escaping ---------------------------------------------------------------------
@pytest.mark.parametrize(("text", "escaped"), [
    ("plain words", "plain words"),
    ("a | b", "a \\| b"),
    ("<script>x</script>", "&lt;script&gt;x&lt;/script&gt;"),
    ("</details>", "&lt;/details&gt;"),
    ("two\nlines\r\nhere", "two lines here"),
    ("`code` *em* _u_ ~s~", "\\`code\\` \\*em\\* \\_u\\_ \\~s\\~"),
    ("[link](http://evil.example)", "\\[link\\](http\\://evil.example)"),
    ("# heading", "\\# heading"),
    ("- item", "\\- item"),
    ("1. first", "1\\. first"),
    ("www.evil.example", "www\\.evil.example"),
    ("a@b.example", "a@&#8203;b.example"),
    ("@everyone and @acme/sec, see #12", "@&#8203;everyone and @&#8203;acme/sec, see #&#8203;12"),
    ("not a ref: #x @ #", "not a ref\\: \\#x \\@ \\#"),
    ("\\@bob", "\\\\@&#8203;bob"),
    ("$x^2$ &amp;", "\\$x^2\\$ &amp;amp;"),
    ("nul\x00 esc\x1b", "nul esc"),
    (None, ""),
    (False, "false"),
    (42, "42"),
])
def test_md_escapes_outside_text(text: Any, escaped: str) -> None:
    assert markdown.md(text) == escaped


def test_pre_keeps_lines_and_escapes_html() -> None:
    assert markdown.pre("a\r\n</pre><b>&") == "a\n&lt;/pre&gt;&lt;b&gt;&amp;"


@pytest.mark.parametrize("text", [
    NASTY, "x" * 300, "see https://gw.example.test/" + "path/" * 40 + " ok",
    "aaaaaaaaaaaaaaaaaawww.evil.example/[link](javascript:alert(1))" * 3,
    "a@b.example-" * 10, "`" * 50 + "<script>" + "*" * 50, "-" * 60, "&amp;" * 30,
])
def test_cell_is_md_plus_invisible_breaks(text: str) -> None:
    cell, plain = _html(markdown.cell(text)), _html(markdown.md(text))
    # The same text as a browser shows it (runs of white space are one space in HTML).
    assert cell.replace("<wbr />", "").replace("<wbr>", "").split() == plain.split()
    assert set(re.findall(r"<(\w+)", cell)) <= {"p", "wbr"}


def test_code_cannot_be_closed_by_backticks() -> None:
    assert markdown.code("``x``") == "<code>\\`\\`x\\`\\`</code>"


@pytest.mark.parametrize("text", [
    "@everyone", "ping @acme/security now", "(@bob)", "see #12 and acme/app#7", "@Bob.",
    "x \\@carol", "**@dave** <b>@erin</b> `@frank` #3", "mail gina@acme.example, cc @hal",
])
def test_outside_text_mentions_nobody_and_references_no_issue(text: str) -> None:
    """GitHub notifies "@name" and cross-references "#12" even when escaped ("\\@name"): what
    reaches a PR comment from a server or a model must do neither, and still read the same."""
    assert notifications(_html(f"Failed: {text}"))  # as written, it would notify
    for render in (markdown.md, markdown.cell):
        html = _html(f"Failed: {render(text)}")
        assert notifications(html) == [] and "<a " not in html, html
        shown = "".join(filtered_text(html)).replace("\u200b", "")
        assert " ".join(shown.split()) == " ".join(f"Failed: {text}".split())


def test_code_shows_a_mention_without_the_zero_width_space() -> None:
    assert markdown.code("@acme/platform") == "<code>\\@acme/platform</code>"
    assert notifications(_html(markdown.code("@acme/platform"))) == []


def _html(text: str) -> str:
    cmarkgfm = pytest.importorskip("cmarkgfm", reason="cmarkgfm renders as GitHub does")
    from cmarkgfm.cmark import Options

    html: str = cmarkgfm.github_flavored_markdown_to_html(text, options=Options.CMARK_OPT_UNSAFE)
    return html


def test_hostile_text_stays_text_in_the_rendered_summary() -> None:
    checks = [Check("preflight:config", "preflight", "configuration", outcome="pass"),
              _nasty_check(0), _nasty_check(1, "[click](https://evil.example) **bold**")]
    text = markdown.render(gate_result(*checks, warnings=["warn <img src=x onerror=alert(1)>"]))
    assert "<script>" not in text and "<img" not in text
    html = _html(text)
    assert "<script" not in html and "<img" not in html and "<strong>bold" not in html
    hrefs = re.findall(r'href="([^"]+)"', html)
    assert hrefs and all(h.startswith(Category.ASSERTION.docs_url.split("#")[0]) for h in hrefs)
    tables = re.findall(r"<table>.*?</table>", html, re.S)
    rows = re.findall(r"<tr>(.*?)</tr>", tables[0], re.S)
    # The passing configuration check is bookkeeping: in the configuration block only.
    assert len(rows) == 1 + len([c for c in checks if c.outcome == "fail"])
    assert {len(re.findall(r"<t[dh]>", row)) for row in rows} == {6}
    assert "preflight:config" not in tables[0] and "preflight:config" in tables[-1]
    assert html.count("<pre>") == html.count("</pre>") == 2
    assert "<details>" in html and html.count("</details>") == 1
    assert len(re.findall(r"<h[1-6]>", html)) == 4  # banner, next steps, two incidents


def test_the_summary_has_what_a_ticket_needs(stub: StubServer) -> None:
    text = markdown.render(_run(stub, "stub-model", "bad-key"))
    assert text.startswith("## ❌ chat-smoke failed on staging\\: auth (exit 3)")
    incident = text.split("<pre>")[1].split("</pre>")[0]
    for fact in ("timestamp:", "environment:    staging", "endpoint:",
                 "/s/bad-key/v1/chat/completions", "model:          stub-model",
                 "http status:    401", "error:", "duration:", "deployment sha: 4f1c2a9",
                 "request id:     req_"):
        assert fact in incident, fact
    assert "### What to do next" in text and Category.AUTH.hint in text
    assert Category.AUTH.docs_url in text
    assert "Configuration (redacted)" in text and "set (from K)" in text


def test_the_summary_stays_under_budget_whatever_the_server_sends() -> None:
    # Each message differs (identical failures would share one incident block).
    checks = [_nasty_check(i, f"{i} " + "x" * 5000 + "<pre>") for i in range(600)]
    text = markdown.render(gate_result(*checks))
    assert len(text.encode("utf-8")) < markdown.BUDGET < 1024 * 1024
    assert text.rstrip().endswith("report.json has every check.")
    assert text.count("<pre>") == text.count("</pre>")
    assert text.count("<details>") == text.count("</details>")
    compact = markdown.render(gate_result(*checks), compact=True)
    assert len(compact.encode("utf-8")) < markdown.COMPACT_BUDGET < 65_536
    assert compact.rstrip().endswith("report.json has every check.")
    assert compact.count("<details>") == compact.count("</details>")


def _table_ids(text: str) -> list[str]:
    """The Check column of the summary's first table, as rendered."""
    table = re.findall(r"<table>.*?</table>", _html(text), re.S)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]
    return [re.sub(r"<[^>]+>", "", re.findall(r"<td>(.*?)</td>", row, re.S)[1])
            for row in rows]


def _check(check_id: str, outcome: str, category: Category | None = None,
           **fields: Any) -> Check:
    fields.setdefault("model", check_id.split(":")[-1])
    fields.setdefault("message", f"{check_id} {outcome}")
    check = Check(check_id, check_id.split(":")[0], check_id, **fields)
    check.outcome = outcome  # type: ignore[assignment]  # "cancelled" is a newer outcome
    check.category = category
    return check


def test_rows_lead_with_the_deciding_failure() -> None:
    # Plan order: bookkeeping, passes, a skip, a warning, then failures of every group.
    checks = [
        _check("preflight:config", "pass"),
        *[_check(f"positive:p{i}", "pass") for i in range(2)],
        _check("stream:s", "skip"),
        _check("positive:w", "pass", warnings=["slow"]),
        _check("positive:up", "fail", Category.UPSTREAM),
        _check("positive:as", "fail", Category.ASSERTION),
        _check("positive:mo", "fail", Category.MODEL),
        _check("positive:au", "fail", Category.AUTH),
        _check("positive:au2", "fail", Category.AUTH),
    ]
    result = gate_result(*checks)
    assert (result.exit_code, result.category) == (3, Category.AUTH)
    text = markdown.render(result)
    assert _table_ids(text) == ["positive:au", "positive:au2", "positive:mo", "positive:as",
                                "positive:up", "positive:w", "stream:s", "positive:p0",
                                "positive:p1"]
    lead = _html(text).split("<blockquote>")[1].split("</blockquote>")[0]
    assert "Deciding failure: positive:au" in lead and Category.AUTH.hint in lead
    assert f"Owner:</strong> {Category.AUTH.owner}" in lead
    assert "⚠️\u00a0pass" in text and "⏭️\u00a0skip" in text
    # A cancelled check ranks after 2, 3, 4 and 6 and before 5 in a failed run ...
    checks.insert(1, _check("positive:c", "cancelled"))
    assert _table_ids(markdown.render(gate_result(*checks)))[
        :6] == ["positive:au", "positive:au2", "positive:mo", "positive:as", "positive:c",
                "positive:up"]
    # ... and the first cancelled check leads a cancelled run.
    cancelled = markdown.render(gate_result(*checks, stopped="cancelled", stop_code=130))
    assert _table_ids(cancelled)[0] == "positive:c"
    assert cancelled.startswith("## ⏹️ chat-smoke was cancelled on staging (exit 130)")
    assert "Cancelled first: positive\\:c" in cancelled


def test_more_than_three_passes_fold() -> None:
    passes = [_check(f"positive:p{i}", "pass") for i in range(4)]
    text = markdown.render(gate_result(_check("preflight:config", "pass"), *passes))
    html = _html(text)
    assert "<details><summary>4 checks passed</summary>" in html
    assert html.index("4 checks passed</summary>") < html.index("positive:p0")
    # The tally counts every check, as JUnit does: the configuration check too.
    assert "<strong>5 checks passed (1 of them configuration)</strong>" in html
    three = _html(markdown.render(gate_result(*passes[:3])))
    assert "checks passed</summary>" not in three and "positive:p2" in three


def test_identical_failures_share_one_incident(stub: StubServer) -> None:
    # Three models refused the same key: the same category, status and message.
    text = markdown.render(_run(stub, "stub-model,gpt-4o-mini,gpt-5-mini", "bad-key"))
    # One incident: its facts, and the first check's command in a block of its own.
    assert text.count("### Incident") == 1 and text.count("<pre>") == 2
    assert "### Incident: auth, HTTP 401 in 3 checks" in text
    incident = text.split("<pre>")[1].split("</pre>")[0]
    assert "models:         stub-model, gpt-4o-mini, gpt-5-mini" in incident
    assert "checks:         positive:stub-model, positive:gpt-4o-mini," in incident
    assert len(re.findall(r"req_[0-9a-f]{32}", incident)) == 3
    # The same message once the model id is removed groups; any other difference splits.
    same = [_check(f"positive:{m}", "fail", Category.MODEL, http_status=404, model=m,
                   message=f"The model `{m}` does not exist") for m in ("a-1", "b-22")]
    other = _check("positive:c", "fail", Category.MODEL, http_status=404, model="c",
                   message="The model `c` is retired")
    grouped = markdown.context(gate_result(*same, other))
    assert [i["checks"] for i in grouped["incidents"]] == [
        ["positive:a-1", "positive:b-22"], ["positive:c"]]


def test_details_are_cut_and_incident_lines_fit() -> None:
    long = "First sentence says why. " + "Then a lot more words follow here. " * 20
    checks = [_nasty_check(0, long), _nasty_check(1, "y" * 5000 + " " + NASTY * 30)]
    text = markdown.render(gate_result(*checks))
    table = re.findall(r"<table>.*?</table>", _html(text), re.S)[0]
    cells = [re.sub(r"<[^>]+>", "", row.split("<td>")[-1]).strip() for row in
             re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]]
    assert cells[0].startswith("First sentence says why.") and cells[0].endswith("here. …")
    assert all(len(cell) < 200 for cell in cells)
    for block in re.findall(r"<pre>\n(.*?)</pre>", text, re.S):
        for line in block.splitlines():
            assert len(html_lib.unescape(line)) <= 100, line
    incident = html_lib.unescape(text.split("<pre>")[1])
    assert "Then a lot more words follow here." in incident  # the full text stays
    assert re.search(r"\n {16}\S", incident)  # continuation lines are indented


def test_the_compact_form(stub: StubServer) -> None:
    result = _run(stub, "stub-model,gpt-4o-mini", "bad-key")
    text = markdown.render(result, compact=True, run_url="https://github.com/o/r/actions/runs/7")
    html = _html(text)
    assert text.startswith("## ❌ chat-smoke failed on staging\\: auth (exit 3)")
    assert "Deciding failure: positive:stub-model" in html and "<table>" in html
    assert "What to do next" in html and "<pre>" not in html and "Configuration" not in html
    assert 'href="https://github.com/o/r/actions/runs/7"' in html
    bad = markdown.render(result, compact=True, run_url="https://x.example/a) [y](javascript:1")
    assert "javascript" not in bad and "x.example" not in bad


def test_a_user_template_gets_the_same_context(tmp_path: Path, stub: StubServer) -> None:
    template = tmp_path / "mine.md.j2"
    template.write_text(
        "{{ verdict }}|{{ exit_code }}|{{ category }}|{{ report.environment }}|"
        "{{ incidents | length }}|{{ next_steps[0].category }}|{{ failures[0].message }}|"
        "{{ checks | length }}|{{ '<b>' | raw }}")
    result = _run(stub, "stub-model", "hostile", expect="no-such-word")
    text = markdown.render(result, str(template))
    parts = text.split("|")
    assert parts[:6] == ["fail", "6", "assertion", "staging", "1", "assertion"]
    assert "&lt;script&gt;" in parts[6] and "<script>" not in parts[6]
    assert parts[-1] == "<b>"
    assert set(markdown.context(result)) >= {"verdict", "checks", "config", "incidents",
                                              "next_steps", "report", "banner", "failures"}


@pytest.mark.parametrize(("body", "problem"), [
    ("{% if %}", "line 1"),
    ("{{ no_such_thing.attr }}", "UndefinedError"),
])
def test_a_broken_user_template_says_where(tmp_path: Path, body: str, problem: str) -> None:
    template = tmp_path / "broken.md.j2"
    template.write_text(body)
    with pytest.raises(ReportError, match=problem) as caught:
        markdown.render(gate_result(), str(template))
    assert str(template) in str(caught.value) or "broken.md.j2" in str(caught.value)
    with pytest.raises(ReportError, match="cannot be read"):
        markdown.render(gate_result(), str(tmp_path / "missing.j2"))


def test_jinja_is_imported_only_for_a_summary() -> None:
    code = ("import sys, smoke.pipeline, smoke.ci.github, smoke.reports as r\n"
            "from smoke.reports import junit, dotenv\n"
            "assert 'jinja2' not in sys.modules, 'imported too early'\n"
            "from smoke.reports.summary import markdown\n"
            "assert 'jinja2' not in sys.modules, 'imported by the module'\n")
    subprocess.run([sys.executable, "-c", code], check=True)


# -- dotenv --------------------------------------------------------------------------------
def test_dotenv_is_what_gitlab_accepts(stub: StubServer) -> None:
    text = dotenv.render(_run(stub, "stub-model", "bad-key"))
    lines = text.splitlines()
    assert [line.split("=")[0] for line in lines] == [
        "CHAT_SMOKE_VERDICT", "CHAT_SMOKE_CATEGORY", "CHAT_SMOKE_EXIT_CODE",
        "CHAT_SMOKE_REQUEST_ID", "CHAT_SMOKE_DURATION_MS", "CHAT_SMOKE_OWNER"]
    values = dict(line.split("=", 1) for line in lines)
    assert values["CHAT_SMOKE_OWNER"] == "the-secrets-owner"
    assert (values["CHAT_SMOKE_VERDICT"], values["CHAT_SMOKE_CATEGORY"],
            values["CHAT_SMOKE_EXIT_CODE"]) == ("fail", "auth", "3")
    assert re.fullmatch(r"req_[0-9a-f]+", values["CHAT_SMOKE_REQUEST_ID"])


def test_dotenv_survives_a_hostile_request_id() -> None:
    check = _nasty_check()
    check.request_id = "id\nCHAT_SMOKE_VERDICT=pass\r\n#x " + "y" * 10_000
    text = dotenv.render(gate_result(check))
    assert len(text.encode()) < 5 * 1024
    assert all(re.fullmatch(r"[A-Za-z0-9_]+=[^\s]*", line) for line in text.splitlines())
    keys = [line.split("=", 1)[0] for line in text.splitlines()]
    assert keys == list(dotenv.values(gate_result(check))) and "\n\n" not in text


def test_a_key_with_markup_characters_is_scrubbed_before_escaping() -> None:
    # Escaping first would split the key ("&" -> "&amp;", "_" -> "\_") and hide it from
    # the writers' final scrub.
    key = "sk_li&ve<9%x_0123456789ab"
    redact.register(key)
    check = _nasty_check(message=f"Invalid key {key} sent")
    check.request_id = key
    result = gate_result(check)
    parsed = ET.fromstring(junit.render(result).encode())
    texts = [parsed.itertext(), *(e.attrib.values() for e in parsed.iter())]
    assert not [t for group in texts for t in group if "0123456789ab" in t]
    summary = markdown.render(result)
    assert "0123456789ab" not in summary and "\\*\\*\\*" in summary
    assert "0123456789ab" not in dotenv.render(result)


def test_shipped_compiled_template_is_current() -> None:
    """The package ships the built-in template compiled; it must be what compiling the
    source gives now (regenerate: python -m smoke.reports.summary.precompiled)."""
    from importlib import resources

    from smoke.reports.summary import markdown, precompiled

    folder = resources.files("smoke.reports.summary").joinpath("templates")
    source = folder.joinpath(precompiled.SOURCE).read_text("utf-8")
    shipped = folder.joinpath(precompiled.COMPILED).read_text("utf-8")
    assert shipped == precompiled.compile_source(markdown.environment(), source)


def test_compiled_and_fallback_render_the_same() -> None:
    from smoke.reports.summary import markdown, precompiled

    env = markdown.environment()
    source = precompiled.builtin(env)
    fresh = env.from_string(
        (Path(markdown.__file__).parent / "templates" / precompiled.SOURCE).read_text()
    )
    result = gate_result(_nasty_check())
    context = markdown.context(result)
    assert source.render(context) == fresh.render(context)

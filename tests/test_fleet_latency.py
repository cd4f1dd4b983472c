"""Latency where people look (issue 15): the summary table shows TTFB and total per check,
and the time to the first token for a stream check; the template context also carries
them per check as numbers (``ttfb_ms``, ``total_ms``, ``ttft_ms``)."""

from __future__ import annotations

import io

import cmarkgfm

from smoke import pipeline
from smoke.output.console import Console
from smoke.reports.summary import markdown
from smoke.stub import StubServer
from tests.support.cli import KEY


def test_the_table_shows_ttfb_total_and_first_token(stub: StubServer) -> None:
    result, _ = pipeline.check({"base_url": stub.url("slow:0.2"), "model": "stub-model",
                          "stream": True, "retries": "0"}, {"COMETAPI_API_KEY": KEY},
                         console=Console(io.StringIO()))
    assert result.exit_code == 0
    context = markdown.context(result)
    checks = {c["id"]: c for c in context["checks"]}
    positive, stream = checks["positive:stub-model"], checks["stream:stub-model"]
    assert positive["ttfb_ms"] >= 200 and positive["total_ms"] >= positive["ttfb_ms"]
    assert positive["ttft_ms"] is None
    assert stream["ttfb_ms"] >= 200 and stream["ttft_ms"] >= stream["ttfb_ms"]
    assert checks["preflight:config"]["ttfb_ms"] is None

    rows = {r["check"]: r["time"] for r in context["rows"] + context["passed"]}
    nbsp = "\u00a0"
    assert rows["positive:stub-model"] == (
        f"{positive['ttfb_ms']}{nbsp}ms / {positive['duration_ms']}{nbsp}ms")
    assert rows["stream:stub-model"] == (
        f"{stream['ttfb_ms']}{nbsp}ms / {stream['duration_ms']}{nbsp}ms, "
        f"first{nbsp}token {stream['ttft_ms']}{nbsp}ms")
    html = cmarkgfm.github_flavored_markdown_to_html(markdown.render(result))
    assert "<th>Time (TTFB / total)</th>" in html
    assert f"first{nbsp}token {stream['ttft_ms']}{nbsp}ms" in html

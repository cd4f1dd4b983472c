"""Latency where people look (issue 15): the summary table shows TTFB and total per check,
and the time to the first token for a stream check; the template context carries them."""

from __future__ import annotations

import io
import re

import cmarkgfm

from smoke import gate
from smoke.output.console import Console
from smoke.reports.summary import markdown
from smoke.stub import StubServer
from tests.conftest import KEY


def test_the_table_shows_ttfb_total_and_first_token(stub: StubServer) -> None:
    result, _ = gate.run({"base_url": stub.url("slow:0.2"), "model": "stub-model",
                          "stream": True, "retries": "0"}, {"COMETAPI_API_KEY": KEY},
                         console=Console(io.StringIO()))
    assert result.exit_code == 0
    rows = {c["id"]: c for c in markdown.context(result)["checks"]}
    positive, stream = rows["positive:stub-model"], rows["stream:stub-model"]
    assert positive["ttfb_ms"] >= 200 and positive["total_ms"] >= positive["ttfb_ms"]
    assert positive["ttft_ms"] is None
    assert stream["ttfb_ms"] >= 200 and stream["ttft_ms"] >= stream["ttfb_ms"]
    assert rows["preflight:config"]["ttfb_ms"] is None

    html = cmarkgfm.github_flavored_markdown_to_html(markdown.render(result))
    assert "<th>Time (TTFB / total)</th>" in html
    cells = {m.group(1): m.group(2) for m in re.finditer(
        r"<tr>\s*<td>[^<]*</td>\s*<td>([^<]+)</td>(?:\s*<td>[^<]*</td>){4}\s*<td>([^<]*)</td>",
        html)}
    assert cells["positive:stub-model"] == (
        f"{positive['ttfb_ms']} ms / {positive['total_ms']} ms")
    assert cells["stream:stub-model"] == (
        f"{stream['ttfb_ms']} ms / {stream['total_ms']} ms (first token {stream['ttft_ms']} ms)")
    assert cells["preflight:config"] == "–"

"""Issue 26, class 8: host syntax is config. A base URL whose host can't be parsed or
encoded (IPv6 brackets, spaces, invisible characters, labels over 63 characters, empty
labels, a name IDNA refuses) is a config error (exit 2) naming where the host is in the
URL, before anything is sent. Before: ``https://[::1/v1`` was exit 1, a space was
``connect`` (exit 5, "retry later"), an empty label was blamed on a redirect."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from smoke.config.url import normalize_url
from tests.support.hardkit import assert_reports, gate_all

BAD = [
    ("https://[::1/v1", 9, "not closed"),
    ("https://[::1]x/v1", 14, "after the IPv6"),
    ("https://[zz::1]/v1", 10, "not an IPv6 address"),
    ("https://api.exa mple.com/v1", 16, "space"),
    ("https://api.example.com\u200b/v1", 24, "U+200B"),
    ("https://api.exa\tmple.com/v1", 16, "U+0009"),
    ("https://api..example.com/v1", 13, "label 2 is empty"),
    ("https://.example.com/v1", 9, "label 1 is empty"),
    ("https://" + "a" * 64 + ".example.com/v1", 9, "64 characters"),
    ("https://api.exa%mple.com/v1", 16, "'%'"),
    ("https://\u2603.example/v1", 9, "internationalized"),
    ("https://xn--.example/v1", 9, "internationalized"),
    ("https:///v1", 9, "empty"),
]


@pytest.mark.parametrize(("url", "position", "problem"), BAD, ids=[b[0] for b in BAD])
def test_a_host_that_cannot_be_parsed_is_a_config_error(tmp_path: Path, url: str,
                                                        position: int, problem: str) -> None:
    run, wall = gate_all(tmp_path, "--base-url", url, "--model", "m", "--retries", "2")
    report = assert_reports(run, tmp_path)
    assert run.code == 2 and report["category"] == "config", run.stdout + run.stderr
    message = run.check("preflight:config")["message"]
    assert message.startswith("--base-url: the host of "), message
    assert f"at character {position}" in message and problem in message, message
    assert re.search(r"\(characters \d+-\d+ of the URL\)", message), message
    assert [c["id"] for c in report["checks"]] == ["preflight:config"]  # nothing sent


@pytest.mark.parametrize("url", [
    "https://bücher.example/v1", "https://xn--bcher-kva.example/v1",
    "https://under_score.internal/v1", "https://api.cometapi.com./v1",
    "https://[::1]:8443/v1", "https://[fe80::1%25eth0]/v1", "http://127.0.0.1:8080/v1",
    "https://" + "a" * 63 + ".example.com/v1",
])
def test_a_valid_host_is_not_refused(url: str) -> None:
    assert normalize_url(url, "--base-url")

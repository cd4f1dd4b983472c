"""The harness measures what it claims: a table or <pre> wider than GitHub's box is
reported, one that fits is not, and GitHub's sanitiser allowlist is applied."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

from tests.support.browser import harness

ROOT = Path(__file__).resolve().parents[2]


def test_the_harness_sees_sideways_scrolling(browser: harness.Browser) -> None:
    wide_table = "| a | b |\n|---|---|\n| " + "x" * 400 + " | y |\n"
    narrow_table = "| a | b |\n|---|---|\n| " + "word " * 400 + " | y |\n"
    wide_pre = "<pre>\n" + "z" * 300 + "\n</pre>\n"
    found = browser.measure({"wide-table": wide_table, "narrow-table": narrow_table,
                             "wide-pre": wide_pre})
    assert {box["boxWidth"] for box in found.values()} == {harness.WIDTH}
    (table,) = found["wide-table"]["wide"]
    assert table["tag"] == "table" and table["clientWidth"] == harness.WIDTH - 2 * harness.PADDING
    assert table["scrollWidth"] > 2000
    assert found["narrow-table"]["wide"] == []
    assert found["narrow-table"]["firstRow"][1] == "y"
    (pre,) = found["wide-pre"]["wide"]
    assert pre["tag"] == "pre" and pre["scrollWidth"] > 2000


def test_the_stylesheet_is_githubs_pinned_one(browser: harness.Browser) -> None:
    assert ".markdown-body" in browser.css and "max-content" in browser.css
    assert (harness.CACHE / f"{harness.CSS_PACKAGE}-{harness.CSS_VERSION}" / harness.CSS_FILE
            ).is_file()


def test_tags_github_would_strip_are_found() -> None:
    rendered = harness.to_html("<details><summary>x</summary>\n\n<pre>a<wbr>b</pre>\n\n"
                               "</details>\n\n<sub>s</sub> <font color=red>x</font> <img src=y>\n")
    assert harness.foreign_tags(rendered) == {"font"}


def test_the_readme_pictures_script_writes_both(browser: harness.Browser,
                                                tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "docs" / "images" / "make.py"),
                           str(tmp_path)], capture_output=True, text=True, timeout=300,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    for name in ("summary-pass.png", "summary-fail.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", data[16:24])
        assert width == harness.WIDTH and height > 300
    assert (ROOT / "docs" / "images" / "summary-pass.png").is_file()
    assert (ROOT / "docs" / "images" / "summary-fail.png").is_file()

"""Render Markdown as GitHub shows a job summary, in a real browser, and measure it.

The pieces are GitHub's own where they are public: its Markdown engine (``cmarkgfm``),
its stylesheet (``github-markdown-css`` from npm, pinned by version and integrity), and
Debian's Chromium in headless mode. A job summary's content box is about 1012 px wide
(:data:`WIDTH`), with 32 px of padding each side.

``python -m tests.support.browser.harness install`` installs what is missing (``.ci/run`` calls
it): Chromium and fonts through apt (as root), the stylesheet through ``npm pack`` into
:data:`CACHE`, which survives between runs.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WIDTH = 1012  # GitHub's job summary content width (the .markdown-body box), in px
PADDING = 32
CSS_PACKAGE = "github-markdown-css"
CSS_VERSION = "5.9.0"
CSS_INTEGRITY = ("sha512-tmT5sY+zvg2302XLYEfH2mtkViIM1SWf2nvYoF5N1ZsO0V6B2qZTiw3GOzw4vpjLyg"
                 "K/KG35qRlPFweHqfzz5w==")
CSS_FILE = "github-markdown-light.css"
# Chromium from Debian, and fonts metric-compatible with GitHub's stacks (Liberation for
# Arial/Helvetica and the monospace stack, Noto for the emoji in the outcome column).
APT_PACKAGES = ("chromium", "fonts-liberation", "fonts-noto-color-emoji")
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
CACHE = Path(os.environ.get("CHAT_SMOKE_BROWSER_CACHE")
             or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
             / "chat-smoke" / "browser")
# GitHub's HTML sanitiser keeps these elements (gjtorikian/html-pipeline,
# sanitization_filter.rb); a summary that needs any other one would be stripped.
GITHUB_TAGS = frozenset("""
    h1 h2 h3 h4 h5 h6 h7 h8 br b i strong em a pre code img tt div ins del sup sub p ol
    ul table thead tbody tfoot blockquote dl dt dd kbd q samp var hr ruby rt rp li tr td
    th s strike summary details caption figure figcaption abbr bdo cite dfn mark small
    span time wbr input""".split())
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--disable-default-apps", "--mute-audio",
         "--hide-scrollbars", "--force-color-profile=srgb")
TIMEOUT = 120  # seconds for one Chromium run: generous, the machine is shared


class BrowserUnavailable(RuntimeError):
    """Chromium or the stylesheet could not be found or installed; the message says why."""


# -- installing --------------------------------------------------------------------------
def chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _missing_packages() -> list[str]:
    if not shutil.which("dpkg-query"):
        return []
    missing = []
    for package in APT_PACKAGES:
        proc = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package],
                              capture_output=True, text=True, check=False)
        if "install ok installed" not in proc.stdout:
            missing.append(package)
    return missing


def install_chromium() -> str:
    """Chromium's path, installing it (and the fonts) through apt when missing."""
    missing = _missing_packages()
    found = chromium()
    if found and not missing:
        return found
    if not shutil.which("apt-get"):
        if found:
            return found
        raise BrowserUnavailable("chromium is not installed and there is no apt-get: "
                                 "install Chromium and put it on PATH")
    if os.geteuid() != 0:
        if found:
            return found
        raise BrowserUnavailable(
            f"chromium is not installed and installing it needs root: run "
            f"`sudo apt-get install {' '.join(APT_PACKAGES)}` or `python -m "
            f"tests.support.browser.harness install` as root")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (["apt-get", "update", "-q"],
                 ["apt-get", "install", "-y", "-q", "--no-install-recommends", *APT_PACKAGES]):
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            raise BrowserUnavailable(f"`{' '.join(argv)}` failed (exit {proc.returncode}): "
                                     + " / ".join(tail))
    found = chromium()
    if not found:
        raise BrowserUnavailable("apt-get installed chromium but it is not on PATH")
    return found


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def stylesheet() -> str:
    """GitHub's Markdown stylesheet, from the cache or ``npm pack`` (pinned, verified)."""
    folder = CACHE / f"{CSS_PACKAGE}-{CSS_VERSION}"
    target = folder / CSS_FILE
    if target.is_file():
        return target.read_text("utf-8")
    npm = shutil.which("npm")
    if not npm:
        raise BrowserUnavailable(f"npm is not installed: it fetches {CSS_PACKAGE}@{CSS_VERSION}"
                                 " (apt-get install npm)")
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        proc = subprocess.run(
            [npm, "pack", f"{CSS_PACKAGE}@{CSS_VERSION}", "--pack-destination", tmp,
             "--silent"], capture_output=True, text=True, timeout=300, check=False)
        tarballs = list(Path(tmp).glob("*.tgz"))
        if proc.returncode != 0 or not tarballs:
            raise BrowserUnavailable(f"npm pack {CSS_PACKAGE}@{CSS_VERSION} failed (exit "
                                     f"{proc.returncode}): {proc.stderr.strip()[-300:]}")
        data = tarballs[0].read_bytes()
        if _integrity(data) != CSS_INTEGRITY:
            raise BrowserUnavailable(f"{tarballs[0].name} does not match the pinned integrity "
                                     f"{CSS_INTEGRITY}")
        with tarfile.open(tarballs[0]) as archive:
            member = archive.extractfile(f"package/{CSS_FILE}")
            if member is None:
                raise BrowserUnavailable(f"{tarballs[0].name} has no {CSS_FILE}")
            text = member.read().decode("utf-8")
    partial = target.with_suffix(".partial")
    partial.write_text(text, "utf-8")
    partial.replace(target)  # atomic: a concurrent run never reads half a file
    return text


def install() -> tuple[str, str]:
    """(chromium path, stylesheet text), installing what is missing."""
    return install_chromium(), stylesheet()


# -- rendering ---------------------------------------------------------------------------
def to_html(markdown: str) -> str:
    """HTML as GitHub renders Markdown: cmark-gfm with its extensions. Raw HTML passes
    (GitHub's sanitiser then keeps only :data:`GITHUB_TAGS`; :func:`foreign_tags` checks
    that the summary never needs another one)."""
    import cmarkgfm
    from cmarkgfm.cmark import Options

    out: str = cmarkgfm.github_flavored_markdown_to_html(
        markdown, options=Options.CMARK_OPT_UNSAFE | Options.CMARK_OPT_GITHUB_PRE_LANG)
    return out


def foreign_tags(rendered: str) -> set[str]:
    """Elements in ``rendered`` that GitHub's sanitiser would strip."""
    return {t.lower() for t in re.findall(r"</?([A-Za-z][A-Za-z0-9-]*)", rendered)} - GITHUB_TAGS


_MEASURE = """
<script>
(() => {
  const out = {};
  for (const box of document.querySelectorAll("article.markdown-body")) {
    const wide = [];
    for (const el of box.querySelectorAll("table, pre")) {
      if (el.scrollWidth > el.clientWidth) {
        wide.push({tag: el.tagName.toLowerCase(), scrollWidth: el.scrollWidth,
                   clientWidth: el.clientWidth, text: el.textContent.slice(0, 120)});
      }
    }
    const table = box.querySelector("table");
    const row = table && table.querySelector("tbody tr");
    out[box.id] = {
      boxWidth: box.clientWidth, scrollWidth: box.scrollWidth,
      tables: box.querySelectorAll("table").length, pres: box.querySelectorAll("pre").length,
      widestTable: Math.max(0, ...[...box.querySelectorAll("table")].map(t => t.scrollWidth)),
      widestPre: Math.max(0, ...[...box.querySelectorAll("pre")].map(p => p.scrollWidth)),
      height: box.getBoundingClientRect().height,
      firstRow: row ? [...row.cells].map(c => c.textContent.trim()) : null,
      wide,
    };
  }
  const holder = document.createElement("pre");
  holder.id = "measurements";
  holder.textContent = JSON.stringify(out);
  document.body.appendChild(holder);
})();
</script>
"""


def page(summaries: Mapping[str, str], css: str, *, measure: bool = True,
         open_first: bool = False) -> str:
    """One HTML page with one ``.markdown-body`` box per summary (id = its name); with
    ``open_first`` the first ``<details>`` of each is shown open, as after a click."""
    boxes = []
    for name, markdown in summaries.items():
        body = to_html(markdown)
        if open_first:
            body = body.replace("<details>", "<details open>", 1)
        boxes.append(f'<article class="markdown-body" id="{html.escape(name)}">{body}</article>')
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>chat-smoke summary</title>
<style>{css}</style>
<style>
body {{ margin: 0; background: #ffffff; }}
.markdown-body {{ box-sizing: border-box; width: {WIDTH}px; padding: {PADDING}px; }}
</style></head>
<body>{"".join(boxes)}{_MEASURE if measure else ""}</body></html>
"""


@dataclass
class Browser:
    """Headless Chromium with a fresh profile per run."""

    executable: str
    css: str

    def _run(self, page_html: str, *args: str) -> subprocess.CompletedProcess[str]:
        with tempfile.TemporaryDirectory(prefix="chat-smoke-browser-") as tmp:
            source = Path(tmp) / "page.html"
            source.write_text(page_html, "utf-8")
            argv = [self.executable, *FLAGS, f"--user-data-dir={tmp}/profile", *args,
                    source.as_uri()]
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT,
                                  cwd=tmp, check=False)
            if proc.returncode != 0:
                raise BrowserUnavailable(f"chromium exited {proc.returncode}: "
                                         f"{proc.stderr.strip()[-500:]}")
            return proc

    def measure(self, summaries: Mapping[str, str], *,
                open_first: bool = False) -> dict[str, Any]:
        """Per summary: box and widest table/pre widths, every element that scrolls
        sideways (``wide``), the first body row of the first table, the height."""
        proc = self._run(page(summaries, self.css, open_first=open_first),
                         f"--window-size={WIDTH + 40},900", "--dump-dom")
        found = re.search(r'<pre id="measurements">(.*?)</pre>', proc.stdout, re.S)
        if not found:
            raise BrowserUnavailable("the page's measuring script left no result: "
                                     + proc.stderr.strip()[-300:])
        result: dict[str, Any] = json.loads(html.unescape(found.group(1)))
        return result

    def screenshot(self, markdown: str, target: Path, *, scale: float = 1.0,
                   open_first: bool = False) -> Path:
        """A PNG of one summary as GitHub shows it (``<details>`` closed unless
        ``open_first``), as tall as the summary."""
        measured = self.measure({"summary": markdown}, open_first=open_first)
        height = int(measured["summary"]["height"]) + 1
        target.parent.mkdir(parents=True, exist_ok=True)
        self._run(page({"summary": markdown}, self.css, measure=False, open_first=open_first),
                  f"--window-size={WIDTH},{height}", f"--force-device-scale-factor={scale}",
                  f"--screenshot={target.resolve()}")
        if not target.is_file():
            raise BrowserUnavailable(f"chromium wrote no screenshot to {target}")
        return target


def browser() -> Browser:
    executable, css = install()
    return Browser(executable, css)


if __name__ == "__main__":
    if sys.argv[1:] != ["install"]:
        sys.exit("usage: python -m tests.support.browser.harness install")
    try:
        b = browser()
    except BrowserUnavailable as exc:
        sys.exit(f"browser harness: {exc}")
    print(f"browser harness: {b.executable}, {CSS_PACKAGE}@{CSS_VERSION} in {CACHE}")

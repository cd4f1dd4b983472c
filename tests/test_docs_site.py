"""The documentation: the mkdocs site builds with --strict (a broken link or anchor between
pages fails), every documentation URL chat-smoke can print points at a file and, where it
names one, an anchor that exists in the repository (anchors as GitHub makes them), and the
README's own links resolve."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from smoke import scaffold
from smoke.categories import Category

REPO = Path(__file__).resolve().parents[1]
BLOB = "https://github.com/chat-smoke/chat-smoke/blob/main/"
RAW = "https://raw.githubusercontent.com/chat-smoke/chat-smoke/main/"
# A documentation reference in the program's text: a full URL of this repository, or a
# path under docs/ as some messages write it ("see docs/failures.md#config").
URL = re.compile(r"(?:https://github\.com/chat-smoke/chat-smoke/blob/main/|"
                 r"https://raw\.githubusercontent\.com/chat-smoke/chat-smoke/main/)"
                 r"([\w./-]+)(#[\w-]+)?")
BARE = re.compile(r"(?<![\w/.-])(docs/[\w/-]+\.md)(#[\w-]+)?")


def test_mkdocs_builds_strict(tmp_path: Path) -> None:
    mkdocs = Path(sys.executable).with_name("mkdocs")
    assert mkdocs.exists(), "mkdocs is missing: pip install -e '.[test]'"
    done = subprocess.run([str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (tmp_path / "site" / "index.html").is_file()
    assert (tmp_path / "site" / "configuration" / "index.html").is_file()


def github_slug(heading: str) -> str:
    """GitHub's heading anchor: the text without Markdown, lower case, punctuation other
    than - and _ removed, each space a hyphen."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links: their text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "")
    text = re.sub(r"(\*\*|__|\*)", "", text)
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    """Every anchor of a Markdown file: headings (duplicates numbered as GitHub does) and
    explicit ids."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    fenced = False
    for line in path.read_text("utf-8").splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        if fenced:
            continue
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            slug = github_slug(match.group(1))
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            found.add(slug if count == 0 else f"{slug}-{count}")
        found.update(re.findall(r'<a\s+(?:id|name)="([^"]+)"', line))
    return frozenset(found)


def _resolve(path: str, anchor: str | None) -> str | None:
    """None when the path (and anchor) exist in the repository, else what is wrong."""
    target = REPO / path
    if not target.exists():
        return f"{path}: no such file"
    if anchor and target.suffix == ".md" and anchor[1:] not in anchors(target):
        return f"{path}{anchor}: no such heading or anchor"
    return None


def _strings_in(path: Path) -> list[str]:
    """The text chat-smoke can print from this file: string literals of Python (implicit
    concatenations joined, as the compiler does; docstrings left out), or the whole of a
    template."""
    text = path.read_text("utf-8")
    if path.suffix != ".py":
        return [text]
    tree = ast.parse(text)
    docstrings = {id(body[0].value) for node in ast.walk(tree)  # not printed: skipped
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef |
                                ast.AsyncFunctionDef)
                  and (body := node.body) and isinstance(body[0], ast.Expr)
                  and isinstance(body[0].value, ast.Constant)}
    return [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)
            and isinstance(node.value, str) and id(node) not in docstrings]


def _printed_references() -> list[tuple[str, str, str | None]]:
    """(where, path, anchor) for every documentation reference in smoke/, plus the URLs
    built at run time (a category's docs link; a page joined to a base URL)."""
    found: list[tuple[str, str, str | None]] = []
    for file in sorted((REPO / "smoke").rglob("*")):
        if not file.is_file() or file.suffix not in (".py", ".j2", ".yml", ".groovy", ".md"):
            continue
        where = str(file.relative_to(REPO))
        for text in _strings_in(file):
            for match in URL.finditer(text):
                if not match.group(1).endswith("/"):
                    found.append((where, match.group(1), match.group(2)))
            for match in BARE.finditer(text):
                found.append((where, match.group(1), match.group(2)))
            # A page written after a base URL constant: "compatibility.md#sdk-parity".
            for match in re.finditer(r"^([\w-]+\.md)(#[\w-]+)", text.strip()):
                found.append((where, f"docs/{match.group(1)}", match.group(2)))
    for category in Category:
        found.append(("Category.docs_url", *_split(category.docs_url)))
    for platform in scaffold.PLATFORMS.values():
        found.append(("scaffold.PLATFORMS", f"docs/{platform.page}", None))
    return found


def _split(url: str) -> tuple[str, str | None]:
    match = URL.fullmatch(url)
    assert match, f"{url} is not a URL of this repository"
    return match.group(1), match.group(2)


def test_every_documentation_url_chat_smoke_prints_resolves() -> None:
    references = _printed_references()
    assert len(references) > 20, references
    problems = sorted({f"{where}: {problem}" for where, path, anchor in references
                       if (problem := _resolve(path, anchor))})
    assert problems == [], "\n".join(problems)


def test_the_demo_prints_only_urls_that_resolve() -> None:
    done = subprocess.run([sys.executable, "-m", "smoke", "demo"], capture_output=True,
                          text=True, timeout=120)
    urls = re.findall(r"https://github\.com/chat-smoke/chat-smoke/blob/main/\S+",
                      done.stdout + done.stderr)
    assert urls, done.stdout
    for url in urls:
        path, anchor = _split(url.rstrip(".,)"))
        assert _resolve(path, anchor) is None, url


@pytest.mark.parametrize("page", ["README.md", *sorted(
    str(p.relative_to(REPO)) for p in (REPO / "docs").rglob("*.md"))])
def test_relative_links_resolve(page: str) -> None:
    """A relative link in the README or a docs page names a file that exists (and a
    heading that exists, for a Markdown file)."""
    path = REPO / page
    text = re.sub(r"(?ms)^```.*?^```", "", path.read_text("utf-8"))
    problems = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"^[a-z]+:", target) or target.startswith("#") and page != "README.md":
            continue
        file, _, anchor = target.partition("#")
        resolved = (path.parent / file).resolve() if file else path
        if not resolved.exists():
            problems.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            problems.append(f"{target}: no such heading")
    assert problems == []


def test_github_slugs_match_known_anchors() -> None:
    assert github_slug("SDK parity (`--sdk-parity`)") == "sdk-parity---sdk-parity"
    assert github_slug("rate_limit") == "rate_limit"
    assert github_slug("Run it in GitLab CI") == "run-it-in-gitlab-ci"
    assert github_slug("Docker or composite") == "docker-or-composite"

"""What GitHub's comment pipeline does with rendered text, for the tests that check outside
text can not notify anyone: html-pipeline's MentionFilter and TeamMentionFilter patterns
and its issue-reference shape, applied (as there) to the text outside <code>, <pre> and
<a> of the HTML cmark-gfm renders (:func:`rendered`)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

# html-pipeline's MentionFilter.MentionPattern and TeamMentionFilter's, case-insensitive.
MENTION = re.compile(r"(?:^|\W)@((?>[a-z0-9][a-z0-9-]*))(?!/)"
                     r"(?=\.+[ \t\W]|\.+$|[^0-9a-zA-Z_.]|$)", re.I)
TEAM_MENTION = re.compile(r"(?:^|\W)@([a-z0-9][a-z0-9-]*)/([a-z0-9][a-z0-9\-_]*)", re.I)
ISSUE_REFERENCE = re.compile(r"(?:^|\W)(?:[\w.-]+/[\w.-]+)?#(\d+)\b")
_SKIPPED = {"code", "pre", "a"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if not self.depth:
            self.parts.append(data)


def rendered(markdown: str) -> str:
    """``markdown`` as GitHub renders a comment: cmark-gfm, raw HTML kept (GitHub sanitises
    it instead of dropping it; cmark's safe mode would drop the <code> around a mention)."""
    import cmarkgfm
    from cmarkgfm.cmark import Options

    html: str = cmarkgfm.github_flavored_markdown_to_html(markdown,
                                                          options=Options.CMARK_OPT_UNSAFE)
    return html


def filtered_text(html: str) -> list[str]:
    """The text nodes GitHub's mention and reference filters read (outside code/pre/a)."""
    parser = _Text()
    parser.feed(html)
    return parser.parts


def notifications(html: str) -> list[str]:
    """Every mention, team mention and issue reference GitHub would act on in ``html``."""
    found: list[str] = []
    for text in filtered_text(html):
        found += [f"@{m.group(1)}" for m in MENTION.finditer(text)]
        found += [f"@{m.group(1)}/{m.group(2)}" for m in TEAM_MENTION.finditer(text)]
        found += [f"#{m.group(1)}" for m in ISSUE_REFERENCE.finditer(text)]
    return found

"""The Jinja environment of every summary template, and its escaping filters.

Every ``{{ value }}`` passes through :func:`md` unless a filter already made it safe;
see :mod:`smoke.reports.summary.markdown` for what a template may use.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from smoke.reports.summary import text as text_

if TYPE_CHECKING:
    import jinja2

TEXT_LIMIT = text_.TEXT_LIMIT

_NEWLINES = re.compile(r"\s*(\r\n|\r|\n)\s*")
# Backslash-escaped wherever they are: the characters that open or close inline syntax
# (code, emphasis, links and images through "[", table cells, strikethrough, headings,
# math), plus ":" and "@" so that no URL or e-mail address becomes a link (cmark-gfm's
# autolink extension triggers on them); "www." gets its "." escaped for the same reason.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]#|~:@$])")
# At the start of a value, which a template may put at the start of a line: list items
# ("- ", "+ ", "1. "), thematic breaks and setext underlines ("---", "==="). (A block
# quote's ">" is an entity already.)
_LINE_START = re.compile(r"^(\s*)([-+=]|\d{1,9}[.)])(?=\s|$|[-=]+\s*$)")
# GitHub turns "@name" and "#12" in a comment's text into a notification and a cross-
# reference, even escaped as "\\@name": the backslash is gone from the rendered text its
# filters read. A zero-width space after the "@" or "#" (Renovate's answer to the same
# problem) leaves the text as it reads and matches neither (code and pre never notify).
_REFERENCE = re.compile(r"\\(@(?=[A-Za-z0-9])|#(?=[0-9]))")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
_HTML = re.compile(r'[&<>"]')

class Safe(str):
    """Text that is already escaped for where it goes; the autoescape leaves it alone."""


# Scrubbed in text.clean, before escaping: an escape inside a secret ("sk\\_live") would
# hide it from the writer's final scrub, and the mask "***" must be escaped like the rest.
_text = text_.clean


def _html(text: str) -> str:
    return _HTML.sub(lambda m: _ENTITIES[m.group(0)], text)


def md(value: object) -> Safe:
    """Escape ``value`` as inline Markdown text: one line, no syntax, no HTML, no link, no
    mention or issue reference, safe inside a table cell."""
    if isinstance(value, Safe):
        return value
    return Safe(_REFERENCE.sub(r"\1&#8203;", _inline(value)))


def _inline(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value).lower()
    text = _NEWLINES.sub(" ", _text(value)).replace("\t", " ")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    text = _LINE_START.sub(lambda m: m.group(1) + m.group(2)[:-1] + "\\" + m.group(2)[-1], text)
    text = re.sub(r"(?i)www\.", lambda m: m.group(0)[:3] + "\\.", text)
    return _html(text)


def pre(value: object) -> Safe:
    """Escape ``value`` for inside ``<pre>…</pre>``: GFM passes an HTML block that starts
    with ``<pre`` through untouched up to the line holding ``</pre>``, so escaping
    ``<`` is what keeps text from ending it (or opening ``<script>``)."""
    return Safe(_html(_text(value, 4 * TEXT_LIMIT).replace("\r\n", "\n").replace("\r", "\n")))


def cell(value: object) -> Safe:
    """Like :func:`md`, with ``<wbr>`` between the pieces of long tokens (ids, URLs,
    model names): the browser may break the line there, so a table cell fits the page.
    GitHub's sanitiser keeps ``<wbr>``; copied text is unchanged."""
    if isinstance(value, Safe):
        return value
    if isinstance(value, bool) or value is None:
        return md(value)
    pieces = text_.breakable(text_.one_line(_text(value)))
    return Safe("<wbr>".join(md(piece) for piece in pieces))


def code(value: object) -> Safe:
    """An inline code span (``<code>``, HTML-escaped, so no backtick run can close it)."""
    shown = value if isinstance(value, Safe) else _inline(value)  # code never notifies
    return Safe(f"<code>{shown}</code>")


def raw(value: object) -> Safe:
    return Safe("" if value is None else str(value))


def link(value: object) -> Safe:
    """A link destination from the configuration (an owner's runbook): http(s) only, and
    percent-encoded so that no space, parenthesis, angle bracket or quote ends it."""
    from urllib.parse import quote, urlsplit

    text = str(value or "")
    if urlsplit(text).scheme.lower() not in ("http", "https"):
        return Safe("#")
    return Safe(quote(_text(text), safe=":/?#@!$&*+,;=%-._~[]"))


def _finalize(value: object) -> Safe:
    return md(value)


def environment(loader: jinja2.BaseLoader | None = None,
                cls: type[jinja2.Environment] | None = None) -> jinja2.Environment:
    """The Jinja environment every summary template runs in (imported lazily: only runs
    that render a summary pay for Jinja2); ``cls``: a user's template gets the sandbox's
    (:mod:`smoke.reports.summary.sandbox`)."""
    import jinja2

    env = (cls or jinja2.Environment)(
        loader=loader,
        autoescape=False,  # Markdown, not HTML: escaping is done by _finalize instead
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,  # a typo in a template is an error, not a blank
    )
    env.filters.update(md=md, pre=pre, code=code, raw=raw, cell=cell, brief=text_.brief, link=link,
                       ms=text_.ms)
    return env

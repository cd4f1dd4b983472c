"""Plain-text shaping for the summary, before any escaping: outside text cleaned (secrets
scrubbed first), cut short for a table cell, wrapped for a ``<pre>`` block.

Everything here returns plain text; the Markdown filters escape it afterwards. Scrubbing
comes first because a secret split across two wrapped lines, or by an escape, would hide
it from the writer's final scrub.
"""

from __future__ import annotations

import re
import unicodedata

from smoke.output import redact

TEXT_LIMIT = 2000  # characters of one outside value in the summary; report.json has all
BRIEF = 160  # characters of a table cell's details; the incident block has the rest
PRE_WIDTH = 100  # columns of a <pre> line: fits GitHub's 948 px box in its monospace font
BREAK_EVERY = 20  # longest run without a break opportunity in a table cell
COMMAND_LIMIT = 32 * 1024  # characters of a curl command in the summary; report.json has all

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029\ud800-\udfff\ufffe\uffff]")
_SENTENCE_END = re.compile(r"[.!?;](?=\s)")
# After these a long token may break (paths, URLs, ids, model names).
_BREAK_AFTER = frozenset("/:-_.~,;=&?|")


def clean(value: object, limit: int = TEXT_LIMIT) -> str:
    """Outside text made safe to shape: secrets scrubbed, control characters dropped,
    at most ``limit`` characters."""
    text = redact.scrub("" if value is None else str(value))
    text = _CONTROL.sub("", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def ms(value: object) -> str:
    """A duration for people: ``17 ms``, ``1.2 s``, or ``–`` when unknown."""
    if value is None:
        return "–"
    n = int(str(value))
    # A no-break space keeps a number with its unit when a narrow column wraps.
    return f"{n}\u00a0ms" if n < 1000 else f"{n / 1000:.1f}\u00a0s"


def one_line(text: str) -> str:
    return " ".join(text.split())


def brief(value: object, limit: int = BRIEF) -> str:
    """One line of at most about ``limit`` characters: the whole text when it fits, else
    up to the last sentence that fits, else up to the last word, ending in ``…``."""
    text = one_line(clean(value))
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    ends = [m.end() for m in _SENTENCE_END.finditer(head)]
    if ends and ends[-1] >= limit // 3:
        return head[: ends[-1]] + " …"
    space = head.rfind(" ")
    if space >= limit * 2 // 3:
        return head[:space] + " …"
    return head + "…"


def breakable(text: str, every: int = BREAK_EVERY) -> list[str]:
    """``text`` in pieces between which a browser may break a line: inside tokens longer
    than ``every`` characters, after punctuation and at least every ``every`` characters.
    Joined with ``<wbr>`` they keep a table cell within the page; copied, they are the
    same text."""
    pieces = [""]
    for token in re.findall(r"\s+|\S+", text):
        if len(token) <= every:
            pieces[-1] += token
            continue
        run = 0
        for char in token:
            pieces[-1] += char
            run += 1
            if run >= every or (char in _BREAK_AFTER and run > 2):
                pieces.append("")
                run = 0
    return [p for p in pieces if p] or [""]


def _char_width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def width(text: str) -> int:
    """Columns ``text`` takes in a monospace font (wide East Asian characters take two)."""
    return len(text) if text.isascii() else sum(map(_char_width, text))


def _chunks(word: str, columns: int) -> list[str]:
    """``word`` cut into pieces of at most ``columns`` columns."""
    if word.isascii():
        return [word[i:i + columns] for i in range(0, len(word), columns)] or [""]
    pieces, current, used = [], "", 0
    for char in word:
        w = _char_width(char)
        if used + w > columns and current:
            pieces.append(current)
            current, used = "", 0
        current, used = current + char, used + w
    return [*pieces, current]


def wrap(text: str, columns: int) -> list[str]:
    """``text`` as lines of at most ``columns`` columns: its own line breaks kept, long
    lines broken at spaces, words longer than a line broken inside."""
    lines: list[str] = []
    for para in text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ").split("\n"):
        line, used, fresh = "", 0, True
        for word in para.split(" "):
            w = width(word)
            need = w + (0 if fresh else 1)
            if used + need <= columns:
                line, used, fresh = line + ("" if fresh else " ") + word, used + need, False
                continue
            if not fresh:
                lines.append(line)
            if w > columns:
                *full, word = _chunks(word, columns)
                lines.extend(full)
                w = width(word)
            line, used, fresh = word, w, False
        lines.append(line)
    return lines


def facts(pairs: list[tuple[str, object]], columns: int = PRE_WIDTH,
          limit: int = 4 * TEXT_LIMIT) -> list[str]:
    """``name: value`` lines for a ``<pre>`` block, values aligned after the longest
    name, each line at most ``columns`` columns; continuation lines are indented to the
    value column."""
    indent = max((len(name) for name, _ in pairs), default=0) + 2
    lines: list[str] = []
    for name, value in pairs:
        wrapped = wrap(clean(value, limit), max(columns - indent, 20))
        lines.append(f"{name + ':':<{indent}}{wrapped[0]}".rstrip())
        lines.extend((" " * indent + more).rstrip() for more in wrapped[1:])
    return lines


_VAR_CHAR = re.compile(r"[A-Za-z0-9_]")


def _break_points(line: str) -> list[tuple[int, str, str]]:
    """Where a shell line may be broken and stay the same command: (position, text that
    ends the line there, text that starts the next one). Between words: `` \\`` and an
    indent. Inside a word, the next line starts at column 0 (white space there would
    split the word): inside single quotes the quote is closed and reopened
    (``'\\`` … ``'``); inside double quotes or a bare word a ``\\`` line continuation
    (bash removes backslash-newline there). Never after a backslash, and never inside a
    ``$NAME`` or ``${…}`` expansion."""
    points: list[tuple[int, str, str]] = []
    quote: str | None = None
    escaped = False
    in_var = False
    for i, char in enumerate(line):
        if i and not escaped and not in_var:
            if quote is None and char == " " and line[i - 1] != " ":
                points.append((i, " \\", "    "))
            elif quote == "'":
                points.append((i, "'\\", "'"))
            elif quote is not None or line[i - 1] != " ":
                if char != " ":
                    points.append((i, "\\", ""))
        if in_var and not (_VAR_CHAR.match(char) or char in "{}"):
            in_var = False
        if escaped:
            escaped = False
        elif quote == "'":
            quote = None if char == "'" else quote
        elif char == "\\":
            escaped = True
        elif char == "$":
            in_var = True
        elif quote == '"':
            quote = None if char == '"' else quote
        elif char in "'\"":
            quote = char
        if in_var and char == "}":
            in_var = False
    return points


def fold_shell(command: str, columns: int = PRE_WIDTH) -> list[str]:
    """``command`` (bash, lines may end in ``\\``) as lines of at most ``columns``
    columns that paste as the very same command: long lines are broken only where
    :func:`_break_points` allows, preferring the spaces between words (issue 21: a
    request body wrapped inside its quotes sent invalid JSON)."""
    out: list[str] = []
    for line in command.splitlines():
        points = _break_points(line)
        start, lead = 0, ""
        while len(lead) + width(line[start:]) > columns:
            fits = [p for p in points if p[0] > start + 1
                    and len(lead) + width(line[start:p[0]]) + len(p[1]) <= columns]
            words = [p for p in fits if p[1] == " \\"
                     and width(line[start:p[0]]) > columns // 2]
            if not fits:
                break  # nothing to break at: the rest stays whole (still runnable)
            at, end, following = (words or fits)[-1]
            out.append(lead + line[start:at] + end)
            start, lead = (at + 1 if end == " \\" else at), following
        out.append(lead + line[start:])
    return out


def command_lines(command: str | None, columns: int = PRE_WIDTH) -> list[str] | None:
    """A reproduction command for a ``<pre>`` block: scrubbed, folded by
    :func:`fold_shell`; None when there is none. Never cut: a command too long for the
    summary is replaced by a line saying where it is."""
    if not command:
        return None
    text = redact.scrub(command)
    if len(text) > COMMAND_LIMIT or _CONTROL.search(text):
        return ["(too long for the summary: report.json has it, as the failed check's",
                "\"reproduce\")"]
    return fold_shell(text, columns)

"""The output condition: what the model's text must satisfy."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from smoke.config import nearmiss
from smoke.errors import ConfigError

Kind = Literal["contains", "equals", "regex", "nonempty", "tool_call"]
KINDS: tuple[Kind, ...] = ("contains", "equals", "regex", "nonempty", "tool_call")
# A prefix that may be a misspelt kind: a short word of letters (``Note`` in "Note: pong"
# is one, and stays text: it is more than two edits from every kind).
_WORD = re.compile(r"[A-Za-z][A-Za-z_ -]{0,20}")
_TYPO = (
    "{where}: {text!r} looks like a misspelt condition: did you mean {fixed!r}? The "
    "conditions are contains:TEXT, equals:TEXT, regex:RE, nonempty and tool_call[:NAME]; "
    "to look for this very text in the answer, write contains:{text}"
)


def _typo(text: str, head: str, sep: str, tail: str, where: str) -> None:
    """A config error for a near miss of a kind (``equal:pong``, ``Regex:x``,
    ``non-empty``); nothing for text that is not one."""
    word = head.strip() if sep else text.strip()
    if not _WORD.fullmatch(word):
        return
    found = nearmiss.near(word, KINDS if sep else ("nonempty", "tool_call"))
    if found is None:
        return
    fixed = found if found == "nonempty" or (found == "tool_call" and not tail) else \
        f"{found}:{tail}"
    raise ConfigError(_TYPO.format(where=where, text=text, fixed=fixed))


@dataclass(frozen=True)
class Expectation:
    """``contains`` and ``equals`` ignore case and surrounding white space."""

    kind: Kind = "contains"
    value: str = "pong"

    @classmethod
    def parse(cls, raw: object, where: str) -> Expectation:
        """Accept None, "contains:TEXT", "equals:TEXT", "regex:RE", "nonempty",
        "tool_call", "tool_call:NAME", plain text (contains), or a one-key mapping from the
        YAML file."""
        if raw is None or raw == "":
            return cls()
        if isinstance(raw, dict):
            if len(raw) != 1:
                raise ConfigError(
                    f"{where}: give exactly one of {', '.join(KINDS)}, got {sorted(raw)}"
                )
            ((kind, value),) = raw.items()
            raw = "nonempty" if kind == "nonempty" and value else f"{kind}:{value}"
        text = str(raw)
        head, sep, tail = text.partition(":")
        if text.strip() == "nonempty":
            result = cls("nonempty", "")
        elif text.strip() == "tool_call":
            result = cls("tool_call", "")
        elif sep and head in KINDS:
            result = cls(head, tail)  # type: ignore[arg-type,unused-ignore]
        else:
            _typo(text, head, sep, tail, where)
            result = cls("contains", text)
        if result.kind in ("contains", "regex") and not result.value:
            raise ConfigError(f"{where}: {result.kind} needs a value, e.g. {result.kind}:pong")
        if result.kind == "regex":
            try:
                re.compile(result.value)
            except re.error as exc:
                raise ConfigError(
                    f"{where}: {result.value!r} is not a valid regular expression ({exc})"
                ) from None
        return result

    def describe(self) -> str:
        if self.kind == "tool_call":
            return f"a call of the tool {self.value!r}" if self.value else "a tool call"
        if self.kind == "nonempty":
            return "any non-empty text"
        if self.kind == "regex":
            return f"matches /{self.value}/"
        return f"{self.kind} {self.value!r} (ignoring case)"

    def holds(self, text: str, tools: tuple[str, ...] = ()) -> bool:
        """Whether the answer's ``text`` (or, for ``tool_call``, the names of the tools it
        called) satisfies the condition."""
        if self.kind == "tool_call":
            return bool(tools) and (not self.value or self.value in tools)
        if self.kind == "nonempty":
            return bool(text.strip())
        if self.kind == "regex":
            return re.search(self.value, text) is not None
        if self.kind == "equals":
            return text.strip().casefold() == self.value.strip().casefold()
        return self.value.casefold() in text.casefold()

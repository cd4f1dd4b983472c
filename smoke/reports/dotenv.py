"""A dotenv file for GitLab's ``artifacts:reports:dotenv``: the verdict as variables for
later jobs.

GitLab's parser is stricter than dotenv's: keys of ASCII letters, digits and ``_``; one
``KEY=value`` per line, no blank lines, no comments, no quoting or escapes (quotes are
kept as they are); the file under 5 KB (GitLab docs, "artifacts:reports:dotenv"). So
every value here is one line of plain characters.
"""

from __future__ import annotations

import re

from smoke.output import redact
from smoke.results import GateResult

PREFIX = "CHAT_SMOKE_"
VALUE_LIMIT = 200  # a request id is ~40 characters; five values stay far below 5 KB
# Request ids are opaque strings from the server: keep the characters ids are made of.
_UNSAFE = re.compile(r"[^A-Za-z0-9._:/+=@-]")


def _value(text: object) -> str:
    return _UNSAFE.sub("", redact.scrub(str(text)))[:VALUE_LIMIT]


def values(result: GateResult) -> dict[str, str]:
    primary = result.primary
    return {
        f"{PREFIX}VERDICT": result.verdict,
        f"{PREFIX}CATEGORY": result.category.value if result.category else "",
        f"{PREFIX}EXIT_CODE": str(result.exit_code),
        f"{PREFIX}REQUEST_ID": (primary.request_id or "") if primary else "",
        f"{PREFIX}DURATION_MS": str(result.duration_ms),
    }


def render(result: GateResult) -> str:
    return "".join(f"{key}={_value(value)}\n" for key, value in values(result).items())

"""A dotenv file for GitLab's ``artifacts:reports:dotenv``: the verdict as variables for
later jobs.

GitLab's parser is stricter than dotenv's: keys of ASCII letters, digits and ``_``; one
``KEY=value`` per line, no blank lines, no comments, no quoting or escapes (quotes are
kept as they are); the file under 5 KB (GitLab docs, "artifacts:reports:dotenv"). So
every value here is one line of plain characters.
"""

from __future__ import annotations

import re

from smoke.config.settings import DEFAULT_DOTENV_PREFIX
from smoke.output import redact
from smoke.results import GateResult

PREFIX = DEFAULT_DOTENV_PREFIX  # --dotenv-prefix changes it
VALUE_LIMIT = 200  # a request id is ~40 characters; five values stay far below 5 KB
# Request ids are opaque strings from the server: keep the characters ids are made of.
_UNSAFE = re.compile(r"[^A-Za-z0-9._:/+=@-]")


def safe_value(text: object) -> str:
    """One line of plain characters (also what Azure's setvariable can carry)."""
    return _UNSAFE.sub("", redact.scrub(str(text)))[:VALUE_LIMIT]


def prefix_of(result: GateResult) -> str:
    """The run's ``dotenv_prefix`` (schema-validated: letters, digits, ``_``), or the
    default when the configuration did not load."""
    return str(result.config.get("dotenv_prefix") or PREFIX)


def values(result: GateResult, prefix: str | None = None) -> dict[str, str]:
    prefix = prefix_of(result) if prefix is None else prefix
    primary = result.primary
    return {
        f"{prefix}VERDICT": result.verdict,
        f"{prefix}CATEGORY": result.category.value if result.category else "",
        f"{prefix}EXIT_CODE": str(result.exit_code),
        f"{prefix}REQUEST_ID": (primary.request_id or "") if primary else "",
        f"{prefix}DURATION_MS": str(result.duration_ms),
        # The deciding failure's team, spaces as "-" (a dotenv value is plain characters).
        f"{prefix}OWNER": result.owner.team.replace(" ", "-") if result.owner else "",
    }


def render(result: GateResult) -> str:
    return "".join(f"{key}={safe_value(value)}\n" for key, value in values(result).items())

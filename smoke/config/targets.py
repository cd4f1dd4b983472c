"""Where reports go: each kind to a place of its own (issue 26).

Two kinds on one path would overwrite each other (``--report-json x --report-junit x``
left only one, exit 0), and two reports on stdout would be mixed into one stream: both
are config errors. Devices such as /dev/null may take any number of reports.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from smoke.errors import ConfigError

# The paths that stand for the process's own streams.
STREAMS = {"-": "stdout", "/dev/stdout": "stdout", "/dev/fd/1": "stdout",
           "/proc/self/fd/1": "stdout", "/dev/stderr": "stderr", "/dev/fd/2": "stderr",
           "/proc/self/fd/2": "stderr"}
KINDS = ("report_json", "report_junit", "summary", "report_dotenv", "report_prometheus")

_SAME_FILE = (
    "{first} and {second} name the same file ({path}): one report would overwrite the "
    "other. Give each report a path of its own"
)
_TWO_ON_STDOUT = (
    "{first} and {second} both write to stdout ('-'): only one report may go to stdout, so "
    "that it can be piped (| jq); write the other to a file"
)


def identity(path: str) -> str | None:
    """What ``path`` writes to: ``stdout``, ``stderr``, a resolved file path; None for a
    device other than the streams (/dev/null can take every report)."""
    if path in STREAMS:
        return STREAMS[path]
    full = os.path.realpath(os.path.abspath(path))
    if full in STREAMS:  # /dev/stdout through a link
        return STREAMS[full]
    if full.startswith(("/dev/", "/proc/")):
        return None
    return full


def to_stdout(paths: Mapping[str, str]) -> bool:
    """Whether a report goes to stdout (the console then goes to stderr)."""
    return any(identity(str(path)) == "stdout" for path in paths.values() if path)


def check_distinct(paths: Mapping[str, str], where: Mapping[str, str]) -> None:
    """A :class:`ConfigError` when two kinds share a path, or stdout."""
    seen: dict[str, str] = {}
    for kind, path in paths.items():
        if not path:
            continue
        key = identity(str(path))
        if key is None:
            continue
        if key in seen:
            first, second = where.get(seen[key], seen[key]), where.get(kind, kind)
            if key == "stdout":
                raise ConfigError(_TWO_ON_STDOUT.format(first=first, second=second))
            raise ConfigError(_SAME_FILE.format(first=first, second=second, path=path))
        seen[key] = kind


def distinct(paths: Mapping[str, str]) -> dict[str, str]:
    """``paths`` with the later kinds that share a place with an earlier one left out
    (for the reports of a run whose configuration failed on exactly that)."""
    seen: set[str] = set()
    kept: dict[str, str] = {}
    for kind, path in paths.items():
        key = identity(str(path))
        if key is not None and key in seen:
            continue
        if key is not None:
            seen.add(key)
        kept[kind] = path
    return kept

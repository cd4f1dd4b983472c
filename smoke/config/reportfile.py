"""A report.json given as input (``--baseline``, ``chat-smoke merge`` legs): untrusted JSON.

It may come from another version, another job, or a hand that edited it. Before any of
it is used it must be strict JSON (RFC 8259: no NaN, no Infinity, no ``1e999`` that
reads as infinity) and valid against ``smoke/schema/report.schema.json``; otherwise
:class:`ReportFileError` names the problem and the JSON path (``$.checks[2].exit_code``),
and the caller turns it into a ``config`` failure naming the file.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import NoReturn

from smoke.config.validate import errors, schema
from smoke.jsonvalue import JSONObject, as_object

# A report is at most a few MB (1,000 checks: about 2 MB); a bigger input is refused
# before it is parsed, so a stray artifact cannot exhaust memory.
MAX_BYTES = 64 * 1024 * 1024


class ReportFileError(Exception):
    """The file cannot be read as a chat-smoke report: the message says why and where."""


def _constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def _number(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is too large for a JSON number")
    return value


def parse(text: str) -> object:
    """Strict JSON: NaN, Infinity and numbers that overflow to infinity are refused."""
    return json.loads(text, parse_constant=_constant, parse_float=_number)


def load(path: str) -> JSONObject:
    """The report at ``path``, checked against the report schema."""
    try:
        file = Path(path)
        if file.is_file() and file.stat().st_size > MAX_BYTES:
            raise ReportFileError(f"larger than {MAX_BYTES // (1024 * 1024)} MB")
        text = file.read_text("utf-8")
    except FileNotFoundError:
        raise ReportFileError("no such file") from None
    except IsADirectoryError:
        raise ReportFileError("a folder, not a file") from None
    except OSError as exc:
        raise ReportFileError(f"cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ReportFileError("not UTF-8 text") from None
    try:
        data = parse(text)
    except json.JSONDecodeError as exc:
        raise ReportFileError(f"not JSON (line {exc.lineno}: {exc.msg})") from None
    except ValueError as exc:
        raise ReportFileError(f"not JSON ({exc})") from None
    except RecursionError:
        raise ReportFileError("not JSON a reader can take (nested too deeply)") from None
    check(data)
    report = as_object(data)
    if report is None:  # check() refused it already
        raise ReportFileError("not a JSON object")
    return report


def check(data: object) -> None:
    """Raise :class:`ReportFileError` when ``data`` is not a valid report."""
    if not isinstance(data, dict):
        raise ReportFileError("not a JSON object")
    root = schema("report")
    try:
        problems = errors(data, root, "$", root=root, limits=False)
    except RecursionError:
        problems = ["$: nested too deeply"]
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ReportFileError(f"not a chat-smoke report: {problems[0]}{more}")

"""Every report.json the suite produces is valid against smoke/schema/report.schema.json
(issue 26). tests/conftest.py runs :func:`sweep` after every test over the files written
under pytest's temporary folders while it ran: a report that chat-smoke wrote (it always
starts with ``{\\n  "schema_version"``, so a test's own compact ``json.dumps`` of a crafted
leg or baseline is not taken for one) must validate with ``jsonschema`` (the reference
implementation, draft 2020-12) and with chat-smoke's own validator, which reads baselines
and merge legs against the same file."""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from smoke.config.validate import errors, schema

HEAD = b'{\n  "schema_version"'
MAX_BYTES = 64 * 1024 * 1024


@cache
def _validator() -> jsonschema.Draft202012Validator:
    loaded = schema("report")
    jsonschema.Draft202012Validator.check_schema(loaded)
    return jsonschema.Draft202012Validator(loaded)


def problems(report: Any) -> list[str]:
    """What is wrong with ``report`` by either validator (empty: valid)."""
    found = [f"{'/'.join(map(str, e.absolute_path)) or '$'}: {e.message}"
             for e in _validator().iter_errors(report)]
    found += errors(report, schema("report"), "$", root=schema("report"), limits=False)
    return found


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (RFC 8259)")


def written_since(base: Path, since: float) -> list[Path]:
    """Files under ``base`` changed at or after ``since`` (time.time()) that look like a
    report chat-smoke wrote."""
    found: list[Path] = []
    for folder, _, names in os.walk(base):
        for name in names:
            path = os.path.join(folder, name)
            try:
                info = os.lstat(path)
                if info.st_mtime < since or not 0 < info.st_size <= MAX_BYTES:
                    continue
                with open(path, "rb") as handle:
                    if handle.read(len(HEAD)) != HEAD:
                        continue
            except OSError:
                continue
            found.append(Path(path))
    return found


def sweep(base: Path, since: float) -> list[str]:
    """Every problem of every report written under ``base`` since ``since``."""
    found: list[str] = []
    for path in written_since(base, since):
        try:
            report = json.loads(path.read_text("utf-8"), parse_constant=_no_constant)
        except (OSError, ValueError) as exc:
            found.append(f"{path}: not strict JSON ({exc})")
            continue
        found += [f"{path}: {problem}" for problem in problems(report)[:5]]
    return found

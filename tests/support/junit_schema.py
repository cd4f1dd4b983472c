"""The published JUnit schemas, used from ``../shared/junit-xsd/`` (never copied here):
jenkinsci/xunit-plugin's ``junit-10.xsd`` is binding (Jenkins' xunit plugin validates
JUnit input against it and drops what fails), windyroad's ``JUnit.xsd`` informative
(docs/reports.md lists what still differs). Validated with lxml (libxml2's XSD engine,
the one ``xmllint --schema`` uses)."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "junit-xsd"
BINDING = SHARED / "xunit-junit-10.xsd"
INFORMATIVE = SHARED / "windyroad-JUnit.xsd"
# Read at import: tests/conftest.py clears CI from each test's environment.
IN_CI = bool(os.environ.get("CI"))
_ABSENT = (f"the published JUnit schemas are not at {SHARED} (../shared/junit-xsd from the "
           "project's root); they are there in CI")


def available() -> bool:
    return BINDING.is_file() and INFORMATIVE.is_file()


def require() -> None:
    """Skip, saying why, where ../shared is absent outside CI; fail in CI."""
    if available():
        return
    if IN_CI:
        pytest.fail(_ABSENT)
    pytest.skip(_ABSENT)


@cache
def _schema(path: Path) -> Any:
    from lxml import etree

    return etree.XMLSchema(etree.parse(str(path)))


def errors(xml_text: str, schema: Path = BINDING) -> list[str]:
    """What ``schema`` rejects in ``xml_text`` (empty: valid)."""
    from lxml import etree

    validator = _schema(schema)
    document = etree.fromstring(xml_text.encode("utf-8"))
    if validator.validate(document):
        return []
    return [f"line {e.line}: {e.message}" for e in validator.error_log]


def is_junit(text: str) -> bool:
    head = text[:400]
    return "<testsuites" in head or "<testsuite " in head

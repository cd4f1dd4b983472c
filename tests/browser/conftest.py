"""The browser harness as a session fixture. Outside CI a machine without Chromium (and
without root to install it) skips these tests, saying why; in CI they fail instead, so a
broken install cannot pass unnoticed."""

from __future__ import annotations

import os

import pytest

from tests.support.browser import harness

# Read at import, before tests/conftest.py's autouse clean_env removes CI for each test.
IN_CI = bool(os.environ.get("CI"))


@pytest.fixture(scope="session")
def browser() -> harness.Browser:
    try:
        return harness.browser()
    except (harness.BrowserUnavailable, OSError, ImportError) as exc:
        reason = f"the browser harness is unavailable: {exc}"
        if IN_CI:
            pytest.fail(reason + " (CI is set, so this fails instead of skipping)")
        pytest.skip(reason)

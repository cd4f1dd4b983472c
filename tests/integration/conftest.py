"""Fixtures for integration tests against real local servers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.litellm_proxy import LiteLLMProxy, litellm_proxy


@pytest.fixture(scope="session")
def litellm() -> Iterator[LiteLLMProxy]:
    """A real LiteLLM proxy on 127.0.0.1 with mock models, shared by the session.

    The first use builds the gateway's own venv (about 30 s cold); a failed
    install or start raises, it never skips.
    """
    with litellm_proxy() as proxy:
        yield proxy

"""Fixtures for integration tests against real local servers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.litellm_proxy import LiteLLMProxy, litellm_proxy
from tests.support.portkey_gateway import PortkeyGateway, portkey_gateway


@pytest.fixture(scope="session")
def litellm() -> Iterator[LiteLLMProxy]:
    """A real LiteLLM proxy on 127.0.0.1 with mock models, shared by the session.

    The first use builds the gateway's own venv (about 30 s cold); a failed
    install or start raises, it never skips.
    """
    with litellm_proxy() as proxy:
        yield proxy


@pytest.fixture(scope="session")
def portkey() -> Iterator[PortkeyGateway]:
    """Portkey's real open-source gateway (npm) on 127.0.0.1, routing on headers.

    The first use installs the pinned package from npm into the cache; a failed install
    or start raises, it never skips.
    """
    with portkey_gateway() as gateway:
        yield gateway

"""A bundled OpenAI-compatible server on loopback with named scenarios (the demo's
endpoint and the test suite's server)."""

from smoke.stub.server import DEFAULT_KEY, StubServer

__all__ = ["DEFAULT_KEY", "StubServer"]

"""Configuration: defaults < ``chat-smoke.yml`` < environment < flags, validated against
the published schema (``smoke/schema/chat-smoke.schema.json``) into one frozen
:class:`Settings`."""

from smoke.config.load import Layers, build, load, merge, parse_bool
from smoke.config.settings import Settings

__all__ = ["Layers", "Settings", "build", "load", "merge", "parse_bool"]

"""Configuration: defaults < ``chat-smoke.yml`` < environment < flags, validated against
the published schema (``smoke/schema/chat-smoke.schema.json``) into one frozen
:class:`Settings`."""

from smoke.config.load import load, parse_bool, peek, peek_many
from smoke.config.settings import Settings

__all__ = ["Settings", "load", "parse_bool", "peek", "peek_many"]

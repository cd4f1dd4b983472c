"""The small exception tree. Only the CLI turns these into exit codes."""


class SmokeError(Exception):
    """Base class for every error chat-smoke raises on purpose."""


class ConfigError(SmokeError):
    """The configuration is missing or invalid; nothing was sent."""


class ReportError(SmokeError):
    """A report or summary could not be written."""

"""chat-smoke: a release gate for OpenAI-compatible Chat Completions endpoints."""

__version__ = "0.1.0"

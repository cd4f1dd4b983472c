"""No CI (a terminal, or a CI that was not detected): plain lines, every known CI's
command syntax defused, nothing native."""

from __future__ import annotations

from smoke.ci.platform import PlatformConsole
from smoke.ci.publish import Platform


class LocalConsole(PlatformConsole):
    """Plain lines (the defaults)."""


PLATFORM = Platform("local", LocalConsole)

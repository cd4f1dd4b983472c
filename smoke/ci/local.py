"""No CI (a terminal, or a CI that was not detected): plain lines, every known CI's
command syntax defused, nothing native."""

from __future__ import annotations

from typing import ClassVar

from smoke.ci.platform import Platform


class Local(Platform):
    name: ClassVar[str] = "local"

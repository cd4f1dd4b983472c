"""CircleCI: plain log lines. ``store_test_results`` collects the JUnit files of a folder
the config names (examples/circleci-config.yml); project variables are masked by
CircleCI itself."""

from __future__ import annotations

from smoke.ci.platform import PlatformConsole
from smoke.ci.publish import Platform


class CircleCIConsole(PlatformConsole):
    """Plain lines (the defaults)."""


PLATFORM = Platform("circleci", CircleCIConsole)

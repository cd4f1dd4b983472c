"""CircleCI: plain log lines. ``store_test_results`` collects the JUnit files of a folder
the config names (examples/circleci-config.yml); project variables are masked by
CircleCI itself."""

from __future__ import annotations

from typing import ClassVar

from smoke.ci.platform import Platform


class CircleCI(Platform):
    name: ClassVar[str] = "circleci"

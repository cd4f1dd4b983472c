"""CI platforms: which one runs us, its console (:class:`smoke.ci.platform.PlatformConsole`:
masking, groups, the look of annotations) and what it publishes
(:class:`smoke.ci.publish.Platform`, sent by :class:`smoke.ci.publish.Publisher`).

Each platform is one module with a ``PLATFORM``; the built-in ones are listed in
:data:`PLATFORMS` and loaded by name, so a run imports only the one it uses.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from smoke.ci.publish import Platform

# name -> module (its PLATFORM); spelled out in full, so tests/test_layout.py counts these
# imports by name like any other.
PLATFORMS: dict[str, str] = {
    "github": "smoke.ci.github",
    "gitlab": "smoke.ci.gitlab",
    "azure": "smoke.ci.azure",
    "buildkite": "smoke.ci.buildkite",
    "jenkins": "smoke.ci.jenkins",
    "circleci": "smoke.ci.circleci",
    "bitbucket": "smoke.ci.bitbucket",
    "local": "smoke.ci.local",
}
CHOICES = ("auto", *PLATFORMS)
# The variable each CI sets in every job, in the order they are tried. A flag variable
# counts when it says true (Azure sets TF_BUILD=True); the others when not empty.
DETECTION: tuple[tuple[str, str, bool], ...] = (
    ("GITHUB_ACTIONS", "github", True),
    ("GITLAB_CI", "gitlab", True),
    ("TF_BUILD", "azure", True),
    ("BUILDKITE", "buildkite", True),
    ("JENKINS_URL", "jenkins", False),
    ("CIRCLECI", "circleci", True),
    ("BITBUCKET_BUILD_NUMBER", "bitbucket", False),
)


def detect(env: Mapping[str, str]) -> str:
    """The platform whose variables are in ``env``; ``local`` when none is."""
    for variable, name, flag in DETECTION:
        value = env.get(variable, "").strip()
        if value and (not flag or value.lower() == "true"):
            return name
    return "local"


def resolve(choice: str | None, env: Mapping[str, str]) -> str:
    """``--ci``'s value (or None/auto) as a platform name."""
    if choice and choice != "auto" and choice in PLATFORMS:
        return choice
    return detect(env)


def make(name: str) -> Platform:
    """The platform by name (see :data:`PLATFORMS`)."""
    platform: Platform = importlib.import_module(PLATFORMS[name]).PLATFORM
    return platform

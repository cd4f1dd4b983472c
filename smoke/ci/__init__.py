"""CI platforms: which one runs us, and its console, masking, groups, annotations and
publishing behind one interface (:class:`smoke.ci.platform.Platform`).

Each platform is one module; the built-in ones are listed in :data:`PLATFORMS` and
loaded by name, so a run imports only the one it uses.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from smoke.ci.platform import Platform

# name -> (module, class); module names spelled out in full, so tests/test_layout.py
# counts these imports by name like any other.
PLATFORMS: dict[str, tuple[str, str]] = {
    "github": ("smoke.ci.github", "GitHub"),
    "gitlab": ("smoke.ci.gitlab", "GitLab"),
    "azure": ("smoke.ci.azure", "Azure"),
    "buildkite": ("smoke.ci.buildkite", "Buildkite"),
    "jenkins": ("smoke.ci.jenkins", "Jenkins"),
    "circleci": ("smoke.ci.circleci", "CircleCI"),
    "bitbucket": ("smoke.ci.bitbucket", "Bitbucket"),
    "local": ("smoke.ci.local", "Local"),
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


def make(name: str, out: TextIO | None = None, quiet: bool = False) -> Platform:
    """A fresh platform console by name (see :data:`PLATFORMS`)."""
    module, cls = PLATFORMS[name]
    platform: Platform = getattr(importlib.import_module(module), cls)(out, quiet)
    return platform

"""Bitbucket Pipelines: plain log lines; secured variables are masked by Bitbucket.

Bitbucket collects test reports by itself, but only from folders named
``test-results``, ``failsafe-reports``, ``test-reports`` or ``surefire-reports`` at a
depth of 3 or less below the clone (Bitbucket docs, "Test reporting in Pipelines").
So on Bitbucket, a run given no ``--report-junit`` writes
:data:`DEFAULT_JUNIT` there, and the failures show in the Tests tab with no
configuration at all."""

from __future__ import annotations

from smoke.ci.platform import PlatformConsole
from smoke.ci.publish import Platform

DEFAULT_JUNIT = "test-results/chat-smoke/junit.xml"


class BitbucketConsole(PlatformConsole):
    """Plain lines (the defaults)."""


PLATFORM = Platform("bitbucket", BitbucketConsole, default_reports={"report_junit": DEFAULT_JUNIT})

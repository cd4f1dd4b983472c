"""Bitbucket Pipelines: plain log lines; secured variables are masked by Bitbucket.

Bitbucket collects test reports by itself, but only from folders named
``test-results``, ``failsafe-reports``, ``test-reports`` or ``surefire-reports`` at a
depth of 3 or less below the clone (Bitbucket docs, "Test reporting in Pipelines").
So on Bitbucket, a run given no ``--report-junit`` writes
:data:`DEFAULT_JUNIT` there, and the failures show in the Tests tab with no
configuration at all."""

from __future__ import annotations

from typing import ClassVar

from smoke.ci.platform import Platform

DEFAULT_JUNIT = "test-results/chat-smoke/junit.xml"


class Bitbucket(Platform):
    name: ClassVar[str] = "bitbucket"
    default_reports: ClassVar[dict[str, str]] = {"report_junit": DEFAULT_JUNIT}

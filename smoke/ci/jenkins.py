"""Jenkins: no log commands to speak of (its console notes are signed by the controller,
and outside text loses ESC anyway). The ``junit`` step reads the JUnit report from the
path the pipeline names (examples/Jenkinsfile); masking is the credentials binding's."""

from __future__ import annotations

from smoke.ci.platform import PlatformConsole
from smoke.ci.publish import Platform


class JenkinsConsole(PlatformConsole):
    """Plain lines (the defaults)."""


PLATFORM = Platform("jenkins", JenkinsConsole)

"""Jenkins: no log commands to speak of (its console notes are signed by the controller,
and outside text loses ESC anyway). The ``junit`` step reads the JUnit report from the
path the pipeline names (examples/Jenkinsfile); masking is the credentials binding's."""

from __future__ import annotations

from typing import ClassVar

from smoke.ci.platform import Platform


class Jenkins(Platform):
    name: ClassVar[str] = "jenkins"

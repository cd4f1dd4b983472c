"""GitLab CI: collapsible log sections.

A section is ``\\e[0Ksection_start:<unix time>:<name>[collapsed=true]\\r\\e[0K<header>``
and ends with ``\\e[0Ksection_end:<unix time>:<name>\\r\\e[0K`` (GitLab docs, "Custom
collapsible sections"; the trace parser's ``Gitlab::Regex.build_trace_section_regex``
matches anywhere in the trace and needs the CR and the escape). Outside text loses
both (smoke.output.commands), so it cannot open or close a section. GitLab has no
runtime masking (masked variables are set in the project) and no annotations: the
JUnit report (``artifacts:reports:junit``) shows the failures, and the dotenv report
hands the verdict to later jobs."""

from __future__ import annotations

import re
import time

from smoke.ci.platform import PlatformConsole
from smoke.ci.publish import Platform
from smoke.output import redact

ESC = "\x1b"
# The configuration is collapsed; the checks stay open: they are what a reader came for.
_COLLAPSED = {"chat-smoke: configuration"}


def section_name(title: str) -> str:
    """A section name GitLab accepts: ``[a-zA-Z0-9_.-]+``."""
    return re.sub(r"[^a-zA-Z0-9_.-]+", "_", title).strip("_") or "chat_smoke"


class GitLabConsole(PlatformConsole):
    def open_group(self, title: str) -> None:
        options = "[collapsed=true]" if title in _COLLAPSED else ""
        header = self.neutralise(redact.scrub(title)).replace("\n", " ")
        self.emit(f"{ESC}[0Ksection_start:{int(time.time())}:{section_name(title)}{options}"
                  f"\r{ESC}[0K{header}")

    def close_group(self, title: str) -> None:
        self.emit(f"{ESC}[0Ksection_end:{int(time.time())}:{section_name(title)}\r{ESC}[0K")


PLATFORM = Platform("gitlab", GitLabConsole)

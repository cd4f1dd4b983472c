"""The end of a run for incident issues and notifications: both, in that order, with
their warnings queued as annotations of the run (so the CI's cap applies) and their
lines on the console. Never raises, never changes the exit code."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from smoke.alerts import incidents, notify

if TYPE_CHECKING:
    from smoke.config.settings import Settings
    from smoke.results import GateResult


class Console(Protocol):
    def line(self, text: str = "") -> None: ...

    def annotate(self, level: str, message: str, title: str = "",
                 rank: tuple[int, ...] = ...) -> None: ...


class Publishing(Console, Protocol):
    """What a sink reads of the run's publisher (smoke.ci.publish.Publisher)."""

    @property
    def settings(self) -> Settings | None: ...

    @property
    def env(self) -> Mapping[str, str]: ...


def publish(result: GateResult, settings: Settings, env: Mapping[str, str],
            console: Console) -> None:
    if settings.incident_issue:
        incidents.publish(result, settings, env,
                          lambda text: console.annotate("warning", text, incidents.TITLE),
                          console.line)
    if settings.notify:
        notify.publish(result, settings.notify, env, incidents.run_url(env),
                       lambda text: console.annotate("warning", text, notify.TITLE),
                       console.line)


class Incidents:
    """Incident issues as a sink of :mod:`smoke.ci.publish` (``SINKS``: on with
    ``incident_issue``): their warnings are annotations of the run, under the CI's cap."""

    def publish(self, publisher: Publishing, result: GateResult) -> None:
        settings = publisher.settings
        if settings is not None and settings.incident_issue:  # not after a config error
            incidents.publish(result, settings, publisher.env,
                              lambda text: publisher.annotate("warning", text,
                                                              incidents.TITLE),
                              publisher.line)


class Notifications:
    """Notifications on state changes as a sink (``SINKS``: on with ``notify``)."""

    def publish(self, publisher: Publishing, result: GateResult) -> None:
        settings = publisher.settings
        if settings is not None and settings.notify:
            notify.publish(result, settings.notify, publisher.env,
                           incidents.run_url(publisher.env),
                           lambda text: publisher.annotate("warning", text, notify.TITLE),
                           publisher.line)

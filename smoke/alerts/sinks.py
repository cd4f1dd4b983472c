"""Incident issues and notifications as sinks of the run's Publisher (smoke.ci.publish):
named in its ``SINKS`` by module, made when their setting is on, so a run that does not
ask for them imports nothing of them. Their warnings are the publisher's annotations
(the CI's cap applies); their lines go to the console."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from smoke.results import GateResult


class Incidents:
    """``incident_issue``: the lifecycle over GitHub's or GitLab's issues."""

    def publish(self, publisher: Any, result: GateResult) -> None:
        from smoke.alerts import incidents

        if publisher.settings is None:
            return
        incidents.publish(result, publisher.settings, publisher.env,
                          lambda text: publisher.annotate("warning", text, incidents.TITLE),
                          publisher.line)


class Notify:
    """``notify``: one post to the webhook when the state changed."""

    def publish(self, publisher: Any, result: GateResult) -> None:
        from smoke.alerts import incidents, notify

        if publisher.settings is None:
            return
        notify.publish(result, publisher.settings.notify, publisher.env,
                       incidents.run_url(publisher.env),
                       lambda text: publisher.annotate("warning", text, notify.TITLE),
                       publisher.line)

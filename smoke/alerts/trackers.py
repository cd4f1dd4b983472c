"""The incident trackers: GitHub's and GitLab's issues APIs, behind :class:`Tracker`.

GitHub (REST, ``GITHUB_API_URL``; the token of the ``github-token`` input, which needs
``issues: write``): list ``GET /repos/{repo}/issues?state=all&sort=updated`` (pull
requests are in that list too, and skipped; an incident is updated on every failed run,
so it is near the top), create ``POST /repos/{repo}/issues`` (``title`` required,
``labels`` and ``assignees`` lists of names), edit ``PATCH /repos/{repo}/issues/{n}``
(``body``, ``state`` open/closed, ``state_reason``), comment ``POST …/{n}/comments``.

GitLab (``CI_API_V4_URL``, project ``CI_PROJECT_ID``; a token with ``api`` scope from the
variable ``gitlab_token_env`` names, sent as ``PRIVATE-TOKEN``: ``CI_JOB_TOKEN`` cannot
create issues): list ``GET /projects/{id}/issues?state=all&order_by=updated_at``,
create ``POST /projects/{id}/issues`` (``title`` required, ``labels`` a comma-separated
string, ``assignee_ids`` numbers: user names are looked up with ``GET /users?username=``),
edit ``PUT /projects/{id}/issues/{iid}`` (``description``, ``state_event`` close/reopen),
comment ``POST /projects/{id}/issues/{iid}/notes``.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from smoke.alerts.api import PER_PAGE, Client
from smoke.alerts.lifecycle import Issue, TrackerError
from smoke.owners import Owner


def _time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _number(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise TrackerError("the API answered an issue without a number")


class GitHubIssues:
    name = "GitHub"

    def __init__(self, client: Client, repository: str) -> None:
        self.client = client
        self.base = f"/repos/{repository}/issues"

    def incidents(self, prefix: str) -> list[Issue]:
        found: list[Issue] = []
        path = f"{self.base}?state=all&sort=updated&direction=desc&per_page={PER_PAGE}"
        for page in self.client.pages(path):
            for item in page:
                if not isinstance(item, dict) or "pull_request" in item:
                    continue
                body = item.get("body")
                if isinstance(body, str) and prefix in body:
                    found.append(Issue(_number(item.get("number")), item.get("state") == "open",
                                       body, _time(item.get("closed_at")),
                                       str(item.get("html_url") or "")))
        return found

    def create(self, title: str, body: str, owner: Owner) -> Issue:
        data: dict[str, object] = {"title": title, "body": body}
        if owner.labels:
            data["labels"] = list(owner.labels)
        if owner.assignees:
            data["assignees"] = list(owner.assignees)
        made = self.client.json("POST", self.base, json=data)
        if not isinstance(made, dict):
            raise TrackerError("the API answered the new issue with something else")
        return Issue(_number(made.get("number")), True, body, None,
                     str(made.get("html_url") or ""))

    def update(self, issue: Issue, body: str, reopen: bool = False) -> None:
        data: dict[str, object] = {"body": body}
        if reopen:
            data.update(state="open", state_reason="reopened")
        self.client.call("PATCH", f"{self.base}/{issue.number}", json=data)

    def comment(self, issue: Issue, text: str) -> None:
        self.client.call("POST", f"{self.base}/{issue.number}/comments", json={"body": text})

    def close(self, issue: Issue) -> None:
        self.client.call("PATCH", f"{self.base}/{issue.number}",
                         json={"state": "closed", "state_reason": "completed"})


class GitLabIssues:
    name = "GitLab"

    def __init__(self, client: Client, project: str) -> None:
        self.client = client
        self.project = f"/projects/{quote(project, safe='')}"
        self.base = f"{self.project}/issues"

    def incidents(self, prefix: str) -> list[Issue]:
        found: list[Issue] = []
        # Not ``search``: GitLab's issue search is full-text (tokenized) and would not
        # find the marker; an incident is updated on every failed run, so it is near the top.
        path = f"{self.base}?state=all&order_by=updated_at&sort=desc&per_page={PER_PAGE}"
        for page in self.client.pages(path):
            for item in page:
                if not isinstance(item, dict):
                    continue
                body = item.get("description")
                if isinstance(body, str) and prefix in body:
                    found.append(Issue(_number(item.get("iid")), item.get("state") == "opened",
                                       body, _time(item.get("closed_at")),
                                       str(item.get("web_url") or "")))
        return found

    def _user_ids(self, names: tuple[str, ...]) -> list[int]:
        ids: list[int] = []
        for name in names[:20]:
            users = self.client.json("GET", f"/users?username={quote(name, safe='')}")
            if isinstance(users, list) and users and isinstance(users[0], dict):
                user_id = users[0].get("id")
                if isinstance(user_id, int) and not isinstance(user_id, bool):
                    ids.append(user_id)
        return ids

    def create(self, title: str, body: str, owner: Owner) -> Issue:
        data: dict[str, object] = {"title": title, "description": body}
        if owner.labels:
            data["labels"] = ",".join(owner.labels)
        if owner.assignees:
            ids = self._user_ids(owner.assignees)
            if ids:
                data["assignee_ids"] = ids
        made = self.client.json("POST", self.base, json=data)
        if not isinstance(made, dict):
            raise TrackerError("the API answered the new issue with something else")
        return Issue(_number(made.get("iid")), True, body, None, str(made.get("web_url") or ""))

    def update(self, issue: Issue, body: str, reopen: bool = False) -> None:
        data: dict[str, object] = {"description": body}
        if reopen:
            data["state_event"] = "reopen"
        self.client.call("PUT", f"{self.base}/{issue.number}", json=data)

    def comment(self, issue: Issue, text: str) -> None:
        self.client.call("POST", f"{self.base}/{issue.number}/notes", json={"body": text})

    def close(self, issue: Issue) -> None:
        self.client.call("PUT", f"{self.base}/{issue.number}", json={"state_event": "close"})

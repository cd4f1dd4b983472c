"""Fake GitHub and GitLab issues APIs on loopback (real HTTP), for the incident issues.

They check what the real APIs check (GitHub REST docs, "Issues" and "Issue comments";
GitLab docs, "Issues API" and "Notes API"):

- GitHub: a token (``Authorization: Bearer``/``token``); ``title`` required on create
  (422 "Validation Failed" without it); ``body`` and a comment's ``body`` at most 65,536
  characters (422); ``labels`` and ``assignees`` lists of strings (422 otherwise);
  ``state`` open/closed and ``state_reason`` completed/not_planned/reopened; lists paged
  with ``per_page`` (at most 100) and ``page``, the next page in the ``Link`` header;
  pull requests are in the issues list (with a ``pull_request`` key).
- GitLab: ``PRIVATE-TOKEN`` (401 without); ``title`` required (400 "title is missing");
  ``labels`` a comma-separated string, ``assignee_ids`` a list of integers (400
  otherwise); ``description`` at most 1,048,576 characters, a note's ``body`` required
  and at most 1,000,000; ``state_event`` close/reopen; the state is ``opened``/``closed``;
  lists paged with ``Link`` and ``X-Next-Page``.

Faults are scripted per method: a status (403, 404, 422, 500), ``"rate"`` (GitHub: 403
with ``x-ratelimit-remaining: 0``; GitLab: 429 with ``Retry-After``) or ``"hang"`` (no
answer for 30 s). ``echo`` puts a text (a token, say) into every error message, as a
careless proxy might.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.support.fake_api import Call, JsonApiHandler, running

TOKEN = "ghp_" + "FakeIncidentToken0123456789abcdefABCD"
GITLAB_TOKEN = "glpat-" + "FakeIncidentToken0123456789"
REPO = "acme/shop"
PROJECT = "77"
GITHUB_PREFIX = "/api/v3"
GITLAB_PREFIX = "/api/v4"
GITHUB_LIMIT = 65_536
GITLAB_DESCRIPTION_LIMIT = 1_048_576
GITLAB_NOTE_LIMIT = 1_000_000
USERS = {"alice": 11, "bob": 12}


def now_iso(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class FakeTracker:
    kind: str  # "github" or "gitlab"
    issues: list[dict[str, Any]] = field(default_factory=list)
    comments: dict[int, list[str]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    script: dict[str, list[int | str]] = field(default_factory=dict)
    echo: str = ""
    url: str = ""
    counter: int = 0

    @property
    def root(self) -> str:
        return self.url + (GITHUB_PREFIX if self.kind == "github" else GITLAB_PREFIX)

    # -- the state, as a test sets it up and reads it -----------------------------------
    def add(self, body: str, open_: bool = True, closed_at: datetime | None = None,
            pull_request: bool = False, title: str = "an issue") -> dict[str, Any]:
        self.counter += 1
        stamp = now_iso()
        issue: dict[str, Any] = {
            "number" if self.kind == "github" else "iid": self.counter,
            "id": 9000 + self.counter, "title": title,
            "body" if self.kind == "github" else "description": body,
            "state": ("open" if self.kind == "github" else "opened") if open_ else "closed",
            "closed_at": now_iso(closed_at) if closed_at else None,
            "created_at": stamp, "updated_at": stamp, "labels": [], "assignees": [],
            "html_url" if self.kind == "github" else "web_url":
                f"https://tracker.example.test/issues/{self.counter}",
        }
        if pull_request:
            issue["pull_request"] = {"url": "https://tracker.example.test/pulls/1"}
        self.issues.insert(0, issue)  # most recently updated first
        self.comments[self.counter] = []
        return issue

    def get(self, number: int) -> dict[str, Any]:
        key = "number" if self.kind == "github" else "iid"
        return next(i for i in self.issues if i[key] == number)

    def body_of(self, issue: dict[str, Any]) -> str:
        return str(issue["body" if self.kind == "github" else "description"] or "")

    def is_open(self, issue: dict[str, Any]) -> bool:
        return issue["state"] in ("open", "opened")

    def writes(self) -> list[tuple[str, str]]:
        return [(c.method, c.path) for c in self.calls if c.method != "GET"]

    def touch(self, issue: dict[str, Any]) -> None:
        issue["updated_at"] = now_iso()
        self.issues.remove(issue)
        self.issues.insert(0, issue)


class _Handler(JsonApiHandler):
    # -- plumbing (recording and sending: JsonApiHandler) -------------------------------
    def _error(self, status: int, message: Any) -> None:
        fake = self.server.fake
        if fake.echo and isinstance(message, str):
            message = f"{message} (token {fake.echo})"
        if fake.kind == "github":
            self._send(status, {"message": message,
                                "documentation_url": "https://docs.github.com/rest"})
        else:
            self._send(status, {"message": message} if status != 400 or not isinstance(
                message, str) else {"error": message})

    def _scripted(self) -> bool:
        fake = self.server.fake
        queue = fake.script.get(self.command) or []
        if not queue:
            return False
        what = queue.pop(0)
        if what == "hang":
            time.sleep(30)
            return True
        if what == "rate":
            if fake.kind == "github":
                self._send(403, {"message": "API rate limit exceeded for installation"},
                           {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1900000000"})
            else:
                self._send(429, {"message": "429 Too Many Requests"}, {"Retry-After": "60"})
            return True
        assert isinstance(what, int)
        messages = {403: "Resource not accessible by integration", 404: "Not Found",
                    422: "Validation Failed", 500: "Server Error"}
        self._error(what, messages.get(what, "error"))
        return True

    def _authorised(self, call: Call) -> bool:
        fake = self.server.fake
        if fake.kind == "github":
            given = call.headers.get("Authorization", "")
            ok = given in (f"Bearer {TOKEN}", f"token {TOKEN}")
        else:
            ok = call.headers.get("PRIVATE-TOKEN", "") == GITLAB_TOKEN
        if not ok:
            self._error(401, "Bad credentials" if fake.kind == "github" else "401 Unauthorized")
        return ok

    def _handle(self) -> None:
        call = self._record()
        if self._scripted() or not self._authorised(call):
            return
        fake = self.server.fake
        if fake.kind == "github":
            self._github(fake, call)
        else:
            self._gitlab(fake, call)

    do_GET = do_POST = do_PATCH = do_PUT = _handle  # noqa: N815

    # -- paging -----------------------------------------------------------------------
    def _page(self, call: Call, items: list[dict[str, Any]]) -> None:
        per_page = min(int(call.query.get("per_page", ["30" if self.server.fake.kind ==
                                                        "github" else "20"])[0]), 100)
        page = int(call.query.get("page", ["1"])[0])
        chunk = items[(page - 1) * per_page: page * per_page]
        headers: dict[str, str] = {}
        if page * per_page < len(items):
            query = "&".join(f"{k}={v[0]}" for k, v in call.query.items() if k != "page")
            headers["Link"] = (f'<{self.server.fake.url}{call.path}?{query}&page={page + 1}>; '
                               'rel="next"')
            headers["X-Next-Page"] = str(page + 1)
        self._send(200, chunk, headers)

    # -- GitHub -----------------------------------------------------------------------
    def _github(self, fake: FakeTracker, call: Call) -> None:
        base = f"{GITHUB_PREFIX}/repos/{REPO}/issues"
        data = call.body if isinstance(call.body, dict) else {}
        if call.method == "GET" and call.path == base:
            state = call.query.get("state", ["open"])[0]
            items = [i for i in fake.issues if state == "all" or i["state"] == state]
            self._page(call, items)
            return
        if call.method == "POST" and call.path == base:
            problem = _github_problem(data, creating=True)
            if problem:
                self._error(422, problem)
                return
            issue = fake.add(data.get("body") or "", title=data["title"])
            issue["labels"] = [{"name": n} for n in data.get("labels") or []]
            issue["assignees"] = [{"login": n} for n in data.get("assignees") or []]
            self._send(201, issue)
            return
        found = re.fullmatch(rf"{base}/(\d+)(/comments)?", call.path)
        if not found:
            self._error(404, "Not Found")
            return
        number = int(found.group(1))
        try:
            issue = fake.get(number)
        except StopIteration:
            self._error(404, "Not Found")
            return
        if found.group(2) and call.method == "POST":
            text = data.get("body")
            if not isinstance(text, str) or not text:
                self._error(422, "Validation Failed: body is missing")
                return
            if len(text) > GITHUB_LIMIT:
                self._error(422, "Validation Failed: body is too long (maximum is 65536 "
                            "characters)")
                return
            fake.comments[number].append(text)
            fake.touch(issue)
            self._send(201, {"id": 5000 + len(fake.comments[number]), "body": text})
            return
        if call.method == "PATCH" and not found.group(2):
            problem = _github_problem(data, creating=False)
            if problem:
                self._error(422, problem)
                return
            if "body" in data:
                issue["body"] = data["body"]
            if data.get("state") == "closed" and issue["state"] == "open":
                issue["state"], issue["closed_at"] = "closed", now_iso()
                issue["state_reason"] = data.get("state_reason")
            elif data.get("state") == "open":
                issue["state"], issue["closed_at"] = "open", None
            fake.touch(issue)
            self._send(200, issue)
            return
        self._error(404, "Not Found")

    # -- GitLab -----------------------------------------------------------------------
    def _gitlab(self, fake: FakeTracker, call: Call) -> None:
        base = f"{GITLAB_PREFIX}/projects/{PROJECT}/issues"
        data = call.body if isinstance(call.body, dict) else {}
        if call.method == "GET" and call.path == f"{GITLAB_PREFIX}/users":
            name = call.query.get("username", [""])[0]
            self._send(200, [{"id": USERS[name], "username": name}] if name in USERS else [])
            return
        if call.method == "GET" and call.path == base:
            state = call.query.get("state", ["all"])[0]
            items = [i for i in fake.issues if state == "all" or i["state"] == state]
            self._page(call, items)
            return
        if call.method == "POST" and call.path == base:
            problem = _gitlab_problem(data, creating=True)
            if problem:
                self._error(400, problem)
                return
            issue = fake.add(data.get("description") or "", title=data["title"])
            issue["labels"] = [n for n in (data.get("labels") or "").split(",") if n]
            issue["assignees"] = [{"id": i} for i in data.get("assignee_ids") or []]
            self._send(201, issue)
            return
        found = re.fullmatch(rf"{base}/(\d+)(/notes)?", call.path)
        if not found:
            self._error(404, "404 Not found")
            return
        number = int(found.group(1))
        try:
            issue = fake.get(number)
        except StopIteration:
            self._error(404, "404 Issue Not Found")
            return
        if found.group(2) and call.method == "POST":
            text = data.get("body")
            if not isinstance(text, str) or not text:
                self._error(400, "body is missing")
                return
            if len(text) > GITLAB_NOTE_LIMIT:
                self._error(400, "Note is too long")
                return
            fake.comments[number].append(text)
            fake.touch(issue)
            self._send(201, {"id": 7000 + len(fake.comments[number]), "body": text})
            return
        if call.method == "PUT" and not found.group(2):
            problem = _gitlab_problem(data, creating=False)
            if problem:
                self._error(400, problem)
                return
            if "description" in data:
                issue["description"] = data["description"]
            if data.get("state_event") == "close":
                issue["state"], issue["closed_at"] = "closed", now_iso()
            elif data.get("state_event") == "reopen":
                issue["state"], issue["closed_at"] = "opened", None
            fake.touch(issue)
            self._send(200, issue)
            return
        self._error(404, "404 Not found")


def _github_problem(data: dict[str, Any], creating: bool) -> str | None:
    if creating and (not isinstance(data.get("title"), str) or not data["title"]):
        return "Validation Failed: title is missing"
    body = data.get("body")
    if body is not None and (not isinstance(body, str) or len(body) > GITHUB_LIMIT):
        return "Validation Failed: body is too long (maximum is 65536 characters)"
    for name in ("labels", "assignees"):
        value = data.get(name)
        if value is not None and (not isinstance(value, list)
                                  or not all(isinstance(v, str) for v in value)):
            return f"Invalid request. For 'properties/{name}', {value!r} is not an array."
    if data.get("state") not in (None, "open", "closed"):
        return "Validation Failed: state"
    if data.get("state_reason") not in (None, "completed", "not_planned", "reopened"):
        return "Validation Failed: state_reason"
    return None


def _gitlab_problem(data: dict[str, Any], creating: bool) -> str | None:
    if creating and (not isinstance(data.get("title"), str) or not data["title"]):
        return "title is missing"
    text = data.get("description")
    if text is not None and (not isinstance(text, str) or len(text) > GITLAB_DESCRIPTION_LIMIT):
        return "description is too long (maximum is 1048576 characters)"
    labels = data.get("labels")
    if labels is not None and not isinstance(labels, str):
        return "labels is invalid"
    ids = data.get("assignee_ids")
    if ids is not None and (not isinstance(ids, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in ids)):
        return "assignee_ids is invalid"
    if data.get("state_event") not in (None, "close", "reopen"):
        return "state_event does not have a valid value"
    return None


@contextmanager
def serve(kind: str) -> Iterator[FakeTracker]:
    fake = FakeTracker(kind)
    with running(fake, _Handler):
        yield fake


def github_env(fake: FakeTracker, **more: str) -> dict[str, str]:
    return {"GITHUB_ACTIONS": "true", "GITHUB_API_URL": fake.root,
            "GITHUB_SERVER_URL": "https://github.example.test", "GITHUB_REPOSITORY": REPO,
            "GITHUB_RUN_ID": "555", "INPUT_GITHUB-TOKEN": TOKEN, **more}


def gitlab_env(fake: FakeTracker, **more: str) -> dict[str, str]:
    return {"GITLAB_CI": "true", "CI_API_V4_URL": fake.root, "CI_PROJECT_ID": PROJECT,
            "CI_JOB_URL": "https://gitlab.example.test/acme/shop/-/jobs/42",
            "GITLAB_TOKEN": GITLAB_TOKEN, **more}

"""The sticky pull-request comment (action input ``comment-on-pr``).

On a ``pull_request`` or ``pull_request_target`` event, the summary goes to the pull
request as one comment, found again on re-runs by a hidden marker
``<!-- chat-smoke:<workflow>:<job>:<environment>[:<comment-key>] -->`` and updated in
place. Facts it is built on (GitHub's REST API docs, "Issue comments"):

- a pull request's conversation comments are its issue's comments:
  ``GET /repos/{owner}/{repo}/issues/{number}/comments`` (``per_page`` at most 100, the
  next page in the ``Link`` header), ``POST`` the same URL to create,
  ``PATCH /repos/{owner}/{repo}/issues/comments/{id}`` to update;
- the body holds at most 65,536 characters;
- the API root is ``GITHUB_API_URL`` (``https://HOST/api/v3`` on Enterprise Server);
- ``GITHUB_TOKEN`` of a pull request from a fork is read-only, and a job without
  ``permissions: pull-requests: write`` cannot comment either: 403 (or 404).

The comment never fails or slows the gate: every problem is a warning (an annotation)
that names the permission to add, all calls share a 10-second budget, and a server error
or a dropped connection is retried once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from smoke import bounded, cancel
from smoke.ci.publish import RANK_NOTE
from smoke.config import parse_bool
from smoke.errors import CommentError
from smoke.output import redact

if TYPE_CHECKING:
    import requests

    from smoke.results import GateResult


class Notes(Protocol):
    """What the comment needs of the run's publisher (``smoke.ci.publish.Publisher``)."""

    def annotate(self, level: str, message: str, title: str = "",
                 rank: tuple[int, ...] = ...) -> None: ...

    def line(self, text: str = "") -> None: ...

EVENTS = ("pull_request", "pull_request_target")
BODY_LIMIT = 65_536  # characters, GitHub's limit for a comment body
BUDGET_S = 10.0  # every call of one posting together
# A cancelled run has little time left before the CI kills it (GitHub: SIGTERM 7.5 s after
# SIGINT); its local evidence is already written, so the comment gets a short budget.
CANCELLED_BUDGET_S = 2.0
CALL_TIMEOUT_S = 5.0  # (connect, read) bound of one call, within the budget
PER_PAGE = 100
MAX_PAGES = 50  # 5,000 comments: past that, a new comment rather than an endless search
TITLE = "chat-smoke: pull-request comment"

_CANNOT = (
    "chat-smoke could not comment on pull request #{number} ({problem}). The gate's result "
    "is unchanged. Give the job `permissions: pull-requests: write`; on pull requests from "
    "forks GITHUB_TOKEN is read-only, so pass a token that may write there (github-token) "
    "or use the `summary` output with a comment action in a pull_request_target workflow. "
    "See https://github.com/chat-smoke/chat-smoke/blob/main/docs/github-actions.md"
    "#comment-on-pull-requests"
)
_BUG = (
    "chat-smoke could not comment on pull request #{number} ({problem}): a bug in "
    "chat-smoke, not a permission problem. The gate's result is unchanged; please report it"
)
_NO_NUMBER = (
    "chat-smoke could not comment: no pull-request number in GITHUB_EVENT_PATH ({path}). "
    "The gate's result is unchanged. See https://github.com/chat-smoke/chat-smoke/blob/main/"
    "docs/github-actions.md#comment-on-pull-requests"
)


@dataclass(frozen=True)
class Target:
    api_url: str
    repository: str
    number: int
    token: str
    marker: str
    run_url: str


def wanted(env: Mapping[str, str]) -> bool:
    """``comment-on-pr`` is true and the event is a pull request's."""
    return (parse_bool(env.get("INPUT_COMMENT-ON-PR", "")) is True
            and env.get("GITHUB_EVENT_NAME", "") in EVENTS)


def _part(text: str) -> str:
    """A marker part that cannot end the HTML comment or span lines."""
    return re.sub(r"[^A-Za-z0-9._/@+=-]", "_", text).replace("--", "_-")


def marker(env: Mapping[str, str], environment: str) -> str:
    parts = [env.get("GITHUB_WORKFLOW", ""), env.get("GITHUB_JOB", ""), environment]
    key = env.get("INPUT_COMMENT-KEY", "").strip()
    if key:
        parts.append(key)
    return "<!-- chat-smoke:" + ":".join(_part(p) for p in parts) + " -->"


def pull_number(env: Mapping[str, str]) -> int | None:
    path = env.get("GITHUB_EVENT_PATH", "")
    try:
        with open(path, encoding="utf-8") as handle:
            event = json.load(handle)
    except (OSError, ValueError):
        return None
    if not isinstance(event, dict):
        return None
    pull = event.get("pull_request")
    number = pull.get("number") if isinstance(pull, dict) else event.get("number")
    return number if isinstance(number, int) and not isinstance(number, bool) else None


def run_url(env: Mapping[str, str]) -> str:
    server = env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    repository, run = env.get("GITHUB_REPOSITORY", ""), env.get("GITHUB_RUN_ID", "")
    return f"{server}/{repository}/actions/runs/{run}"


def compact(result: GateResult, link: str) -> str:
    """The summary as the comment shows it: the summary's compact form (verdict, the
    deciding check, the table, what to do next, a link to the run), under 60,000 bytes."""
    from smoke.reports.summary import markdown

    return markdown.render(result, None, compact=True, run_url=link)


def mentions(result: GateResult) -> list[str]:
    """The owners to mention: on a failed run only, each failing owner's ``mention`` once
    (from the owners map; the schema allows only ``@name`` and ``@org/team`` words)."""
    if result.verdict != "fail":
        return []
    found: dict[str, None] = {}
    for check in result.failures:
        owner = check.responsible
        if owner is not None and owner.mention:
            found.update(dict.fromkeys(owner.mention.split()))
    return list(found)


def body(target: Target, summary: str, mention: list[str] | None = None) -> str:
    """The marker first (a cut never loses it), then who to notify (a failure's owners,
    once), then the summary, under :data:`BODY_LIMIT` characters (the summary's own cap
    counts UTF-8 bytes, never fewer than characters)."""
    from smoke.reports.summary.markdown import cap

    cc = f"Owners: {' '.join(mention)}\n\n" if mention else ""
    link = f"\n[The workflow run]({target.run_url}) has the full summary and the reports.\n"
    text = cap(summary, BODY_LIMIT - len(target.marker) - len(link) - len(cc) - 64)
    if target.run_url not in text:  # the summary's own link was cut with its end
        text += link
    return f"{target.marker}\n{cc}{text}"


class _Client:
    """The few calls the comment needs, on one session, within one wall-clock budget
    (:mod:`smoke.bounded`: a server that drips, hangs or pages forever cannot hold the
    job past it)."""

    def __init__(self, target: Target, budget: bounded.Budget) -> None:
        self.target = target
        self.budget = budget
        self.session = budget.session(CALL_TIMEOUT_S)
        self.session.headers.update({
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {target.token}",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "chat-smoke",
        })
        self.retried = False

    def call(self, method: str, url: str, json: object = None) -> requests.Response:
        import requests

        while True:
            try:
                response = self.session.request(method, url, json=json)
            except bounded.BudgetExceeded:
                raise CommentError(self.budget.exceeded()) from None
            except requests.RequestException as exc:
                if not self.budget.expired() and self._retry():
                    continue
                raise CommentError(f"{type(exc).__name__} calling the API") from None
            if response.status_code >= 500 and self._retry():
                continue
            if response.status_code >= 300:
                raise CommentError(_problem(response))
            return response

    def _retry(self) -> bool:
        if self.retried:
            return False
        self.retried = True
        return True

    def find(self) -> int | None:
        """The id of our comment (its marker), looking through every page."""
        url: str | None = (f"{self.target.api_url}/repos/{self.target.repository}/issues/"
                           f"{self.target.number}/comments?per_page={PER_PAGE}")
        for _ in range(MAX_PAGES):
            if url is None:
                return None
            response = self.call("GET", url)
            try:
                comments = response.json()
            except ValueError:
                raise CommentError("the comment list was not JSON") from None
            for comment in comments if isinstance(comments, list) else []:
                if isinstance(comment, dict) and self.target.marker in str(
                        comment.get("body") or ""):
                    found = comment.get("id")
                    return found if isinstance(found, int) else None
            url = response.links.get("next", {}).get("url")
            if url is not None and not url.startswith(self.target.api_url + "/"):
                # The token goes only to GITHUB_API_URL, whatever a Link header says.
                raise CommentError("the next page of comments is not under GITHUB_API_URL")
        return None

    def post(self, text: str) -> str:
        existing = self.find()
        base = f"{self.target.api_url}/repos/{self.target.repository}/issues"
        if existing is None:
            self.call("POST", f"{base}/{self.target.number}/comments", json={"body": text})
            return "created"
        self.call("PATCH", f"{base}/comments/{existing}", json={"body": text})
        return "updated"


def _problem(response: requests.Response) -> str:
    status = response.status_code
    if status in (403, 429) and (response.headers.get("x-ratelimit-remaining") == "0"
                                 or response.headers.get("retry-after")):
        return f"HTTP {status}: rate limited; the comment is skipped for this run"
    try:
        message = str(response.json().get("message") or "")
    except (ValueError, AttributeError):
        message = ""
    message = re.sub(r"\s+", " ", message)[:200]
    return f"HTTP {status}" + (f": {message}" if message else "")


def comment_on_pr(result: GateResult, env: Mapping[str, str],
                  notes: Notes) -> str | None:
    """Post or update the comment when asked to; return "created"/"updated", or None
    (not asked, or a warning was emitted). Never raises."""
    if not wanted(env):
        return None
    token = env.get("INPUT_GITHUB-TOKEN", "").strip()
    redact.register(token)  # masked (::add-mask::) by the console before its next line
    number = pull_number(env)
    if number is None:
        notes.annotate("warning", _NO_NUMBER.format(path=env.get("GITHUB_EVENT_PATH", "")),
                        TITLE, (RANK_NOTE,))
        return None
    if not token:
        notes.annotate("warning", _CANNOT.format(number=number, problem="github-token is "
                                                  "empty"), TITLE, (RANK_NOTE,))
        return None
    target = Target(
        api_url=env.get("GITHUB_API_URL", "https://api.github.com").rstrip("/"),
        repository=env.get("GITHUB_REPOSITORY", ""), number=number, token=token,
        marker=marker(env, result.environment), run_url=run_url(env))
    try:
        text = redact.scrub(body(target, compact(result, target.run_url), mentions(result)))
        budget = CANCELLED_BUDGET_S if result.verdict == "cancelled" else BUDGET_S
        # A signal while it posts ends the wait at once (the run's evidence is written).
        stop = None if result.verdict == "cancelled" else cancel.requested
        done = bounded.call(lambda within: _Client(target, within).post(text), budget,
                            "the pull-request comment", stop=stop)
    except bounded.BudgetExceeded as exc:
        notes.annotate("warning", _CANNOT.format(number=number, problem=str(exc)),
                       TITLE, (RANK_NOTE,))
        return None
    except CommentError as exc:
        notes.annotate("warning", _CANNOT.format(number=number, problem=str(exc)),
                        TITLE, (RANK_NOTE,))
        return None
    except Exception as exc:  # a bug here must not cost the gate its result either
        notes.annotate("warning", _BUG.format(
            number=number, problem=f"{type(exc).__name__}: {exc}"), TITLE, (RANK_NOTE,))
        return None
    notes.line(f"chat-smoke: pull-request comment {done} on #{number}")
    return done

"""Incident issues (setting ``incident_issue``, input ``incident-issue``): the lifecycle of
:mod:`smoke.alerts.lifecycle` on GitHub or GitLab, chosen by the CI the run is in.

Best effort and bounded, like the PR comment: every problem (no token, 403, 404, 422, a
rate limit, a hang) is one warning that names the fix; the exit code never changes; all
calls share a wall-clock budget of :data:`BUDGET_S` (:mod:`smoke.bounded`); the token is
registered for redaction before any call and never put in a message. A cancelled run
touches nothing: it decided nothing about the endpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from smoke import bounded
from smoke.alerts import lifecycle
from smoke.alerts.api import Client
from smoke.alerts.lifecycle import Policy, Tracker, TrackerError
from smoke.alerts.trackers import GitHubIssues, GitLabIssues
from smoke.output import redact

if TYPE_CHECKING:
    import requests

    from smoke.config.settings import Settings
    from smoke.results import GateResult

BUDGET_S = 10.0
TITLE = "chat-smoke: incident issue"

_NOT_IN_CI = ("incident_issue is on, but this run is neither in GitHub Actions nor in GitLab "
              "CI: no incident issue was opened or closed. See https://github.com/chat-smoke/"
              "chat-smoke/blob/main/docs/owners.md#incident-issues")
_NO_GITHUB_TOKEN = ("incident_issue is on, but github-token is empty: no incident issue was "
                    "opened or closed. Pass `github-token: ${{ github.token }}` and give the "
                    "job `permissions: issues: write`")
_NO_GITLAB_TOKEN = ("incident_issue is on, but the variable {var} is empty: no incident issue "
                    "was opened or closed. Store a project access token with the api scope "
                    "in {var} (CI_JOB_TOKEN cannot create issues), or name another variable "
                    "with gitlab_token_env")
_FAILED = ("chat-smoke could not update the incident issues on {tracker} ({problem}). The "
           "gate's result is unchanged. {fix}. See https://github.com/chat-smoke/chat-smoke/"
           "blob/main/docs/owners.md#incident-issues")
_FIX = {"GitHub": "Give the job `permissions: issues: write` and pass github-token",
        "GitLab": "Give the token in {var} the api scope and at least the Reporter role"}


@dataclass(frozen=True)
class Options:
    """The incident settings (``Settings`` has them; ``chat-smoke merge`` its flags)."""

    incident_after: int = 1
    incident_reopen_days: int = 7
    gitlab_token_env: str = "GITLAB_TOKEN"


@dataclass(frozen=True)
class Target:
    tracker: str  # GitHub or GitLab
    root: str
    project: str
    token: str
    run_url: str | None


def run_url(env: Mapping[str, str]) -> str | None:
    """The link to this run: GitHub's run page, or GitLab's job (else pipeline) page."""
    if env.get("GITHUB_ACTIONS") == "true" and env.get("GITHUB_RUN_ID"):
        server = env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
        return f"{server}/{env.get('GITHUB_REPOSITORY', '')}/actions/runs/{env['GITHUB_RUN_ID']}"
    if env.get("GITLAB_CI") == "true":
        return env.get("CI_JOB_URL") or env.get("CI_PIPELINE_URL") or None
    return None


def target(settings: Settings | Options, env: Mapping[str, str]) -> Target | str:
    """Where the issues go, from the CI's variables, or why nowhere (a warning)."""
    if env.get("GITHUB_ACTIONS") == "true":
        token = (env.get("INPUT_GITHUB-TOKEN") or env.get("GITHUB_TOKEN") or "").strip()
        if not token:
            return _NO_GITHUB_TOKEN
        return Target("GitHub", env.get("GITHUB_API_URL", "https://api.github.com"),
                      env.get("GITHUB_REPOSITORY", ""), token, run_url(env))
    if env.get("GITLAB_CI") == "true":
        var = settings.gitlab_token_env
        token = env.get(var, "").strip()
        if not token:
            return _NO_GITLAB_TOKEN.format(var=var)
        return Target("GitLab", env.get("CI_API_V4_URL", "https://gitlab.com/api/v4"),
                      env.get("CI_PROJECT_ID", ""), token, run_url(env))
    return _NOT_IN_CI


def _tracker(where: Target, session: requests.Session) -> Tracker:
    if where.tracker == "GitHub":
        client = Client(session, where.root, {
            "Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28",
            "Authorization": f"Bearer {where.token}", "User-Agent": "chat-smoke"})
        return GitHubIssues(client, where.project)
    client = Client(session, where.root, {"PRIVATE-TOKEN": where.token,
                                          "User-Agent": "chat-smoke"})
    return GitLabIssues(client, where.project)


def publish(result: GateResult, settings: Settings | Options, env: Mapping[str, str],
            warn: Callable[[str], None], say: Callable[[str], None],
            make: Callable[[Target, requests.Session], Tracker] = _tracker) -> list[str] | None:
    """Run the lifecycle for ``result``; return what was done (None: nothing could be,
    and a warning said why). Never raises."""
    if result.verdict not in ("pass", "fail"):
        return None  # cancelled: a run that decided nothing touches no issue
    where = target(settings, env)
    if isinstance(where, str):
        warn(where)
        return None
    redact.register(where.token)  # masked before any line could show it
    shown = warn
    warn = lambda text: shown(redact.scrub(text))  # noqa: E731 - an API may echo the token
    policy = Policy(after=settings.incident_after, reopen_days=settings.incident_reopen_days)
    notes: list[str] = []

    def work(budget: bounded.Budget) -> list[str]:
        return lifecycle.apply(result, make(where, budget.session()), policy, where.run_url,
                               notes=notes)

    fix = _FIX[where.tracker].format(var=settings.gitlab_token_env)
    try:
        done = bounded.call(work, BUDGET_S, "the incident issues")
    except (TrackerError, bounded.BudgetExceeded) as exc:
        warn(_FAILED.format(tracker=where.tracker, problem=exc, fix=fix))
        return None
    except Exception as exc:  # a bug here must not cost the gate its result either
        warn(_FAILED.format(tracker=where.tracker, problem=f"{type(exc).__name__}: {exc}",
                            fix="This is a bug in chat-smoke; please report it"))
        return None
    for note in notes:
        say(f"chat-smoke: incident {note}")
    for line in done:
        say(f"chat-smoke: incident issue {line}")
    return done

"""The spend guard, ``--max-total-tokens N``.

Before anything is sent (``spend:budget``): the most the planned checks could spend is
each completion request's budget (a prompt estimate plus its token limit) times the
requests the plan could send, retries counted. If that could exceed N the gate fails with
``config`` and sends nothing. After the run (``spend:total``): if the usage the endpoint
reported adds up to more than N, which its own token counting can bring about, the gate
fails with ``assertion``.
"""

from __future__ import annotations

from smoke.categories import Category
from smoke.checks.task import Plan
from smoke.config.settings import Settings
from smoke.http import payload
from smoke.http.parse import total_tokens
from smoke.output.textsafe import count
from smoke.results import Check, Step

_OVER_BUDGET = (
    "max_total_tokens {limit}: the planned checks could spend up to {ceiling} tokens "
    "({requests} x {attempts} (retries {retries}) x {each} tokens: a "
    "prompt estimate of {prompt} plus the token limit {cap}); nothing was sent. Raise "
    "--max-total-tokens, or lower --retries or --max-tokens, or check fewer models"
)
_NO_CAP = (
    "max_total_tokens {limit}: no per-request token limit is set, so the spend of a run "
    "has no bound; nothing was sent. Set --max-tokens (or --max-completion-tokens for "
    "reasoning models)"
)
_OVERSPENT = (
    "the endpoint reported {total} tokens over the run, more than --max-total-tokens "
    "{limit} (the planned ceiling was {ceiling}): its token counting exceeds the estimate "
    "(a hidden system prompt, reasoning tokens?). Check the usage per check in the report"
)
_NO_USAGE = (
    "--max-total-tokens {limit}: no check reported usage, so the run's spend could not be "
    "confirmed"
)


def preflight(context: Plan) -> list[Check]:
    """The step registered first in ``checks.registry``: a ``config`` failure here stops
    the run before anything is sent."""
    settings, tasks = context.settings, context.tasks
    limit = settings.max_total_tokens
    if limit is None:
        return []
    check = Check("spend:budget", "preflight", "spend guard: the planned ceiling")
    # Each model's own request (its entry may set its own limits): the largest counts.
    models = settings.models or ("",)
    caps = [payload.completion_cap(settings, model) for model in models]
    if None in caps:
        message = _NO_CAP.format(limit=limit)
        check.steps.append(Step("budget", "fail", message))
        return [check.fail(Category.CONFIG, message)]
    # Every planned check is counted as a completion request: a negative check that an
    # endpoint wrongly answers spends tokens too.
    requests = sum(1 for task in tasks if task.skip is None)
    attempts = settings.retries + 1
    each = max(payload.token_budget(settings, model) for model in models)
    cap = max(cap for cap in caps if cap is not None)
    ceiling = requests * attempts * each
    check.details["limit"], check.details["ceiling"] = limit, ceiling
    check.details["requests"], check.details["attempts"] = requests, attempts
    check.details["tokens_per_request"] = each
    if ceiling > limit:
        message = _OVER_BUDGET.format(limit=limit, ceiling=ceiling,
                                      requests=count(requests, "check"),
                                      attempts=count(attempts, "attempt"),
                                      retries=settings.retries, each=each,
                                      prompt=each - cap, cap=cap)
        check.steps.append(Step("budget", "fail", message))
        return [check.fail(Category.CONFIG, message)]
    check.outcome = "pass"
    check.message = f"the planned checks can spend at most {ceiling} of {limit} tokens"
    check.steps.append(Step("budget", "pass", check.message))
    return [check]


def postflight(settings: Settings, checks: list[Check]) -> list[Check]:
    """The step registered in ``checks.registry``: the usage reported over the run."""
    limit = settings.max_total_tokens
    budget = next((c for c in checks if c.id == "spend:budget"), None)
    if limit is None or budget is None or budget.outcome != "pass":
        return []
    check = Check("spend:total", "spend", "spend guard: the reported usage")
    totals = [t for t in (total_tokens(c.usage) for c in checks) if t is not None]
    if not totals:
        check.message = _NO_USAGE.format(limit=limit)
        if any(c.http_status and 200 <= c.http_status < 300 for c in checks):
            check.warnings.append(check.message)  # answered, yet no usage: unconfirmed
        return [check]
    total = sum(totals)
    check.details["limit"], check.details["total"] = limit, total
    if total > limit:
        message = _OVERSPENT.format(total=total, limit=limit,
                                    ceiling=budget.details.get("ceiling"))
        check.steps.append(Step("total", "fail", message))
        return [check.fail(Category.ASSERTION, message)]
    check.outcome = "pass"
    check.message = f"the run used {total} of {limit} tokens"
    check.steps.append(Step("total", "pass", check.message))
    return [check]

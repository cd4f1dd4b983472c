"""Controlled negative checks: one deliberately bad request each, never retried.

A gate is trusted once it has failed correctly in front of its users. Each check sends a
request the API must reject and passes only when it is rejected *in the expected
category*. An endpoint that accepts it (2xx) did not enforce its contract: ``protocol``.

When the request never got a verdict on its merits (the network, an outage, a rate
limit, or the real key or account being refused), the check fails with *that*
category, so the exit code still says who must act; any other rejection in the wrong
category is a contract deviation and fails as ``protocol``, with expected against got.
"""

from __future__ import annotations

import dataclasses
import secrets
import string

from smoke.categories import Category
from smoke.checks.send import send_with_retries
from smoke.checks.task import Plan, Target, Task
from smoke.http import payload
from smoke.http.reproduce import RANDOM_KEY_SOURCE
from smoke.results import Check, Step

PREFIX = "negative:"  # a check's id: the prefix and the name below
# name: (expected category, what the bad request is, for the report and messages)
NEGATIVE: dict[str, tuple[Category, str]] = {
    "invalid-model": (Category.MODEL, "a model id that cannot exist"),
    "missing-field": (Category.REQUEST, "a request without messages"),
    "invalid-key": (Category.AUTH, "a random key of the same shape as the real one"),
}
_NOT_JUDGED = {
    Category.DNS, Category.TLS, Category.CONNECT, Category.TIMEOUT, Category.RATE_LIMIT,
    Category.UPSTREAM, Category.QUOTA, Category.CONFIG,
}
_ACCEPTED = (
    "the endpoint did not enforce its contract: it accepted {what} (HTTP {status}). A "
    "gateway that answers every request hides real failures; check base_url points at the "
    "real API, not a mock or catch-all proxy"
)
_WRONG = (
    "{what} was rejected in the wrong category: expected {expected}, got {got} ({message}). "
    "The endpoint departs from the Chat Completions contract, so its failures will be "
    "misclassified"
)
_NOT_RUN = "{what} could not be judged: expected {expected}, got {got}: {message}"
_KEY_PREFIX_MAX = 6


def nonexistent_model() -> str:
    return f"chat-smoke-nonexistent-{secrets.token_hex(6)}"


def random_key_like(key: str) -> str:
    """A fresh random key with the real key's shape: its short scheme prefix (``sk-``),
    length and character classes. No character of the rest is taken from the real key."""
    prefix = ""
    for i, char in enumerate(key[: _KEY_PREFIX_MAX + 1]):
        if char in "-_":
            prefix = key[: i + 1] if i > 0 and key[:i].isalpha() else ""
            break
    rest = key[len(prefix):]
    alphabet = "".join(
        chars for chars in (string.ascii_lowercase, string.ascii_uppercase, string.digits)
        if any(c in chars for c in rest)
    ) + "".join(sep for sep in "-_" if sep in rest)
    alphabet = alphabet or string.ascii_letters + string.digits
    while True:
        fake = prefix + "".join(secrets.choice(alphabet) for _ in rest)
        if fake != key:
            return fake


def plan(context: Plan) -> list[Task]:
    """The planner registered in ``checks.registry``: one task per ``--negative`` name."""
    settings = context.settings
    planned: list[Task] = []
    for name in settings.negative:
        expected, what = NEGATIVE[name]
        model = nonexistent_model() if name == "invalid-model" else settings.models[0]
        check = Check(f"{PREFIX}{name}", "negative", f"negative: {what}", model)
        check.expected_category = expected.value
        planned.append(Task(check, lambda check: negative(check, context)))
    return planned


def with_key(target: Target, key: str) -> Target:
    """``target`` sending ``key`` instead of the real key (which is then not sent at all);
    the reproduction names the key's source as made up."""
    settings = dataclasses.replace(target.settings, api_key=key,
                                   api_key_source=RANDOM_KEY_SOURCE)
    endpoint = dataclasses.replace(target.route.endpoint, api_key=key)
    return Target(settings, dataclasses.replace(target.route, endpoint=endpoint))


def negative(check: Check, plan: Plan) -> None:
    """Send the one bad request of ``check`` (``negative:NAME``) and judge the rejection."""
    name = check.id.removeprefix(PREFIX)
    expected, what = NEGATIVE[name]
    target = plan.target(plan.settings.models[0])  # the first model's own request
    settings = target.settings
    body = payload.build(settings, check.model or settings.models[0])
    if name == "missing-field":
        del body["messages"]
    if name == "invalid-key":
        target = with_key(target, random_key_like(settings.api_key))
    exchange = send_with_retries(check, target, body, retries=0)
    if exchange is not None:
        check.steps += [Step("send", "pass"), Step("rejected", "fail", f"HTTP {exchange.status}")]
        check.fail(Category.PROTOCOL, _ACCEPTED.format(what=what, status=exchange.status))
        return
    got, message = check.category, check.message
    check.steps.append(Step("send", "pass" if check.http_status is not None else "fail"))
    if got is None:  # pragma: no cover - send_with_retries always records a category
        raise AssertionError("a failed send without a category")
    check.details["got_category"] = got.value
    if got is expected:
        check.outcome, check.category = "pass", None
        check.message = f"rejected as expected ({expected.value}): {message}"
        check.steps.append(Step("rejected", "pass", expected.value))
        return
    if got in _NOT_JUDGED or (got in (Category.AUTH, Category.PERMISSION)
                              and name != "invalid-key"):
        check.message = _NOT_RUN.format(what=what, expected=expected.value, got=got.value,
                                        message=message)
    else:
        check.fail(Category.PROTOCOL, _WRONG.format(what=what, expected=expected.value,
                                                     got=got.value, message=message))
    check.steps.append(Step("rejected", "fail", f"expected {expected.value}, got {got.value}"))

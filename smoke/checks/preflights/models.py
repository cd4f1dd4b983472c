"""``--check-models``: ``GET {base}/models`` confirms that each configured model is listed,
before a completion is spent on it.

A model the list does not name is a ``model`` failure whose message names the close
matches (a typo, a missing entitlement), and its checks are not run. An endpoint without
``/models`` (404, 405, 501), or a list that cannot be read for a passing reason (an outage,
a timeout), gives a warning instead: the completions themselves are the test. A rejected
key is a failure, as it would be for a completion.
"""

from __future__ import annotations

import difflib
import json
import time

from smoke.categories import Category
from smoke.checks.send import record_response, traced
from smoke.checks.task import Plan, Target
from smoke.config.settings import Settings
from smoke.http import classify
from smoke.http.transport import Call, TransportFailure, request
from smoke.jsonvalue import as_object, items, objects, text
from smoke.output.textsafe import count, one_line
from smoke.results import Attempt, Check, Step

CHECK_ID = "models:list"
_CREDENTIALS = {Category.AUTH, Category.PERMISSION, Category.QUOTA}
_NO_LIST_STATUS = (404, 405, 501)

_MISSING = (
    "GET /models does not list {missing}. Check the model id for a typo, or ask the "
    "account owner for access to it; {these} not run"
)
_NO_ENDPOINT = (
    "GET /models answered HTTP {status}: this endpoint has no models list, so the model "
    "ids were not confirmed before sending (--check-models). Nothing to fix unless you "
    "expected one; the checks ran"
)
_UNREADABLE = (
    "GET /models could not be read ({why}), so the model ids were not confirmed before "
    "sending; the checks ran anyway"
)
_RETIRED = (
    "GET /models lists {model!r}, yet the completion answered HTTP {status} model_not_found: "
    "the model is retired (or being retired) upstream, or not enabled for this key. Ask the "
    "provider or the account owner which model replaces it. The endpoint said: {said}"
)
_PAGED = (
    "GET /models does not list {missing} on its first page (has_more is true), so the "
    "model ids were not confirmed; the checks ran anyway"
)


def preflight(context: Plan) -> list[Check]:
    """The step registered in ``checks.registry``: hold back the checks of unlisted models."""
    settings = context.settings
    if not settings.check_models:
        return []
    check = Check(CHECK_ID, "preflight", "models listed by GET /models")
    missing = _confirm(check, context.target())
    for task in context.tasks:
        if task.check.model in missing and task.skip is None:
            task.skip = f"not run: GET /models does not list {task.check.model!r} ({CHECK_ID})"
    return [check]


def postflight(settings: Settings, checks: list[Check]) -> list[Check]:
    """A model the list names that a completion then calls not found (404 or 410,
    ``model_not_found``) is not a typo: say it is retired or not enabled for this key."""
    listing = next((c for c in checks if c.id == CHECK_ID), None)
    if listing is None or listing.outcome != "pass":
        return []
    for check in checks:
        if (check.outcome == "fail" and check.category is Category.MODEL
                and check.http_status in (404, 410) and "model_not_found" in check.message
                and check.model in settings.models):
            check.message = _RETIRED.format(model=check.model, status=check.http_status,
                                            said=check.message)
            check.details["listed_but_not_found"] = True
    return []


def _confirm(check: Check, target: Target) -> set[str]:
    """Fill ``check``; return the models that are certainly not listed."""
    settings = target.settings
    started = time.monotonic()
    call = traced(check, target, Call("GET", "models"))
    try:
        exchange = request(target.route, call)
    except TransportFailure as failure:
        _attempt(check, failure.status, failure.category, started, failure.message)
        return _unconfirmed(check, failure.category, failure.message)
    check.request_id = classify.request_id(exchange.headers)
    status = exchange.status
    record_response(check, status, exchange.headers, exchange.body)
    if not 200 <= status < 300:
        category, message = classify.response(status, exchange.headers, exchange.body)
        _attempt(check, status, category, started, message)
        if status in _NO_LIST_STATUS and category not in _CREDENTIALS:
            return _warn(check, _NO_ENDPOINT.format(status=status))
        return _unconfirmed(check, category, message)
    _attempt(check, status, None, started, "")
    listed, paged, problem = _ids(exchange.body)
    if problem:
        return _warn(check, _UNREADABLE.format(why=f"HTTP {status}, but {problem}"))
    check.details["listed"] = len(listed)
    missing = [model for model in settings.models if model not in listed]
    check.details["missing"] = missing
    if not missing:
        check.outcome = "pass"
        check.message = (f"all {count(len(settings.models), 'model')} listed "
                         f"({len(listed)} in the list)")
        check.steps.append(Step("listed", "pass", check.message))
        return set()
    named = ", ".join(_with_matches(model, listed) for model in missing)
    if paged:
        return _warn(check, _PAGED.format(missing=named))
    these = "its checks were" if len(missing) == 1 else "their checks were"
    message = _MISSING.format(missing=named, these=these)
    check.steps.append(Step("listed", "fail", message))
    check.fail(Category.MODEL, message)
    return set(missing)


def _attempt(check: Check, status: int | None, category: Category | None, started: float,
             message: str) -> None:
    check.attempts, check.http_status = 1, status
    check.attempt_log.append(Attempt(1, status, category.value if category else None,
                                     int((time.monotonic() - started) * 1000), message,
                                     client_request_id=check.client_request_id))


def _unconfirmed(check: Check, category: Category, message: str) -> set[str]:
    if category in _CREDENTIALS:
        check.steps.append(Step("listed", "fail", message))
        check.fail(category, f"GET /models: {message}")
        return set()
    return _warn(check, _UNREADABLE.format(why=f"{category.value}: {message}"))


def _warn(check: Check, warning: str) -> set[str]:
    check.outcome, check.message = "skip", warning
    check.warnings.append(warning)
    check.steps.append(Step("listed", "skip", warning))
    return set()


def _ids(body: bytes) -> tuple[list[str], bool, str | None]:
    """The model ids of an OpenAI ``list`` object, whether more pages follow, or why the
    body is not one."""
    try:
        loaded: object = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        head = one_line(body.decode("utf-8", errors="replace"), 60)
        return [], False, f"the body is not JSON ({head!r})"
    data = as_object(loaded) or {}
    if items(data, "data") is None:
        return [], False, "the body has no data list of models"
    ids = [ident for entry in objects(data, "data") if (ident := text(entry, "id")) is not None]
    return ids, data.get("has_more") is True, None


def _with_matches(model: str, listed: list[str]) -> str:
    close = difflib.get_close_matches(model, listed, n=3, cutoff=0.6)
    if not close:
        folded = [name for name in listed if name.casefold() == model.casefold()]
        close = folded
    if close:
        return f"{model!r} (did you mean {' or '.join(repr(c) for c in close)}?)"
    return f"{model!r} (nothing close among the {len(listed)} listed)"

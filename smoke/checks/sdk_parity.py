"""SDK parity (``--sdk-parity``): the same minimal request through the official ``openai``
SDK, compared with the raw HTTP positive check of the same model.

The operator guidance this project follows: "Compare one raw HTTP call with one SDK call in
staging when upgrading dependencies." Both paths must answer (then the returned ``model``
and the extracted text are compared), or both must fail in the same category. Anything
else fails as ``protocol`` and says which side saw what: an SDK upgrade that changes
request or response handling, or a gateway that treats the SDK's requests (its
``X-Stainless-*`` headers and ``OpenAI/Python`` User-Agent) differently, changes what
applications see while the raw check still passes.

Two answers of a real model may differ in wording even at temperature 0, so differing
texts count as a mismatch only when the output condition judges them differently.

``openai`` is imported only when a parity check runs (it costs about a second);
``config`` refuses ``--sdk-parity`` when the ``chat-smoke[sdk]`` extra is not installed.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol
from urllib.parse import parse_qsl

from smoke.categories import Category
from smoke.checks.task import Plan, Task
from smoke.config import headers as http_headers
from smoke.config.settings import Settings
from smoke.http import classify, parse, payload
from smoke.http.deadline import Deadline
from smoke.jsonvalue import JSONObject
from smoke.output.textsafe import one_line
from smoke.results import Check, Step

if TYPE_CHECKING:  # the SDK is imported only when a parity check runs
    import openai
    from openai.types.chat import ChatCompletion

# Sent as named arguments of ``chat.completions.create`` (the SDK's own handling of them is
# part of what is compared); every other payload field goes through ``extra_body``.
_NAMED = ("temperature", "max_tokens", "max_completion_tokens")
_MISMATCH = (
    "raw HTTP and the openai SDK {version} disagree ({why}): raw HTTP {raw}; SDK {sdk}. "
    "The SDK sends its own User-Agent and X-Stainless-* headers and parses and retries on "
    "its own: compare the two requests at the gateway, and pin the SDK version that "
    "agreed (docs/compatibility.md, SDK parity)"
)
_NOTHING = "nothing to compare: {id} did not run to a result ({message})"


@dataclass(frozen=True)
class Side:
    """What one path saw: an answer (``category`` None) or a failure category."""

    category: Category | None
    text: str = ""
    model: str | None = None
    holds: bool = False  # the output condition held for the text
    message: str = ""
    usage: JSONObject | None = field(default=None, compare=False)

    def describe(self) -> str:
        if self.category is None:
            return f"answered {self.text!r} (model {self.model!r})"
        return f"failed as {self.category.value} ({self.message})"


class _Response(Protocol):
    """What the wire reads of the SDK's HTTP client's response."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...


@dataclass
class _Wire:
    """What the SDK's HTTP client saw: requests sent, the last status and headers."""

    attempts: int = 0
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def on_request(self, request: object) -> None:
        self.attempts += 1

    def on_response(self, response: _Response) -> None:
        self.status = int(response.status_code)
        self.headers = {k.lower(): v for k, v in response.headers.items()}


def plan(context: Plan) -> list[Task]:
    """One parity task per positive check, run after it (``Task.after``)."""
    positives = [task.check for task in context.tasks if task.check.kind == "positive"]
    if not context.settings.sdk_parity:
        return []
    planned: list[Task] = []
    for raw in positives:
        model = raw.model or ""
        check = Check(f"sdk-parity:{model}", "parity", f"SDK parity ({model})", model)
        planned.append(Task(check, _runner(raw, context), after=raw))
    return planned


def _runner(raw: Check, plan: Plan) -> Callable[[Check], None]:
    def run(check: Check) -> None:
        parity(check, raw, plan)

    return run


def parity(check: Check, raw: Check, plan: Plan) -> None:
    """Send through the SDK and judge it against the finished raw check ``raw`` (the
    positive check of the same model: ``Task.after``)."""
    raw_side = raw_result(raw)
    if raw_side is None:
        check.message = _NOTHING.format(id=raw.id, message=raw.message or raw.outcome)
        return
    target = plan.target(check.model)  # the model's own settings
    sdk, version = sdk_result(check, target.settings, target.deadline)
    check.details["sdk"] = f"openai {version}"
    check.details["raw_side"], check.details["sdk_side"] = raw_side.describe(), sdk.describe()
    check.response_model, check.usage = sdk.model, sdk.usage  # the SDK's spend counts too
    check.answer = sdk.text if sdk.category is None else None
    why = mismatch(raw_side, sdk)
    if why:
        check.steps.append(Step("compare", "fail", why))
        check.fail(Category.PROTOCOL, _MISMATCH.format(
            version=version, why=why, raw=raw_side.describe(), sdk=sdk.describe()))
        return
    check.steps.append(Step("compare", "pass"))
    check.outcome = "pass"
    if sdk.category is not None:
        check.message = f"both failed as {sdk.category.value} (openai {version})"
    elif sdk.text != raw_side.text:
        check.message = (f"both answered model {sdk.model!r}; the texts differ ({raw_side.text!r}"
                         f" raw, {sdk.text!r} SDK) but the output condition judges them alike")
    else:
        check.message = f"both answered {sdk.text!r} (model {sdk.model!r}, openai {version})"


def raw_result(raw: Check) -> Side | None:
    """The raw positive check as a :class:`Side`; None when it has no result to compare."""
    steps = {step.name: step.outcome for step in raw.steps}
    if steps.get("parse") == "pass":
        return Side(None, raw.answer or "", raw.response_model,
                    steps.get("output_condition") == "pass")
    if raw.outcome == "fail" and raw.category is not None:
        return Side(raw.category, message=raw.message)
    return None


def mismatch(raw: Side, sdk: Side) -> str | None:
    """Why the two sides disagree, or None when they agree."""
    if raw.category is sdk.category is None:
        if raw.model != sdk.model:
            return "the returned model differs"
        if raw.text != sdk.text and raw.holds != sdk.holds:
            return "the output condition holds for one answer only"
        return None
    if raw.category is sdk.category:
        return None
    if raw.category is None or sdk.category is None:
        return "one side answered, the other failed"
    return "they failed in different categories"


def sdk_result(check: Check, settings: Settings, deadline: Deadline) -> tuple[Side, str]:
    """Send the minimal request through the official SDK; record attempts, status and
    request id on ``check``. Returns what the SDK side saw and the SDK's version."""
    import openai  # only here: the import costs about a second

    wire = _Wire()
    body = payload.build(settings, check.model or "")
    named = {name: body.pop(name) for name in _NAMED if name in body}
    model, messages = str(body.pop("model")), body.pop("messages")
    timeout = openai.Timeout(deadline.bound(settings.timeout),
                             connect=deadline.bound(settings.connect_timeout))
    verify: ssl.SSLContext | bool = (
        ssl.create_default_context(cafile=settings.ca_bundle) if settings.ca_bundle else True
    )
    # Redirects stay unfollowed, as on the raw path: the key never follows one blindly.
    http = openai.DefaultHttpxClient(
        verify=verify, timeout=timeout, follow_redirects=False,
        event_hooks={"request": [wire.on_request], "response": [wire.on_response]},
    )
    # The same headers, query and auth style as the raw request (issue 13): the SDK always
    # sends Authorization, so another auth style omits it on each request (the SDK accepts
    # an omitted Authorization only there) and sends its own header.
    headers: dict[str, str] = {h.name: h.value for h in settings.headers}
    api_key = settings.api_key or "unused"
    if settings.auth_header not in (http_headers.AUTHORIZATION, http_headers.NO_AUTH):
        headers[settings.auth_header] = settings.api_key
    query = dict(parse_qsl(settings.base_query, keep_blank_values=True))
    client = openai.OpenAI(api_key=api_key, base_url=settings.base_url,
                           timeout=timeout, max_retries=settings.retries, http_client=http,
                           default_headers=headers or None, default_query=query or None)
    try:
        side = _call(client, settings, model, messages, named, body)
    finally:
        client.close()
    check.attempts, check.http_status = wire.attempts, wire.status
    check.request_id = classify.request_id(wire.headers, side.message)
    check.steps.append(Step("sdk_send", "pass" if side.category is None else "fail",
                            side.message))
    return side, str(openai.__version__)


def _call(client: openai.OpenAI, settings: Settings, model: str, messages: object,
          named: dict[str, object], extra: dict[str, object]) -> Side:
    import openai

    # Any: the SDK types each argument by its overloads; ours are the JSON body's values,
    # passed on as they are (the SDK's own handling of them is what is compared).
    create: Callable[..., ChatCompletion] = client.chat.completions.create
    try:
        omit = settings.auth_header != http_headers.AUTHORIZATION
        answer = create(
            model=model, messages=messages, extra_body=extra or None,
            extra_headers={"Authorization": openai.Omit()} if omit else None, **named)
    except openai.APIStatusError as exc:
        headers = {k.lower(): v for k, v in exc.response.headers.items()}
        category, message = classify.response(exc.status_code, headers, exc.response.content)
        return Side(category, message=message)
    except openai.APITimeoutError:
        return Side(Category.TIMEOUT, message="the SDK timed out (openai.APITimeoutError)")
    except openai.APIConnectionError as exc:
        category, message = classify.exception(exc)
        return Side(category, message=message)
    except (openai.APIError, ValueError) as exc:  # a body the SDK could not read as JSON
        return Side(Category.PROTOCOL, message=f"the SDK could not read the answer: "
                    f"{type(exc).__name__}: {one_line(str(exc), 160)}")
    try:
        text = parse.text_of(answer.choices[0].message.content, "choices[0].message.content")
    except (AttributeError, IndexError, TypeError, KeyError, parse.ParseFailure) as exc:
        return Side(Category.PROTOCOL, message=f"the SDK returned {type(answer).__name__} "
                    f"without a readable choices[0].message.content ({one_line(str(exc), 120)})")
    model_seen = getattr(answer, "model", None)
    dump = getattr(getattr(answer, "usage", None), "model_dump", None)
    calls = getattr(answer.choices[0].message, "tool_calls", None) or []
    tools = tuple(str(c.function.name) for c in calls if getattr(c, "function", None))
    return Side(None, one_line(text, 500), model_seen if isinstance(model_seen, str) else None,
                settings.expect.holds(text, tools),
                usage=dump(exclude_none=True) if callable(dump) else None)

"""The positive check: send, assert HTTP success, parse, assert the output condition."""

from __future__ import annotations

from smoke.categories import Category
from smoke.checks import signals
from smoke.checks.send import record_body, record_output, record_send, send_with_retries
from smoke.checks.task import Plan, Task
from smoke.http import parse, payload
from smoke.output.textsafe import one_line
from smoke.results import Check, Step


def plan(context: Plan) -> list[Task]:
    """One positive check per model: the gate's main check, always planned."""
    return [
        Task(Check(f"positive:{model}", "positive", f"chat completion ({model})", model),
             lambda check: positive(check, context))
        for model in context.settings.models
    ]


def positive(check: Check, plan: Plan) -> None:
    """Fill ``check`` (kind positive, for ``check.model``)."""
    model = check.model or ""
    target = plan.target(model)  # every per-model check reads its own settings
    settings = target.settings
    body = payload.build(settings, model)
    check.details["request_fields"] = sorted(body)  # compared by --baseline (checks.drift)
    record_body(check, settings, body)
    exchange = send_with_retries(check, target, body, settings.retries)
    if not record_send(check, exchange) or exchange is None:
        return
    check.details["wire"] = {"ttfb_ms": exchange.ttfb_ms, "total_ms": exchange.duration_ms}
    contract = signals.ContractLog(settings.contract)
    try:
        data = parse.load_json(exchange.body, exchange.truncated)
        contract.answer(data)
        answer = parse.completion(data)
    except parse.ParseFailure as exc:
        check.steps.append(Step("parse", "fail", str(exc)))
        check.fail(Category.PROTOCOL, f"HTTP {exchange.status}, but {exc}")
        contract.record(check, decide=False)  # JSON that is no answer: what it lacks
        return
    check.steps.append(Step("parse", "pass"))
    if not contract.record(check):
        return
    check.finish_reason, check.usage = answer.finish_reason, answer.usage
    check.response_model, check.system_fingerprint = answer.model, answer.system_fingerprint
    if settings.reads_like_the_application:  # imported only when one is set
        from smoke.checks import application

        if not application.required(check, settings, data, exchange.headers):
            return
        read = application.parsed(check, settings, target.deadline, exchange.body, answer)
        if read is None:
            return
        answer = read
    check.answer = one_line(answer.text, 500)
    record_output(check, settings, answer)
    signals.judge(check, settings, check.details["wire"])

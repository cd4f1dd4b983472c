"""A request as the stub's scenarios see it, and what a well-behaved server validates."""

from __future__ import annotations

from smoke.jsonvalue import as_object, text
from smoke.stub import wire
from smoke.stub.handler import Handler


class Request:
    def __init__(self, scenario: str, payload: object, raw: bytes) -> None:
        name, _, self.tag = scenario.partition("~")
        self.name, _, self.arg = name.partition(":")
        self.scenario = scenario
        # The body as sent: foreign JSON, an empty object when it is not one.
        self.payload = as_object(payload) or {}
        self.raw = raw
        self.model = text(self.payload, "model") or ""
        self.stream = self.payload.get("stream") is True

    def arg_float(self, default: float) -> float:
        try:
            return float(self.arg)
        except ValueError:
            return default


def validate(h: Handler, req: Request) -> bool:
    """What a well-behaved server checks, in OpenAI's order and envelopes."""
    key = h.bearer()
    if key != h.server.state.key:
        shown = f"{key[:3]}*****{key[-4:]}" if len(key) > 8 else "(none)"
        h.send_bytes(401, wire.error(
            f"Incorrect API key provided: {shown}. You can find your API key at "
            "https://platform.openai.com/account/api-keys.", "invalid_request_error",
            "invalid_api_key"))
        return False
    if not isinstance(req.payload, dict) or not req.payload:
        h.send_bytes(400, wire.error("We could not parse the JSON body of your request.",
                                     "invalid_request_error", None))
        return False
    if "messages" not in req.payload:
        h.send_bytes(400, wire.error("Missing required parameter: 'messages'.",
                                     "invalid_request_error", "missing_required_parameter",
                                     "messages"))
        return False
    if req.model not in h.server.state.models and not req.model.startswith("scenario/"):
        h.send_bytes(404, wire.error(
            f"The model `{req.model}` does not exist or you do not have access to it.",
            "invalid_request_error", "model_not_found"))
        return False
    return True

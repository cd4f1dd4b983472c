"""The fields of :class:`smoke.config.settings.Settings` as a TypedDict: what
``config.load`` builds a Settings from, and what a model entry overrides
(``Settings.model_overrides``, applied with ``dataclasses.replace``). mypy checks each
value against its field, so a layer's value reaches a Settings field typed.

tests/test_config_fields.py fails when this and the dataclass's fields differ."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, TypedDict, cast

if TYPE_CHECKING:
    from smoke.config.expect import Expectation
    from smoke.config.headers import Header
    from smoke.owners import Rule


class Fields(TypedDict, total=False):
    """Settings' init fields (every one optional here: a layer or an entry sets some)."""

    base_url: str
    models: tuple[str, ...]
    api_key: str
    api_key_source: str
    base_query: str
    base_url_source: str
    auth_header: str
    headers: tuple[Header, ...]
    notes: tuple[str, ...]
    environment: str
    connect_timeout: float
    timeout: float
    deadline: float
    retries: int
    ca_bundle: str | None
    allow_plain_http: bool
    expect: Expectation
    system_prompt: str
    user_prompt: str
    temperature: float | None
    max_tokens: int | None
    max_completion_tokens: int | None
    extra_body: Mapping[str, object]
    reasoning_effort: str | None
    request_body: str | None
    request_payload: Mapping[str, object] | None
    parser: str | None
    parser_command: str | None
    parser_timeout: float
    require_fields: tuple[str, ...]
    require_headers: tuple[str, ...]
    workdir: str | None
    negative: tuple[str, ...]
    stream: bool
    stall_timeout: float
    check_models: bool
    cert_warn_days: int
    contract: str
    ratelimit_warn: float
    sunset_fail_days: int | None
    latency: Mapping[str, Mapping[str, int]]
    expect_model: str | None
    max_total_tokens: int | None
    concurrency: int
    sdk_parity: bool
    ci: str
    dotenv_prefix: str
    report_json: str | None
    report_junit: str | None
    report_dotenv: str | None
    summary: str | None
    summary_template: str | None
    report_prometheus: str | None
    baseline: str | None
    fail_on_drift: bool
    drift_latency_factor: float
    drift_latency_floor_ms: int
    drift_usage_factor: float
    target: str
    pushgateway: str | None
    owners: tuple[Rule, ...]
    previous_report: str | None
    incident_issue: bool
    incident_after: int
    incident_reopen_days: int
    gitlab_token_env: str
    notify: Mapping[str, str]
    config_file: str | None
    max_body_bytes: int
    model_overrides: Mapping[str, Fields]


def validated(values: Mapping[str, object]) -> Fields:
    """``values``, each already validated against the schema key of its name (the layers
    and model entries are, as they are read), as :class:`Fields`. A name that is no field
    is a bug in the caller: refused here rather than as a TypeError from Settings."""
    unknown = set(values) - Fields.__optional_keys__
    if unknown:
        raise ValueError(f"not Settings fields: {sorted(unknown)}")
    # The schema checked each value's type (and load converted the numbers to float).
    return cast(Fields, dict(values))

"""The one typed configuration object of a gate run (built by :mod:`smoke.config`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from smoke._version import __version__
from smoke.config import headers as http_headers
from smoke.config import query as http_query
from smoke.config.expect import Expectation
from smoke.owners import Rule

if TYPE_CHECKING:
    from smoke.config.fields import Fields

# Settings fields that are not a schema key of the same name, and the schema keys each is
# derived from (none: it does not come from a setting). Every other field is the schema key
# of its name, copied by ``config.load``; tests/test_schema.py fails when a schema key is
# neither a field nor a source here, or a field is neither a schema key nor declared here.
DERIVED: dict[str, tuple[str, ...]] = {
    "models": ("model",),
    "api_key": ("api_key_env", "api_key_file"),
    "api_key_source": ("api_key_env", "api_key_file"),
    "base_query": ("base_url",),  # the base URL's query string, sent on every request
    "base_url_source": ("base_url",),  # the flag, variable or file that set it
    "notes": ("headers",),  # warnings found while loading (a literal secret header)
    "config_file": (),  # the file itself: --config, SMOKE_CONFIG or ./chat-smoke.yml
    "max_body_bytes": (),  # a fixed cap on a response body, not a setting
    "model_overrides": ("model",),  # each model entry's own settings, as field values
    "request_payload": ("request_body",),  # the file's validated body
    "per_model_cache": (),  # for_model's results
    "workdir": (),  # the working directory: relative files, the parser's imports
}
# Schema keys that only ``chat-smoke serve`` reads (smoke/serve/config.py): a run ignores
# them, so one chat-smoke.yml serves both.
SERVE_ONLY: tuple[str, ...] = ("targets", "modules", "serve")
DEFAULT_DOTENV_PREFIX = "CHAT_SMOKE_"


@dataclass(frozen=True)
class Settings:
    """The whole, validated configuration of one gate run."""

    base_url: str
    models: tuple[str, ...]
    api_key: str = field(repr=False)
    api_key_source: str
    base_query: str = ""
    base_url_source: str = "default"
    auth_header: str = http_headers.AUTHORIZATION
    headers: tuple[http_headers.Header, ...] = ()
    notes: tuple[str, ...] = ()
    environment: str = ""
    connect_timeout: float = 5.0
    timeout: float = 30.0
    deadline: float = 120.0
    retries: int = 2
    ca_bundle: str | None = None
    allow_plain_http: bool = False
    expect: Expectation = field(default_factory=Expectation)
    system_prompt: str = "Reply with exactly the word: pong"
    user_prompt: str = "ping"
    temperature: float | None = 0.0
    max_tokens: int | None = 16
    max_completion_tokens: int | None = None
    extra_body: Mapping[str, object] = field(default_factory=dict)
    reasoning_effort: str | None = None
    request_body: str | None = None  # the file's absolute path
    request_payload: Mapping[str, object] | None = field(default=None, repr=False)
    parser: str | None = None
    parser_command: str | None = None
    parser_timeout: float = 10.0
    require_fields: tuple[str, ...] = ()
    require_headers: tuple[str, ...] = ()
    workdir: str | None = None
    negative: tuple[str, ...] = ()
    stream: bool = False
    stall_timeout: float = 10.0
    check_models: bool = False
    cert_warn_days: int = 14
    contract: str = "warn"  # warn, strict or off (smoke.http.contract)
    ratelimit_warn: float = 0.1
    sunset_fail_days: int | None = None
    # {measure: {"warn": ms, "fail": ms}}, measures in config.objectives.LATENCY
    latency: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    expect_model: str | None = None
    max_total_tokens: int | None = None
    concurrency: int = 16
    sdk_parity: bool = False
    ci: str = "auto"
    dotenv_prefix: str = DEFAULT_DOTENV_PREFIX
    report_json: str | None = None
    report_junit: str | None = None
    report_dotenv: str | None = None
    summary: str | None = None
    summary_template: str | None = None
    report_prometheus: str | None = None
    baseline: str | None = None
    fail_on_drift: bool = False
    drift_latency_factor: float = 3.0
    drift_latency_floor_ms: int = 250
    drift_usage_factor: float = 2.0
    target: str = ""
    pushgateway: str | None = None
    owners: tuple[Rule, ...] = ()
    previous_report: str | None = None
    incident_issue: bool = False
    incident_after: int = 1
    incident_reopen_days: int = 7
    gitlab_token_env: str = "GITLAB_TOKEN"
    notify: Mapping[str, str] = field(default_factory=dict)
    config_file: str | None = None
    max_body_bytes: int = 4 * 1024 * 1024
    # model id -> {Settings field: value}: the overrides of a model entry (config.models).
    model_overrides: Mapping[str, Fields] = field(default_factory=dict)
    per_model_cache: dict[str, Settings] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    def for_model(self, model: str | None) -> Settings:
        """The effective settings of ``model``: these, with its entry's overrides. Every
        per-model check reads its settings from here."""
        overrides = self.model_overrides.get(model or "")
        if not overrides:
            return self
        found = self.per_model_cache.get(model or "")
        if found is None:
            found = self.per_model_cache[model or ""] = dataclasses.replace(self, **overrides)
        return found

    @property
    def reads_like_the_application(self) -> bool:
        """Whether an answer goes through the application's own checks (its required
        fields and headers, its parser): only then is that module imported."""
        return bool(self.require_fields or self.require_headers or self.parser
                    or self.parser_command)

    @property
    def has_parser(self) -> bool:
        return bool(self.parser or self.parser_command)

    def any_model(self, name: str) -> bool:
        """Whether the field ``name`` is truthy for any model (a check kind that one model
        turns on is planned)."""
        return bool(getattr(self, name)) or any(
            bool(getattr(self.for_model(model), name)) for model in self.model_overrides)

    @property
    def endpoint(self) -> str:
        return self.url("chat/completions")

    def url(self, path: str) -> str:
        """The URL of ``path`` under the base URL, with the base URL's query."""
        return http_query.join(f"{self.base_url}/{path.lstrip('/')}", self.base_query)

    @property
    def public_base_url(self) -> str:
        """The base URL with its query, secret-looking parameters masked."""
        return http_query.join(self.base_url, http_query.masked(self.base_query))

    @property
    def user_agent(self) -> str:
        """The synthetic-check tag, unless a --header User-Agent replaces it."""
        for header in self.headers:
            if header.name.lower() == "user-agent":
                return header.value
        return http_headers.user_agent(__version__, self.environment)

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or ""

    @property
    def path(self) -> str:
        return urlsplit(self.base_url).path

    def public(self) -> dict[str, object]:
        """The non-secret configuration, for the console and the reports."""
        return {
            "environment": self.environment,
            "base_url": self.public_base_url,
            "base_url_source": self.base_url_source,
            "host": self.host,
            "path": self.path,
            "models": list(self.models),
            "per_model": self.per_model() or None,
            "api_key": f"set (from {self.api_key_source})" if self.api_key else
            self.api_key_source if self.auth_header == http_headers.NO_AUTH else "not set",
            "auth_header": self.auth_header,
            "headers": [header.shown() for header in self.headers],
            "connect_timeout": self.connect_timeout,
            "timeout": self.timeout,
            "deadline": self.deadline,
            "retries": self.retries,
            "expect": self.expect.describe(),
            "reasoning_effort": self.reasoning_effort,
            "request_body": self.request_body,
            "parser": self.parser,
            "parser_command": self.parser_command,
            "require_fields": list(self.require_fields),
            "require_headers": list(self.require_headers),
            "negative": list(self.negative),
            "stream": self.stream,
            "stall_timeout": self.stall_timeout if self.stream else None,
            "check_models": self.check_models,
            "expect_model": self.expect_model,
            "contract": self.contract,
            "ratelimit_warn": self.ratelimit_warn,
            "sunset_fail_days": self.sunset_fail_days,
            "latency": {name: dict(bounds) for name, bounds in self.latency.items()} or None,
            "max_total_tokens": self.max_total_tokens,
            "concurrency": self.concurrency if len(self.models) > 1 else None,
            "sdk_parity": self.sdk_parity,
            "ca_bundle": self.ca_bundle,
            "allow_plain_http": self.allow_plain_http,
            "baseline": self.baseline,
            "fail_on_drift": self.fail_on_drift if self.baseline else None,
            "owners": [rule.owner.team for rule in self.owners] or None,
            "previous_report": self.previous_report,
            "incident_issue": self.incident_issue,
            # Shown only when changed; the dotenv and Azure outputs read it from here.
            "dotenv_prefix": (self.dotenv_prefix
                              if self.dotenv_prefix != DEFAULT_DOTENV_PREFIX else None),
            # The monitor's target name (the metrics' target label), when one is set.
            "target": self.target or None,
        }

    def per_model(self) -> dict[str, dict[str, object]]:
        """The effective value of each setting a model entry overrides, by model."""
        return {model: {name: shown(name, getattr(self.for_model(model), name))
                        for name in overrides if name != "request_payload"}
                for model, overrides in self.model_overrides.items()}


def shown(name: str, value: object) -> object:
    """A setting as the printout and the reports show it: a prompt by its size, the extra
    body by its keys (their values may be anything)."""
    if name in ("system_prompt", "user_prompt") and isinstance(value, str):
        return f"{len(value)} characters"
    if name == "extra_body" and isinstance(value, Mapping):
        return {"keys": sorted(value)}
    if hasattr(value, "describe"):
        return value.describe()
    if isinstance(value, tuple):
        return list(value)
    return value

"""The exporter's configuration: ``targets:``, ``modules:`` and ``serve:`` of chat-smoke.yml.

A target is a name and overrides of any run setting (endpoint, key source, models,
headers, ...); a module a name and check settings. Both come only from this file: the
scrape's query names them and nothing else, so the exporter can't be made to send a key
anywhere (an unknown name is a 400). Every target is loaded once here, key included, so a
broken target is found when the file is (re)loaded, not at 3 a.m. by a scrape.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from smoke import config
from smoke.config.load import read_file
from smoke.config.settings import SERVE_ONLY
from smoke.errors import ConfigError
from smoke.jsonvalue import as_object, child, number
from smoke.output import redact

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
DEFAULT_MIN_INTERVAL = 60.0
DEFAULT_CONCURRENCY = 8
DEFAULT_MARGIN = 0.5
# Per-target keys that are the exporter's, not a run setting.
TARGET_KEYS = ("min_interval", "daily_requests", "daily_tokens")
# Run settings that make no sense for a probe: serve writes no report and prints to no CI.
NOT_FOR_SERVE = ("report_json", "report_junit", "report_dotenv", "summary",
                 "summary_template", "report_prometheus", "ci", "dotenv_prefix",
                 "pushgateway", "target", "baseline", "fail_on_drift", "previous_report",
                 "incident_issue", "notify")
# A module holds check settings; where the key goes is a target's business only.
ENDPOINT_KEYS = ("base_url", "api_key_env", "api_key_file", "auth_header", "headers",
                 "ca_bundle", "allow_plain_http", "environment")
_FIX = "See docs/monitoring.md, 'Configuration'."


@dataclass(frozen=True)
class Target:
    name: str
    flags: Mapping[str, object]
    environment: str
    deadline: float
    min_interval: float
    daily_requests: int | None
    daily_tokens: int | None
    secrets: tuple[str, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class ServeConfig:
    path: str
    targets: Mapping[str, Target]
    modules: Mapping[str, Mapping[str, object]]
    max_concurrent: int = DEFAULT_CONCURRENCY
    margin: float = DEFAULT_MARGIN


def load(path: str | Path, env: Mapping[str, str], cwd: Path) -> ServeConfig:
    """Read and check the whole file; :class:`ConfigError` names the first problem."""
    file = cwd / path
    if not file.is_file():
        raise ConfigError(f"--config {path}: no such file. {_FIX}")
    data = read_file(file)
    serve: Mapping[str, object] = child(data, "serve") or {}
    raw_targets = child(data, "targets") or {}
    if not raw_targets:
        raise ConfigError(f"config file {file}: targets: none defined; chat-smoke serve probes "
                          f"only the targets the file names. {_FIX}")
    modules: dict[str, Mapping[str, object]] = {}
    for name, given in (child(data, "modules") or {}).items():
        settings = as_object(given) or {}  # the schema: each module is an object
        _name("modules", name)
        for key in settings:
            _setting(f"modules.{name}.{key}", key)
            if key in ENDPOINT_KEYS or key in TARGET_KEYS:
                raise ConfigError(f"config file {file}: modules.{name}.{key}: a module holds "
                                  f"check settings only; set {key} under targets. {_FIX}")
        modules[name] = dict(settings)
    targets = {name: _target(file, name, dict(as_object(value) or {}), serve, env, cwd)
               for name, value in raw_targets.items()}
    for name, chosen in modules.items():  # each module against the first target
        first = next(iter(targets.values()))
        _settings(file, f"modules.{name}", {**first.flags, **chosen}, env, cwd)
    return ServeConfig(str(file), targets, modules,
                       int(_value(serve, "max_concurrent_probes", DEFAULT_CONCURRENCY)),
                       float(_value(serve, "scrape_timeout_margin", DEFAULT_MARGIN)))


def _value(data: Mapping[str, object], key: str, default: float) -> float:
    """The number at ``data[key]`` (validated: the schema's, or :func:`_target`'s check),
    else ``default``."""
    found = number(data, key)
    return default if found is None else found


def _name(where: str, name: str) -> None:
    if not NAME.fullmatch(str(name)):
        raise ConfigError(f"{where}: {str(name)[:70]!r} is not a valid name: letters, digits, "
                          f"'_', '.', '-', at most 64, starting with a letter or digit "
                          f"(it becomes a label value and a URL parameter). {_FIX}")


def _setting(where: str, key: str) -> None:
    if key in NOT_FOR_SERVE or key in SERVE_ONLY:
        raise ConfigError(f"{where}: not a setting of a probe (serve writes no report and "
                          f"names targets itself). {_FIX}")


def _target(file: Path, name: str, raw: dict[str, object], serve: Mapping[str, object],
            env: Mapping[str, str], cwd: Path) -> Target:
    _name("targets", name)
    own = {key: raw.pop(key) for key in TARGET_KEYS if key in raw}
    for key in TARGET_KEYS:
        value = own.get(key, serve.get(key))
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                                  or value < 0):
            raise ConfigError(f"config file {file}: targets.{name}.{key}: expected a number "
                              f"of at least 0, got {value!r}. {_FIX}")
    for key in raw:
        _setting(f"targets.{name}.{key}", key)
    flags = {**raw, "target": name}
    settings = _settings(file, f"targets.{name}", flags, env, cwd)
    chosen = {key: own if key in own else serve for key in TARGET_KEYS}
    limits = {key: _value(chosen[key], key, 0) for key in ("daily_requests", "daily_tokens")}
    return Target(
        name=name, flags=flags, environment=settings.environment, deadline=settings.deadline,
        min_interval=_value(chosen["min_interval"], "min_interval", DEFAULT_MIN_INTERVAL),
        daily_requests=int(limits["daily_requests"]) if limits["daily_requests"] else None,
        daily_tokens=int(limits["daily_tokens"]) if limits["daily_tokens"] else None,
        secrets=tuple(s for s in (settings.api_key,) if s),
    )


def _settings(file: Path, where: str, flags: Mapping[str, object], env: Mapping[str, str],
              cwd: Path) -> config.Settings:
    try:
        return config.load({"config": str(file), **flags}, env, cwd)
    except ConfigError as exc:
        text = redact.scrub(str(exc))
        raise ConfigError(f"config file {file}: {where}: {text}") from None

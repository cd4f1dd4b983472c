"""One way in for configuration: defaults < YAML file < environment < flags.

Everything is merged here into one frozen :class:`Settings`. Problems raise
:class:`ConfigError` with one line that names the field, the value and the fix.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
import math
import os
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from smoke.config import extras, nearmiss, objectives, targets, url, yamlfile
from smoke.config import headers as http_headers
from smoke.config import key as api_key
from smoke.config import models as model_entries
from smoke.config import owners as owners_map
from smoke.config.expect import Expectation
from smoke.config.fields import Fields, validated
from smoke.config.settings import SERVE_ONLY
from smoke.config.settings import Settings as Settings  # re-exported: config.Settings
from smoke.config.validate import errors, node_at, schema, suggest
from smoke.errors import ConfigError
from smoke.jsonvalue import JSONObject, as_list, as_object, text

DEFAULT_BASE_URL = "https://api.cometapi.com/v1"
DEFAULT_CONFIG_FILE = "chat-smoke.yml"
KEY_VARIABLES = api_key.KEY_VARIABLES
# Read only when nothing else sets the key or the base URL (no flag, no CometAPI
# variable, no config file): a CI that exports them for other tools must never redirect
# a configured gate (issue 13).
FALLBACK_KEY = api_key.FALLBACK_KEY
FALLBACK_BASE_URL = "OPENAI_BASE_URL"
TRUST_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")

# Environment variables with a name of their own; every other key is SMOKE_<KEY>.
_ENV_NAMES = {
    "base_url": ("COMETAPI_BASE_URL", "SMOKE_BASE_URL"),
    "model": ("COMETAPI_MODEL", "SMOKE_MODEL"),
    "environment": ("SMOKE_ENVIRONMENT",),
}


def env_variables(name: str) -> tuple[str, ...]:
    """The environment variables that set the schema key ``name``, the first set wins
    (docs/configuration.md lists them; docs/generate.py reads them from here)."""
    return _ENV_NAMES.get(name, (f"SMOKE_{name.upper()}",))


_NO_KEY_NEEDED = "not sent (auth_header: none)"
_INVALID_KEY_NO_AUTH = (
    "{where}: the invalid-key negative check cannot mean anything with --auth-header none "
    "(no key is sent): drop invalid-key from the negative checks"
)
_KEY_IN_FILE = (
    "api_key is never read from the config file: put the key in COMETAPI_API_KEY, or name "
    "its variable with api_key_env, or its file with api_key_file"
)


@cache
def _properties() -> JSONObject:
    return node_at(schema(), "properties")


def _node(name: str) -> JSONObject:
    """The schema node of the top-level key ``name`` (KeyError when there is none)."""
    return node_at(_properties(), name)


def _kinds(node: Mapping[str, object]) -> list[str]:
    branches = as_list(node.get("anyOf"))
    if branches is not None:
        return [str((as_object(sub) or {}).get("type")) for sub in branches]
    kind = node.get("type", "string")
    return list(kind) if isinstance(kind, list) else [str(kind)]


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def parse_bool(text: str) -> bool | None:
    """``true``/``false`` (and yes/no, on/off, 1/0, any case); None for anything else.
    Every boolean read from the environment, a flag or an action input goes through here."""
    value = text.strip().lower()
    return True if value in _TRUE else False if value in _FALSE else None


def coerce(name: str, text: str, where: str) -> object:
    """Turn a string from the environment or a flag into the schema's type for ``name``."""
    if name == "headers":  # "Name: value" lines, as curl's -H and the action input give
        return http_headers.parse_lines(text.split("\n"), where)
    kinds = _kinds(_node(name))
    raw = text.strip()
    if "null" in kinds and raw.lower() in ("none", "null"):
        return None
    if "array" in kinds:
        return [part.strip() for part in re.split(r"[,\n]", raw) if part.strip()]
    try:
        if "boolean" in kinds:
            flag = parse_bool(raw)
            if flag is None:
                raise ValueError
            return flag
        if "integer" in kinds:
            return int(raw)
        if "number" in kinds:
            number = float(raw)
            if not math.isfinite(number):
                raise ConfigError(f"{where}: expected a finite number, got {text!r}")
            return number
    except ValueError:
        want = "true or false" if "boolean" in kinds else (
            "an integer" if kinds[0] == "integer" else f"a {kinds[0]}")
        if "null" in kinds:
            want += " or none"
        words = ("true", "false") if "boolean" in kinds else ("none",) if "null" in kinds else ()
        raise ConfigError(f"{where}: expected {want}, got {text!r}"
                          f"{nearmiss.hint(raw.lower(), words)}") from None
    return text


def _check(name: str, value: object, where: str) -> None:
    if name == "model":
        model_entries.check(value, where)
    problems = errors(value, _node(name), where)
    if problems:
        raise ConfigError(problems[0])


def read_file(path: Path, given: str | None = None) -> JSONObject:
    """Read and validate a chat-smoke.yml file; messages name it as ``given``."""
    shown = given or str(path)
    loaded, line = yamlfile.load(path, shown)
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(
            f"config file {shown}: line {line}: expected a mapping of keys (base_url: ..., "
            f"model: ...), got {type(loaded).__name__}"
        )
    document: JSONObject = loaded  # its keys: a str each, or the schema check below says
    if "api_key" in document:
        raise ConfigError(f"config file {shown}: {_KEY_IN_FILE}")
    model_entries.check(document.get("model"), f"config file {shown}: model")
    problems = errors(document, schema(), "")
    if problems:
        raise ConfigError(f"config file {shown}: {problems[0]}")
    return document


_SETTINGS_CACHE: dict[tuple[str, int, int, int], JSONObject] = {}


def _file_settings(path: Path, given: str | None = None) -> JSONObject:
    """The file's run settings (without serve's ``targets:``/``modules:``/``serve:``),
    parsed once per version of the file: ``chat-smoke serve`` loads the same file for
    every probe of every target, and a file with 200 targets is not small."""
    try:
        stat = path.stat()
    except OSError:
        return read_file(path, given)  # says what is wrong with it
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, stat.st_ino)
    found = _SETTINGS_CACHE.get(key)
    if found is None:
        found = {k: v for k, v in read_file(path, given).items() if k not in SERVE_ONLY}
        if len(_SETTINGS_CACHE) > 16:
            _SETTINGS_CACHE.clear()
        _SETTINGS_CACHE[key] = found
    return copy.deepcopy(found)


def _env_layer(env: Mapping[str, str]) -> dict[str, tuple[object, str]]:
    layer: dict[str, tuple[object, str]] = {}
    for name in _properties():
        if name in SERVE_ONLY:  # read from the file by chat-smoke serve only
            continue
        for var in env_variables(name):
            text = env.get(var, "")
            if text.strip():
                layer[name] = (coerce(name, text, var), var)
                break
    return layer


def _trust_fallback(merged: dict[str, object], where: dict[str, str],
                    env: Mapping[str, str]) -> None:
    """The documented order (docs/gate.md, "Network safety"): an explicit ca_bundle (flag,
    config file, action input, SMOKE_CA_BUNDLE) > REQUESTS_CA_BUNDLE > CURL_CA_BUNDLE (both read by
    requests) > SSL_CERT_FILE (OpenSSL's) > certifi. Resolved here once, and the result
    passed on every request (smoke.http.transport.verify_for), so requests' own reading
    of the environment never overrides it."""
    if merged.get("ca_bundle"):
        return
    for var in TRUST_VARIABLES:
        if env.get(var, "").strip():
            merged["ca_bundle"], where["ca_bundle"] = env[var].strip(), var
            return


class Layers:
    """The layers merged once and each value validated (the key is not read yet: a key
    file may be a pipe, readable once). ``get`` reads one merged setting, e.g. ``ci``
    before the run's console exists; :func:`build` makes the :class:`Settings`. (A plain
    class: a dataclass costs a run about 1 ms of start-up to create.)"""

    __slots__ = ("merged", "where", "env", "config_path", "headers", "argv_headers", "cwd")

    def __init__(self, merged: Mapping[str, object], where: Mapping[str, str],
                 env: Mapping[str, str], config_path: Path | None,
                 headers: Mapping[str, tuple[str, str]], argv_headers: frozenset[str],
                 cwd: Path) -> None:
        self.merged, self.where, self.env = merged, where, env
        self.config_path, self.headers, self.argv_headers = config_path, headers, argv_headers
        self.cwd = cwd

    def get(self, name: str) -> object:
        return self.merged.get(name)


def load(
    flags: Mapping[str, object], env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Settings:
    """Merge defaults, the YAML file, the environment and ``flags`` into :class:`Settings`.

    ``flags`` maps schema keys to values from the command line (``None`` means not
    given); strings are coerced by the schema's type.
    """
    return build(merge(flags, env, cwd))


def merge(flags: Mapping[str, object], env: Mapping[str, str] | None = None,
          cwd: Path | None = None) -> Layers:
    """The layers (defaults < file < environment < flags) merged and validated, once per
    run. Raises :class:`ConfigError`."""
    env = os.environ if env is None else env
    cwd = cwd or Path.cwd()
    merged, where, env, config_path, extra, argv_headers = _merge(flags, env, cwd)
    return Layers(merged, where, env, config_path, extra, frozenset(argv_headers), cwd)


def _as_given(path: Path | None, cwd: Path) -> str | None:
    """The file as it was named (relative to the working directory when given so): the
    console says "loaded (file: conf/gate.yml)", not the runner's workspace path."""
    if path is None:
        return None
    return str(path.relative_to(cwd)) if path.is_relative_to(cwd) else str(path)


def build(layers: Layers) -> Settings:
    """The run's :class:`Settings` from merged layers: reads the key, checks what needs
    several settings at once. Raises :class:`ConfigError`."""
    return _build(dict(layers.merged), dict(layers.where), layers.env, layers.config_path,
                  layers.headers, set(layers.argv_headers), layers.cwd)


def _merge(
    flags: Mapping[str, object], env: Mapping[str, str], cwd: Path
) -> tuple[dict[str, object], dict[str, str], Mapping[str, str], Path | None,
           dict[str, tuple[str, str]], set[str]]:
    """The layers merged and each value validated: (merged, where, env, config file,
    headers, header names given on the command line)."""
    api_key.preregister(flags, env)  # before any message could show it
    for candidate in (flags.get("base_url"), *(env.get(n) for n in (
            *_ENV_NAMES["base_url"], FALLBACK_BASE_URL))):
        url.register_secrets(candidate if isinstance(candidate, str) else None)
    props = _properties()
    unknown = [name for name in flags
               if (name not in props or name in SERVE_ONLY) and name != "config"]
    if unknown:
        raise ConfigError(f"unknown setting {unknown[0]!r}{suggest(unknown[0], list(props))}")

    # Every message names the file as it was given (--config, SMOKE_CONFIG, or the
    # default's own name), never once relative and once absolute (issue 21).
    config_path: Path | None = None
    given = DEFAULT_CONFIG_FILE
    if flags.get("config"):
        given = str(flags["config"])
        config_path = cwd / given
        if not config_path.is_file():
            raise ConfigError(f"--config {given}: no such file")
    elif env.get("SMOKE_CONFIG", "").strip():
        given = env["SMOKE_CONFIG"].strip()
        config_path = cwd / given
        if not config_path.is_file():
            raise ConfigError(f"SMOKE_CONFIG {given}: no such file")
    elif (cwd / DEFAULT_CONFIG_FILE).is_file():
        config_path = cwd / DEFAULT_CONFIG_FILE

    merged: dict[str, object] = {}
    where: dict[str, str] = {}
    # Headers add up across the layers (a later layer replaces a name, in any case):
    # name -> (template, where it was given).
    extra: dict[str, tuple[str, str]] = {}
    argv_headers: set[str] = set()
    if config_path is not None:
        for name, value in _file_settings(config_path, given).items():
            merged[name], where[name] = value, f"config file {given}: {name}"
        url.register_secrets(text(merged, "base_url"))
        _add_headers(extra, merged.pop("headers", None), f"config file {given}: headers")
    for name, (value, var) in _env_layer(env).items():
        _check(name, value, var)
        if name == "headers":
            _add_headers(extra, value, var)
            continue
        merged[name], where[name] = value, var
    for name, value in flags.items():
        if value is None or name == "config":
            continue
        flag = "--" + name.replace("_", "-")
        if name == "headers":
            # The command line gives a list of "Name: value" (--header, repeatable): those
            # are visible in the process list. The action gives its input's lines.
            if isinstance(value, list | tuple):
                value = http_headers.parse_lines(value, "--header")
                argv_headers.update(n.lower() for n in value)
                flag = "--header"
            elif isinstance(value, str):
                value = coerce(name, value, flag)
            _check(name, value, flag)
            _add_headers(extra, value, flag)
            continue
        if isinstance(value, str):
            value = coerce(name, value, flag)
        _check(name, value, flag)
        merged[name], where[name] = value, flag
    return merged, where, env, config_path, extra, argv_headers


def _add_headers(
    extra: dict[str, tuple[str, str]], given: object, where: str
) -> None:
    for name, value in (given.items() if isinstance(given, Mapping) else ()):
        for known in [k for k in extra if k.lower() == str(name).lower()]:
            del extra[known]
        extra[str(name)] = (str(value), where)


def _build(
    merged: dict[str, object],
    where: dict[str, str],
    env: Mapping[str, str],
    config_path: Path | None,
    extra: Mapping[str, tuple[str, str]] | None,
    argv_headers: set[str] | None,
    cwd: Path,
) -> Settings:
    # OPENAI_* only when nothing else speaks: no flag, no CometAPI variable, no file.
    fallback = config_path is None
    if "base_url" not in merged and fallback and env.get(FALLBACK_BASE_URL, "").strip():
        merged["base_url"] = env[FALLBACK_BASE_URL].strip()
        where["base_url"] = FALLBACK_BASE_URL
    # The key first (registered as a secret inside), so that nothing below can show it
    # and a key pasted into the base URL's query is refused unseen.
    auth_header = http_headers.check_auth_header(
        str(merged.get("auth_header") or http_headers.AUTHORIZATION),
        where.get("auth_header", "auth_header"),
    )
    negative = tuple(dict.fromkeys(_strings(merged.get("negative"))))
    if auth_header == http_headers.NO_AUTH:
        if "invalid-key" in negative:
            raise ConfigError(_INVALID_KEY_NO_AUTH.format(where=where.get("negative", "negative")))
        key, source = "", _NO_KEY_NEEDED
    else:
        key, source = api_key.read(merged, env, fallback)
    allow_plain = bool(merged.get("allow_plain_http", False))
    base_url, base_query = url.endpoint(str(merged.get("base_url", DEFAULT_BASE_URL)),
                                        where.get("base_url", "base_url"), key, allow_plain)
    models, entries = model_entries.parse(merged.get("model"), where.get("model", "model"))
    expect = Expectation.parse(merged.get("expect"), where.get("expect", "expect"))
    expect_model = merged.get("expect_model")
    if expect_model:
        _compile(str(expect_model), where["expect_model"])
    request: Fields = {}
    if merged.get("request_body"):
        request = _field("request_body", merged["request_body"], where["request_body"], cwd)

    objectives.check(merged.get("latency"), where.get("latency", "latency"))
    _trust_fallback(merged, where, env)
    _files(merged, where, cwd)
    targets.check_distinct({k: str(merged[k]) for k in targets.KINDS if merged.get(k)},
                           where)

    headers = http_headers.build(extra or {}, env, auth_header)
    notes = tuple(
        http_headers.LITERAL_SECRET.format(name=name)
        for name in http_headers.literal_secrets(headers)
        if name.lower() in (argv_headers or set())
    )
    # find_spec, not import: the SDK costs about a second and only the parity check uses it.
    if merged.get("sdk_parity") and importlib.util.find_spec("openai") is None:
        raise ConfigError(extras.missing_sdk(where.get("sdk_parity", "sdk_parity"), env))

    # Every schema key that names a Settings field is copied (validated as each layer was
    # read); the ones built above (and the derived fields, settings.DERIVED) are given
    # explicitly below.
    direct = {name: _number(name, merged[name]) for name in _direct() if name in merged}
    fields: Fields = {
        **validated(direct),
        "base_url": base_url,
        "base_query": base_query,
        "base_url_source": where.get("base_url", "default"),
        "models": tuple(models),
        "api_key": key,
        "api_key_source": source,
        "auth_header": auth_header,
        "headers": headers,
        "notes": notes,
        "allow_plain_http": allow_plain,
        "expect": expect,
        "expect_model": str(expect_model) if expect_model else None,
        "negative": negative,
        "extra_body": dict(as_object(merged.get("extra_body")) or {}),
        "require_fields": _strings(merged.get("require_fields")),
        "require_headers": _strings(merged.get("require_headers")),
        "config_file": _as_given(config_path, cwd),
        "owners": owners_map.parse(merged.get("owners"), where.get("owners", "owners")),
        "workdir": str(cwd),
        "model_overrides": model_entries.resolved(
            entries, {f.name for f in dataclasses.fields(Settings)},
            where.get("model", "model"), lambda n, v, w: _field(n, v, w, cwd)),
        **request,
    }
    settings = Settings(**fields)
    for model in settings.models:
        own = settings.for_model(model)
        if own.parser and own.parser_command:
            raise ConfigError(f"{where.get('parser_command', 'parser_command')}: parser and "
                              f"parser_command are both set (for {model}): keep one")
    return settings


def _strings(value: object) -> tuple[str, ...]:
    """A validated list of strings (or none) as a tuple."""
    return tuple(str(item) for item in value) if isinstance(value, list | tuple) else ()


def _number(name: str, value: object) -> object:
    """``value`` as the Settings field ``name`` holds it: an integer given for a schema
    "number" is a float."""
    if isinstance(value, int) and not isinstance(value, bool) and \
            "number" in _kinds(_node(name)):
        return float(value)
    return value


def _field(name: str, value: object, where: str, cwd: Path) -> Fields:
    """A model entry's override (or ``request_body``) as Settings field values."""
    if name == "expect":
        return {"expect": Expectation.parse(value, where)}
    if name == "expect_model":
        _compile(str(value), where)
        return {"expect_model": str(value)}
    if name == "request_body":
        from smoke.config import body

        path, loaded = body.load(str(value), where, cwd)
        return {"request_body": path, "request_payload": loaded}
    if name == "require_fields":
        return {"require_fields": _strings(value)}
    if name == "require_headers":
        return {"require_headers": _strings(value)}
    if name == "extra_body":
        return {"extra_body": dict(as_object(value) or {})}
    if name == "latency":  # a model's own objectives: the same check as the global ones
        return {"latency": objectives.parse(value, where)}
    return validated({name: _number(name, value)})


def _files(merged: dict[str, object], where: dict[str, str], cwd: Path) -> None:
    """Settings that name a file must name one (relative to ``cwd``); made absolute."""
    for name in ("ca_bundle", "summary_template", "baseline"):  # not previous_report: the
        # first run of a monitor has none yet (a missing one is a note, not an error)
        if merged.get(name):
            path = cwd / str(merged[name])
            if not path.is_file():
                raise ConfigError(f"{where[name]}: {merged[name]}: no such file")
            merged[name] = str(path)


def _direct() -> set[str]:
    """The schema keys copied into the Settings field of the same name (but those that
    :func:`_build` makes itself)."""
    return ({f.name for f in dataclasses.fields(Settings)} & set(_properties())) - _BUILT


# The schema keys whose Settings field _build makes from the merged value itself.
_BUILT = frozenset({
    "base_url", "auth_header", "headers", "allow_plain_http", "expect", "expect_model",
    "negative", "extra_body", "require_fields", "require_headers", "owners", "request_body",
})


def _compile(pattern: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ConfigError(
            f"{where}: {pattern!r} is not a valid regular expression ({exc})"
        ) from None

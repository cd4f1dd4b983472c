"""The ``model`` setting: ids, or mappings of an id and that model's own settings.

``model: [gpt-4o-mini, {id: o3-mini, max_tokens: null, max_completion_tokens: 2000}]``
checks two models; the second with its own token limits. Each override replaces the
global value for that model only; :meth:`Settings.for_model` gives the effective
:class:`Settings` of one model, and every per-model check reads its settings from there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from functools import cache

from smoke.config.fields import Fields
from smoke.config.validate import errors, node_at, schema, suggest
from smoke.errors import ConfigError
from smoke.jsonvalue import JSONObject, child

NO_MODEL = "no model: set --model, COMETAPI_MODEL, or model: in chat-smoke.yml"


@cache
def entry_schema() -> JSONObject:
    return node_at(schema(), "$defs", "model_entry")


def override_keys() -> list[str]:
    """The settings a model entry may override (every key of an entry but ``id``)."""
    return [name for name in child(entry_schema(), "properties") or {} if name != "id"]


def _entry_name(entry: Mapping[object, object], index: int) -> str:
    ident = entry.get("id")
    return repr(ident) if isinstance(ident, str) and ident.strip() else f"entry {index + 1}"


def check(given: object, where: str) -> None:
    """Raise one line for the first problem of a model entry: an unknown key names the
    model and the key; a bad value names the model, the key and what is accepted."""
    if not isinstance(given, list):
        return
    keys = override_keys()
    for index, entry in enumerate(given):
        if not isinstance(entry, dict):
            continue
        name = _entry_name(entry, index)
        if "id" not in entry:
            raise ConfigError(f"{where}: model {name} has no id: give it as id: MODEL_ID")
        for key in entry:
            if key != "id" and key not in keys:
                raise ConfigError(
                    f"{where}: model {name}: unknown key {str(key)[:60]!r}"
                    f"{suggest(str(key), keys)}; a model entry takes id and "
                    f"{', '.join(keys)}")
        problems = errors(entry, entry_schema(), f"{where}: model {name}")
        if problems:
            raise ConfigError(problems[0].replace(f"model {name}.", f"model {name}: ", 1))


def parse(given: object, where: str) -> tuple[list[str], dict[str, dict[str, object]]]:
    """The model ids in order (a string may list several, comma or line separated), none
    twice, and the raw overrides of each model given as a mapping."""
    check(given, where)
    listed: list[object] = (
        [given] if isinstance(given, str) else list(given) if isinstance(given, Iterable)
        else [])
    models: list[str] = []
    overrides: dict[str, dict[str, object]] = {}
    for entry in listed:
        if isinstance(entry, dict):
            ident = str(entry["id"]).strip()
            models.append(ident)
            overrides[ident] = {str(k): v for k, v in entry.items() if k != "id"}
        else:
            models += [m.strip() for m in re.split(r"[,\n]", str(entry)) if m.strip()]
    if not models:
        raise ConfigError(NO_MODEL)
    if len(set(models)) != len(models):
        raise ConfigError(f"{where}: a model is listed twice: {models}")
    return models, overrides


Converter = Callable[[str, object, str], Fields]


def resolved(overrides: Mapping[str, Mapping[str, object]], fields: set[str], where: str,
             convert: Converter) -> dict[str, Fields]:
    """Each model's overrides as :class:`Settings` field values (``convert(name, value,
    where)`` turns a schema value into the field's type, as for the global setting).
    A key that no ``Settings`` field carries is accepted by the schema and not applied."""
    out: dict[str, Fields] = {}
    for model, given in overrides.items():
        values: Fields = {}
        for name, value in given.items():
            if name in fields:
                values.update(convert(name, value, f"{where}: model {model!r}: {name}"))
        if values:
            out[model] = values
    return out


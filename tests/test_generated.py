"""Files derived from one source (docs/generate.py) are up to date, and every setting can
be reached from CI: an action input, or an environment variable that really sets it."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from smoke import action
from smoke.config.load import coerce, env_variables
from smoke.config.load import load as load_settings
from smoke.config.settings import SERVE_ONLY
from smoke.config.validate import errors, schema

REPO = Path(__file__).resolve().parents[1]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_generate", REPO / "docs" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GENERATE = _generator()


@pytest.mark.parametrize("path", sorted(GENERATE.outputs()), ids=lambda p: p.name)
def test_the_committed_file_is_what_the_generator_writes(path: Path) -> None:
    expected = GENERATE.outputs()[path]
    current = path.read_text("utf-8") if path.is_file() else None
    assert current == expected, (
        f"{path.relative_to(REPO)} is stale (a setting, an input or an output changed): "
        f"run `{GENERATE.COMMAND}` and commit the result")


def _sample(node: dict[str, Any]) -> str:
    """A valid value for a schema node, as text in an environment variable."""
    kinds = [str(s.get("type")) for s in node["anyOf"]] if "anyOf" in node else (
        node["type"] if isinstance(node.get("type"), list) else [node.get("type", "string")])
    if "items" in node and "enum" in node["items"]:
        return str(node["items"]["enum"][0])
    if "enum" in node:
        return str(node["enum"][-1])
    if "boolean" in kinds:
        return "true"
    if "integer" in kinds or "number" in kinds:
        low = node.get("minimum", node.get("exclusiveMinimum", 0))
        return str(int(low) + 1)
    if "array" in kinds:
        return "a, b"
    # A string: the first of a few shapes that its pattern (if any) accepts.
    for text in ("X_Value", "pkg.module:function", "https://example.test/v1"):
        if not errors(text, node, "sample"):
            return text
    return "X_Value"


def test_every_setting_has_an_input_or_a_working_environment_variable() -> None:
    """A new key in the schema must be reachable from a CI job: the GitHub action's
    inputs, or a variable (documented in docs/configuration.md, generated) that the
    loader reads and the schema accepts; or, named in docs/generate.py FILE_ONLY with the
    reason, only from the config file."""
    inputs = {key for key in action.INPUTS.values() if key}
    unreachable = []
    for key, node in schema()["properties"].items():
        if key in inputs or key in GENERATE.FILE_ONLY:
            continue
        if key in SERVE_ONLY:  # chat-smoke serve's own file, not a CI job's setting
            assert f"| `{key}` |" in (REPO / "docs" / "configuration.md").read_text("utf-8")
            continue
        variables = env_variables(key)
        value = coerce(key, _sample(node), variables[0])
        if not variables or errors(value, node, variables[0]):
            unreachable.append(key)
    assert unreachable == [], (
        f"settings with no action input and no environment variable that works: "
        f"{unreachable}. Add an input to action.yml (and smoke/action.py INPUTS), or make "
        f"the variable work, or list the key in docs/generate.py FILE_ONLY with the reason; "
        f"then run `{GENERATE.COMMAND}`")


def test_every_variable_in_the_reference_sets_its_setting(tmp_path: Path) -> None:
    """The documented variable, set alone, reaches the loaded settings."""
    page = (REPO / "docs" / "configuration.md").read_text("utf-8")
    for key in ("stall_timeout", "cert_warn_days", "connect_timeout", "system_prompt"):
        variable = env_variables(key)[0]
        assert f"| `{key}` |" in page and f"`{variable}`" in page
        env = {"COMETAPI_API_KEY": "sk-x", "COMETAPI_MODEL": "m", variable: "7"}
        settings = load_settings({}, env, tmp_path)
        assert str(getattr(settings, key)) in ("7", "7.0"), key


def test_the_reference_lists_every_key_input_and_flag() -> None:
    page = (REPO / "docs" / "configuration.md").read_text("utf-8")
    for key in schema()["properties"]:
        assert f"| `{key}` |" in page, key
    for name, key in action.INPUTS.items():
        if key and key != "config":
            assert f"`{name}` |" in page, name

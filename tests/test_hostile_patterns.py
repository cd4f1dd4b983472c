"""Issue 26, class 5: anchored patterns. Every validation regex anchors with ``\\A…\\Z``
(Python's ``$`` also matches before a final line break, so ``"X-Foo\\n"`` passed
``^…$``); a schema ``pattern`` is read as JSON Schema means it (``$`` is the end).

The walk below finds every regular expression in smoke/ (source and schema files) and
fails on one it does not know: a new pattern must be classified here, a validation one
with a valid value that it must accept, and refuse with ``"\\n"`` after it. Then the real
program is fed such values from YAML, the environment and the command line."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from smoke.config import validate
from smoke.stub import StubServer
from tests.support.cli import run_cli

SMOKE = Path(__file__).resolve().parents[1] / "smoke"
_FUNCTIONS = {"compile", "match", "search", "fullmatch", "sub", "subn", "split", "findall",
              "finditer"}

# Validation patterns: a valid value each (accepted as is, refused with "\n" after it).
VALIDATION: dict[tuple[str, str], str] = {
    ("config/headers.py", r"\A[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z"): "X-Foo",
    ("config/validate.py", r"\A[A-Za-z0-9_.-]{1,60}\Z"): "base_url",
    ("http/reproduce.py", r"\A[A-Za-z_][A-Za-z0-9_]*\Z"): "COMETAPI_API_KEY",
    ("reports/summary/markdown.py", r"\Ahttps?://[A-Za-z0-9._~:/?#@!$&'*+,;=%-]+\Z"):
        "https://github.com/acme/shop/actions/runs/1",
}
# Every other pattern, and why "a valid value plus a line break" does not apply to it.
FINDERS = "finds or replaces characters in outside text (no value is validated)"
OTHER: dict[tuple[str, str], str] = {
    ("checks/send.py", "DYN:settings.expect_model"): "the user's own regex (--expect-model)",
    ("config/expect.py", "DYN:result.value"): "the user's own regex (regex:RE), compiled",
    ("config/expect.py", "DYN:self.value"): "the user's own regex (regex:RE)",
    ("config/load.py", "DYN:pattern"): "compiles the user's own regex to check it",
    ("config/validate.py", "DYN:''.join(out)"): "a schema pattern, $ made \\Z: tested below",
    ("ci/github.py", "DYN:re.escape(self._token)"): "masks a token wherever it is",
    ("http/signals.py", "DYN:text"): "compiles the module's own header patterns "
        "(x-ratelimit-*, durations, Link): they find facts in a server's headers",
    ("reports/summary/digest.py", "DYN:'|'.join(map(re.escape, ids))"): "finds model ids",
    ("output/redact.py", "DYN:'[A-Za-z0-9_\\\\-.+/=~]{' + str(_WINDOW) + ',}'"): FINDERS,
    ("config/query.py",
     r"\A(sig|code|auth|pass|pwd)\Z|key|token|secret|password|signature|credential|session"):
        "classifies a parameter name as secret; applied to the stripped name, so a line "
        "break never makes a secret look harmless (tested below)",
    ("output/commands.py", r"^\s*(::|---|\+\+\+|~~~|\^\^\^)"):
        "finds a line that starts like a CI command, to defuse it",
    ("reports/summary/filters.py", r"^(\s*)([-+=]|\d{1,9}[.)])(?=\s|$|[-=]+\s*$)"):
        "finds a line that starts like a Markdown list or heading, to escape it",
    ("http/reproduce.py", "[A-Za-z0-9_]"): "tells whether one character continues a name",
    ("scaffold/__init__.py", r"^\s*url\s*=\s*(\S+)"):
        "finds the remote URLs in a checkout's .git/config (MULTILINE): reads, validates nothing",
}


def _literal(node: ast.expr) -> str:
    try:
        value = ast.literal_eval(node)
    except ValueError:
        return "DYN:" + ast.unparse(node)
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def found_patterns() -> set[tuple[str, str]]:
    """Every ``re.<function>(pattern, ...)`` in smoke/: (file, pattern)."""
    found: set[tuple[str, str]] = set()
    for path in sorted(SMOKE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in _FUNCTIONS and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "re" and node.args):
                found.add((path.relative_to(SMOKE).as_posix(), _literal(node.args[0])))
    return found


def _anchored(pattern: str) -> bool:
    """Anchored at the start, or a search for characters (no anchor to speak of)."""
    return pattern.startswith(("\\A", "^"))


def test_every_pattern_in_smoke_is_classified() -> None:
    found = found_patterns()
    known = set(VALIDATION) | set(OTHER)
    unknown = {(f, p) for f, p in found - known if _anchored(p) or p.startswith("DYN:")}
    assert not unknown, (
        f"patterns to classify in {__file__} (VALIDATION with a valid value, or OTHER "
        f"with the reason a trailing line break does not apply): {sorted(unknown)}")
    assert set(VALIDATION) <= found, sorted(set(VALIDATION) - found)
    # Any pattern anchored at the start and ending in $ is a validation that "\n" fools.
    loose = sorted(p for f, p in found if _anchored(p) and p.endswith("$")
                   and (f, p) not in OTHER)
    assert not loose, f"anchor with \\A…\\Z (or fullmatch): {loose}"


@pytest.mark.parametrize(("where", "valid"), sorted(VALIDATION.items()))
def test_a_validation_pattern_refuses_a_trailing_line_break(where: tuple[str, str],
                                                            valid: str) -> None:
    pattern = re.compile(where[1])
    for function in (pattern.search, pattern.match, pattern.fullmatch):
        assert function(valid), (where, valid)
        assert not function(valid + "\n"), (where, function.__name__)
        assert not function(valid + "\r\n"), (where, function.__name__)


# A valid value for each schema property with a pattern (a new one must be added here).
SCHEMA_SAMPLES = {"api_key_env": "COMETAPI_API_KEY", "auth_header": "x-api-key",
                  "dotenv_prefix": "STAGING_", "parser": "myapp.parse:answer",
                  "require_fields": "choices[0].message.content",
                  "require_headers": "x-request-id", "mention": "@acme/ml-oncall @bob",
                  "gitlab_token_env": "GITLAB_TOKEN", "target": "prod-eu_1.a",
                  "pushgateway": "http://pushgateway.monitoring:9091"}
_STRUCTURE = {"items", "properties", "anyOf", "oneOf", "allOf", "$defs",
              "additionalProperties"}


def _schema_patterns() -> list[tuple[str, str, str | None]]:
    found: list[tuple[str, str, str]] = []

    def walk(file: str, node: object, name: str) -> None:
        if isinstance(node, dict):
            if "pattern" in node:
                found.append((file, name, str(node["pattern"])))
            for key, value in node.items():
                named = name if key in _STRUCTURE or not isinstance(value, dict) else key
                walk(file, value, named)
        elif isinstance(node, list):
            for value in node:
                walk(file, value, name)

    for path in sorted((SMOKE / "schema").glob("*.json")):
        walk(path.name, json.loads(path.read_text("utf-8")), "")
    return [(f"{file}: {name}", pattern, SCHEMA_SAMPLES.get(name))
            for file, name, pattern in found]


@pytest.mark.parametrize(("where", "pattern", "valid"), _schema_patterns())
def test_a_schema_pattern_refuses_a_trailing_line_break(where: str, pattern: str,
                                                        valid: str | None) -> None:
    assert valid is not None, f"{where}: add a valid value to SCHEMA_SAMPLES"
    node = {"type": "string", "pattern": pattern}
    assert validate.errors(valid, node, "x") == [], where
    assert validate.errors(valid + "\n", node, "x"), where
    assert validate.errors(valid + "\r\n", node, "x"), where


def test_a_secret_parameter_name_with_a_line_break_is_still_secret() -> None:
    from smoke.config.query import secret_param

    assert secret_param("sig") and secret_param("sig\n") and secret_param(" sig ")
    assert not secret_param("api-version") and not secret_param("signal_")


# -- the real program ---------------------------------------------------------------------
@pytest.mark.parametrize(("name", "yaml_text", "env", "field"), [
    ("header name", 'headers:\n  "X-Foo\\n": bar\n', {}, "X-Foo"),
    ("dotenv prefix from YAML", 'dotenv_prefix: "STAGING_\\n"\n', {}, "dotenv_prefix"),
    ("dotenv prefix from the environment", "", {"SMOKE_DOTENV_PREFIX": "STAGING_\n"},
     "SMOKE_DOTENV_PREFIX"),
    ("auth header from YAML", 'auth_header: "x-api-key\\n"\n', {}, "auth_header"),
    ("key variable", 'api_key_env: "MY_KEY\\n"\n', {"MY_KEY": "sk-x"}, "api_key_env"),
])
def test_a_trailing_line_break_is_a_config_error(tmp_path: Path, stub: StubServer, name: str,
                                                 yaml_text: str, env: dict[str, str],
                                                 field: str) -> None:
    (tmp_path / "chat-smoke.yml").write_text(
        f"base_url: {stub.url()}\nmodel: stub-model\n{yaml_text}", "utf-8")
    run = run_cli(tmp_path, "--report-dotenv", str(tmp_path / "gate.env"), env=env)
    assert run.code == 2, f"{name}: exit {run.code}\n{run.stdout}{run.stderr}"
    assert run.report is not None
    config = run.check("preflight:config")
    assert config["category"] == "config" and field in config["message"], config["message"]
    assert "Traceback" not in run.stderr

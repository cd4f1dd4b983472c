"""The published JSON Schema for chat-smoke.yml: valid itself, and read the same way by
``jsonschema`` (what editors use) and by the program's own validator (smoke/validate.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from smoke.config import validate
from smoke.stub import StubServer
from tests.support.cli import run_cli

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "smoke" / "schema" / "chat-smoke.schema.json"

GOOD: list[dict[str, Any]] = [
    {},
    {"base_url": "https://api.cometapi.com/v1", "model": "gpt-4o-mini"},
    {"model": ["gpt-4o-mini", "gpt-5-mini"], "concurrency": 16},
    {"stream": True, "stall_timeout": 2.5},
    {"stall_timeout": 1},
    {"check_models": False, "cert_warn_days": 0},
    {"cert_warn_days": 30, "expect_model": "^gpt-4o"},
    {"max_total_tokens": 1, "max_tokens": None, "max_completion_tokens": 64},
    {"max_total_tokens": 5000, "retries": 0, "temperature": None},
    {"concurrency": 1},
    {"concurrency": 64},
    {"retries": 2.0},  # an integral number is an integer in JSON Schema
    {"expect": "pong"},
    {"expect": {"regex": "^pong$"}},
    {"negative": ["invalid-model", "invalid-key"]},
    {"api_key_env": "MY_KEY", "extra_body": {"top_p": 1}},
    {"model": ["gpt-4o-mini", {"id": "o4-mini", "temperature": None, "max_tokens": None,
                               "max_completion_tokens": 2000, "reasoning_effort": "low",
                               "stream": True, "timeout": 90, "expect": {"tool_call": "f"},
                               "latency": {"ttfb_ms": {"warn": 2000, "fail": 8000}}}]},
    {"request_body": "body.json", "parser": "myapp.reply:extract_reply",
     "parser_timeout": 5, "require_fields": ["id", "choices[0].message.content"],
     "require_headers": ["x-request-id"], "expect": "tool_call:get_weather"},
    {"parser_command": "node parse.js"},
]
BAD: list[dict[str, Any]] = [
    {"stream": "yes"},
    {"stream": 1},
    {"stall_timeout": 0},
    {"stall_timeout": "10"},
    {"check_models": "true"},
    {"cert_warn_days": -1},
    {"cert_warn_days": 1.5},
    {"cert_warn_days": True},
    {"expect_model": ""},
    {"expect_model": 3},
    {"max_total_tokens": 0},
    {"max_total_tokens": None},
    {"max_total_tokens": "100"},
    {"concurrency": 0},
    {"concurrency": 65},
    {"model": []},
    {"model": ""},
    {"model": ["ok", ""]},
    {"expect": {"regex": ""}},
    {"expect": {"startswith": "p"}},
    {"negative": ["invalid-modle"]},
    {"api_key_env": "1BAD"},
    {"strem": True},
    {"max_total_token": 100},
    {"model": [{"id": "o4-mini", "max_token": 1}]},
    {"model": [{"max_tokens": 1}]},
    {"model": [{"id": ""}]},
    {"model": [{"id": "o4-mini", "max_tokens": 0}]},
    {"model": [{"id": "o4-mini", "latency": {"ttfb_ms": {"warn": "1s"}}}]},
    {"model": [{"id": "o4-mini", "reasoning_effort": "extreme"}]},
    {"parser": "not a module path"},
    {"parser": "pkg.module"},
    {"require_fields": ["choices[x]"]},
    {"require_headers": ["bad header"]},
    {"parser_timeout": 0},
]


def _ours(config: dict[str, Any]) -> list[str]:
    return validate.errors(config, validate.schema(), "")


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(json.loads(SCHEMA_FILE.read_text("utf-8")))


def test_the_program_reads_the_published_file() -> None:
    assert validate.schema() == json.loads(SCHEMA_FILE.read_text("utf-8"))


@pytest.mark.parametrize("config", GOOD, ids=[json.dumps(c)[:40] for c in GOOD])
def test_both_validators_accept(config: dict[str, Any]) -> None:
    editor = Draft202012Validator(validate.schema())
    assert [e.message for e in editor.iter_errors(config)] == []
    assert _ours(config) == []


@pytest.mark.parametrize("config", BAD, ids=[json.dumps(c)[:40] for c in BAD])
def test_both_validators_reject(config: dict[str, Any]) -> None:
    editor = Draft202012Validator(validate.schema())
    assert list(editor.iter_errors(config)), "jsonschema accepted it"
    problems = _ours(config)
    assert problems, "smoke/validate.py accepted it"
    assert problems[0].startswith(next(iter(config)))  # the message names the key


def test_a_misspelt_new_key_suggests_the_right_one() -> None:
    assert "did you mean 'max_total_tokens'" in _ours({"max_total_token": 100})[0]


def test_every_new_setting_from_the_config_file(tmp_path: Path, stub: StubServer) -> None:
    (tmp_path / "chat-smoke.yml").write_text(
        "# yaml-language-server: $schema=https://raw.githubusercontent.com/chat-smoke/"
        "chat-smoke/main/smoke/schema/chat-smoke.schema.json\n"
        f"base_url: {stub.base_url}\n"
        "model: [stub-model, gpt-4o-mini]\n"
        "stream: true\nstall_timeout: 5\ncheck_models: true\ncert_warn_days: 7\n"
        "expect_model: '^(stub-model|gpt-4o-mini)$'\nmax_total_tokens: 1000\n"
        "concurrency: 2\n")
    run = run_cli(tmp_path)
    assert run.report is not None, run.stderr
    assert run.code == 0, run.stdout
    ids = [c["id"] for c in run.report["checks"]]
    assert ids == ["preflight:config", "spend:budget", "models:list", "positive:stub-model",
                   "positive:gpt-4o-mini", "stream:stub-model", "stream:gpt-4o-mini",
                   "spend:total"]
    assert run.check("spend:total")["details"] == {"limit": 1000, "total": 80}
    assert all(s["name"] == "expect_model" and s["outcome"] == "pass"
               for c in run.report["checks"] if c["kind"] in ("positive", "stream")
               for s in c["steps"][-1:])


# -- Settings derived from the schema (nothing validated and then silently dropped) ----------
def _schema_keys() -> set[str]:
    return set(validate.schema()["properties"])


def test_every_schema_key_reaches_settings() -> None:
    """A key added to the schema must become a Settings field of its name, or be declared
    as the source of a derived field: otherwise it would be validated, then ignored."""
    import dataclasses

    from smoke.config.settings import DERIVED, SERVE_ONLY, Settings

    fields = {f.name for f in dataclasses.fields(Settings)}
    sources = {key for keys in DERIVED.values() for key in keys}
    dropped = sorted(_schema_keys() - fields - sources - set(SERVE_ONLY))
    assert not dropped, f"schema keys that never reach Settings: {dropped}"


def test_every_settings_field_has_a_source() -> None:
    import dataclasses

    from smoke.config.settings import DERIVED, Settings

    fields = {f.name for f in dataclasses.fields(Settings)}
    unsourced = sorted(fields - _schema_keys() - set(DERIVED))
    assert not unsourced, f"Settings fields with no schema key and no declared source: {unsourced}"
    stale = sorted(set(DERIVED) - fields)
    assert not stale, f"settings.DERIVED names fields Settings does not have: {stale}"
    unknown = sorted({k for keys in DERIVED.values() for k in keys} - _schema_keys())
    assert not unknown, f"settings.DERIVED names schema keys that do not exist: {unknown}"


def test_a_direct_setting_is_copied_with_its_value(tmp_path: Path) -> None:
    """The copy is by name: each plain scalar setting given in a file arrives in Settings."""
    from smoke import config

    (tmp_path / "chat-smoke.yml").write_text(
        "model: m\nenvironment: staging\nretries: 4\ntimeout: 7\nstall_timeout: 3\n"
        "cert_warn_days: 3\nconcurrency: 5\ncheck_models: true\nuser_prompt: hi\n"
        "max_completion_tokens: 9\nreport_dotenv: out.env\n"
    )
    settings = config.load({}, {"COMETAPI_API_KEY": "sk-direct-copy-test-0000"}, tmp_path)
    assert (settings.environment, settings.retries, settings.concurrency) == ("staging", 4, 5)
    assert settings.timeout == 7.0 and isinstance(settings.timeout, float)
    assert (settings.stall_timeout, settings.cert_warn_days) == (3.0, 3)
    assert settings.check_models is True and settings.user_prompt == "hi"
    assert settings.max_completion_tokens == 9 and settings.report_dotenv == "out.env"

"""Configuration: precedence, and one clear line (exit 2, no traceback) for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from smoke import config
from smoke.errors import ConfigError
from smoke.stub import StubServer
from tests.support.cli import KEY, run_cli


def _one_clear_line(run_stderr: str) -> str:
    lines = [line for line in run_stderr.splitlines() if line.strip()]
    assert "Traceback" not in run_stderr
    assert len(lines) == 1, run_stderr
    return lines[0]


def test_missing_key_is_config_error(tmp_path: Path, stub: StubServer) -> None:
    run = run_cli(tmp_path, "--base-url", stub.base_url, "--model", "stub-model", key=None)
    assert run.code == 2
    line = _one_clear_line(run.stderr)
    assert "no API key" in line and "COMETAPI_API_KEY" in line
    assert run.report is not None
    assert run.report["category"] == "config" and run.report["exit_code"] == 2
    assert run.check("preflight:config")["outcome"] == "fail"
    assert stub.requests == [] or all(r["scenario"] != "never" for r in stub.requests)


def test_invalid_yaml(tmp_path: Path) -> None:
    (tmp_path / "chat-smoke.yml").write_text("model: [unclosed\nbase_url: x\n")
    run = run_cli(tmp_path)
    assert run.code == 2
    line = _one_clear_line(run.stderr)
    assert "invalid YAML at line" in line and "chat-smoke.yml" in line


def test_unknown_key_suggests(tmp_path: Path) -> None:
    (tmp_path / "chat-smoke.yml").write_text("modle: gpt-4o-mini\n")
    run = run_cli(tmp_path)
    assert run.code == 2
    line = _one_clear_line(run.stderr)
    assert "modle: unknown key (did you mean 'model'?)" in line


def test_bad_url(tmp_path: Path) -> None:
    run = run_cli(tmp_path, "--base-url", "ftp//nope", "--model", "m")
    assert run.code == 2
    line = _one_clear_line(run.stderr)
    assert "--base-url" in line and "not an http(s) URL" in line


def test_plain_http_to_remote_host_refused(tmp_path: Path) -> None:
    run = run_cli(tmp_path, "--base-url", "http://gateway.internal:8080/v1", "--model", "m")
    assert run.code == 2
    line = _one_clear_line(run.stderr)
    assert "plain http" in line and "--allow-plain-http" in line


def test_plain_http_allowed_says_so(tmp_path: Path) -> None:
    # Allowed, the key may go unencrypted: the console says so. The host does not resolve,
    # so the run ends in dns, which proves the request was attempted.
    run = run_cli(tmp_path, "--base-url", "http://gateway.invalid/v1", "--model", "m",
                  "--allow-plain-http", "--retries", "0", "--deadline", "10")
    assert "the key is sent unencrypted" in run.stdout
    assert run.report is not None and run.report["category"] == "dns"


def test_bad_number_names_the_flag(tmp_path: Path) -> None:
    run = run_cli(tmp_path, "--model", "m", "--timeout", "soon")
    assert run.code == 2
    assert "--timeout: expected a number, got 'soon'" in _one_clear_line(run.stderr)


def test_bad_type_in_file_names_the_key(tmp_path: Path) -> None:
    (tmp_path / "chat-smoke.yml").write_text("model: m\nretries: many\n")
    run = run_cli(tmp_path)
    assert run.code == 2
    assert "retries: expected integer, got 'many'" in _one_clear_line(run.stderr)


def test_key_in_file_refused(tmp_path: Path) -> None:
    (tmp_path / "chat-smoke.yml").write_text("model: m\napi_key: sk-oops\n")
    run = run_cli(tmp_path)
    assert run.code == 2
    assert "api_key is never read from the config file" in _one_clear_line(run.stderr)
    assert "sk-oops" not in run.stdout + run.stderr


def test_bad_regex(tmp_path: Path) -> None:
    run = run_cli(tmp_path, "--model", "m", "--expect-regex", "po(ng")
    assert run.code == 2
    assert "not a valid regular expression" in _one_clear_line(run.stderr)


def test_missing_config_file(tmp_path: Path) -> None:
    run = run_cli(tmp_path, "--config", "nope.yml")
    assert run.code == 2
    assert "--config nope.yml: no such file" in _one_clear_line(run.stderr)


def test_no_key_flag_exists(tmp_path: Path) -> None:
    run = run_cli(tmp_path, "--api-key", KEY, "--model", "m")
    assert run.code == 2  # click's usage error
    line = _one_clear_line(run.stderr)
    assert "No such option '--api-key'" in line and "--api-key-env" in line
    assert KEY not in run.stdout + run.stderr


def test_precedence_defaults_file_env_flags(tmp_path: Path) -> None:
    (tmp_path / "chat-smoke.yml").write_text(
        "model: from-file\ntimeout: 7\nretries: 1\nenvironment: file-env\n"
        "base_url: https://file.example\n"
    )
    env = {"COMETAPI_API_KEY": KEY, "SMOKE_ENVIRONMENT": "staging", "SMOKE_RETRIES": "3",
           "COMETAPI_MODEL": "from-env"}
    settings = config.load({"model": "from-flag", "retries": None}, env, tmp_path)
    assert settings.models == ("from-flag",)  # flag beats env beats file
    assert settings.environment == "staging"  # env beats file
    assert settings.retries == 3
    assert settings.timeout == 7.0  # file beats default
    assert settings.connect_timeout == 5.0  # default
    assert settings.base_url == "https://file.example/v1"  # empty path gets /v1
    assert KEY not in repr(settings)


def test_key_sources(tmp_path: Path) -> None:
    assert config.load({"model": "m"}, {"COMETAPI_KEY": "k2"}, tmp_path).api_key == "k2"
    both = {"COMETAPI_API_KEY": "k1", "COMETAPI_KEY": "k2", "MINE": "k3"}
    assert config.load({"model": "m"}, both, tmp_path).api_key == "k1"
    assert config.load({"model": "m", "api_key_env": "MINE"}, both, tmp_path).api_key == "k3"
    (tmp_path / "key.txt").write_text("k4\n")
    loaded = config.load({"model": "m", "api_key_file": str(tmp_path / "key.txt")}, {}, tmp_path)
    assert loaded.api_key == "k4" and loaded.api_key_source.startswith("file")
    with pytest.raises(ConfigError, match="MISSING: that variable is not set"):
        config.load({"model": "m", "api_key_env": "MISSING"}, both, tmp_path)


@pytest.mark.parametrize(
    ("raw", "kind", "value"),
    [(None, "contains", "pong"), ("regex:^po", "regex", "^po"), ("equals:PONG", "equals", "PONG"),
     ("nonempty", "nonempty", ""), ("hello", "contains", "hello")],
)
def test_expect_forms(tmp_path: Path, raw: str | None, kind: str, value: str) -> None:
    settings = config.load({"model": "m", "expect": raw}, {"COMETAPI_API_KEY": "k"}, tmp_path)
    assert (settings.expect.kind, settings.expect.value) == (kind, value)

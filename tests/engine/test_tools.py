"""deploy/ checked by the engine's own tools: promtool test rules (the alert rules' unit
tests), promtool check config/rules, amtool check-config and the routing tree."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.support.engine import DEPLOY


def _run(*argv: str, cwd: Path | None = None) -> str:
    done = subprocess.run(list(argv), capture_output=True, text=True, timeout=60, cwd=cwd)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_promtool_unit_tests_of_the_alert_rules(tools: dict[str, str]) -> None:
    out = _run(tools["PROMTOOL"], "test", "rules", "chat-smoke.rules.test.yml",
               cwd=DEPLOY / "prometheus")
    assert "SUCCESS" in out and "FAILED" not in out


def test_the_rule_tests_fail_when_a_rule_is_wrong(tools: dict[str, str], tmp_path: Path) -> None:
    """The unit tests can fail: transient alerts firing after 5 minutes instead of 15."""
    for name in ("chat-smoke.rules.yml", "chat-smoke.rules.test.yml"):
        shutil.copy(DEPLOY / "prometheus" / name, tmp_path / name)
    rules = tmp_path / "chat-smoke.rules.yml"
    text = rules.read_text("utf-8")
    broken = text.replace('group="transient"} == 1\n        for: 15m',
                          'group="transient"} == 1\n        for: 5m')
    assert broken != text
    rules.write_text(broken, "utf-8")
    done = subprocess.run([tools["PROMTOOL"], "test", "rules", "chat-smoke.rules.test.yml"],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode != 0 and "ChatSmokeTransientFailure" in done.stdout + done.stderr


def test_promtool_accepts_the_scrape_config_and_the_rules(tools: dict[str, str]) -> None:
    _run(tools["PROMTOOL"], "check", "config", "prometheus.yml", cwd=DEPLOY / "prometheus")
    _run(tools["PROMTOOL"], "check", "rules", "chat-smoke.rules.yml", cwd=DEPLOY / "prometheus")


def test_alertmanager_routes_by_owner_and_category_group(tools: dict[str, str]) -> None:
    config = str(DEPLOY / "alertmanager" / "alertmanager.yml")
    _run(tools["AMTOOL"], "check-config", config)
    cases = {
        ("alertname=ChatSmokeCredentialsFailure", "group=credentials", "owner=x"):
            "credentials-owner",
        ("alertname=ChatSmokeConfigFailure", "group=config", "owner=x"): "credentials-owner",
        ("alertname=ChatSmokeTransientFailure", "group=transient", "owner=the provider"):
            "provider-watch",
        ("alertname=ChatSmokeBudgetSpent", "category=budget", "owner=monitoring"): "monitoring",
        ("alertname=ChatSmokeAnswerFailure", "group=answer", "owner=model / prompt owner"):
            "model-team",
        ("alertname=ChatSmokeEndpointFailure", "group=endpoint", "owner=config author"):
            "default",
    }
    for labels, receiver in cases.items():
        out = _run(tools["AMTOOL"], "config", "routes", "test", f"--config.file={config}",
                   *labels)
        assert out.strip().splitlines()[-1].strip() == receiver, (labels, out)

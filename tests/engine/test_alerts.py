"""The real engine end to end (issue 24): Prometheus with deploy/'s scrape config and rules
(short intervals) scrapes ``chat-smoke serve``, which probes the stub; Alertmanager with
deploy/'s routing sends to a webhook receiver (a test server); a batch run pushes to the
Pushgateway and Prometheus scrapes it.

- stub flipped to a revoked key: the credentials alert fires, reaches the receiver the
  routing names, with target, environment, category, group and owner;
- a transient failure of another target stays pending (its rule waits 15 minutes);
- the key restored: the alert resolves;
- every exposition the test sees passes ``promtool check metrics``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from smoke.categories import Category
from smoke.stub import StubServer
from tests.support.cli import KEY
from tests.support.engine import DEPLOY, Process, Webhook, free_port, query, wait_for
from tests.support.env import scrubbed
from tests.support.servekit import ServeProcess, get, write_config

INTERVAL = "1s"


def _check_metrics(tools: dict[str, str], text: str) -> None:
    done = subprocess.run([tools["PROMTOOL"], "check", "metrics"], input=text, text=True,
                          capture_output=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr


def _alertmanager_config(hook: Webhook, path: Path) -> None:
    """deploy/'s routing with every receiver pointed at the test's webhook (one path per
    receiver, so the test sees which route matched) and short waits."""
    config = yaml.safe_load((DEPLOY / "alertmanager" / "alertmanager.yml").read_text())
    config["route"].update(group_wait="1s", group_interval="1s", repeat_interval="1h")
    for route in config["route"].get("routes", []):
        route.pop("repeat_interval", None)
    for receiver in config["receivers"]:
        for hook_config in receiver["webhook_configs"]:
            hook_config["url"] = f"{hook.url}/{receiver['name']}"
    path.write_text(yaml.safe_dump(config))


def _prometheus_config(path: Path, serve: str, pushgateway: str, alertmanager: str,
                       targets: list[str]) -> None:
    """deploy/'s scrape config and rules, with this machine's addresses and 1 s intervals."""
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    config["global"].update(scrape_interval=INTERVAL, evaluation_interval=INTERVAL)
    config["rule_files"] = [str(DEPLOY / "prometheus" / name) for name in config["rule_files"]]
    config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] = [alertmanager]
    for job in config["scrape_configs"]:
        job.update(scrape_interval=INTERVAL, scrape_timeout=INTERVAL)
        if job["job_name"] == "chat-smoke":
            job["static_configs"][0]["targets"] = targets
            job["relabel_configs"][-1]["replacement"] = serve
        elif job["job_name"] == "chat-smoke-exporter":
            job["static_configs"][0]["targets"] = [serve]
        elif job["job_name"] == "pushgateway":
            job["static_configs"][0]["targets"] = [pushgateway]
    path.write_text(yaml.safe_dump(config))


def test_an_auth_failure_fires_routes_and_resolves(tools: dict[str, str], tmp_path: Path,
                                                    webhook: Webhook) -> None:
    stub = StubServer(key=KEY).start()
    started: list[Any] = []
    try:
        config = write_config(
            tmp_path / "chat-smoke.yml",
            {"prod-eu": {"base_url": stub.url(), "environment": "prod"},
             "flaky": {"base_url": stub.url("server-error"), "environment": "prod",
                       "retries": 0}},
            serve={"min_interval": 0})
        serve = ServeProcess(config)
        started.append(serve)
        serve_address = serve.url.split("//", 1)[1]
        am_port, pg_port, prom_port = free_port(), free_port(), free_port()
        _alertmanager_config(webhook, tmp_path / "alertmanager.yml")
        alertmanager = Process("alertmanager", [
            tools["ALERTMANAGER"], "--config.file=alertmanager.yml",
            f"--storage.path={tmp_path / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address="],
            tmp_path, f"http://127.0.0.1:{am_port}/-/ready")
        started.append(alertmanager)
        pushgateway = Process("pushgateway", [
            tools["PUSHGATEWAY"], f"--web.listen-address=127.0.0.1:{pg_port}"],
            tmp_path, f"http://127.0.0.1:{pg_port}/-/ready")
        started.append(pushgateway)
        _prometheus_config(tmp_path / "prometheus.yml", serve_address,
                           f"127.0.0.1:{pg_port}", f"127.0.0.1:{am_port}", ["prod-eu", "flaky"])
        prometheus = Process("prometheus", [
            tools["PROMETHEUS"], "--config.file=prometheus.yml",
            f"--storage.tsdb.path={tmp_path / 'prom-data'}",
            f"--web.listen-address=127.0.0.1:{prom_port}"],
            tmp_path, f"http://127.0.0.1:{prom_port}/-/ready")
        started.append(prometheus)
        prom = f"http://127.0.0.1:{prom_port}"
        logs = (prometheus, alertmanager)

        # healthy: Prometheus scrapes the probe through the relabelling
        wait_for("probe_success 1 for prod-eu",
                 lambda: [r for r in query(prom, 'probe_success{job="chat-smoke",'
                                                 'instance="prod-eu",target="prod-eu"} == 1')],
                 20, *logs)
        for url in (f"{serve.url}/probe?target=prod-eu", f"{serve.url}/probe?target=flaky",
                    f"{serve.url}/metrics"):
            status, text, _ = get(url)
            assert status == 200
            _check_metrics(tools, text)

        # the key is revoked: the credentials alert fires at the first failed probe
        stub.state.key = "sk-revoked-" + "0" * 24
        fired = wait_for("the credentials alert at the webhook",
                         lambda: webhook.alerts("ChatSmokeCredentialsFailure", "firing"),
                         30, *logs)
        receiver, alert = fired[0]
        assert receiver == "credentials-owner"
        labels = alert["labels"]
        assert (labels["target"], labels["environment"], labels["category"], labels["group"],
                labels["owner"]) == ("prod-eu", "prod", "auth", "credentials",
                                     Category.AUTH.owner)
        assert labels["severity"] == "page" and labels["instance"] == "prod-eu"
        assert alert["annotations"]["runbook_url"].endswith("docs/failures.md#auth")
        assert "prod-eu (prod): auth failure" in alert["annotations"]["summary"]

        # the transient target has been failing all along: pending, never sent
        alerts = query(prom, 'ALERTS{alertname="ChatSmokeTransientFailure",target="flaky"}')
        assert [a["metric"]["alertstate"] for a in alerts] == ["pending"]
        assert webhook.alerts("ChatSmokeTransientFailure") == []

        # the key is back: the alert resolves
        stub.state.key = KEY
        resolved = wait_for("the resolved notification",
                            lambda: webhook.alerts("ChatSmokeCredentialsFailure", "resolved"),
                            30, *logs)
        assert resolved[0][0] == "credentials-owner"
        assert resolved[0][1]["labels"]["target"] == "prod-eu"

        # batch mode: a CronJob-style run pushes; Prometheus scrapes the Pushgateway
        textfile = tmp_path / "batch.prom"
        done = subprocess.run(
            [sys.executable, "-m", "smoke", "run", "--base-url", stub.url(), "--model",
             "stub-model", "--environment", "prod", "--target", "batch", "--pushgateway",
             f"http://127.0.0.1:{pg_port}", "--report-prometheus", str(textfile)],
            capture_output=True, text=True, timeout=60,
            env=scrubbed(COMETAPI_API_KEY=KEY))
        assert done.returncode == 0, done.stdout + done.stderr
        assert "warning" not in done.stdout
        _check_metrics(tools, textfile.read_text("utf-8"))
        found = wait_for("the pushed probe_success in Prometheus",
                         lambda: query(prom, 'probe_success{job="chat_smoke",target="batch",'
                                             'environment="prod"}'), 20, *logs)
        assert found[0]["value"][1] == "1"
        assert query(prom, 'chat_smoke_last_success_timestamp_seconds{job="chat_smoke",'
                           'target="batch"} > 0')
    finally:
        for process in reversed(started):
            process.stop()
        stub.stop()

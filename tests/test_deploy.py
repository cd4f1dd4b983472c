"""deploy/ (issue 24): the Kubernetes manifests validate against Kubernetes' own schemas
(kubernetes-validate, strict), run as non-root on a read-only root filesystem with the key
from a Secret file, and agree with the exporter and the scrape config. Prometheus' and
Alertmanager's own tools check the rest in tests/engine/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from smoke.serve import DEFAULT_PORT
from smoke.serve import config as serve_config

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
MANIFESTS = sorted((DEPLOY / "kubernetes").glob("*.yaml"))
CORE_KINDS = {"ConfigMap", "Deployment", "Service", "CronJob", "NetworkPolicy"}


def _documents() -> list[tuple[str, dict[str, Any]]]:
    return [(path.name, doc) for path in MANIFESTS
            for doc in yaml.safe_load_all(path.read_text("utf-8")) if doc]


def _pods(doc: dict[str, Any]) -> list[dict[str, Any]]:
    if doc["kind"] == "Deployment":
        return [doc["spec"]["template"]["spec"]]
    if doc["kind"] == "CronJob":
        return [doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]]
    return []


def test_there_are_manifests_for_serve_and_the_cronjob() -> None:
    kinds = {(name, doc["kind"]) for name, doc in _documents()}
    assert {("serve.yaml", "Deployment"), ("serve.yaml", "Service"),
            ("cronjob.yaml", "CronJob")} <= kinds
    assert {kind for _, kind in kinds} <= CORE_KINDS  # no CRDs (Probe, ServiceMonitor)


@pytest.mark.parametrize("name,doc", _documents(),
                         ids=[f"{n}:{d['kind']}" for n, d in _documents()])
def test_each_resource_is_valid_for_kubernetes(name: str, doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)


def test_the_validator_rejects_a_broken_manifest() -> None:
    """The check above can fail: a misspelt field is refused."""
    doc = next(d for n, d in _documents() if d["kind"] == "Deployment")
    broken = yaml.safe_load(yaml.safe_dump(doc))
    broken["spec"]["template"]["spec"]["containers"][0]["securityContxt"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, kubernetes_validate.latest_version(), strict=True)


def test_pods_run_as_non_root_on_a_read_only_root_with_the_key_from_a_secret_file() -> None:
    pods = [(name, pod) for name, doc in _documents() for pod in _pods(doc)]
    assert len(pods) >= 2
    for name, pod in pods:
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["automountServiceAccountToken"] is False, name
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            for env in container.get("env", []):  # no key in the environment
                assert "valueFrom" not in env and "KEY" not in env["name"].upper(), name
    ours = [pod for name, pod in pods
            if any("chat-smoke" in c["image"] for c in pod["containers"])]
    for pod in ours:
        secrets = [v for v in pod["volumes"] if "secret" in v]
        assert [v["secret"]["secretName"] for v in secrets] == ["chat-smoke-key"]
        mounts = {m["name"]: m for c in pod["containers"] for m in c["volumeMounts"]}
        assert mounts[secrets[0]["name"]]["readOnly"] is True


def test_the_config_map_is_a_config_serve_loads(tmp_path: Path) -> None:
    doc = next(d for _, d in _documents() if d["kind"] == "ConfigMap")
    text = doc["data"]["chat-smoke.yml"]
    key = tmp_path / "api-key"
    key.write_text("sk-deploy-test-" + "0" * 24)
    (tmp_path / "c.yml").write_text(text.replace("/var/run/secrets/chat-smoke/api-key",
                                                 str(key)))
    loaded = serve_config.load("c.yml", {}, tmp_path)
    assert set(loaded.targets) == {"prod-eu", "staging"}
    assert "negatives" in loaded.modules
    scrape = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text("utf-8"))
    job = next(j for j in scrape["scrape_configs"] if j["job_name"] == "chat-smoke")
    assert set(job["static_configs"][0]["targets"]) == set(loaded.targets)
    serve = next(d for _, d in _documents() if d["kind"] == "Deployment"
                 and d["metadata"]["name"] == "chat-smoke-serve")
    args = serve["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--port") + 1] == str(DEFAULT_PORT)
    assert job["relabel_configs"][-1]["replacement"].endswith(f":{DEFAULT_PORT}")


def test_the_cronjob_pushes_with_a_key_file() -> None:
    doc = next(d for _, d in _documents() if d["kind"] == "CronJob")
    args = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[0] == "run" and "--pushgateway" in args and "--api-key-file" in args
    assert doc["spec"]["concurrencyPolicy"] == "Forbid"


def test_the_try_out_config_loads() -> None:
    """examples/serve.yml, the README's one-command try-out, is a config serve accepts."""
    loaded = serve_config.load("examples/serve.yml",
                               {"COMETAPI_API_KEY": "sk-stub-not-a-secret-0123456789abcdef"},
                               DEPLOY.parent)
    assert {"stub", "stub-revoked", "stub-outage"} <= set(loaded.targets)
    assert loaded.targets["stub"].flags["base_url"] == "http://127.0.0.1:8765/v1"

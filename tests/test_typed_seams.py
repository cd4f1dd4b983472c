"""The typed seams of the checks (issue 27): a check kind gets ``(check, plan)``, and its
target (settings, endpoint, session, deadline) comes from the plan, the endpoint computed
once per run and once per model whose own settings change it."""

from __future__ import annotations

from pathlib import Path

from smoke import config
from smoke.checks.negative import with_key
from smoke.checks.task import Plan
from smoke.http.deadline import Deadline
from smoke.http.transport import endpoint_of, new_session, request_headers
from tests.support.cli import KEY


def _plan(tmp_path: Path) -> Plan:
    settings = config.load({"model": ["plain", {"id": "slow", "timeout": 77}]},
                           {"COMETAPI_API_KEY": KEY}, tmp_path)
    endpoint = endpoint_of(settings)
    return Plan(settings, endpoint, new_session(endpoint), Deadline(30))


def test_a_model_without_settings_of_its_own_shares_the_runs_endpoint(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    target = plan.target("plain")
    assert target.settings is plan.settings and target.route.endpoint is plan.endpoint
    assert target.route.session is plan.session and target.deadline is plan.deadline
    assert plan.target("plain") is target  # made once
    assert plan.target().route.endpoint is plan.endpoint


def test_a_model_with_its_own_timeout_gets_its_own_endpoint(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    slow = plan.target("slow")
    assert slow.settings.timeout == 77 and slow.route.endpoint.read_timeout == 77
    assert plan.endpoint.read_timeout != 77
    assert slow.route.endpoint.api_key == KEY and slow.route.session is plan.session
    assert plan.target("slow") is slow


def test_the_invalid_key_target_holds_only_the_made_up_key(tmp_path: Path) -> None:
    target = _plan(tmp_path).target("plain")
    fake = "sk-" + "x" * 40
    bad = with_key(target, fake)
    assert bad.settings.api_key == bad.route.endpoint.api_key == fake
    assert KEY not in repr(bad.route.endpoint) and KEY not in str(
        request_headers(bad.route.endpoint, True, {}))
    assert target.route.endpoint.api_key == KEY  # the run's own target is unchanged

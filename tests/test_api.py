"""The public library API: ``import smoke`` is light, ``smoke.run`` runs the real gate
against the bundled stub and returns its result."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

import smoke
from smoke.stub import StubServer
from tests.support.cli import KEY

ENV = {"COMETAPI_API_KEY": KEY}
HEAVY = ("requests", "yaml", "jinja2", "click")


def test_import_smoke_loads_no_dependency() -> None:
    code = ("import sys, smoke; print(smoke.__version__); "
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules)); "
            "print(sorted(m for m in sys.modules if m.startswith('smoke')))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=60)
    version, loaded, own = proc.stdout.splitlines()
    assert loaded == "[]"
    assert own == "['smoke', 'smoke._version']"  # the public names load on first use
    assert version == metadata.version("chat-smoke")


def test_the_public_names_resolve_to_the_library_objects() -> None:
    from smoke.api import run
    from smoke.cancel import CancelToken
    from smoke.categories import Category
    from smoke.config.settings import Settings
    from smoke.errors import ConfigError, ReportError, SmokeError
    from smoke.results import Check, GateResult

    expected = {"run": run, "Settings": Settings, "GateResult": GateResult, "Check": Check,
                "Category": Category, "SmokeError": SmokeError, "ConfigError": ConfigError,
                "ReportError": ReportError, "CancelToken": CancelToken}
    assert set(smoke.__all__) == {"__version__", *expected}
    for name, value in expected.items():
        assert getattr(smoke, name) is value, name
    assert set(smoke.__all__) <= set(dir(smoke))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        smoke.nope  # type: ignore[attr-defined]  # noqa: B018


def test_run_passes_against_the_stub_and_prints_nothing(
        stub: StubServer, capsys: pytest.CaptureFixture[str]) -> None:
    result = smoke.run(base_url=stub.url(), model="stub-model", env=ENV)
    assert isinstance(result, smoke.GateResult)
    assert (result.verdict, result.exit_code, result.category) == ("pass", 0, None)
    assert [c.id for c in result.checks][:1] == ["preflight:config"]
    assert result.primary is not None and result.primary.outcome == "pass"
    assert result.primary.answer is not None and "pong" in result.primary.answer.lower()
    assert capsys.readouterr() == ("", "")


def test_a_mapping_and_keywords_merge_keywords_winning(stub: StubServer) -> None:
    settings = {"base_url": stub.url(), "model": "no-such-model", "timeout": 5}
    result = smoke.run(settings, model="stub-model", env=ENV)
    assert result.exit_code == 0, [c.message for c in result.failures]
    assert result.config["models"] == ["stub-model"]
    assert result.config["timeout"] == 5.0


def test_a_rejected_key_is_an_auth_result_not_an_exception(stub: StubServer) -> None:
    out = io.StringIO()
    result = smoke.run(base_url=stub.url("bad-key"), model="stub-model", env=ENV, output=out)
    assert (result.verdict, result.exit_code) == ("fail", 3)
    assert result.category is smoke.Category.AUTH
    assert "FAIL [auth] exit 3" in out.getvalue()
    assert KEY not in out.getvalue()


@pytest.mark.parametrize(("keys", "message"), [
    ({"base_url": "ftp://example.com/v1"}, "is not an http(s) URL"),
    ({"modle": "stub-model"}, "unknown setting 'modle' (did you mean 'model'?)"),
    ({"timeout": [5]}, "timeout"),
    ({"retries": "many"}, "--retries: expected a"),
])
def test_a_bad_setting_is_a_config_result(
        stub: StubServer, keys: dict[str, object], message: str) -> None:
    settings: dict[str, object] = {"base_url": stub.url(), "model": "stub-model", **keys}
    sent = len(stub.requests)
    result = smoke.run(settings, env=ENV)
    assert (result.verdict, result.exit_code) == ("fail", 2)
    assert result.category is smoke.Category.CONFIG
    assert message in result.checks[0].message
    assert len(stub.requests) == sent  # nothing was sent


def test_no_key_in_env_is_a_config_result(
        stub: StubServer, capsys: pytest.CaptureFixture[str]) -> None:
    result = smoke.run(base_url=stub.url(), model="stub-model", env={})
    assert result.category is smoke.Category.CONFIG
    assert "no API key" in result.checks[0].message
    assert capsys.readouterr() == ("", "")
    out = io.StringIO()
    smoke.run(base_url=stub.url(), model="stub-model", env={}, output=out)
    assert out.getvalue() == f"chat-smoke: config error: {result.checks[0].message}\n"


def test_reports_named_by_the_settings_are_written_under_cwd(
        stub: StubServer, tmp_path: Path) -> None:
    result = smoke.run(base_url=stub.url(), model="stub-model", env=ENV, cwd=tmp_path,
                       report_json="out/report.json", report_junit=tmp_path / "junit.xml")
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert (report["verdict"], report["exit_code"]) == ("pass", 0) == (result.verdict, 0)
    assert (tmp_path / "junit.xml").read_text().startswith("<?xml")
    assert KEY not in (tmp_path / "out" / "report.json").read_text()


def test_a_report_that_cannot_be_written_raises_report_error(
        stub: StubServer, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(smoke.ReportError, match="cannot write"):
        smoke.run(base_url=stub.url(), model="stub-model", env=ENV,
                  report_json=blocker / "report.json")


@pytest.mark.parametrize("settings", [["base_url"], "base_url=x", {1: "x"}])
def test_settings_that_are_not_a_mapping_raise_type_error(settings: object) -> None:
    with pytest.raises(TypeError, match="smoke.run: settings must be a mapping"):
        smoke.run(settings)  # type: ignore[arg-type]


# -- per-run cancellation (issue 20) ------------------------------------------------------
def test_two_runs_in_threads_one_cancelled_the_other_finishes(
        stub: StubServer, tmp_path: Path) -> None:
    """Each smoke.run has its own token: cancelling one run (its model hangs) stops it,
    with its reports written, while the other run in the same process goes on to pass."""
    import threading
    import time

    cancelled, other = smoke.CancelToken(), smoke.CancelToken()
    results: dict[str, smoke.GateResult] = {}

    def run(name: str, model: str, token: smoke.CancelToken, **keys: str) -> None:
        results[name] = smoke.run(base_url=stub.url(), model=model, env=ENV, cwd=tmp_path,
                                  cancel=token, deadline=60, timeout=60, retries=0, **keys)

    hung = threading.Thread(target=run, args=("hung", "scenario/hang", cancelled),
                            kwargs={"report_json": "hung.json"})
    # The other run is slow (1.5 s), so it is still in flight when the first is cancelled.
    slow = threading.Thread(target=run, args=("slow", "scenario/slow:1.5", other),
                            kwargs={"report_json": "slow.json"})
    hung.start()
    slow.start()
    until = time.monotonic() + 10  # both requests in flight, then cancel one run
    while time.monotonic() < until and not {"hang", "slow:1.5"} <= {
            r["payload"].get("model", "").split("/")[-1] for r in stub.requests
            if isinstance(r["payload"], dict)}:
        time.sleep(0.01)
    started = time.monotonic()
    cancelled.cancel()
    hung.join(10)
    assert not hung.is_alive() and time.monotonic() - started < 5
    assert "slow" not in results  # still running: the cancellation was not its own
    slow.join(30)
    assert not slow.is_alive()
    assert (results["hung"].verdict, results["hung"].exit_code) == ("cancelled", 143)
    (check,) = [c for c in results["hung"].checks if c.id == "positive:scenario/hang"]
    assert check.outcome == "cancelled"
    assert check.message.startswith("cancelled by the caller")
    assert (results["slow"].verdict, results["slow"].exit_code) == ("pass", 0)
    assert not other.cancelled
    assert json.loads((tmp_path / "hung.json").read_text())["verdict"] == "cancelled"
    assert json.loads((tmp_path / "slow.json").read_text())["verdict"] == "pass"


def test_a_run_cancelled_while_waiting_to_retry_sends_nothing_more(
        stub: StubServer, tmp_path: Path) -> None:
    """The server asks for a 29 s wait before the retry; the run is cancelled meanwhile: it
    ends at once, and its worker ends too instead of sending the retry 29 s later into a
    process that goes on (a library caller)."""
    import threading
    import time

    scenario = "rate-limit-forever:29"
    token = smoke.CancelToken()
    before = set(threading.enumerate())
    results: list[smoke.GateResult] = []
    run = threading.Thread(target=lambda: results.append(smoke.run(
        base_url=stub.url(scenario), model="stub-model", env=ENV, cwd=tmp_path, cancel=token,
        deadline=120, timeout=60, retries=2)))
    run.start()

    def sent() -> int:
        return sum(1 for r in stub.requests if r["scenario"].startswith(scenario)
                   and r["path"].endswith("/chat/completions"))

    until = time.monotonic() + 10
    while sent() == 0 and time.monotonic() < until:
        time.sleep(0.01)
    assert sent() == 1
    token.cancel()
    run.join(10)
    assert [(r.verdict, r.exit_code) for r in results] == [("cancelled", 143)]
    (check,) = [c for c in results[0].checks if c.kind == "positive"]
    assert check.outcome == "cancelled" and check.message.startswith("cancelled by the caller")
    workers = [t for t in threading.enumerate()
               if t not in before and t.name.startswith("chat-smoke-worker")]
    for worker in workers:
        worker.join(5)
    assert not [w.name for w in workers if w.is_alive()]  # not asleep until the retry
    assert sent() == 1


def test_a_token_cancelled_with_a_signal_number_exits_128_plus_it(stub: StubServer) -> None:
    import signal

    token = smoke.CancelToken()
    token.cancel(signal.SIGINT, "SIGINT")
    result = smoke.run(base_url=stub.url("hang"), model="stub-model", env=ENV, cancel=token,
                       deadline=60, timeout=60)
    assert (result.verdict, result.exit_code) == ("cancelled", 130)


def test_cancel_must_be_a_token(stub: StubServer) -> None:
    with pytest.raises(TypeError, match="cancel must be a smoke.CancelToken"):
        smoke.run(base_url=stub.url(), model="stub-model", env=ENV,
                  cancel=True)  # type: ignore[arg-type]

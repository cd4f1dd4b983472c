"""Run the gate in-process against the loopback stub (faster than a subprocess per test;
``tests.support.cli.run_cli`` covers the process boundary)."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smoke import pipeline
from smoke.output.console import Console
from smoke.reports import json_report
from tests.support.cli import KEY


@dataclass
class Outcome:
    code: int
    report: dict[str, Any]
    console: str

    def check(self, check_id: str) -> dict[str, Any]:
        for check in self.report["checks"]:
            if check["id"] == check_id:
                return dict(check)
        raise KeyError(f"{check_id} not in {[c['id'] for c in self.report['checks']]}")

    @property
    def ids(self) -> list[str]:
        return [c["id"] for c in self.report["checks"]]


def run_gate(cwd: Path | None = None, env: dict[str, str] | None = None,
             **flags: Any) -> Outcome:
    """``run_gate(base_url=..., model=..., stream=True)``: flags by schema key, values as
    the command line gives them (strings) or typed."""
    from tests.support.reportschema import problems

    out = io.StringIO()
    result, _ = pipeline.check(flags, {"COMETAPI_API_KEY": KEY, **(env or {})}, cwd,
                         Console(out=out))
    # The report as it would be written: valid against smoke/schema/report.schema.json.
    found = problems(json.loads(json_report.render(result)))
    assert not found, f"the report breaks report.schema.json: {found[:5]}"
    return Outcome(result.exit_code, json_report.as_dict(result), out.getvalue())

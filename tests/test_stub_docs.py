"""docs/stub.md names every scenario and model the stub has, and the README and the guide
to running the gate point at it."""

from __future__ import annotations

import re
from pathlib import Path

from smoke.stub.scenarios import SCENARIOS
from smoke.stub.server import MODELS
from smoke.stub.streams import STREAMS

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "stub.md").read_text("utf-8")


def test_every_scenario_is_documented() -> None:
    rows = [line for line in DOC.splitlines() if line.startswith("| `")]
    named = {name for row in rows for name in re.findall(r"`([a-z0-9-]+)`", row.split("|")[1])}
    assert sorted({*SCENARIOS, *STREAMS} - named) == []
    assert sorted(named - {*SCENARIOS, *STREAMS}) == []


def test_the_model_list_is_documented() -> None:
    # The README's stub section moved to docs/gate.md; the README still points at stub.md.
    gate = (ROOT / "docs" / "gate.md").read_text("utf-8")
    section = gate[gate.index("## The built-in stub"):]
    section = section[:section.index("\n## ", 1)]
    for model in MODELS:
        assert f"`{model}`" in DOC and f"`{model}`" in section
    assert "(stub.md)" in section
    assert "docs/stub.md" in (ROOT / "README.md").read_text("utf-8")

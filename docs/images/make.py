"""Regenerate the README's pictures of the job summary: real gate runs against the
bundled stub, rendered as GitHub renders a job summary (cmarkgfm, github-markdown-css,
headless Chromium at 1012 px; see tests/support/browser/harness.py).

    .venv/bin/python docs/images/make.py [FOLDER]

Writes summary-pass.png, summary-fail.png and incident-issue.png (an incident issue's
body, issue 23) into FOLDER (default: docs/images).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from smoke.reports.summary import markdown  # noqa: E402
from smoke.stub import StubServer  # noqa: E402
from tests.support.browser import harness, scenarios  # noqa: E402

HERE = Path(__file__).resolve().parent


def main(folder: Path = HERE) -> None:
    browser = harness.browser()
    with StubServer(key=scenarios.KEY) as stub:
        passed = scenarios.run(stub, "gpt-4o-mini,gpt-5-mini", stream="true",
                               check_models="true")
        # One model of three answers wrongly, on both paths: the table leads with it,
        # the passes fold away, and the two failures share one incident block.
        failed = scenarios.run(stub, "gpt-4o-mini,gpt-5-mini,scenario/wrong-answer",
                               stream="true")
        with tempfile.TemporaryDirectory() as tmp:
            incident = scenarios.incident(stub, Path(tmp))
    # The pass picture shows its folded table open, as after a click.
    for name, result, open_first in (("pass", passed, True), ("fail", failed, False)):
        target = browser.screenshot(markdown.render(result), folder / f"summary-{name}.png",
                                    open_first=open_first)
        print(f"wrote {target}")
    target = browser.screenshot(incident, folder / "incident-issue.png")
    print(f"wrote {target}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if sys.argv[1:] else HERE)

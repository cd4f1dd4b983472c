"""The Markdown summary of ``chat-smoke merge``: a row per matrix job, the deciding first.

Rendered from ``templates/merged.md.j2`` in the same escaping environment as the run's
summary (:func:`smoke.reports.summary.filters.environment`)."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources

from smoke.categories import DOCS_URL, Category
from smoke.output.textsafe import count
from smoke.reports.json_report import Merged
from smoke.reports.summary.filters import environment
from smoke.reports.summary.markdown import cap

TEMPLATE = "merged.md.j2"


def _docs_url(category: str | None) -> str:
    return Category(category).docs_url if category in set(Category) else DOCS_URL


def context(merged: Merged) -> dict[str, object]:
    jobs = merged["jobs"]
    failing = [j for j in jobs if j["verdict"] != "pass"]
    steps: dict[str, dict[str, str]] = {}
    for job in failing:
        category = job["category"] or ("cancelled" if job["verdict"] != "fail" else "internal")
        if category in steps:
            steps[category]["jobs"] += ", " + job["job"]
            continue
        steps[category] = {
            "category": category, "jobs": job["job"], "docs_url": _docs_url(job["category"]),
            "hint": job["hint"] or ("The job was stopped before it finished; run it again."
                                    if job["verdict"] != "fail" else
                                    "A bug in chat-smoke: report it with the job's report.json."),
        }
    # The merge's own failures: a merged report that could not be written.
    unwritten = [c for c in merged["checks"] if c.get("job") == "merge"
                 and c.get("kind") == "report" and c.get("outcome") == "fail"]
    if merged["verdict"] == "pass":
        banner = f"✅ chat-smoke passed on all {count(len(jobs), 'job')}"
    elif unwritten and not failing:
        banner = (f"❌ chat-smoke merge failed: a merged report could not be written: "
                  f"config (exit {merged['exit_code']})")
    else:
        what = "was cancelled" if merged["verdict"] == "cancelled" else "failed"
        banner = (f"❌ chat-smoke {what} on {len(failing) or 1} of {count(len(jobs) or 1, 'job')}: "
                  f"{merged['category'] or merged['verdict']} (exit {merged['exit_code']})")
    deciding: Mapping[str, object] | None = next(iter(steps.values()), None)
    if not jobs and merged["checks"]:  # the merge itself failed
        check = merged["checks"][0]
        deciding = {"category": "config", "hint": check["hint"],
                    "docs_url": _docs_url("config"), "jobs": "merge"}
    return {**merged, "banner": banner, "next_steps": list(steps.values()),
            "deciding": deciding, "unwritten": unwritten}


def render(merged: Merged) -> str:
    source = resources.files("smoke.reports.summary").joinpath("templates", TEMPLATE)
    template = environment().from_string(source.read_text("utf-8"))
    return cap(template.render(context(merged)))

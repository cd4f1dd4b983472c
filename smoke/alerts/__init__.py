"""Failures reach their owners: incident issues with a lifecycle (GitHub, GitLab) and
webhook notifications on state changes. Both are publishers of the end of a run: best
effort, bounded in time, warnings on any problem, never the exit code."""

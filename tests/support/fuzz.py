"""Hypothesis profiles: ``ci`` runs today's example counts, ``dev`` a tenth of them.

The profile comes from ``HYPOTHESIS_PROFILE`` when set, else ``ci`` where ``CI`` is set
(``.ci/run``, GitHub Actions) and ``dev`` elsewhere, so a developer's loop is quick and CI
keeps the full hunt. A test states its CI count through :func:`examples`; the profile
scales it, so the two profiles never drift apart.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = {"deadline": None, "suppress_health_check": [
    HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture]}
_SCALE = {"ci": 1.0, "dev": 0.1}

settings.register_profile("ci", **_COMMON)  # type: ignore[arg-type]
settings.register_profile("dev", **_COMMON)  # type: ignore[arg-type]
PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
if PROFILE not in _SCALE:
    raise RuntimeError(f"HYPOTHESIS_PROFILE={PROFILE!r}: use one of {sorted(_SCALE)}")
settings.load_profile(PROFILE)


def examples(ci_count: int) -> settings:
    """Settings running ``ci_count`` examples under the CI profile (at least 10 in dev)."""
    return settings(max_examples=max(10, round(ci_count * _SCALE[PROFILE])))

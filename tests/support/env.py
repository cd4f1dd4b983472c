"""The one environment scrub of the suite: what no test may inherit from the developer's
(or CI's) environment. tests/conftest.py's autouse ``clean_env`` fixture applies it to
os.environ for every test; ``scrubbed`` applies it to a child process's environment."""

from __future__ import annotations

import os
from collections.abc import Mapping

PREFIXES = ("INPUT_", "GITHUB_", "RUNNER_", "COMETAPI_", "SMOKE_", "CI_", "OPENAI_")
NAMES = ("HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "ALL_PROXY", "REQUESTS_CA_BUNDLE",
         "SSL_CERT_FILE", "CURL_CA_BUNDLE", "GIT_COMMIT", "CI",
         # The variables smoke.ci detects a platform by (GITHUB_ACTIONS: the prefix).
         "GITLAB_CI", "TF_BUILD", "BUILDKITE", "JENKINS_URL", "CIRCLECI",
         "BITBUCKET_BUILD_NUMBER")


def scrubbed_out(name: str) -> bool:
    """Whether ``name`` (any case for the NAMES: proxies are read lower-case too) goes."""
    return name.startswith(PREFIXES) or name.upper() in NAMES


def scrubbed(environ: Mapping[str, str] | None = None, **more: str) -> dict[str, str]:
    """``environ`` (os.environ by default) without what the scrub removes, plus ``more``."""
    env = {k: v for k, v in (os.environ if environ is None else environ).items()
           if not scrubbed_out(k)}
    env.update(more)
    return env

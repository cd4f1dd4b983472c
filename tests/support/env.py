"""The one environment scrub of the suite: what no test may inherit from the developer's
(or CI's) environment. tests/conftest.py's autouse ``clean_env`` fixture applies it to
os.environ for every test (:func:`scrub`); :func:`scrubbed` applies it to a child process's
environment. No other module writes a list of its own."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

import pytest

# Name prefixes: the gate's inputs and settings, chat-smoke's own variables, and every CI
# platform's (GitHub's GITHUB_/RUNNER_/INPUT_; GitLab's CI_ and GITLAB_; "CI" also takes CI
# itself and CircleCI's CIRCLECI/CIRCLE_; Azure's TF_BUILD, Buildkite's, Jenkins', Bitbucket's
# detection variables: smoke.ci.DETECTION).
PREFIXES = ("INPUT_", "GITHUB_", "RUNNER_", "COMETAPI_", "SMOKE_", "CHAT_SMOKE_", "OPENAI_",
            "CI", "GITLAB", "TF_BUILD", "BUILDKITE", "JENKINS_URL", "BITBUCKET_BUILD_NUMBER")
# Whatever the case (proxies are read lower-case too): where requests go and whom they trust.
NETWORK = ("HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "ALL_PROXY", "REQUESTS_CA_BUNDLE",
           "SSL_CERT_FILE", "CURL_CA_BUNDLE")
NAMES = (*NETWORK, "GIT_COMMIT")
# The suite's own switches (read at import, or handed to a set-up script): never scrubbed.
SUITE = ("CHAT_SMOKE_CONTAINER", "CHAT_SMOKE_CONTAINER_DIR", "CHAT_SMOKE_BROWSER_CACHE",
         "CHAT_SMOKE_ROOT_TESTS")


def scrubbed_out(name: str) -> bool:
    """Whether ``name`` goes."""
    if name in SUITE:
        return False
    return name.startswith(PREFIXES) or name.upper() in NAMES


def scrubbed(environ: Mapping[str, str] | None = None, *, keep: Iterable[str] = (),
             **more: str) -> dict[str, str]:
    """``environ`` (os.environ by default) without what the scrub removes, plus ``more``.
    ``keep``: names to leave in (NETWORK, for a step that installs from a registry)."""
    kept = {name.upper() for name in keep}
    env = {k: v for k, v in (os.environ if environ is None else environ).items()
           if not scrubbed_out(k) or k.upper() in kept}
    env.update(more)
    return env


def scrub(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove from os.environ, for one test, what the scrub removes."""
    for name in list(os.environ):
        if scrubbed_out(name):
            monkeypatch.delenv(name, raising=False)

"""The container's two modes: the GitHub action (inputs from ``INPUT_*``) and a command.

Action mode maps every input of ``action.yml`` onto the same flags the CLI builds, so the
action is the CLI with other spelling. How the runner passes inputs (actions/runner
``src/Runner.Worker/Handlers/Handler.cs``, ``AddInputsToEnvironment``): as
``INPUT_<NAME>``, upper-cased, spaces turned into ``_``, hyphens kept; inputs the
workflow leaves out arrive with ``action.yml``'s default or as ``""``; ``required`` is
not enforced. So ``""`` means unset here, and this module checks ``api-key`` itself.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from smoke.output import redact

if TYPE_CHECKING:
    from smoke.cancel import CancelToken

# Every input of action.yml and the schema key it sets (None: handled here).
# tests/test_entrypoint.py fails when action.yml and this table disagree.
INPUTS: dict[str, str | None] = {
    "api-key": None,  # into KEY_VARIABLE: a key is never a flag
    "auth-header": "auth_header",
    "headers": "headers",  # one "Name: value" per line
    "base-url": "base_url",
    "model": "model",
    "config": "config",
    "environment": "environment",
    "expect": "expect",
    "negative-checks": "negative",
    "timeout": "timeout",
    "deadline": "deadline",
    "retries": "retries",
    "ca-bundle": "ca_bundle",
    "summary-template": "summary_template",
    "report-dir": None,  # the three report paths below
    "fail-on-error": None,  # read by run(): annotation level (soft) and exit code
    "stream": "stream",
    "check-models": "check_models",
    "expect-model": "expect_model",
    "max-total-tokens": "max_total_tokens",
    "temperature": "temperature",  # "none" leaves it out
    "max-tokens": "max_tokens",
    "max-completion-tokens": "max_completion_tokens",
    "concurrency": "concurrency",
    "baseline": "baseline",
    "fail-on-drift": "fail_on_drift",
    "report-prometheus": "report_prometheus",
    "report-dotenv": "report_dotenv",
    "dotenv-prefix": "dotenv_prefix",
    "ci": "ci",
    "comment-on-pr": None,  # the three comment inputs: read by smoke.ci.github_comment
    "github-token": None,
    "comment-key": None,
    "incident-issue": "incident_issue",
    "incident-after": "incident_after",
    "incident-reopen-days": "incident_reopen_days",
    "previous-report": "previous_report",
}
# A variable of our own for the key, so that a COMETAPI_API_KEY in the job's environment
# cannot stand in for the api-key input the user gave (or forgot).
KEY_VARIABLE = "CHAT_SMOKE_ACTION_API_KEY"
FAIL_ON_ERROR_INPUT = "INPUT_FAIL-ON-ERROR"
DEFAULT_REPORT_DIR = "chat-smoke-reports"
REPORT_FILES = {"report_json": "report.json", "report_junit": "junit.xml",
                "summary": "summary.md"}
CLI_COMMANDS = ("run", "stub", "demo", "merge", "serve")

_NO_KEY = (
    "the api-key input is empty. Pass the key from a secret: `api-key: "
    "${{ secrets.COMETAPI_API_KEY }}` (or set `auth-header: none` for a gateway that holds "
    "the key itself). If the secret exists, note that GitHub gives no "
    "secrets to workflows run from forks or by Dependabot. See "
    "https://docs.github.com/actions/security-guides/using-secrets-in-github-actions"
)
_BAD_BOOL = "the {name} input is {value!r}: use true or false"
_NOT_FOUND = (
    "chat-smoke: cannot run {command!r}: no such program in the image. Give a chat-smoke "
    "command (run, stub, demo, --help) or a program on PATH (sh, cat). See "
    "https://github.com/chat-smoke/chat-smoke/blob/main/docs/ci.md"
)


# The image started with no arguments outside a GitHub Actions step (issue 21: it used to
# say only what GitHub's api-key input wants).
USAGE = """\
chat-smoke: no command given, and this is not a GitHub Actions step (GITHUB_ACTIONS is
not true), so there is no action input to read. Give the image a command:
  any CI or a shell:  podman run --rm -e COMETAPI_API_KEY IMAGE run --model MODEL
                      (docker run works the same; the key only from the environment)
  GitHub Actions:     uses: the action, with api-key: ${{ secrets.COMETAPI_API_KEY }}
  GitLab CI:          image: IMAGE, script: chat-smoke run --report-junit junit.xml
  Jenkins:            docker.image('IMAGE').inside { sh 'chat-smoke run' }
  Azure Pipelines, Buildkite, CircleCI, Bitbucket: a container step whose command is
                      chat-smoke run (the platform is detected; --ci NAME to choose)
  help:               IMAGE --help, IMAGE run --help; the README's section on GitLab
                      CI and Jenkins
"""


def input_variable(name: str) -> str:
    return f"INPUT_{name.replace(' ', '_').upper()}"


def read_inputs(env: Mapping[str, str]) -> dict[str, str]:
    """The inputs that were given (stripped, as the toolkit's getInput does); an empty
    one is left out, so the config file or the program's default applies."""
    found = {}
    for name in INPUTS:
        value = env.get(input_variable(name), "").strip()
        if value:
            found[name] = value
    return found


def flags_for(inputs: Mapping[str, str]) -> dict[str, object]:
    """The CLI's flags dict (schema keys) for these inputs."""
    flags: dict[str, object] = {key: inputs[name] for name, key in INPUTS.items()
                             if key is not None and name in inputs}
    folder = inputs.get("report-dir", DEFAULT_REPORT_DIR).rstrip("/") or "."
    for key, filename in REPORT_FILES.items():
        flags[key] = f"{folder}/{filename}"
    flags["api_key_env"] = KEY_VARIABLE
    return flags


def _problem(inputs: Mapping[str, str]) -> str | None:
    """What config.load cannot see: the inputs that are not flags."""
    from smoke.config import parse_bool

    if not inputs.get("api-key") and inputs.get("auth-header", "").lower() != "none":
        return _NO_KEY
    if "fail-on-error" in inputs and parse_bool(inputs["fail-on-error"]) is None:
        return _BAD_BOOL.format(name="fail-on-error", value=inputs["fail-on-error"])
    return None


def fail_on_error(env: Mapping[str, str]) -> bool:
    """The ``fail-on-error`` input: true unless it says false. A value that is neither
    counts as true here (fail closed); :func:`_problem` reports it as a config error."""
    from smoke.config import parse_bool

    return parse_bool(env.get(FAIL_ON_ERROR_INPUT, "")) is not False


def run(env: Mapping[str, str] | None = None, cwd: Path | None = None) -> int:
    """Action mode: read the inputs, run the gate, return the step's exit code."""
    from smoke import cancel

    token = cancel.install()  # first thing: a cancelled step still leaves its evidence
    env = dict(os.environ if env is None else env)
    inputs = read_inputs(env)
    # Registered before anything prints: the platform masks it first thing. The scope
    # holds the run's secrets, and forgets them when the run is over.
    with redact.scope(inputs.get("api-key")):
        code = _run(env, inputs, cwd, token)
    cancel.finish()  # the outputs and reports say this code: no late signal changes it
    return code


def _run(env: dict[str, str], inputs: Mapping[str, str], cwd: Path | None,
         token: CancelToken) -> int:
    from smoke.config import parse_bool, url
    from smoke.config.key import register_all
    from smoke.pipeline import execute_safely

    register_all(inputs.get("api-key", ""))  # and each piece of two keys pasted together
    url.register_secrets(inputs.get("base-url"))  # user info, a secret query, a fragment
    if parse_bool(inputs.get("comment-on-pr", "")) or parse_bool(
            inputs.get("incident-issue", "")):  # the comment's and incidents' token
        redact.register(inputs.get("github-token"))

    env[KEY_VARIABLE] = inputs.get("api-key", "")
    # A problem with the inputs is reported like any config error (exit 2): console,
    # reports, annotations, outputs. Nothing is sent. fail-on-error: false publishes
    # failures as warnings, on whichever CI runs the image.
    code = execute_safely(flags_for(inputs), env, cwd, cancel=token, problem=_problem(inputs),
                          soft=not fail_on_error(env), route_stderr=True)
    # fail-on-error: false (a monitor that alerts by other means): the publisher has
    # already turned the failure into a warning; the step succeeds. Not a cancellation:
    # the run did not complete, and the CI asked it to stop.
    if code == token.exit_code():
        return code
    return code if fail_on_error(env) else 0


def main(argv: Sequence[str]) -> int:
    """The image's entry point. No arguments: the GitHub action. A chat-smoke command
    (``chat-smoke …``, ``run``, ``stub``, ``demo``, ``--help``): the CLI. Anything else
    is a program to run in our place: Jenkins' ``docker.image().inside`` starts the
    container with ``cat``, GitLab with ``sh -c …``."""
    if not argv:
        if os.environ.get("GITHUB_ACTIONS") != "true":
            print(USAGE, end="", file=sys.stderr)
            return 2
        return run()
    first = argv[0]
    if first == "chat-smoke" or first.startswith("-") or first in CLI_COMMANDS:
        from smoke.cli import main as cli

        args = list(argv[1:] if first == "chat-smoke" else argv)
        cli.main(args=args, prog_name="chat-smoke")  # exits through click
        return 0  # pragma: no cover - click always raises SystemExit
    try:
        os.execvp(first, list(argv))
    except OSError:
        print(_NOT_FOUND.format(command=first), file=sys.stderr)
        return 127  # the shell's "command not found"
    return 0  # pragma: no cover - execvp does not return

"""The command line: parses options, calls the library, turns errors into exit codes."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

import click

from smoke._version import __version__

_FLAG_HELP = "Overrides the config file and the environment."


def _text(value: object) -> str | None:
    """An option click gave as a string (None when not given)."""
    return value if isinstance(value, str) else None


def _expect(contains: str | None, regex: str | None, equals: str | None,
            expect: str | None) -> str | None:
    given = [(k, v) for k, v in (("contains", contains), ("regex", regex), ("equals", equals))
             if v is not None]
    if len(given) + (expect is not None) > 1:
        raise click.UsageError("give only one of --expect, --expect-contains, --expect-regex, "
                               "--expect-equals")
    if given:
        return f"{given[0][0]}:{given[0][1]}"
    return expect


class _OneLineErrors(click.Group):
    """Usage errors (an unknown option, a missing value) as one line naming the problem
    and where to look, exit 2, like every other kind of bad input."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: object) -> NoReturn:
        del standalone_mode  # never click's: its errors are one line here, exit codes ours
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False,
                                windows_expand_args=windows_expand_args, **extra)
        except click.UsageError as exc:
            if exc.ctx is not None and (
                exc.message.startswith("Usage:") or type(exc).__name__ == "NoArgsIsHelpError"
            ):
                click.echo(exc.ctx.get_help(), err=True)  # no command given: show the help
                sys.exit(exc.exit_code)
            command = exc.ctx.command_path if exc.ctx else "chat-smoke"
            message = exc.format_message().replace("\n", " ")
            click.echo(f"{command}: error: {message} See '{command} --help'.", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            click.echo(f"chat-smoke: error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("chat-smoke: aborted", err=True)
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=_OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="chat-smoke")
def main() -> None:
    """chat-smoke: a release gate for OpenAI-compatible Chat Completions endpoints.

    The API key is read only from the environment (COMETAPI_API_KEY, then COMETAPI_KEY,
    or --api-key-env NAME) or from a file (--api-key-file). Never from a flag.
    """


class _WithSchemaFlags(click.Command):
    """A command whose options are the ones spelled out on it, then a flag for every other
    key of the schema that a command line can carry (a string, a number, a boolean, a list
    of strings): a new setting is a flag with no edit here. Derived on first use, so
    ``chat-smoke --help`` does not read the schema; the gate is imported first (as
    ``run`` would, with the collector paused: see :func:`_import_gate`), so reading the
    schema here costs the run nothing it would not pay anyway."""

    _derived: list[click.Parameter] | None = None

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        params = super().get_params(ctx)
        if self._derived is None:
            _import_gate()
            self._derived = _schema_flags({p.name for p in params})
        return [*params[:-1], *self._derived, params[-1]]  # --help stays last


def _schema_flags(known: set[str | None]) -> list[click.Parameter]:
    from smoke.config.validate import schema
    from smoke.jsonvalue import as_list, as_object, child

    flags: list[click.Parameter] = []
    for key, given in (child(schema(), "properties") or {}).items():
        node = as_object(given) or {}
        kinds = {str((as_object(sub) or {}).get("type"))
                 for sub in as_list(node.get("anyOf")) or [node]}
        items = (child(node, "items") or {}).get("type", "string")
        if key in known or "object" in kinds or ("array" in kinds and items != "string"):
            continue
        flag = "--" + key.replace("_", "-")
        about = str(node.get("description", "")).split(". ")[0].rstrip(".") + "."
        if kinds == {"boolean"}:
            flags.append(click.Option([f"{flag}/--no-{flag[2:]}", key], default=None,
                                      help=about))
        else:
            flags.append(click.Option([flag, key], metavar=key.split("_")[-1].upper(),
                                      help=about))
    return flags


@main.command(cls=_WithSchemaFlags)
@click.option("--config", "config", metavar="FILE", help="YAML config (default ./chat-smoke.yml).")
@click.option("--base-url", metavar="URL", help="Env COMETAPI_BASE_URL; default "
              "https://api.cometapi.com/v1. " + _FLAG_HELP)
@click.option("--model", metavar="ID[,ID...]", help="Env COMETAPI_MODEL. Several ids, comma "
              "separated, are checked concurrently.")
@click.option("--api-key-env", metavar="NAME", help="Read the key from this variable.")
@click.option("--api-key-file", metavar="PATH", help="Read the key from this file.")
@click.option("--auth-header", metavar="NAME|none", help="Header that carries the key: "
              "Authorization (default, 'Bearer KEY'), another name such as api-key (Azure) "
              "or x-api-key (the key as-is), or none (the gateway holds the key).")
@click.option("--header", "headers", metavar="'NAME: VALUE'", multiple=True,
              help="Extra request header, repeatable (curl's -H syntax). ${VAR} is expanded "
              "from the environment; use it for secrets.")
@click.option("--environment", metavar="NAME", help="Env SMOKE_ENVIRONMENT.")
@click.option("--connect-timeout", metavar="S", help="Connect timeout per attempt (default 5).")
@click.option("--timeout", metavar="S", help="Read timeout per attempt (default 30).")
@click.option("--deadline", metavar="S", help="Bound on the whole gate (default 120).")
@click.option("--retries", metavar="N", help="Retries of transient failures (default 2).")
@click.option("--ca-bundle", metavar="PATH", help="PEM CA bundle (REQUESTS_CA_BUNDLE and "
              "SSL_CERT_FILE are honoured too).")
@click.option("--allow-plain-http", is_flag=True, default=None,
              help="Allow sending the key over http to a host that is not loopback.")
@click.option("--expect", metavar="COND", help="contains:T, equals:T, regex:RE, nonempty or "
              "tool_call[:NAME].")
@click.option("--expect-contains", metavar="TEXT", help="Text must contain TEXT (ignoring case; "
              "default pong).")
@click.option("--expect-regex", metavar="RE", help="Text must match RE.")
@click.option("--expect-equals", metavar="TEXT", help="Text must equal TEXT (ignoring case).")
@click.option("--temperature", metavar="X|none", help="Default 0; none leaves it out.")
@click.option("--max-tokens", metavar="N|none", help="Default 16; none leaves it out.")
@click.option("--max-completion-tokens", metavar="N|none", help="For reasoning models.")
@click.option("--reasoning-effort", metavar="LEVEL", help="reasoning_effort for reasoning "
              "models (none, minimal, low, medium, high, xhigh, max).")
@click.option("--request-body", metavar="FILE", help="The application's own request body "
              "(JSON or YAML): replaces the built-in one; only its hash is recorded.")
@click.option("--parser", metavar="MODULE:FUNCTION", help="The application's own parser, "
              "called in a child Python with the decoded answer.")
@click.option("--parser-command", metavar="CMD", help="The application's own parser as a "
              "command: the answer on stdin, the text on stdout.")
@click.option("--parser-timeout", metavar="S", help="Longest run of the parser (default 10).")
@click.option("--require-fields", metavar="LIST", help="Answer fields the application reads "
              "(usage.total_tokens,choices[0].message.content).")
@click.option("--require-headers", metavar="LIST", help="Response headers the application "
              "reads (x-request-id).")
@click.option("--negative", metavar="LIST", help="Negative checks: invalid-model, missing-field, "
              "invalid-key (comma separated).")
@click.option("--stream/--no-stream", default=None, help="Also check the streaming path.")
@click.option("--stall-timeout", metavar="S", help="Longest pause between stream chunks (10).")
@click.option("--check-models/--no-check-models", default=None,
              help="Confirm through GET /models that each model is listed.")
@click.option("--cert-warn-days", metavar="N", help="Warn when the certificate expires sooner "
              "(default 14).")
@click.option("--expect-model", metavar="REGEX", help="The response's model must match.")
@click.option("--contract", metavar="warn|strict|off", help="Check answers against the Chat "
              "Completions contract: warn (default), strict (a deviation fails), off.")
@click.option("--ratelimit-warn", metavar="FRACTION", help="Warn when less than this share of "
              "a rate limit remains (default 0.1).")
@click.option("--sunset-fail-days", metavar="N", help="Fail when a Sunset header retires the "
              "model within N days (default: warn only).")
@click.option("--max-total-tokens", metavar="N", help="Spend guard over the whole run.")
@click.option("--concurrency", metavar="N", help="Models checked at once (default 16).")
@click.option("--sdk-parity/--no-sdk-parity", default=None,
              help="Also send through the official openai SDK and compare (needs the "
              "openai package: the sdk extra).")
@click.option("--report-json", metavar="PATH", help="Write the JSON report here.")
@click.option("--report-junit", metavar="PATH", help="Write a JUnit XML report here.")
@click.option("--summary", metavar="PATH", help="Write the Markdown summary here.")
@click.option("--report-dotenv", metavar="PATH", help="Write a dotenv file (GitLab) here.")
@click.option("--dotenv-prefix", metavar="PREFIX", help="Prefix of the dotenv (and Azure "
              "output) variable names (default CHAT_SMOKE_).")
@click.option("--ci", metavar="NAME", help="CI platform: auto (default, detected), github, "
              "gitlab, azure, buildkite, jenkins, circleci, bitbucket or local.")
@click.option("--summary-template", metavar="PATH", help="Your own Jinja2 summary template.")
@click.option("--report-prometheus", metavar="PATH", help="Write Prometheus metrics (text "
              "format 0.0.4, for node_exporter's textfile collector) here.")
@click.option("--pushgateway", metavar="URL", help="Push the metrics to this Prometheus "
              "Pushgateway (batch mode, docs/monitoring.md); a failed push is a warning.")
@click.option("--target", metavar="NAME", help="The monitored target's name: the metrics' "
              "target label and the Pushgateway group (default: default).")
@click.option("--baseline", metavar="PATH", help="A previous report.json: report what changed "
              "since (drift).")
@click.option("--fail-on-drift/--no-fail-on-drift", default=None,
              help="Drift from the baseline fails the gate (assertion).")
@click.option("--drift-latency-factor", metavar="X", help="Latency drift: TTFB or total X "
              "times the baseline's (default 3).")
@click.option("--drift-latency-floor-ms", metavar="MS", help="Latency drift only over MS "
              "milliseconds (default 250).")
@click.option("--drift-usage-factor", metavar="X", help="Usage drift: X times the baseline's "
              "tokens (default 2).")
@click.option("--previous-report", metavar="PATH", help="The last run's report.json, whatever "
              "its verdict: incident_after and notify compare with it.")
@click.option("--incident-issue/--no-incident-issue", default=None,
              help="Open, update, reopen and close incident issues (GitHub, GitLab).")
@click.option("--incident-after", metavar="N", help="Open an incident only after N "
              "consecutive failed runs of its key (default 1).")
@click.option("--incident-reopen-days", metavar="DAYS", help="Reopen an incident closed "
              "within DAYS instead of opening one (default 7).")
def run(**options: object) -> None:
    """Run the release gate once and exit with its code (0 pass, 2 config, 3 credentials,
    4 endpoint or contract, 5 transient, 6 assertion, 1 internal error; 130, 143, 129
    when SIGINT, SIGTERM or SIGHUP cancelled it, after writing the reports)."""
    from smoke import cancel

    # SIGINT, SIGTERM, SIGHUP trip this run's token: stop, write the evidence, exit 128 + N
    token = cancel.install()
    headers = options["headers"]  # click gives a tuple, empty without --header
    options["headers"] = list(headers) if isinstance(headers, tuple) and headers else None
    options["expect"] = _expect(_text(options.pop("expect_contains")),
                                _text(options.pop("expect_regex")),
                                _text(options.pop("expect_equals")),
                                _text(options.get("expect")))
    _import_gate()
    from smoke.pipeline import execute_safely

    code = execute_safely(options, dict(os.environ), cancel=token)
    cancel.finish()  # the reports say this code: no late signal changes it now
    sys.exit(code)


def _import_gate() -> None:
    """Import the gate (requests, urllib3, the checks) with the cyclic collector paused,
    then freeze what was imported. Importing allocates a few hundred thousand objects that
    live as long as the process; with the collector on, the allocations trigger collections
    that walk them again and again, and every later collection walks them too (about 7 %
    of a plain run's instructions). Only the first import: a process that has it already
    (tests, the library) is left as it is, and a collector that was off stays off."""
    if "smoke.pipeline" in sys.modules:
        return
    enabled = gc.isenabled()
    gc.disable()
    try:
        import smoke.pipeline  # noqa: F401
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


@main.command()
@click.argument("reports", nargs=-1, metavar="REPORT.json...")
@click.option("--report-json", metavar="PATH", help="Write the merged JSON report here.")
@click.option("--report-junit", metavar="PATH", help="Write a merged JUnit XML report here.")
@click.option("--summary", metavar="PATH", help="Write the merged Markdown summary here.")
@click.option("--previous-report", metavar="PATH", help="The last merge's report.json: "
              "consecutive failures per incident key.")
@click.option("--incident-issue", is_flag=True, help="Incident issues over the merged verdict "
              "(in a matrix, only here).")
@click.option("--incident-after", metavar="N", type=click.IntRange(1, 1000), default=1,
              help="Open an incident only after N consecutive failed runs (default 1).")
@click.option("--incident-reopen-days", metavar="DAYS", type=click.IntRange(0, 3650), default=7,
              help="Reopen an incident closed within DAYS (default 7).")
@click.option("--gitlab-token-env", metavar="NAME", default="GITLAB_TOKEN",
              help="The variable with the GitLab token for incidents (default GITLAB_TOKEN).")
def merge(reports: tuple[str, ...], report_json: str | None, report_junit: str | None,
          summary: str | None, previous_report: str | None, incident_issue: bool,
          incident_after: int, incident_reopen_days: int, gitlab_token_env: str) -> None:
    """Merge the report.json files of matrix jobs into one verdict, report, JUnit and
    summary (a row per job, the deciding failure first). Exit code by the gate's
    precedence over the jobs' codes: 2, 3, 4, 6, then a cancelled job's, then 5, then 0;
    a missing or malformed report is a config failure (exit 2)."""
    from smoke.errors import ReportError
    from smoke.pipeline import LifecycleFields
    from smoke.pipeline import merge as execute

    targets = {k: v for k, v in (("report_json", report_json), ("report_junit", report_junit),
                                 ("summary", summary)) if v}
    lifecycle: LifecycleFields = {
        "incident_issue": incident_issue, "previous_report": previous_report,
        "incident_after": incident_after, "incident_reopen_days": incident_reopen_days,
        "gitlab_token_env": gitlab_token_env}
    try:
        sys.exit(execute(list(reports), targets, dict(os.environ), lifecycle))
    except ReportError as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8765, show_default=True, type=int, help="0 picks a free port.")
@click.option("--scenario", default="pass", show_default=True, help="Default scenario.")
@click.option("--key", envvar="CHAT_SMOKE_STUB_KEY", default=None,
              help="The key the stub accepts (env CHAT_SMOKE_STUB_KEY; default a fixed test key).")
@click.option("--list", "list_", is_flag=True, help="List the scenarios and exit.")
@click.option("--verbose", is_flag=True, help="Log each request.")
def stub(host: str, port: int, scenario: str, key: str | None, list_: bool,
         verbose: bool) -> None:
    """Serve the bundled OpenAI-compatible stub (no upstream, no network).

    Choose a scenario per request with a path prefix /s/NAME/v1 or a model id
    scenario/NAME.
    """
    from smoke.stub import DEFAULT_KEY, StubServer
    from smoke.stub.scenarios import SCENARIOS
    from smoke.stub.streams import STREAMS

    if list_:
        for name in sorted([*SCENARIOS, *STREAMS]):
            click.echo(name)
        return
    names = {*SCENARIOS, *STREAMS}
    if scenario.split("~")[0].split(":")[0] not in names:
        raise click.BadParameter(
            f"unknown scenario {scenario!r} (chat-smoke stub --list names them).",
            param_hint="--scenario",
        )
    try:
        server = StubServer(scenario=scenario, host=host, port=port, key=key or DEFAULT_KEY,
                            verbose=verbose)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    click.echo(f"chat-smoke stub: {server.base_url} scenario={scenario} (Ctrl-C stops)")
    if not key:
        click.echo(f"accepting the test key {DEFAULT_KEY} (export COMETAPI_API_KEY to it)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


@main.command()
@click.option("--config", "config_path", default="chat-smoke.yml", show_default=True,
              metavar="FILE", help="The YAML config with targets: (and modules:, serve:).")
@click.option("--host", default=None, metavar="ADDRESS",
              help="Address to listen on (default 127.0.0.1). Anything else exposes the "
              "exporter: front it with a network policy or a reverse proxy.")
@click.option("--port", default=None, type=click.IntRange(0, 65535), metavar="PORT",
              help="Port to listen on (default 8766; 0 picks a free one).")
def serve(config_path: str, host: str | None, port: int | None) -> None:
    """Serve Prometheus probes: GET /probe?target=NAME[&module=NAME] runs the gate for a
    target of the config file and answers with its metrics (cached for min_interval,
    one probe per target at a time, a daily budget). Also /metrics, /-/healthy,
    /-/ready, POST /-/reload (or SIGHUP). SIGTERM/SIGINT stop it. docs/monitoring.md."""
    from pathlib import Path

    from smoke.serve import DEFAULT_HOST, DEFAULT_PORT

    _import_gate()
    from smoke.serve.server import serve as run_server

    sys.exit(run_server(config_path, host or DEFAULT_HOST,
                        DEFAULT_PORT if port is None else port, dict(os.environ), Path.cwd()))


@main.command()
def demo() -> None:
    """Start the stub on a free port and run the gate against it twice: once passing, once
    failing with a classified reason. Needs no key and no network."""
    import secrets

    from smoke.demo import demo as run_demo

    sys.exit(run_demo(secrets.token_hex(16)))


@main.command()
@click.option("--ci", "ci", default="auto", show_default=True,
              type=click.Choice(["auto", "github", "gitlab", "azure", "jenkins", "buildkite",
                                 "circleci", "bitbucket", "local"]),
              help="The CI platform to write a file for; auto: the one this folder shows "
              "(its CI files, else its git remote), else none.")
@click.option("--dir", "folder", default=".", show_default=True, metavar="DIR",
              type=click.Path(file_okay=False), help="The repository's folder.")
@click.option("--model", default="gpt-4o-mini", show_default=True, metavar="ID",
              help="The model to check.")
@click.option("--environment", default="production", show_default=True, metavar="NAME",
              help="The environment under test.")
@click.option("--base-url", default=None, metavar="URL",
              help="The endpoint (default https://api.cometapi.com/v1).")
def init(ci: str, folder: str, model: str, environment: str, base_url: str | None) -> None:
    """Write a commented chat-smoke.yml and the CI file for your platform, and print the
    next steps. Never overwrites a file: one that exists is kept and named."""
    from pathlib import Path

    from smoke import scaffold

    where = Path(folder)
    try:
        outcome = scaffold.init(where, ci, model, environment, base_url)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot write into {folder}: {exc.strerror}") from None
    click.echo(scaffold.report(outcome, where))


@main.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script for SHELL (click's). Load it from your shell's
    start-up file, for example in ~/.bashrc: eval "$(chat-smoke completion bash)"."""
    from click.shell_completion import get_completion_class

    ctx = click.get_current_context()
    root = ctx.find_root()
    cls = get_completion_class(shell)
    assert cls is not None  # the choice above names only shells click knows
    script = cls(root.command, {}, "chat-smoke", "_CHAT_SMOKE_COMPLETE").source()
    click.echo(script)

"""The library entry point behind ``smoke.run``: the gate as a function call.

Like the CLI, it runs the gate and writes the reports the settings name; unlike the CLI,
it prints nothing unless given a stream, publishes nothing to a CI platform (no workflow
commands, no step summary, no ``GITHUB_OUTPUT``) and returns the result instead of an
exit code.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from smoke import pipeline
from smoke.cancel import CancelToken
from smoke.output import redact
from smoke.output.console import Console
from smoke.results import GateResult

_NOT_A_MAPPING = (
    "smoke.run: {what} must be a mapping of {names}, got {kind}. "
    "See https://github.com/chat-smoke/chat-smoke/blob/main/docs/python-api.md"
)


def run(
    settings: Mapping[str, object] | None = None,
    /,
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    output: TextIO | None = None,
    cancel: CancelToken | None = None,
    **keys: object,
) -> GateResult:
    """Run the gate once and return its :class:`~smoke.results.GateResult`.

    ``settings`` (a mapping) and ``keys`` (keyword arguments, which win) use the keys of
    ``chat-smoke.yml`` (``smoke/schema/chat-smoke.schema.json``), plus ``config``, the
    path of a YAML file. They sit on top of the file and the environment, as flags do.
    Values may be typed (``timeout=5``) or strings as on the command line; paths may be
    :class:`os.PathLike`. The key is never an argument: it is read from ``env``
    (``COMETAPI_API_KEY``, or the variable ``api_key_env`` names) or ``api_key_file``.

    ``env`` defaults to :data:`os.environ`, ``cwd`` (where the YAML file and relative
    report paths are found) to the working directory. ``output``: a stream for the
    console lines the CLI prints; by default nothing is printed.

    ``cancel``: a :class:`smoke.CancelToken` of this run. ``token.cancel()`` (from any
    thread) stops it: the result is ``cancelled`` (exit 143, or 128 + the signal number
    given to ``cancel``) with every finished check as it is and the reports written.
    Each run has its own token, so cancelling one run leaves the others running; no
    signal handler is installed.

    Problems of the configuration or the endpoint are not raised: they are the result's
    verdict, ``category`` and ``exit_code`` (a bad setting is ``Category.CONFIG``, exit 2,
    with the one-line reason in ``result.checks[0].message``). Raises :class:`TypeError`
    when ``settings`` or ``env`` is not a mapping with string keys, and
    :class:`~smoke.errors.ReportError` when a report the settings name cannot be written
    (the gate has run by then). Any other exception is a bug in chat-smoke.
    """
    with redact.scope():  # this run's secrets, forgotten when it returns
        return _run(settings, env, cwd, output, cancel, keys)


def _run(settings: Mapping[str, object] | None, env: Mapping[str, str] | None,
         cwd: str | os.PathLike[str] | None, output: TextIO | None, cancel: CancelToken | None,
         keys: dict[str, object]) -> GateResult:
    flags = {**_mapping(settings, "settings", "setting names (base_url, model, ...)"), **keys}
    flags = {name: _plain(value) for name, value in flags.items()}
    if env is not None:  # the TypeError when it is not a mapping with string keys
        _mapping(env, "env", "variable names to strings")
    env = os.environ if env is None else dict(env)
    folder = Path(cwd) if cwd is not None else Path.cwd()
    if cancel is not None and not isinstance(cancel, CancelToken):
        raise TypeError(f"smoke.run: cancel must be a smoke.CancelToken, got "
                        f"{type(cancel).__name__}. See https://github.com/chat-smoke/chat-smoke/blob/"
                        "main/docs/python-api.md")
    console = Console(out=output) if output is not None else Console(quiet=True)
    done = pipeline.execute(flags, env, folder, cancel=cancel, publish=False, console=console)
    if done.problems:  # every other report was written, and names the failed one
        raise done.problems[0]
    return done.result


def _mapping(value: object, what: str, names: str) -> dict[str, object]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        kind = type(value).__name__ if not isinstance(value, Mapping) else "a non-string key"
        raise TypeError(_NOT_A_MAPPING.format(what=what, names=names, kind=kind))
    return dict(value)


def _plain(value: object) -> object:
    """The types the YAML file would give: a path as a string, a tuple as a list."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, tuple):
        return list(value)
    return value

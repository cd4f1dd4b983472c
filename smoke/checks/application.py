"""What the application itself depends on in an answer (issue 22): the response fields
and headers it reads (``require_fields``, ``require_headers``), and its own parser.

The parser runs in a child process, never in the gate's: ``parser: pkg.module:function``
in a child Python (imported from the working directory or ``PYTHONPATH``), or
``parser_command: CMD``. The child's environment is scrubbed (an allowlist, and no value
that holds a registered secret), its arguments hold no secret, and it runs with a time
bound inside the gate's deadline. A parser that fails fails the check in ``protocol``,
with a hint saying the application's parser, not the endpoint, rejected the answer.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from smoke.categories import Category
from smoke.checks.send import REASONING_HINT, excerpt, reasoning_spent
from smoke.config.settings import Settings
from smoke.http import parse
from smoke.http.deadline import Deadline
from smoke.output import redact
from smoke.output.textsafe import count, one_line
from smoke.results import Check, Step

# The variables a parser may need to run; nothing else of the gate's environment (the
# key's variable, a header's ${VAR}, CI tokens) reaches it.
ENV_ALLOWED = ("PATH", "HOME", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR",
               "PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "NODE_PATH", "SYSTEMROOT", "USER",
               "LOGNAME")
MAX_OUTPUT = 1024 * 1024
REQUIRED_HINT = (
    "The answer lacks a field or header the application reads: the endpoint, or a gateway "
    "in between, changed its answer (or require_fields names one it never sends)."
)
PARSER_HINT = (
    "The application's own parser, not the endpoint, rejected the answer: the endpoint "
    "answered, and the application would fail to read it. Fix the parser (its error is "
    "above), or find what changed in the answer."
)
_TAIL = 400

# Run by ``python -c`` in the child: argv[1] is the parser's name, never a secret. The
# user's stdout is the child's stderr; the envelope alone goes to the real stdout.
CHILD = r"""
import importlib, json, os, sys, sysconfig, traceback
spec = sys.argv[1]
out, sys.stdout = sys.stdout, sys.stderr
skip = tuple(p for p in {sysconfig.get_paths().get(n) for n in
             ("stdlib", "platstdlib", "purelib", "platlib")} if p)
def frame(exc):
    for f in reversed(traceback.extract_tb(exc.__traceback__)):
        name = f.filename
        if name.startswith("<") or name.startswith(skip):
            continue
        path = os.path.relpath(name) if name.startswith(os.getcwd() + os.sep) else name
        return "%s:%s" % (path, f.lineno)
    return None
def send(**data):
    out.write(json.dumps(data))
    out.flush()
    sys.exit(0)
module, _, function = spec.partition(":")
try:
    parse = getattr(importlib.import_module(module), function)
except BaseException as exc:
    send(error="import", message="%s: %s" % (type(exc).__name__, exc), frame=frame(exc))
if not callable(parse):
    send(error="import", message="%s is a %s, not a function" % (spec, type(parse).__name__))
if sys.argv[2:] == ["--check"]:
    send(ok=True)
body = json.loads(sys.stdin.buffer.read().decode("utf-8"))
try:
    text = parse(body)
except BaseException as exc:
    send(error="raised", message="%s: %s" % (type(exc).__name__, exc), frame=frame(exc))
if not isinstance(text, str):
    send(error="type", message="returned %s, not str" % type(text).__name__)
send(text=text)
"""


@dataclass
class Ran:
    code: int | None  # None: stopped at its time bound
    out: bytes
    err: bytes
    seconds: float


def child_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The scrubbed environment of a parser: the allowlist, minus any value that holds a
    registered secret (a key pasted into PATH is still a key)."""
    source = os.environ if env is None else env
    return {name: source[name] for name in ENV_ALLOWED
            if name in source and redact.scrub(source[name]) == source[name]}


def spawn(argv: list[str], data: bytes, timeout: float, cwd: str | None) -> Ran:
    """Run ``argv`` with ``data`` on stdin; stopped (its whole process group) at
    ``timeout``. Raises OSError when it cannot start."""
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=cwd, env=child_env(),
                            start_new_session=True)
    try:
        out, err = proc.communicate(data, timeout=max(timeout, 0.01))
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            proc.kill()
        out, err = proc.communicate()
        code = None
    return Ran(code, out[:MAX_OUTPUT], err[-MAX_OUTPUT:], time.monotonic() - started)


def python_argv(spec: str, check_only: bool = False) -> list[str]:
    return [sys.executable, "-c", CHILD, spec, *(["--check"] if check_only else [])]


def command_argv(command: str) -> list[str]:
    return shlex.split(command)


def name_of(settings: Settings) -> tuple[str, str] | None:
    """(kind, name) of the application's parser, if any: ``python`` or ``command``."""
    if settings.parser:
        return "python", settings.parser
    if settings.parser_command:
        return "command", settings.parser_command
    return None


def _tail(err: bytes) -> str:
    text = one_line(redact.scrub(err.decode("utf-8", "replace").strip()), 10_000)
    return text[-_TAIL:] if text else "nothing on stderr"


def run_parser(settings: Settings, deadline: Deadline, raw: bytes) -> tuple[str, float]:
    """The text the application's parser extracts from ``raw`` (a JSON body), and how long
    it took; a failure raises :class:`parse.ParseFailure` naming the parser."""
    kind, name = name_of(settings) or ("", "")
    bound = deadline.bound(settings.parser_timeout)
    argv = python_argv(name) if kind == "python" else command_argv(name)
    try:
        ran = spawn(argv, raw, bound, settings.workdir)
    except OSError as exc:
        raise parse.ParseFailure(f"the application's parser {name!r} could not start: "
                                 f"{exc.strerror or exc}") from None
    if ran.code is None:
        why = ("the gate's deadline" if bound < settings.parser_timeout
               else f"parser_timeout {settings.parser_timeout:g}s")
        raise parse.ParseFailure(f"the application's parser {name!r} ran past its "
                                 f"{bound:.3g}s bound ({why}) and was stopped")
    if kind == "command":
        if ran.code != 0:
            raise parse.ParseFailure(f"the application's parser {name!r} exited {ran.code}: "
                                     f"{_tail(ran.err)}")
        text = ran.out.decode("utf-8", "replace")
        return text[:-1] if text.endswith("\n") else text, ran.seconds
    try:
        envelope = json.loads(ran.out.decode("utf-8"))
    except ValueError:
        raise parse.ParseFailure(f"the application's parser {name!r} stopped (exit "
                                 f"{ran.code}) before it returned: {_tail(ran.err)}") from None
    if "error" in envelope:
        frame = f" at {envelope['frame']}" if envelope.get("frame") else ""
        message = one_line(redact.scrub(str(envelope.get("message"))), 300)
        verb = "" if envelope["error"] == "type" else "failed: "
        raise parse.ParseFailure(f"the application's parser {name!r} {verb}{message}{frame}")
    return str(envelope.get("text", "")), ran.seconds


_FIELD = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def missing_field(data: object, path: str) -> str | None:
    """Why ``path`` (``choices[0].message.content``) is not in ``data``: absent or null."""
    node = data
    walked = ""
    for match in _FIELD.finditer(path):
        key, index = match.group(1), match.group(2)
        if key is not None:
            if not isinstance(node, dict) or key not in node:
                where = f"{walked} has no {key!r}" if walked else f"the answer has no {key!r}"
                return f"absent ({where})"
            node, walked = node[key], f"{walked}.{key}" if walked else key
        else:
            if not isinstance(node, list) or int(index) >= len(node):
                size = len(node) if isinstance(node, list) else None
                what = count(size, "item") if size is not None else "not a list"
                return f"absent ({walked} is {what})"
            node, walked = node[int(index)], f"{walked}[{index}]"
        if node is None:
            return "null" if walked == path else f"absent ({walked} is null)"
    return None


def required(check: Check, settings: Settings, data: object,
             headers: Mapping[str, str]) -> bool:
    """Apply ``require_fields`` and ``require_headers``; False (the check failed, as
    ``protocol``) when one is missing."""
    problems = []
    for path in settings.require_fields:
        why = missing_field(data, path)
        if why is not None:
            problems.append(f"required field {path} is {why}")
    for header in settings.require_headers:
        if header.lower() not in headers:
            problems.append(f"required header {header} is absent")
    if not (settings.require_fields or settings.require_headers):
        return True
    if problems:
        message = "; ".join(problems) + ": the application reads it (require_fields/" \
            "require_headers), and this answer would break it"
        check.steps.append(Step("required", "fail", message))
        check.fail(Category.PROTOCOL, message)
        check.gateway_hint = REQUIRED_HINT
        return False
    check.steps.append(Step("required", "pass", ", ".join(
        [*settings.require_fields, *settings.require_headers])))
    return True


def parsed(check: Check, settings: Settings, deadline: Deadline, raw: bytes,
           answer: parse.Completion) -> parse.Completion | None:
    """The answer as the application reads it: with its parser's text when one is set
    (None when the parser failed, and the check with it)."""
    parser = name_of(settings)
    if parser is None:
        return answer
    kind, name = parser
    try:
        text, seconds = run_parser(settings, deadline, raw)
    except parse.ParseFailure as exc:
        message = exc.message
        spent = reasoning_spent(check, answer)
        if spent is not None:  # what it choked on is empty for a reason of its own
            message += f"; {spent}"
        check.steps.append(Step("app_parser", "fail", message))
        check.fail(Category.PROTOCOL, message)
        check.gateway_hint = REASONING_HINT if spent is not None else PARSER_HINT
        check.details["parser"] = {"kind": kind, "name": name,
                                   "builtin_text": excerpt(answer.text)}
        return None
    check.steps.append(Step("app_parser", "pass", f"{name} ({int(seconds * 1000)} ms)"))
    check.details["parser"] = {
        "kind": kind, "name": name, "duration_ms": int(seconds * 1000),
        "text": excerpt(text), "builtin_text": excerpt(answer.text),
    }
    check.details["asserted_text_from"] = name
    return replace(answer, text=text)


def exists(argv0: str, cwd: str | None) -> bool:
    """Whether a command's program can be run: on PATH, or a path (from ``cwd``)."""
    import shutil

    if "/" in argv0:
        path = Path(cwd or ".") / argv0
        return path.is_file() and os.access(path, os.X_OK)
    return shutil.which(argv0, path=child_env().get("PATH")) is not None

"""The application's parser is found before anything is sent (issue 22): a
``parser: pkg.module:function`` that a child Python cannot import, or a
``parser_command`` whose program does not exist, is a ``config`` failure (exit 2) and
stops the run there. Each distinct parser of the run (a model entry may name its own) is
checked once.
"""

from __future__ import annotations

import json

from smoke.categories import Category
from smoke.checks import application
from smoke.checks.task import Plan
from smoke.results import Check, Step

_IMPORT = (
    "parser {name}: {why}. The parser is imported by a child Python from the working "
    "directory ({cwd}) or PYTHONPATH: check the module path and the function name, and "
    "that the application's packages are installed. See "
    "https://github.com/chat-smoke/chat-smoke/blob/main/docs/application.md"
)
_COMMAND = (
    "parser_command {name!r}: {why}: install the program (in the container: extend the "
    "image: https://github.com/chat-smoke/chat-smoke/blob/main/docs/container.md), or give "
    "its path relative to {cwd}"
)


def _parsers(plan: Plan) -> list[tuple[str, str]]:
    found: dict[tuple[str, str], None] = {}
    for model in plan.settings.models:
        parser = application.name_of(plan.settings.for_model(model))
        if parser is not None:
            found[parser] = None
    return list(found)


def _python(name: str, plan: Plan) -> str | None:
    """Why ``name`` cannot be imported, or None when it can."""
    settings = plan.settings
    ran = application.spawn(application.python_argv(name, check_only=True), b"",
                            plan.deadline.bound(settings.parser_timeout), settings.workdir)
    if ran.code is None:
        return f"importing it ran past {settings.parser_timeout:g}s (parser_timeout)"
    try:
        envelope = json.loads(ran.out.decode("utf-8"))
    except ValueError:
        return f"the child Python stopped (exit {ran.code}) while importing it"
    if envelope.get("ok"):
        return None
    frame = f" at {envelope['frame']}" if envelope.get("frame") else ""
    return f"cannot be imported: {envelope.get('message')}{frame}"


def _command(name: str, plan: Plan) -> str | None:
    try:
        argv = application.command_argv(name)
    except ValueError as exc:
        return f"cannot be split into words ({exc})"
    if not argv:
        return "is empty"
    if not application.exists(argv[0], plan.settings.workdir):
        return f"{argv[0]!r} is not found (on PATH, or as a file that can be run)"
    return None


def preflight(plan: Plan) -> list[Check]:
    """The step registered in ``checks.registry`` for ``parser`` and ``parser_command``."""
    checks = []
    for kind, name in _parsers(plan):
        check = Check(f"parser:{name}", "preflight", f"the application's parser ({name})")
        why = _python(name, plan) if kind == "python" else _command(name, plan)
        if why is None:
            check.outcome, check.message = "pass", f"{name} found"
            check.steps.append(Step("parser", "pass", check.message))
        else:
            template = _IMPORT if kind == "python" else _COMMAND
            message = template.format(name=name, why=why, cwd=plan.settings.workdir)
            check.steps.append(Step("parser", "fail", message))
            check.fail(Category.CONFIG, message)
        checks.append(check)
    return checks

"""The built-in summary template, compiled ahead of time.

Compiling a Jinja template parses it and generates Python: about a tenth of a whole
gate run. The package ships that Python (``templates/summary.md.j2.compiled``), stamped
with the Jinja version and a hash of the template source; a stale or missing file falls
back to compiling at run time, so a mismatch costs time, never a wrong summary.
``tests/test_reports.py`` fails when the shipped file is not what compiling gives now.

Regenerate after changing the template or :func:`smoke.reports.summary.filters.environment`:
``python -m smoke.reports.summary.precompiled``.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smoke.reports.summary.filters import environment

if TYPE_CHECKING:
    import jinja2

SOURCE = "summary.md.j2"
COMPILED = "summary.md.j2.compiled"


def _stamp(source: str) -> str:
    import jinja2

    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()
    return f"# chat-smoke: {SOURCE} compiled by jinja2 {jinja2.__version__}, sha256 {digest}\n"


def compile_source(env: jinja2.Environment, source: str) -> str:
    return _stamp(source) + str(env.compile(source, name=SOURCE, raw=True))


def builtin(env: jinja2.Environment) -> jinja2.Template:
    """The built-in template, from the shipped compiled code when it is current."""
    folder = resources.files("smoke.reports.summary").joinpath("templates")
    source = folder.joinpath(SOURCE).read_text("utf-8")
    try:
        code = folder.joinpath(COMPILED).read_text("utf-8")
    except OSError:
        code = ""
    if not code.startswith(_stamp(source)):
        return env.from_string(source)
    namespace: dict[str, Any] = {"environment": env, "__file__": SOURCE}
    exec(compile(code, SOURCE, "exec"), namespace)  # noqa: S102 - our own shipped code
    return env.template_class.from_module_dict(env, namespace, env.globals)


def write() -> Path:
    folder = Path(__file__).resolve().parent / "templates"
    source = (folder / SOURCE).read_text("utf-8")
    target = folder / COMPILED
    target.write_text(compile_source(environment(), source), encoding="utf-8")
    return target


if __name__ == "__main__":
    print(f"wrote {write()}")

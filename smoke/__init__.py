"""chat-smoke: a release gate for OpenAI-compatible Chat Completions endpoints.

The public library API (docs/python-api.md)::

    import smoke

    result = smoke.run(base_url="https://api.example.com/v1", model="gpt-4o-mini")
    if result.verdict == "fail":
        print(result.category, result.exit_code)

Everything not named in ``__all__`` is internal and may move between releases.
"""

from __future__ import annotations

import importlib

from smoke._version import __version__

# Not typing.TYPE_CHECKING: importing typing would cost `import smoke` (and so --help)
# several milliseconds. Type checkers treat this name the same way.
TYPE_CHECKING = False

# Each public name and the module that defines it. They are imported on first use, so
# ``import smoke`` (and every ``chat-smoke`` start, which imports this package first)
# loads none of requests, PyYAML, Jinja2 or click. The strings are import edges:
# tests/test_layout.py reads them.
_EXPORTS = {
    "run": "smoke.api",
    "Settings": "smoke.config.settings",
    "GateResult": "smoke.results",
    "Check": "smoke.results",
    "Category": "smoke.categories",
    "SmokeError": "smoke.errors",
    "ConfigError": "smoke.errors",
    "ReportError": "smoke.errors",
    "CancelToken": "smoke.cancel",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time __getattr__ resolves them
    from smoke.api import run as run
    from smoke.cancel import CancelToken as CancelToken
    from smoke.categories import Category as Category
    from smoke.config.settings import Settings as Settings
    from smoke.errors import ConfigError as ConfigError
    from smoke.errors import ReportError as ReportError
    from smoke.errors import SmokeError as SmokeError
    from smoke.results import Check as Check
    from smoke.results import GateResult as GateResult


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'smoke' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # resolved once
    return value


def __dir__() -> list[str]:
    return sorted({*__all__, *(name for name in globals() if name.startswith("__"))})

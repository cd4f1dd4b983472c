"""A user's summary template (``summary_template``): sandboxed, bounded, contained.

The template is the user's, not ours: it runs in Jinja's sandbox (no attribute of Python
internals, no unsafe call), with the summary's escaping filters, and

- in bounded time: every loop step, attribute, item, call, filter and operator checks a
  wall-clock budget (and :func:`smoke.cancel.requested`, so a signal ends it at once);
- in bounded space: ``range`` and the sequence operators (``*``, ``+``, ``**``) and the
  numbers given to Jinja's own filters (``center``, ``indent``, ...) cannot build more than
  the summary may hold, and the output stops growing past twice the summary's budget;
- contained: any exception (a ZeroDivisionError, a TypeError, a RecursionError, the
  budget) becomes :class:`TemplateFailure`, naming the template's line where it happened.
"""

from __future__ import annotations

import functools
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, ParamSpec, TypeVar

if TYPE_CHECKING:
    import jinja2
    from jinja2.runtime import Context

BUDGET_S = 5.0  # a template's wall-clock budget (cut to what the run's deadline leaves)
MIN_BUDGET_S = 1.0  # a run that used its whole deadline still gets its summary tried
MAX_ITEMS = 100_000  # range() and the size of what an operator builds
MAX_TEXT = 2 * 512 * 1024  # output characters kept while rendering (the cap cuts after)
_TEMPLATE_FILE = "<template>"  # what Jinja names a template made from a string
_P = ParamSpec("_P")
_R = TypeVar("_R")


class TemplateFailure(Exception):
    """The template failed: ``problem`` says how, ``line`` where (None: unknown)."""

    def __init__(self, problem: str, line: int | None, stopped_by_signal: bool = False):
        super().__init__(problem if line is None else f"line {line}: {problem}")
        self.line = line
        self.stopped_by_signal = stopped_by_signal


class _Stop(Exception):
    def __init__(self, message: str, signal: bool = False) -> None:
        super().__init__(message)
        self.signal = signal


def _line(exc: BaseException) -> int | None:
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == _TEMPLATE_FILE:
            found = frame.lineno
    return found


def _size(value: object) -> int:
    return len(value) if isinstance(value, str | bytes | list | tuple) else 1


def environment(base: Callable[[type[jinja2.Environment]], jinja2.Environment], budget: float,
                stop: Callable[[], object]) -> jinja2.Environment:
    """``base(cls)`` builds the summary's environment on the given class; this one is
    the sandbox's, with the bounds above."""
    from jinja2.exceptions import SecurityError
    from jinja2.sandbox import SandboxedEnvironment

    ends = time.monotonic() + budget

    def tick() -> None:
        if stop():
            raise _Stop("stopped by a signal while rendering", signal=True)
        if time.monotonic() > ends:
            raise _Stop(f"still rendering after {budget:g} s (the template's time budget)")

    def bounded_range(*args: int) -> Iterator[int]:
        numbers = range(*args)
        if len(numbers) > MAX_ITEMS:
            raise SecurityError(f"range of {len(numbers)} items, more than {MAX_ITEMS}")
        for number in numbers:
            tick()
            yield number

    class Bounded(SandboxedEnvironment):
        intercepted_binops = frozenset({"*", "+", "**"})

        def call(self, context: Context, obj: object, *args: object,
                 **kwargs: object) -> object:
            tick()
            return super().call(context, obj, *args, **kwargs)

        def getattr(self, obj: object, attribute: str) -> object:
            tick()
            return super().getattr(obj, attribute)

        def getitem(self, obj: object, argument: object) -> object:
            tick()
            return super().getitem(obj, argument)

        def call_binop(self, context: Context, operator: str, left: object,
                       right: object) -> object:
            tick()
            if operator == "**" and isinstance(right, int) and right > 64 \
                    and isinstance(left, int | float) and abs(left) > 1:
                raise SecurityError(f"{left} ** {right} is too large for a summary")
            if operator == "*":
                count = right if isinstance(left, str | list | tuple) else left
                if isinstance(count, int) and _size(left if count is right else right) \
                        * max(count, 0) > MAX_TEXT:
                    raise SecurityError("a repetition too large for a summary")
            if operator == "+" and _size(left) + _size(right) > MAX_TEXT:
                raise SecurityError("a concatenation too large for a summary")
            return super().call_binop(context, operator, left, right)

    env = base(Bounded)
    env.globals["range"] = bounded_range
    ours = set(env.filters) - set(_jinja_filters())
    for name, function in list(env.filters.items()):
        env.filters[name] = _guarded(function, tick, numbers=name not in ours)
    return env


@functools.cache
def _jinja_filters() -> frozenset[str]:
    from jinja2.filters import FILTERS

    return frozenset(FILTERS)


def _guarded(function: Callable[_P, _R], tick: Callable[[], None],
             numbers: bool) -> Callable[_P, _R]:
    """The filter, checking the budget first; for Jinja's own filters (center, indent,
    wordwrap, truncate, ...), no number argument larger than a summary can hold."""
    from jinja2.exceptions import SecurityError

    @functools.wraps(function)  # keeps jinja_pass_arg (pass_context, pass_environment)
    def guarded(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        tick()
        if numbers:
            for value in (*args[1:], *kwargs.values()):
                if isinstance(value, int) and not isinstance(value, bool) \
                        and abs(value) > MAX_TEXT:
                    raise SecurityError(f"{value} is too large for a summary")
        return function(*args, **kwargs)

    return guarded


def render(env: jinja2.Environment, source: str, context: Mapping[str, object]) -> str:
    """Render ``source`` in ``env`` (from :func:`environment`): the text (at most
    :data:`MAX_TEXT` characters), or :class:`TemplateFailure`."""
    import jinja2

    try:
        template = env.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateFailure(exc.message or "a syntax error", exc.lineno) from None
    except Exception as exc:  # a template the compiler cannot take (nested too deeply)
        raise TemplateFailure(f"{type(exc).__name__}: {exc}", None) from None
    pieces: list[str] = []
    size = 0
    try:
        for piece in template.generate(context):
            pieces.append(piece)
            size += len(piece)
            if size > MAX_TEXT:
                break  # the summary's cap cuts it, saying so
    except _Stop as exc:
        raise TemplateFailure(str(exc), _line(exc), stopped_by_signal=exc.signal) from None
    except RecursionError:
        raise TemplateFailure("RecursionError: the template calls itself without end",
                              None) from None
    except Exception as exc:
        text = str(exc).splitlines()[0][:300] if str(exc) else ""
        raise TemplateFailure(f"{type(exc).__name__}" + (f": {text}" if text else ""),
                              _line(exc)) from None
    return "".join(pieces)

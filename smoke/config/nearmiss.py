"""Near misses of a setting's syntax (issue 21): a word within two edits of a keyword the
setting knows is a typo, not a value. ``--expect equal:pong`` used to become ``contains
'equal:pong'`` and fail as the model's fault (assertion, exit 6); it is a config error
that says "did you mean equals:pong?" now. Used by the expect condition, enumerations
(``--negative``, ``--ci``), ``none`` in number settings and ``true``/``false``."""

from __future__ import annotations

from collections.abc import Iterable

EDITS = 2


def distance(a: str, b: str, limit: int = EDITS) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) from ``a`` to ``b``; any
    count over ``limit`` is reported as ``limit + 1``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    before: list[int] | None = None
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, y in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1,
                             previous[j - 1] + (x != y))
            if before is not None and i > 1 and j > 1 and x == b[j - 2] and a[i - 2] == y:
                current[j] = min(current[j], before[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        before, previous = previous, current
    return min(previous[-1], limit + 1)


def near(word: str, known: Iterable[str], limit: int = EDITS) -> str | None:
    """The known word ``word`` is a near miss of (case aside), or None when it is one of
    them exactly or none is within ``limit`` edits."""
    candidates = list(known)
    if word in candidates:
        return None
    ranked = sorted((distance(word.lower(), k.lower(), limit), i, k)
                    for i, k in enumerate(candidates))
    if ranked and ranked[0][0] <= limit:
        return ranked[0][2]
    return None


def hint(word: str, known: Iterable[str]) -> str:
    """`` (did you mean 'X'?)`` for a near miss, else nothing."""
    found = near(word, known)
    return f" (did you mean {found!r}?)" if found else ""

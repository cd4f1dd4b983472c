"""When to retry and how long to wait (after openai-python's ``_base_client.py``)."""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

MAX_SERVER_WAIT = 120.0


def server_wait(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms``, ``retry-after``), if sane."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            wait = float(raw_ms) / 1000
            if 0 <= wait <= MAX_SERVER_WAIT:
                return wait
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        wait = float(raw)
    except ValueError:
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        wait = when.timestamp() - (time.time() if now is None else now)
        wait = max(wait, 0.0)
    return wait if 0 <= wait <= MAX_SERVER_WAIT else None


def backoff(retry_number: int, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: 0.5 s, 1 s, 2 s ... capped at 8 s, minus up to 25%."""
    jitter = float((rng or random).random())
    return float(min(0.5 * 2**retry_number, 8.0) * (1 - 0.25 * jitter))

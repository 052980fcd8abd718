"""How the HTTP adapters retry, alike: full-jitter exponential backoff, Retry-After honoured
up to a bound, and one rule for when to stop. The verdicts (which answers are worth a
retry) stay with each provider: they are its quirks."""

from __future__ import annotations

import random

MAX_RETRY_WAIT = 30.0  # a longer Retry-After is reported, not slept through
BACKOFF_BASE, BACKOFF_CAP = 0.5, 8.0


def full_jitter(attempt: int, rng: random.Random) -> float:
    """Anywhere up to the exponential bound, so retries do not march in step."""
    return rng.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1)))


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After in delay-seconds; anything else (absent, an HTTP date) means back off
    as usual."""
    try:
        return max(0.0, float(value or ""))
    except ValueError:
        return None


def next_wait(attempt: int, *, retry_after: float | None, rng: random.Random) -> float:
    """How long to wait before the next attempt: what the provider asked, else backoff."""
    return full_jitter(attempt, rng) if retry_after is None else retry_after


def gives_up(attempt: int, *, max_attempts: int, wait: float) -> bool:
    """Stop at the last attempt, or when the provider asks for a longer pause than a
    request may wait for (the caller reports it with its `retry_after`)."""
    return attempt >= max_attempts or wait > MAX_RETRY_WAIT

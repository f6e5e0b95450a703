"""Limits that really stop a litmus test: a wall-clock timeout and a bound on candidate steps.

Every place that enumerates (a thread's paths, the per-location reads-from and coherence choices,
the candidate executions) calls :func:`tick`, so a test whose enumeration explodes stops within the
limit wherever the explosion happens, and is reported as unknown with the reason.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Callable, Iterator

DEFAULT_TIMEOUT = 60.0  # seconds per test
DEFAULT_MAX_STEPS = 5_000_000  # candidate executions and partial candidates per test


class LimitReached(Exception):
    """A test ran into its limit; ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Budget:
    timeout: float | None = DEFAULT_TIMEOUT
    max_steps: int | None = DEFAULT_MAX_STEPS
    progress: Callable[[int, float], None] | None = None  # (steps, elapsed seconds), at most 5 times a second
    steps: int = 0
    started: float = field(default_factory=time.monotonic)
    _next_report: float = 0.0

    def tick(self, count: int = 1) -> None:
        self.steps += count
        if self.max_steps is not None and self.steps > self.max_steps:
            raise LimitReached(f"more than {self.max_steps:,} candidate steps (--max-steps)")
        now = time.monotonic()
        elapsed = now - self.started
        if self.timeout is not None and elapsed > self.timeout:
            raise LimitReached(f"timed out after {self.timeout:g} s (--timeout)")
        if self.progress is not None and now >= self._next_report:
            self._next_report = now + 0.2
            self.progress(self.steps, elapsed)


_CURRENT: ContextVar[Budget | None] = ContextVar("litmus_budget", default=None)


def tick(count: int = 1) -> None:
    budget = _CURRENT.get()
    if budget is not None:
        budget.tick(count)


@contextmanager
def limited(budget: Budget) -> Iterator[Budget]:
    token = _CURRENT.set(budget)
    try:
        yield budget
    finally:
        _CURRENT.reset(token)

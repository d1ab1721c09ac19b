"""One bound on the whole run (``-t``): every connect, query and wait takes what is left of it."""

from __future__ import annotations

import time
from dataclasses import dataclass

#: The least a connection is given, so that a nearly spent budget still fails as a timeout, not as a bad argument.
MIN_SECONDS = 0.5


@dataclass(frozen=True)
class Deadline:
    """A monotonic instant to be done by, and the ``-t`` seconds it came from (for messages)."""

    at: float
    seconds: float

    @classmethod
    def after(cls, seconds: float, started: float | None = None) -> Deadline:
        """``seconds`` from ``started`` (default now), less a margin to print the answer before ``-t`` strikes."""
        begun = time.monotonic() if started is None else started
        return cls(at=begun + seconds - min(0.5, seconds / 10), seconds=seconds)

    def left(self) -> float:
        """Seconds still available, never negative."""
        return max(0.0, self.at - time.monotonic())

    def for_connection(self) -> float:
        """What a connect/read/write timeout may be: what is left, at least MIN_SECONDS."""
        return max(MIN_SECONDS, self.left())

    @property
    def missed(self) -> str:
        """How to say that an answer did not come in time."""
        return f"no answer within the {self.seconds:g}s timeout"

"""From Nova's verdict to what the check alarms on: the plugin's policy, kept apart from Nova's rule."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from .cells import Cell
from .heartbeat import ServiceRow, Verdict, judge


class Standing(enum.Enum):
    """How one service counts for the check."""

    UP = "up"
    LATE = "up, heartbeat late"  # up for Nova, but older than --age-warning
    DOWN = "down"
    UNREADABLE = "down, cannot be judged"  # nothing proves it up: an unreadable heartbeat, no host
    AUTO_DISABLED = "disabled by Nova (AUTO)"  # a failure, not maintenance
    DISABLED = "disabled"  # operator maintenance: reported, not alarmed
    DISABLED_DOWN = "disabled, down"


@dataclass(frozen=True)
class Policy:
    down_time: float
    age_warning: float | None = None
    count_disabled: bool = False


@dataclass(frozen=True)
class Assessed:
    row: ServiceRow
    cell: Cell
    verdict: Verdict
    standing: Standing
    zone: str | None = None

    @property
    def counts_down(self) -> bool:
        """Counted in ``<binary>_down``: down and enabled, or disabled by Nova itself."""
        return self.standing in (Standing.DOWN, Standing.AUTO_DISABLED, Standing.UNREADABLE)


def assess(row: ServiceRow, cell: Cell, now: dt.datetime, policy: Policy, zone: str | None = None) -> Assessed:
    verdict = judge(row, now, policy.down_time)
    operator_disabled = row.disabled and not row.auto_disabled and not policy.count_disabled
    if verdict.problem is not None:
        standing = Standing.UNREADABLE
    elif row.auto_disabled:
        standing = Standing.AUTO_DISABLED
    elif not verdict.up:
        standing = Standing.DISABLED_DOWN if operator_disabled else Standing.DOWN
    elif operator_disabled:
        standing = Standing.DISABLED
    elif policy.age_warning is not None and abs(verdict.age or 0.0) > policy.age_warning:
        standing = Standing.LATE
    else:
        standing = Standing.UP
    return Assessed(row, cell, verdict, standing, zone)

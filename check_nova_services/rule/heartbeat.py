"""Nova's up/down rule for one service row, with no I/O.

This is the single source of truth for "is this service up?": the row path
calls :func:`judge` (through ``policy.assess``), and the SQL of ``sources/counts.py``
compares each heartbeat with :func:`within`'s bounds, the same rule.  It follows
``nova/servicegroup/api.py`` (``service_is_up``: forced_down wins) and
``nova/servicegroup/drivers/db.py`` (``DbDriver.is_up``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

DEFAULT_SERVICE_DOWN_TIME = 60
DEFAULT_REPORT_INTERVAL = 10

#: WSGI API rows: written by nova-api/nova-metadata, never heartbeat, hidden by Nova's API.
API_BINARIES = ("nova-osapi_compute", "nova-metadata")

#: Prefix Nova's libvirt driver puts on disabled_reason when it disables a host itself.
AUTO_DISABLED_PREFIX = "AUTO:"


@dataclass(frozen=True)
class ServiceRow:
    """One non-deleted row of a cell's ``services`` table."""

    id: int
    host: str
    binary: str
    topic: str | None
    disabled: bool
    disabled_reason: str | None
    forced_down: bool
    last_seen_up: dt.datetime | None
    created_at: dt.datetime | None
    updated_at: dt.datetime | None
    uuid: str | None = None
    #: The table has no ``last_seen_up`` column (Nova before Liberty).
    legacy_schema: bool = False
    #: Timestamp columns whose stored value could not be read (e.g. MySQL's zero date), with that
    #: value as text; they are None above.  Only the column the rule decides on makes the row unjudgeable.
    unreadable: tuple[tuple[str, str], ...] = ()
    #: Why the row names no service at all (NULL or empty host or binary): judged down.
    defect: str | None = None
    #: ``services.version`` (the service's RPC and object version); None: NULL, or no such column (before Liberty).
    version: int | None = None
    #: ``forced_down`` is NULL: not forced for the rule (Nova's ``if member.get('forced_down')``), but outside Nova's
    #: minimum version, whose ``forced_down == false()`` is not true of NULL (rule/versions.py).
    forced_down_unset: bool = False
    #: The Nova binary the database compares this row's binary equal to when read ('Nova-Compute ' is nova-compute
    #: under MySQL's collations, not on SQLite); None: not asked, the binary itself is meant.
    counted_as: str | None = None

    @property
    def auto_disabled(self) -> bool:
        """Disabled by Nova itself (libvirt connection lost), not by an operator."""
        return self.disabled and (self.disabled_reason or "").startswith(AUTO_DISABLED_PREFIX)


@dataclass(frozen=True)
class Verdict:
    """Nova's answer for one row at one instant."""

    up: bool
    #: ``now - heartbeat`` in seconds; negative when the heartbeat lies in the future,
    #: None when the row has no timestamp at all.
    age: float | None
    #: Which column the heartbeat came from: last_seen_up, updated_at or created_at.
    source: str | None
    #: Why the row cannot be judged (an unreadable heartbeat, no host): down, as nothing proves it up.
    problem: str | None = None

    @property
    def never_reported(self) -> bool:
        return self.source == "created_at"


def effective_down_time(service_down_time: int, report_interval: int) -> int:
    """The service_down_time Nova really uses (``servicegroup/api.py``).

    When service_down_time is not greater than report_interval, a service would
    flap between its own heartbeats, so Nova raises it to 2.5 report intervals.
    """
    if service_down_time <= report_interval:
        return int(report_interval * 2.5)
    return service_down_time


def heartbeat_of(row: ServiceRow) -> tuple[dt.datetime | None, str | None]:
    """The timestamp Nova decides on, and the column it came from.

    Since Ocata: last_seen_up, else created_at (updated_at is bumped by admin
    enable/disable, bug 1420848).  A table without last_seen_up predates
    Liberty, where Nova used updated_at, else created_at.  A column whose value
    could not be read is returned as (None, column): it held something.
    """
    if row.legacy_schema:
        candidates = (("updated_at", row.updated_at), ("created_at", row.created_at))
    else:
        candidates = (("last_seen_up", row.last_seen_up), ("created_at", row.created_at))
    unreadable = dict(row.unreadable)
    for source, value in candidates:
        if value is not None or source in unreadable:
            return value, source
    return None, None


def judge(row: ServiceRow, now: dt.datetime, down_time: float) -> Verdict:
    """Nova's verdict: up iff not forced down and |now - heartbeat| <= down_time.

    ``now`` and the row's timestamps are naive UTC, as Nova stores and compares them.
    A row that cannot be judged (no host or binary, an unreadable heartbeat) is down.
    """
    if row.defect is not None:
        return Verdict(up=False, age=None, source=None, problem=row.defect)
    heartbeat, source = heartbeat_of(row)
    if heartbeat is None and source is not None:
        return Verdict(up=False, age=None, source=source, problem=f"{source} unreadable")
    age = None if heartbeat is None else (now - _naive(heartbeat)).total_seconds()
    if row.forced_down or heartbeat is None:
        return Verdict(up=False, age=age, source=source)
    earliest, latest = within(now, down_time)
    return Verdict(up=earliest <= _naive(heartbeat) <= latest, age=age, source=source)


def within(now: dt.datetime, seconds: float) -> tuple[dt.datetime, dt.datetime]:
    """|now - heartbeat| <= seconds as an interval of heartbeats, exact to the microsecond.

    The same rule in the form a database can apply to a whole table: the SQL form of :func:`judge`
    (``sources/counts.py``) compares each heartbeat with these two bounds, so both forms agree by construction.
    """
    delta = dt.timedelta(seconds=seconds)
    return now - delta, now + delta


def _naive(value: dt.datetime) -> dt.datetime:
    """Nova strips tzinfo without converting (``replace(tzinfo=None)``); so do we."""
    return value.replace(tzinfo=None) if value.tzinfo is not None else value

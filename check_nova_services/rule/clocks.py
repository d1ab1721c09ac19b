"""Whose clock is wrong: this host's, or a database server's. No I/O.

Heartbeats are written with the clocks of the controllers (the conductors), which keep time with the
database servers they write to. When this host's clock is off, every database server disagrees with it
in the same direction, and every cell's newest heartbeat is fresh by its database's clock but old (or in
the future) by this host's: judged by this host's clock, every service would read down, a false page.
When only one database disagrees, or the heartbeats agree with this host, the database is the odd one out
and the run keeps this host's clock (that database's skew is reported).
"""

from __future__ import annotations

from collections.abc import Iterable


def host_clock_offset(cells: Iterable[tuple[float | None, float | None]], limit: float) -> float | None:
    """How far this host's clock is from every database server's (seconds, + ahead), when it is the odd one out;
    None when it is not (or when nothing tells).

    ``cells`` are, per cell read, its database server's skew against this host (+ ahead, None when not
    measured, as on SQLite) and the age of its newest heartbeat by this host's clock (None: no heartbeat).
    This host is the odd one out when every measured server is further than ``limit`` from it, all on the
    same side, and every cell with heartbeats has its newest one closer to its server's "now" than to this
    host's (age by the server = age here + skew). The offset given is the smallest in size: at least that far.
    """
    measured = [(skew, age) for skew, age in cells if skew is not None]
    if not measured or not all(abs(skew) > limit for skew, _ in measured):
        return None
    if len({skew > 0 for skew, _ in measured}) != 1:
        return None
    votes = [(skew, age) for skew, age in measured if age is not None]
    if not votes or not all(abs(age + skew) < abs(age) for skew, age in votes):
        return None
    return -min((skew for skew, _ in measured), key=abs)

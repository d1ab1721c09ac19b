"""Capacity: the usable computes of an availability zone or a host aggregate, and how many cannot be known. Pure.

Usable is a ``nova-compute`` that is up by Nova's rule and enabled: forced-down, AUTO-disabled and operator-disabled
computes take no instances. Computes of a cell that could not be read are unknown (``nova_api.host_mappings`` says
how many there are and where, as Nova's own API lists them); a range is judged on every number of usable computes
those could make, so an unknown compute never pages by itself and never hides a shortfall either."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from check_nova_services.rule.heartbeat import ServiceRow
from check_nova_services.rule.selection import COMPUTE_TOPIC
from check_nova_services.rule.versions import COMPUTE

ZONE = "zone"
AGGREGATE = "aggregate"


def usable_compute(row: ServiceRow, up: bool) -> bool | None:
    """Whether a service is capacity that can take instances (up by Nova's rule and enabled); None when it is no
    capacity at all: another binary or topic, or a row that names no service. The database's form is
    sources/counts.py's ``_RuleSql.computes``, proven equal by tests/test_rule_sql.py."""
    if row.binary != COMPUTE or row.topic != COMPUTE_TOPIC or row.defect is not None:
        return None
    return up and not row.disabled


@dataclass(frozen=True, order=True)
class Pool:
    """Where instances go: an availability zone, or a host aggregate named on the command line."""

    kind: str
    name: str

    @property
    def prefix(self) -> str:
        """The perfdata label's prefix: ``az`` or ``aggregate``."""
        return "az" if self.kind == ZONE else AGGREGATE


@dataclass(frozen=True)
class PoolCount:
    """The computes of one pool: ``total`` includes the ``unknown`` ones, those of cells that could not be read."""

    usable: int = 0
    total: int = 0
    unknown: int = 0
    #: Cells could not be read and host_mappings could not say how many computes they hold: any number.
    unbounded: bool = False

    def __add__(self, other: PoolCount) -> PoolCount:
        return PoolCount(
            self.usable + other.usable,
            self.total + other.total,
            self.unknown + other.unknown,
            self.unbounded or other.unbounded,
        )

    @property
    def most(self) -> float:
        """The most computes that may be usable: every unknown one usable."""
        return float("inf") if self.unbounded else self.usable + self.unknown


def summed(counts: Iterable[dict[Pool, PoolCount]]) -> dict[Pool, PoolCount]:
    """Per pool, the counts of every cell added up, pools in their order (zones first, then aggregates, by name)."""
    total: dict[Pool, PoolCount] = {}
    for count in counts:
        for pool, part in count.items():
            total[pool] = total.get(pool, PoolCount()) + part
    return dict(sorted(total.items()))


@dataclass(frozen=True)
class Shortfall:
    """A pool outside its range, or maybe outside it (``state`` "unknown"): what the first line says of it."""

    pool: Pool
    count: PoolCount
    #: "critical", "warning" or "unknown".
    state: str
    #: The least usable computes the range asks for (``6:``: 6), or None when the range is no such floor.
    needs: int | None
    #: The range as given (``6:``, ``50%:``, ``@2:4``).
    range_text: str

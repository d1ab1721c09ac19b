"""What one run read, as plain data: the cells, each cell's counts and problems, the whole Reading.

Data, and the one place the words (output/) and the checks (plugin/) read from: no SQLAlchemy, no driver, no
threads, no nagiosplugin here (tests/test_layers.py proves it). The sources fill it in; ``combine`` puts the cells
together, with the rule's verdicts across cells (rule/versions.py, rule/policy.py), deciding nothing itself.
"""

from __future__ import annotations

import datetime as dt
import heapq
import marshal
import zlib
from collections import Counter
from collections.abc import Collection, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, NamedTuple, Union, cast

from check_nova_services.rule.capacity import AGGREGATE, ZONE, Pool, PoolCount, summed
from check_nova_services.rule.heartbeat import ServiceRow
from check_nova_services.rule.nodes import NodeState
from check_nova_services.rule.policy import REMOVED_BINARIES, Assessed, BinaryTally, removed_binaries, too_old_computes
from check_nova_services.rule.selection import COMPUTE_TOPIC
from check_nova_services.rule.versions import (
    COMPUTE,
    CONTROL_PLANE,
    VERSIONED,
    Floor,
    VersionCounts,
    floor_for,
    lowest,
    merge,
    minimum_across_cells,
)

if TYPE_CHECKING:  # a URL is only carried here, never used: SQLAlchemy is not loaded for it
    from sqlalchemy.engine import URL


@dataclass(frozen=True)
class Cell:
    """A cell database to read. ``url`` holds credentials: never print it, use ``show_url``."""

    name: str
    uuid: str | None
    url: URL | None = field(repr=False)
    disabled: bool = False
    #: Why this cell cannot even be tried (e.g. its URL template does not format).
    problem: str | None = None

    @property
    def label(self) -> str:
        return f"{self.name} ({self.uuid})" if self.uuid else self.name


Clock = Union[str, dt.datetime]  # "local", "db", or a fixed naive-UTC instant

#: Services a cell needs for "every one down" to be a fact of its own (a whole cell down, one phrase on the first
#: line; on a replica whose lag cannot be read, a doubt): one service down is just that service.
WHOLE_CELL_MINIMUM = 2


class ListedService(NamedTuple):
    """One service as --list and -vv show it, in plain values: made when its row is judged (:func:`listed`), so
    that a list of 100,000 services holds no row, verdict or assessment objects."""

    binary: str
    host: str
    cell: str
    zone: str | None
    disabled: bool
    up: bool
    #: policy.Standing's value ("up", "down", "disabled", ...).
    standing: str
    forced_down: bool
    disabled_reason: str | None
    #: The heartbeat the verdict used, ISO-8601 to the microsecond (naive UTC); None: none, or unreadable.
    heartbeat: str | None
    #: Its column (last_seen_up, created_at, updated_at).
    source: str | None
    #: now - heartbeat, seconds (negative: in the future); None: no heartbeat.
    age: float | None
    id: int
    uuid: str | None
    version: int | None
    #: Left out of the counts by --exclude.
    excluded: bool
    #: Why the row cannot be judged (heartbeat.Verdict.problem), and the stored text of an unreadable heartbeat.
    problem: str | None
    unreadable: str | None
    #: The row names no service (NULL or empty host or binary).
    defect: bool

    @property
    def order(self) -> tuple[str, str, str]:
        """The list's order: binary, host, cell."""
        return (self.binary, self.host, self.cell)


def listed(a: Assessed, excluded: bool = False) -> ListedService:
    """The plain values of one assessed service that the list and the long output show."""
    row, verdict = a.row, a.verdict
    stamp = getattr(row, verdict.source) if verdict.source and verdict.problem is None else None
    return ListedService(
        row.binary,
        row.host,
        a.cell_name,
        a.zone,
        row.disabled,
        verdict.up,
        a.standing.value,
        row.forced_down,
        row.disabled_reason,
        None if stamp is None else stamp.isoformat(timespec="microseconds"),
        verdict.source,
        verdict.age,
        row.id,
        row.uuid,
        row.version,
        excluded or a.excluded,
        verdict.problem,
        dict(row.unreadable).get(verdict.source or "") if verdict.problem is not None else None,
        row.defect is not None,
    )


class ListedBlocks:
    """The services of one cell in list order (binary, host: the row path asks the database for that order),
    kept as compressed blocks of plain tuples: about 40 bytes a service instead of some 2 KiB of objects."""

    BLOCK = 128

    def __init__(self) -> None:
        self.blocks: list[bytes] = []
        self.open: list[tuple[object, ...]] = []
        self.count = 0
        self.last: tuple[object, ...] | None = None
        #: Appended in list order so far (the database's byte order is Python's, but for text that is no UTF-8).
        self.in_order = True

    def append(self, service: ListedService) -> None:
        self.append_values(tuple(service))

    def append_values(self, values: tuple[object, ...]) -> None:
        """A service as the plain tuple of ListedService's fields (the database's listing makes no NamedTuple)."""
        order = values[:3]
        if self.last is not None and order < self.last:
            self.in_order = False
        self.last = order
        self.open.append(values)
        self.count += 1
        if len(self.open) >= self.BLOCK:
            self.blocks.append(zlib.compress(marshal.dumps(self.open), 1))
            self.open = []

    def __iter__(self) -> Iterator[ListedService]:
        for block in self.blocks:
            yield from map(ListedService._make, marshal.loads(zlib.decompress(block)))
        yield from map(ListedService._make, self.open)

    def __len__(self) -> int:
        return self.count

    def in_list_order(self) -> ListedBlocks:
        """These services in list order: as they are, unless a name that is no UTF-8 (read with replacement
        characters) came out of the database's byte order; then sorted here, once."""
        if self.in_order:
            return self
        again = ListedBlocks()
        for service in sorted(self, key=lambda s: s.order):
            again.append(service)
        return again


@dataclass(frozen=True)
class CellReading:
    """What one cell gave back: its counts and the problems worth showing, or why it could not."""

    cell: Cell
    tallies: dict[str, BinaryTally] = field(default_factory=dict)
    #: Problem services, most important first (Assessed.problem_key), at most plan.problem_limit.
    problems: list[Assessed] = field(default_factory=list)
    #: Every service, for the list view (--list, -vv) only: those --exclude left out too, marked.
    listed: ListedBlocks = field(default_factory=ListedBlocks)
    error: str | None = None
    seconds: float = 0.0
    #: The database server's clock against this host's, seconds (+ ahead); None when not measured (SQLite).
    skew: float | None = None
    #: The service whose heartbeat lies furthest in the future beyond Policy.ahead_after, if any.
    furthest_ahead: Assessed | None = None
    #: now - the cell's newest readable heartbeat, seconds; None when it has none.
    newest_age: float | None = None
    #: What the database node said of itself (None: not asked, as on SQLite).
    node: NodeState | None = None
    #: ``error`` is the node's own doubt (nodes.NodeState.doubt): it answered, but its heartbeats may be stale.
    stale: bool = False
    #: Its nova-compute services of lowest version, oldest first (at most policy.OLDEST_COMPUTES), excluded ones too.
    oldest_computes: list[Assessed] = field(default_factory=list)
    #: Per Nova binary (versions.VERSIONED), the versions Nova's minimum counts: compared as the database compares
    #: binaries, rows left out by --exclude included (Nova does not know of --exclude).
    nova_versions: dict[str, VersionCounts] = field(default_factory=dict)
    #: Services --exclude left out of the counts (by either path).
    excluded_count: int = 0
    #: Usable and total computes per zone and named aggregate; for a cell that could not be read, its computes as
    #: host_mappings places them, all unknown.
    capacity: dict[Pool, PoolCount] = field(default_factory=dict)
    #: A cell that could not be read: its compute hosts as host_mappings lists them, in the run's view (-v names them).
    unknown_hosts: tuple[str, ...] = ()

    @property
    def services(self) -> int:
        return sum(t.total for t in self.tallies.values())

    @property
    def all_down(self) -> bool:
        """Every service of the cell down at once (at least WHOLE_CELL_MINIMUM of them)."""
        return self.services >= WHOLE_CELL_MINIMUM and sum(t.down for t in self.tallies.values()) == self.services


#: A cell's hosts in host_mappings: their names, or one text of them joined by line breaks (checked to hold no other:
#: 100,000 names stay one string each cell until a cell cannot be read).
MappedHosts = Union[str, tuple[str, ...]]


def mapped_names(hosts: MappedHosts) -> tuple[str, ...]:
    """The names of a cell's mapped hosts."""
    if isinstance(hosts, str):
        return tuple(hosts.split("\n")) if hosts else ()
    return hosts


@dataclass(frozen=True)
class ZoneNames:
    """Each aggregated host's zones as the one name Nova shows ("az1,az2"), and Nova's set_availability_zones
    over it: only topic 'compute' gets aggregate zones, a compute outside every zone is in the default one."""

    #: Each aggregated host's zones (hosts alike share one set: api_database reads them so).
    by_host: Mapping[str, frozenset[str]]
    #: The name of each set of zones.
    names: Mapping[frozenset[str], str]
    default_zone: str = "nova"
    internal_zone: str = "internal"

    def of(self, host: str, compute: bool) -> str:
        if not compute:
            return self.internal_zone
        zones = self.by_host.get(host)
        return self.names[zones] if zones else self.default_zone

    def of_row(self, row: ServiceRow) -> str:
        return self.of(row.host, row.topic == COMPUTE_TOPIC)


@dataclass
class Deployment:
    """What the API database says: the cells to read and where each compute host's zones are."""

    cells: list[Cell]
    #: None when there is no API database to ask: zones are then unknown.
    zones_by_host: Mapping[str, AbstractSet[str]] | None = None
    default_zone: str = "nova"
    internal_zone: str = "internal"
    #: Why zones are unknown although there is an API database (e.g. no SELECT on aggregate_hosts).
    zones_problem: str | None = None
    #: Every zone an aggregate names (None: zones unknown or no API database).
    known_zones: frozenset[str] | None = None
    #: Each cell's compute hosts by cell uuid, from host_mappings (None: unread, ``pools_problem`` says why).
    mapped_hosts: Mapping[str, MappedHosts] | None = None
    #: The hosts of each aggregate named on the command line that exists.
    aggregate_hosts: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: Why host_mappings or the named aggregates could not be read.
    pools_problem: str | None = None
    #: The aggregates named on the command line, when the aggregates could not be read: any number of computes.
    unread_aggregates: tuple[str, ...] = ()

    @property
    def known_pools(self) -> frozenset[Pool] | None:
        """Every zone an aggregate names and the default zone, and the named aggregates found (None: zones unknown)."""
        if self.known_zones is None:
            return None
        zones = {Pool(ZONE, zone) for zone in (*self.known_zones, self.default_zone)}
        return frozenset(zones | {Pool(AGGREGATE, name) for name in (*self.aggregate_hosts, *self.unread_aggregates)})

    def zone_of(self, row: ServiceRow) -> str | None:
        zones = self.zone_names
        return None if zones is None else zones.of_row(row)

    @cached_property
    def zone_names(self) -> ZoneNames | None:
        """The zones' names, made once per set of zones, not once per row (the list view's rows); None: unknown."""
        if self.zones_by_host is None:
            return None
        by_host: Mapping[str, frozenset[str]]
        if all(isinstance(zones, frozenset) for zones in self.zones_by_host.values()):  # as api_database reads them
            by_host = cast("Mapping[str, frozenset[str]]", self.zones_by_host)
        else:
            by_host = {host: frozenset(zones) for host, zones in self.zones_by_host.items()}
        names = {zones: ",".join(sorted(zones)) for zones in set(by_host.values())}
        return ZoneNames(by_host, names, self.default_zone, self.internal_zone)


@dataclass(frozen=True)
class PoolMap:
    """Which pools a compute host counts in: its zones by Nova's rule (ZoneNames: a host in two zone aggregates is
    in both, as --zone and the scheduler's zone filter take it; outside every zone, the default one), and the
    aggregates named on the command line it belongs to."""

    zones: ZoneNames
    #: Each host of a named aggregate -> the named aggregates it is in.
    aggregates_of: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, zones: ZoneNames, aggregate_hosts: Mapping[str, frozenset[str]]) -> PoolMap:
        aggregates_of: dict[str, list[str]] = {}
        for name, hosts in sorted(aggregate_hosts.items()):
            for host in hosts:
                aggregates_of.setdefault(host, []).append(name)
        return cls(zones, {host: tuple(names) for host, names in aggregates_of.items()})

    def count(self, usable: Collection[str], other: Collection[str]) -> dict[Pool, PoolCount]:
        """Per pool, the usable computes of these hosts and all of them (a host once per compute service)."""
        counts: dict[Pool, PoolCount] = {}
        for hosts, each in ((usable, PoolCount(1, 1)), (other, PoolCount(0, 1))):
            for pool, n in self._pools_of(hosts).items():
                counts[pool] = counts.get(pool, PoolCount()) + PoolCount(each.usable * n, n)
        return counts

    def unknown(self, hosts: Collection[str]) -> dict[Pool, PoolCount]:
        """Per pool, computes that cannot be known (a cell that could not be read): each is unknown."""
        return {pool: PoolCount(0, n, n) for pool, n in self._pools_of(hosts).items()}

    def _pools_of(self, hosts: Collection[str]) -> dict[Pool, int]:
        """How many of ``hosts`` each pool holds: hosts alike (the same zones) counted together, not one by one."""
        pools: dict[Pool, int] = {}
        for zones, n in Counter(map(self.zones.by_host.get, hosts)).items():
            for zone in zones or (self.zones.default_zone,):
                pool = Pool(ZONE, zone)
                pools[pool] = pools.get(pool, 0) + n
        if self.aggregates_of:
            for names, n in Counter(map(self.aggregates_of.get, hosts)).items():
                for name in names or ():
                    pool = Pool(AGGREGATE, name)
                    pools[pool] = pools.get(pool, 0) + n
        return pools

    def zone_of(self, host: str) -> str:
        """The zone name Nova shows for a compute on ``host``."""
        return self.zones.of(host, compute=True)


@dataclass(frozen=True)
class CellCounts:
    """What the database counted in one cell, the problem rows to show, and the instant it judged at."""

    tallies: dict[str, BinaryTally]
    problem_rows: list[ServiceRow]
    now: dt.datetime | None
    #: The server's clock against this host's (None on SQLite).
    skew: float | None = None
    #: The service whose heartbeat lies furthest in the future beyond ``ahead_after``, if any.
    furthest_ahead: ServiceRow | None = None
    #: now - the newest readable heartbeat of the cell (seconds, negative in the future); None: there is none.
    newest_age: float | None = None
    #: What the node said of itself (None on SQLite); nothing was counted when it casts doubt (``node.doubt()``).
    node: NodeState | None = None
    #: nova-compute rows of lowest version, oldest first (asked only when the cell's versions differ).
    oldest_computes: list[ServiceRow] = field(default_factory=list)
    #: Per Nova binary, the versions Nova's minimum counts (CellReading.nova_versions).
    nova_versions: dict[str, VersionCounts] = field(default_factory=dict)
    #: Services --exclude left out of the counts (still in nova_versions, as Nova still counts them).
    excluded: int = 0
    #: Ids of the oldest computes that --exclude left out (named so on the first line).
    excluded_oldest: frozenset[int] = frozenset()
    #: Every service in list order, when the list view asked for it (sources.counts.Listing).
    listed: ListedBlocks | None = None
    #: The hosts of the wanted nova-compute services that are usable (up and enabled), and of the others.
    computes: tuple[list[str], list[str]] | None = None


@dataclass(frozen=True)
class Reading:
    """Everything one run learnt, for the Contexts and the Summary: counts, not rows."""

    cells: tuple[Cell, ...]
    unreachable: tuple[CellReading, ...]
    #: Per binary, sorted by name.
    tallies: dict[str, BinaryTally]
    #: Problem services of every cell, most important first (bounded: PROBLEM_LIMIT per cell).
    problems: tuple[Assessed, ...]
    #: Every service of each cell that answered, for the list view (--list, -vv): every_service() merges them.
    listed: tuple[ListedBlocks, ...] = ()
    #: Services --exclude left out of the counts, in every cell that answered.
    excluded_count: int = 0
    zones_problem: str | None = None
    #: The cells that answered, each with its own counts (a whole cell down is one fact, not 62 hosts).
    answered: tuple[CellReading, ...] = ()
    #: The cell whose database clock is furthest from this host's, and by how much (seconds, + ahead).
    skew: tuple[Cell, float] | None = None
    #: The service whose heartbeat lies furthest in the future beyond report_interval (its writer's clock runs ahead).
    furthest_ahead: Assessed | None = None
    #: --host, --binary, --zone or --cell narrowed the view: a binary may be absent from it by choice.
    narrowed: bool = False
    #: --host, --zone or --cell narrowed the computes in view: a zone or aggregate may be absent from it by choice.
    computes_narrowed: bool = False
    #: The oldest nova-compute version the control plane accepts (None: unknown, no versions read).
    floor: Floor | None = None
    #: nova-compute services below the floor, in the cells Nova's minimum looks at (0 when none is, or unknown).
    too_old: int = 0
    #: The ones to name, oldest first (each cell hands over its lowest few).
    too_old_named: tuple[Assessed, ...] = ()
    #: Binaries Nova removed by the release the control plane runs -> that release: their rows are leftovers.
    removed: dict[str, str] = field(default_factory=lambda: dict(REMOVED_BINARIES))
    #: This host's clock against every database server's (seconds, + ahead) when it is the odd one out
    #: (rule/clocks.py): the cells were then judged by their servers' clocks. None: this host's clock judged.
    host_clock: float | None = None
    #: The newest version of a conductor or scheduler read (None: none with a version), whatever the floor.
    newest_control_plane: int | None = None
    #: Usable, total and unknown computes per zone, then per named aggregate (empty: zones unknown).
    capacity: dict[Pool, PoolCount] = field(default_factory=dict)
    #: Whose zones and aggregates a compute host is in (None: zones unknown): -v names unknown computes by zone.
    pools: PoolMap | None = None
    #: Why the computes of a cell that could not be read are unknown in number (host_mappings unreadable).
    pools_problem: str | None = None
    #: Every zone (the default one too) and named aggregate that exists (None: zones unknown).
    known_pools: frozenset[Pool] | None = None

    @property
    def total(self) -> int:
        return sum(t.total for t in self.tallies.values())

    def capacity_with(self, named: AbstractSet[Pool]) -> dict[Pool, PoolCount]:
        """Every pool counted; a pool a range names that exists but holds no compute, in a view of every compute,
        as 0 of 0 (an empty zone is a fact; in a view narrowed by --host, --zone or --cell it may be one by choice)."""
        capacity = dict(self.capacity)
        if self.known_pools is not None and not self.computes_narrowed:
            for pool in sorted(named & self.known_pools):
                capacity.setdefault(pool, PoolCount())
        return dict(sorted(capacity.items()))

    def every_service(self) -> Iterator[ListedService]:
        """The list view's services of every cell, in the list's order (binary, host, cell): each cell's come in
        that order, so they are merged as they are read, never all unpacked at once."""
        return heapq.merge(*self.listed, key=lambda service: service.order)

    def sum(self, attribute: str) -> int:
        return sum(getattr(t, attribute) for t in self.tallies.values())


def combine(
    deployment: Deployment,
    readings: list[CellReading],
    narrowed: bool = False,
    computes_narrowed: bool = False,
    version_floor: Floor | None = None,
    host_clock: float | None = None,
    pools: PoolMap | None = None,
) -> Reading:
    """The cells' readings as one; the minimum versions across cells (rule/versions.py) and the too-old verdict
    (rule/policy.py too_old_computes) as Nova decides them, against ``version_floor`` or the floor of the newest
    control plane."""
    tallies: dict[str, BinaryTally] = {}
    for reading in readings:
        for binary, tally in reading.tallies.items():
            tallies[binary] = tallies[binary].plus(tally) if binary in tallies else tally
    answered = [r for r in readings if r.error is None]
    for binary, tally in tallies.items():
        if binary in VERSIONED:  # as Nova reads them: binaries compared by the database, excluded rows too
            seen = [r.nova_versions[binary] for r in answered if binary in r.nova_versions]
            tallies[binary] = replace(tally, versions=merge(*seen), min_version=minimum_across_cells(map(lowest, seen)))
            continue
        cell_minimums = [r.tallies[binary].min_version for r in answered if binary in r.tallies]
        tallies[binary] = replace(tally, min_version=minimum_across_cells(cell_minimums))
    problems = sorted((a for r in answered for a in r.problems), key=lambda a: (a.problem_key, a.cell_name))
    skews = [(r.cell, r.skew) for r in answered if r.skew is not None]
    ahead = [r.furthest_ahead for r in answered if r.furthest_ahead is not None]
    control = [v for r in answered for b in CONTROL_PLANE for v, _ in r.nova_versions.get(b, ())]
    newest_control = max(control) if control else None
    floor = version_floor or floor_for(newest_control)
    too_old, named = too_old_computes([(r.nova_versions.get(COMPUTE), r.oldest_computes) for r in answered], floor)
    return Reading(
        cells=tuple(deployment.cells),
        unreachable=tuple(r for r in readings if r.error is not None),
        tallies=dict(sorted(tallies.items())),
        problems=tuple(problems),  # each cell handed over at most PROBLEM_LIMIT
        listed=tuple(r.listed for r in answered if len(r.listed)),
        excluded_count=sum(r.excluded_count for r in answered),
        zones_problem=deployment.zones_problem,
        answered=tuple(answered),
        skew=max(skews, key=lambda pair: abs(pair[1])) if skews else None,
        furthest_ahead=min(ahead, key=lambda a: a.verdict.age or 0.0) if ahead else None,
        narrowed=narrowed,
        computes_narrowed=computes_narrowed,
        floor=floor,
        too_old=too_old,
        too_old_named=named,
        removed=removed_binaries(newest_control),
        host_clock=host_clock,
        newest_control_plane=newest_control,
        # Named aggregates that could not be read hold any number of computes: judged UNKNOWN, never OK or a page.
        capacity=summed(
            [
                *(r.capacity for r in readings),
                {Pool(AGGREGATE, n): PoolCount(unbounded=True) for n in deployment.unread_aggregates},
            ]
        ),
        pools=pools,
        pools_problem=deployment.pools_problem,
        known_pools=deployment.known_pools,
    )

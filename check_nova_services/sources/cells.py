"""One cell read and judged: counted by its database, or row by row in Python with the same rule and policy; a node
that doubts its own data gives a stale reading. Which cells there are is discovery.py's."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from check_nova_services.readings import Cell, CellReading, Clock, ListedBlocks, PoolMap, ZoneNames, listed
from check_nova_services.rule.capacity import usable_compute
from check_nova_services.rule.heartbeat import ServiceRow
from check_nova_services.rule.nodes import lag_tolerance
from check_nova_services.rule.policy import PROBLEM_LIMIT, Assessed, Policy, TallyBuilder, assess
from check_nova_services.rule.selection import Selection, ServiceFilter
from check_nova_services.rule.versions import naming_bound
from check_nova_services.shared.timestamps import utc_now
from check_nova_services.sources.counts import Listing, TallyQuery, read_counts_on
from check_nova_services.sources.rows import judge_services_on
from check_nova_services.sources.services_table import ServerClock
from check_nova_services.sources.sessions import Link


@dataclass(frozen=True)
class ReadPlan:
    """How each cell is read: counted by the database (the default, --zone, --exclude and the list view included), or
    row by row in Python for an --exclude pattern or a server the database form cannot serve."""

    where: ServiceFilter
    policy: Policy
    clock: Clock
    in_database: bool = True
    keep_all: bool = False
    #: What the row path keeps and leaves out of the counts (--host, --binary, --zone, --exclude), row by row.
    selection: Selection = Selection()
    problem_limit: int = PROBLEM_LIMIT
    #: --exclude's patterns, for the database to apply where it reads them as Python does (Link.regexp_as_python).
    exclude: tuple[str, ...] = ()
    #: The zones and named aggregates each compute host counts in (None: zones unknown, no capacity counted).
    pools: PoolMap | None = None


def read_cell(cell: Cell, link: Link, plan: ReadPlan, zones: ZoneNames | None) -> CellReading:
    """One cell over an open connection, judged: by the database (its list too, for the list view), or row by row
    with the same rule and policy. A node that casts doubt on its own data (nodes.py) gives a stale reading:
    nothing judged; so does a whole cell down on a replica whose lag cannot be read (:func:`doubted`)."""
    assert cell.url is not None
    begun = time.monotonic()
    fixed = plan.clock if isinstance(plan.clock, dt.datetime) else None
    now = fixed or (None if plan.clock == "db" else utc_now())
    if plan.in_database and (not plan.exclude or link.regexp_as_python):
        return _counted(cell, link, plan, zones, now, begun)
    tolerance = lag_tolerance(plan.policy.down_time, plan.policy.ahead_after)

    def judged(rows: Iterator[ServiceRow], clock: ServerClock | None) -> CellReading:
        reading = judge_rows(cell, rows, plan, zones, now or (clock.now if clock else utc_now()), begun)
        return replace(reading, skew=clock.skew if clock else None)

    node, reading = judge_services_on(link, cell.url, plan.where, judged, now is None, tolerance, plan.keep_all)
    if reading is None:
        assert node is not None
        return CellReading(cell, error=node.doubt(tolerance), seconds=time.monotonic() - begun, node=node, stale=True)
    return doubted(replace(reading, node=node))


def _counted(
    cell: Cell, link: Link, plan: ReadPlan, zones: ZoneNames | None, now: dt.datetime | None, begun: float
) -> CellReading:
    """The cell counted by its database (counts.py); only the rows worth naming are judged here. The list view's
    rows come judged by the same SQL (counts.Listing)."""
    assert cell.url is not None
    policy = plan.policy
    query = TallyQuery(
        plan.where,
        policy.down_time,
        policy.age_warning,
        policy.count_disabled,
        plan.problem_limit,
        now,
        policy.ahead_after,
        naming_bound(policy.version_floor),
        plan.exclude,
        computes=plan.pools is not None,
    )
    counts = read_counts_on(link, cell.url, query, Listing(cell.name, zones) if plan.keep_all else None)
    doubt = counts.node.doubt(lag_tolerance(policy.down_time, policy.ahead_after)) if counts.node is not None else None
    if doubt is not None:
        return CellReading(cell, error=doubt, seconds=time.monotonic() - begun, node=counts.node, stale=True)
    assert counts.now is not None
    judged_at = counts.now

    def assessed(row: ServiceRow) -> Assessed:
        return assess(row, cell.name, judged_at, policy, None if zones is None else zones.of_row(row))

    ahead = counts.furthest_ahead
    oldest = [replace(assessed(row), excluded=row.id in counts.excluded_oldest) for row in counts.oldest_computes]
    return doubted(
        CellReading(
            cell,
            counts.tallies,
            [assessed(row) for row in counts.problem_rows],
            seconds=time.monotonic() - begun,
            skew=counts.skew,
            furthest_ahead=None if ahead is None else assessed(ahead),
            newest_age=counts.newest_age,
            node=counts.node,
            oldest_computes=oldest,
            nova_versions=counts.nova_versions,
            excluded_count=counts.excluded,
            listed=ListedBlocks() if counts.listed is None else counts.listed.in_list_order(),
            capacity={} if plan.pools is None or counts.computes is None else plan.pools.count(*counts.computes),
        )
    )


def doubted(reading: CellReading) -> CellReading:
    """A cell read whole: stale, not judged, when every service reads down on a node that cannot say whether that is
    its lag (nodes.NodeState.doubt_when_all_down); as it is otherwise, a partial outage included."""
    doubt = reading.node.doubt_when_all_down() if reading.node is not None and reading.all_down else None
    if doubt is None:
        return reading
    return CellReading(reading.cell, error=doubt, seconds=reading.seconds, node=reading.node, stale=True)


def judge_rows(
    cell: Cell,
    rows: Iterable[ServiceRow],
    plan: ReadPlan,
    zones: ZoneNames | None,
    now: dt.datetime,
    begun: float | None = None,
) -> CellReading:
    """Rows of one cell judged one by one in Python, with the same rule and policy as the database's counts; with
    ``plan.keep_all`` each service is also kept for the list view, as plain values (readings.listed)."""
    builder = TallyBuilder(plan.policy, plan.problem_limit)
    services = ListedBlocks()
    computes: tuple[list[str], list[str]] = ([], [])
    excluded = 0
    for row in rows:
        zone = None if zones is None else zones.of_row(row)
        if not plan.selection.keeps(row, zone):
            continue
        assessed = assess(row, cell.name, now, plan.policy, zone)
        if plan.selection.excludes(row):  # out of the counts, not out of Nova's minimum version
            assessed = replace(assessed, excluded=True)
            excluded += 1
            builder.add_version(assessed)
        else:
            builder.add(assessed)
            usable = usable_compute(row, assessed.verdict.up)
            if usable is not None:
                computes[not usable].append(row.host)
        if plan.keep_all:
            services.append(listed(assessed))
    seconds = 0.0 if begun is None else time.monotonic() - begun
    return CellReading(
        cell,
        builder.tallies,
        builder.kept_problems(),
        services.in_list_order(),
        seconds=seconds,
        furthest_ahead=builder.furthest_ahead,
        newest_age=builder.newest_age,
        oldest_computes=builder.kept_oldest_computes(),
        nova_versions=builder.nova_versions,
        excluded_count=excluded,
        capacity={} if plan.pools is None else plan.pools.count(*computes),
    )

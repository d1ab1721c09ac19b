"""A whole deployment surveyed: every cell read within the deadline, combined into one immutable Reading.

No nagiosplugin here: resource.py turns the Reading into Metrics, summary.py into words.
"""

from __future__ import annotations

from dataclasses import replace

from check_nova_services.readings import CellReading, Clock, Deployment, PoolMap, Reading, combine, mapped_names
from check_nova_services.rule.capacity import AGGREGATE, ZONE, Pool, PoolCount
from check_nova_services.rule.clocks import host_clock_offset
from check_nova_services.rule.policy import Policy
from check_nova_services.rule.selection import Selection, ZoneHosts
from check_nova_services.rule.versions import COMPUTE
from check_nova_services.shared.deadline import Deadline
from check_nova_services.shared.errors import NothingToJudge
from check_nova_services.shared.timestamps import utc_now
from check_nova_services.sources.cells import ReadPlan, read_cell
from check_nova_services.sources.discovery import CellSource
from check_nova_services.sources.fanout import DEFAULT_LIMITS, Limits, read_cells


def survey(
    source: CellSource,
    selection: Selection,
    policy: Policy,
    clock: Clock,
    deadline: Deadline,
    list_every_service: bool = False,
    allow_empty: bool = False,
    limits: Limits = DEFAULT_LIMITS,
    skew_limit: float | None = None,
) -> Reading:
    """Find the cells (``source``), read them all at once, combine. ReadError when the cells cannot even be found,
    NothingToJudge when nothing matched (unless ``allow_empty``: an empty list is a list).

    On this host's clock (``clock`` "local"), when every database server is further than ``skew_limit`` from
    this host and the heartbeats side with the servers (rule/clocks.py), this host's clock is the one that is
    wrong: the cells are read again and judged by their servers' clocks, as ``--clock db`` does."""
    deployment = source.deployment(deadline)
    if deployment.zones_problem is not None and selection.zones:
        raise NothingToJudge(f"--zone cannot be applied, availability zones unknown: {deployment.zones_problem}")
    where = selection.where
    if selection.zones and deployment.zones_by_host is not None:  # counted where the rows are: zones as host sets
        zones = ZoneHosts.of(selection.zones, deployment.zones_by_host, deployment.default_zone, deployment.internal_zone)
        where = replace(where, zones=zones)
    pools = None if deployment.zone_names is None else PoolMap.of(deployment.zone_names, deployment.aggregate_hosts)
    plan = ReadPlan(
        where=where,
        policy=policy,
        # One instant for the whole run on this host's clock: every cell is judged as of the same moment.
        clock=utc_now() if clock == "local" else clock,
        in_database=not selection.needs_rows,
        keep_all=list_every_service,
        selection=selection,
        exclude=selection.exclude_in_database,
        pools=pools,
    )
    readings = read_cells(
        deployment.cells, lambda cell, link: read_cell(cell, link, plan, deployment.zone_names), deadline, limits
    )
    host_clock = None if clock != "local" or skew_limit is None else _odd_host_clock(readings, skew_limit)
    if host_clock is not None:
        by_servers = replace(plan, clock="db")
        readings = read_cells(
            deployment.cells, lambda cell, link: read_cell(cell, link, by_servers, deployment.zone_names), deadline, limits
        )
    if pools is not None:
        readings = [_with_unknown_computes(r, deployment, selection, pools) if r.error else r for r in readings]
    reading = combine(
        deployment,
        readings,
        narrowed=selection.narrowed,
        computes_narrowed=selection.computes_narrowed,
        version_floor=policy.version_floor,
        host_clock=host_clock,
        pools=pools,
    )
    if not reading.total and not reading.unreachable and not allow_empty:
        hidden = f"; {reading.excluded_count} excluded" if reading.excluded_count else ""
        raise NothingToJudge(f"no services matched{selection.text}{hidden}")
    return reading


def _with_unknown_computes(reading: CellReading, deployment: Deployment, selection: Selection, pools: PoolMap) -> CellReading:
    """A cell that could not be read, with its computes in the run's view as host_mappings places them: unknown, each
    in its zones (or, host_mappings unreadable, any number of them in every zone and aggregate)."""
    mapped = deployment.mapped_hosts
    if mapped is None:  # any number, in every zone (or every zone --zone names) and aggregate of the view
        if selection.binaries and COMPUTE not in selection.binaries:
            return reading
        zones = selection.zones or sorted({*(deployment.known_zones or ()), deployment.default_zone})
        every = [Pool(ZONE, zone) for zone in zones] + [Pool(AGGREGATE, name) for name in sorted(deployment.aggregate_hosts)]
        return replace(reading, capacity={pool: PoolCount(unbounded=True) for pool in every})
    hosts = tuple(
        host
        for host in mapped_names(mapped.get(reading.cell.uuid or "", ()))
        if selection.keeps_compute(host, pools.zone_of(host))
    )
    return replace(reading, capacity=pools.unknown(hosts), unknown_hosts=hosts)


def _odd_host_clock(readings: list[CellReading], limit: float) -> float | None:
    return host_clock_offset(((r.skew, r.newest_age) for r in readings if r.error is None), limit)

"""The cells one run covers (discovered from the API database, Nova's URL templates, zones), and one cell read and judged."""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace

from sqlalchemy.engine import URL

from check_nova_services.readings import Cell, CellReading, Clock, Deployment, ListedBlocks, ZoneNames, listed
from check_nova_services.rule.heartbeat import ServiceRow
from check_nova_services.rule.nodes import lag_tolerance
from check_nova_services.rule.policy import PROBLEM_LIMIT, Assessed, Policy, TallyBuilder, assess
from check_nova_services.rule.selection import ServiceFilter
from check_nova_services.rule.versions import naming_bound
from check_nova_services.shared.deadline import Deadline
from check_nova_services.shared.errors import ConfigError, ReadError
from check_nova_services.shared.timestamps import utc_now
from check_nova_services.sources.api_database import EVERY_ZONE, ZonesWanted, read_api_database
from check_nova_services.sources.counts import Listing, TallyQuery, read_counts_on
from check_nova_services.sources.rows import judge_services_on
from check_nova_services.sources.services_table import ServerClock
from check_nova_services.sources.sessions import Link
from check_nova_services.sources.urls import format_db_url, parse_db_url, show_url, with_api_credentials


def show(cell: Cell) -> str:
    return "no URL" if cell.url is None else show_url(cell.url)


@dataclass(frozen=True)
class ReadPlan:
    """How each cell is read: counted by the database (the default, --zone, --exclude and the list view included), or
    row by row in Python for an --exclude pattern or a server the database form cannot serve."""

    where: ServiceFilter
    policy: Policy
    clock: Clock
    in_database: bool = True
    keep_all: bool = False
    keeps: Callable[[ServiceRow, str | None], bool] = lambda row, zone: True
    excludes: Callable[[ServiceRow], bool] = lambda row: False
    problem_limit: int = PROBLEM_LIMIT
    #: --exclude's patterns, for the database to apply where it reads them as Python does (Link.regexp_as_python).
    exclude: tuple[str, ...] = ()


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
    excluded = 0
    for row in rows:
        zone = None if zones is None else zones.of_row(row)
        if not plan.keeps(row, zone):
            continue
        assessed = assess(row, cell.name, now, plan.policy, zone)
        if plan.excludes(row):  # out of the counts, not out of Nova's minimum version
            assessed = replace(assessed, excluded=True)
            excluded += 1
            builder.add_version(assessed)
        else:
            builder.add(assessed)
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
    )


@dataclass(frozen=True)
class CellSource:
    """Where the cells come from: one database given directly, or every cell mapped in the API database."""

    db_url: URL | None = field(repr=False)
    api_url: URL | None = field(repr=False)
    #: Read every cell with the API database's user and password (a SELECT-only monitoring user).
    own_credentials: bool = False
    only: tuple[str, ...] = ()
    default_zone: str = "nova"
    internal_zone: str = "internal"
    #: Whose zones are read (every host's, --zone's hosts, or none: only asked for).
    zones: ZonesWanted = EVERY_ZONE

    def deployment(self, deadline: Deadline) -> Deployment:
        if self.api_url is None:
            assert self.db_url is not None
            return Deployment([Cell(name=database_name(self.db_url), uuid=None, url=self.db_url)])
        return discover(
            self.api_url,
            self.db_url,
            deadline,
            own_credentials=self.own_credentials,
            only=self.only,
            default_zone=self.default_zone,
            internal_zone=self.internal_zone,
            zones=self.zones,
        )


#: A field of Nova's cell URL templates ({username}, {hostname1}, ...).
_TEMPLATE_FIELD = re.compile(r"\{(scheme|username|password|hostname|port|path|query|fragment)\d*\}")


def database_name(url: URL) -> str:
    """What to call a single database in output: its name, or an SQLite file's stem."""
    name = url.database or "nova"
    return os.path.splitext(os.path.basename(name))[0] if url.get_backend_name() == "sqlite" else name


def discover(
    api_url: URL,
    base_url: URL | None,
    deadline: Deadline,
    own_credentials: bool = False,
    only: tuple[str, ...] = (),
    default_zone: str = "nova",
    internal_zone: str = "internal",
    zones: ZonesWanted = EVERY_ZONE,
) -> Deployment:
    """Cells listed in the API database (filtered by name or uuid), with their URLs formatted."""
    try:
        api = read_api_database(api_url, deadline, zones)
    except ReadError as exc:
        raise ReadError(f"API database unreachable: {exc}") from None
    base = None if base_url is None else base_url.render_as_string(hide_password=False)
    cells = []
    for mapping in api.mappings:
        name = mapping.name or mapping.uuid
        if only and name not in only and mapping.uuid not in only:
            continue
        text = format_db_url(mapping.database_connection, base)
        if base is None and _TEMPLATE_FIELD.search(text):
            # Nova formats it from its own [database]/connection: without one, it is no URL at all.
            # (The line names the cell already: the reason does not repeat it.)
            problem = "its database_connection is a template ({...} fields) formatted from [database]/connection or --db-url"
            cells.append(Cell(name, mapping.uuid, None, mapping.disabled, problem=problem))
            continue
        try:
            url = parse_db_url(text, f"cell {name}'s database_connection")
        except ConfigError as exc:
            cells.append(Cell(name, mapping.uuid, None, mapping.disabled, problem=str(exc)))
            continue
        if own_credentials:
            url = with_api_credentials(url, api_url)
        cells.append(Cell(name, mapping.uuid, url, mapping.disabled))
    if only:
        known = {c.name for c in cells} | {c.uuid for c in cells}
        missing = [name for name in only if name not in known]
        if missing:
            names = ", ".join(m.name or m.uuid for m in api.mappings)
            raise ReadError(f"no cell {', '.join(missing)} in the API database (cells: {names})")
    return Deployment(cells, api.zones, default_zone, internal_zone, zones_problem=api.zones_problem)

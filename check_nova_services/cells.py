"""The cells one run covers (discovered from the API database, Nova's URL templates, zones), and one cell read and judged."""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Union

from sqlalchemy.engine import URL

from .db import TallyQuery, read_api_database, read_counts_on, read_services_on
from .deadline import Deadline
from .errors import ConfigError, ReadError
from .heartbeat import ServiceRow
from .links import Link
from .nodes import NodeState
from .policy import PROBLEM_LIMIT, Assessed, BinaryTally, Policy, TallyBuilder, assess
from .selection import ServiceFilter
from .timestamps import utc_now
from .urls import format_db_url, parse_db_url, show_url, with_api_credentials


def show(cell: Cell) -> str:
    return "no URL" if cell.url is None else show_url(cell.url)


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


@dataclass(frozen=True)
class ReadPlan:
    """How each cell is read: counted by the database (the default), or row by row in Python for
    what SQL cannot do (the list view, --zone, --exclude)."""

    where: ServiceFilter
    policy: Policy
    clock: Clock
    in_database: bool = True
    keep_all: bool = False
    keeps: Callable[[ServiceRow, str | None], bool] = lambda row, zone: True
    excludes: Callable[[ServiceRow], bool] = lambda row: False
    problem_limit: int = PROBLEM_LIMIT


@dataclass(frozen=True)
class CellReading:
    """What one cell gave back: its counts and the problems worth showing, or why it could not."""

    cell: Cell
    tallies: dict[str, BinaryTally] = field(default_factory=dict)
    #: Problem services, most important first (Assessed.problem_key), at most plan.problem_limit.
    problems: list[Assessed] = field(default_factory=list)
    #: Every service, for the list view (-vv) only.
    listed: list[Assessed] = field(default_factory=list)
    excluded: list[Assessed] = field(default_factory=list)
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

    @property
    def services(self) -> int:
        return sum(t.total for t in self.tallies.values())


def read_cell(cell: Cell, link: Link, plan: ReadPlan, zone_of: Callable[[ServiceRow], str | None]) -> CellReading:
    """One cell over an open connection, judged: by the database, or row by row with the same rule and policy.
    A node that casts doubt on its own data (nodes.py) gives a stale reading: nothing judged."""
    assert cell.url is not None
    begun = time.monotonic()
    fixed = plan.clock if isinstance(plan.clock, dt.datetime) else None
    now = fixed or (None if plan.clock == "db" else utc_now())
    if plan.in_database:
        policy = plan.policy
        query = TallyQuery(
            plan.where, policy.down_time, policy.age_warning, policy.count_disabled, plan.problem_limit, now, policy.ahead_after
        )
        counts = read_counts_on(link, cell.url, query)
        doubt = counts.node.doubt() if counts.node is not None else None
        if doubt is not None:
            return CellReading(cell, error=doubt, seconds=time.monotonic() - begun, node=counts.node, stale=True)
        assert counts.now is not None
        problems = [assess(row, cell.name, counts.now, policy, zone_of(row)) for row in counts.problem_rows]
        ahead = counts.furthest_ahead
        return CellReading(
            cell,
            counts.tallies,
            problems,
            seconds=time.monotonic() - begun,
            skew=counts.skew,
            furthest_ahead=None if ahead is None else assess(ahead, cell.name, counts.now, policy, zone_of(ahead)),
            newest_age=counts.newest_age,
            node=counts.node,
        )
    rows, clock, node = read_services_on(link, cell.url, plan.where, with_db_clock=now is None)
    doubt = node.doubt() if node is not None else None
    if doubt is not None:
        return CellReading(cell, error=doubt, seconds=time.monotonic() - begun, node=node, stale=True)
    judged = judge_rows(cell, rows, plan, zone_of, now or (clock.now if clock else utc_now()), begun)
    return replace(judged, skew=clock.skew if clock else None, node=node)


def judge_rows(
    cell: Cell,
    rows: Iterable[ServiceRow],
    plan: ReadPlan,
    zone_of: Callable[[ServiceRow], str | None],
    now: dt.datetime,
    begun: float | None = None,
) -> CellReading:
    """Rows of one cell judged one by one in Python, with the same rule and policy as the database's counts."""
    builder = TallyBuilder(plan.policy, plan.problem_limit, keep_all=plan.keep_all)
    excluded = []
    for row in rows:
        zone = zone_of(row)
        if not plan.keeps(row, zone):
            continue
        assessed = assess(row, cell.name, now, plan.policy, zone)
        if plan.excludes(row):
            excluded.append(assessed)
            continue
        builder.add(assessed)
    seconds = 0.0 if begun is None else time.monotonic() - begun
    return CellReading(
        cell,
        builder.tallies,
        builder.kept_problems(),
        builder.everything,
        excluded,
        seconds=seconds,
        furthest_ahead=builder.furthest_ahead,
        newest_age=builder.newest_age,
    )


@dataclass
class Deployment:
    """What the API database says: the cells to read and where each compute host's zones are."""

    cells: list[Cell]
    #: None when there is no API database to ask: zones are then unknown.
    zones_by_host: dict[str, set[str]] | None = None
    default_zone: str = "nova"
    internal_zone: str = "internal"
    #: Why zones are unknown although there is an API database (e.g. no SELECT on aggregate_hosts).
    zones_problem: str | None = None

    def zone_of(self, row: ServiceRow) -> str | None:
        """Nova's set_availability_zones: only topic 'compute' gets aggregate zones."""
        if self.zones_by_host is None:
            return None
        if row.topic != "compute":
            return self.internal_zone
        zones = self.zones_by_host.get(row.host)
        return ",".join(sorted(zones)) if zones else self.default_zone


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
) -> Deployment:
    """Cells listed in the API database (filtered by name or uuid), with their URLs formatted."""
    try:
        api = read_api_database(api_url, deadline, with_zones=True)
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
            problem = (
                f"cell {name}'s database_connection is a template ({{...}} fields), formatted from [database]/connection: "
                "give that in the config file, or --db-url"
            )
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

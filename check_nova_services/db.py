"""SQLAlchemy Core reads of Nova databases: the rule as SQL, one snapshot per cell, the node's own state with it."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Connection,
    DateTime,
    LargeBinary,
    and_,
    case,
    cast,
    column,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    table,
)
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ColumnElement, Select

from .dberrors import describe_error
from .deadline import Deadline
from .errors import ReadError
from .heartbeat import API_BINARIES, ServiceRow, within
from .links import Link, is_sqlite, make_engine
from .nodes import STATUS_NAMES, VARIABLE_NAMES, NodeState
from .policy import BinaryTally
from .selection import ServiceFilter
from .text import safe
from .timestamps import parse_timestamp, utc_now

log = logging.getLogger("nagiosplugin.check_nova_services")

services = table(
    "services",
    *(
        column(name)
        for name in (
            "id",
            "deleted",
            "binary",
            "host",
            "disabled",
            "disabled_reason",
            "forced_down",
            "last_seen_up",
            "created_at",
            "updated_at",
        )
    ),
)


def _utc_now_sql(url: URL):
    if is_sqlite(url):
        return func.strftime("%Y-%m-%d %H:%M:%f", "now")
    return literal_column("UTC_TIMESTAMP(6)")


def read_services(
    url: URL, where: ServiceFilter, deadline: Deadline, with_db_clock: bool = False
) -> tuple[list[ServiceRow], ServerClock | None]:
    """:func:`read_services_on` over a connection of its own."""
    link = Link(url, deadline)
    try:
        rows, clock, _node = read_services_on(link, url, where, with_db_clock)
    finally:
        link.close()
    return rows, clock


def read_services_on(
    link: Link, url: URL, where: ServiceFilter, with_db_clock: bool = False
) -> tuple[list[ServiceRow], ServerClock | None, NodeState | None]:
    """Non-deleted, non-API rows of one cell's services table, the server's clock (always measured
    on MySQL/MariaDB, for the skew; on SQLite only if asked), and the node's state. Rows are not read
    from a node whose state casts doubt on them.

    One SELECT: ``services.*`` lets the same statement serve every schema since
    Icehouse, and the rule tells old from new by the columns that come back.
    """
    stmt: Select = select(literal_column("services.*")).select_from(services).where(*_wanted(where))
    link.use(url)
    conn = link.conn
    try:
        begin_snapshot(conn, url)
        try:
            node = node_state(conn, url)
            if node is not None and node.doubt() is not None:
                return [], None, node
            clock = _server_clock(conn, url) if with_db_clock or not is_sqlite(url) else None
            mappings = [row._mapping for row in conn.execute(stmt)]
            link.answered = True
        finally:
            end_snapshot(conn, url)
    except ReadError:
        raise
    except Exception as exc:  # noqa: BLE001 - the driver raises more than DBAPI errors (option files, TLS files)
        raise ReadError(describe_error(exc, url)) from None
    return [_checked_row(m) for m in mappings], clock, node


def begin_snapshot(conn: Connection, url: URL) -> None:
    """One read-only transaction per cell: its counts and its problem rows come from the same snapshot,
    and behind a proxy (ProxySQL) every statement of it goes to the same backend node as the node's state.
    A server or proxy that refuses the statement is still read, statement by statement."""
    if is_sqlite(url):
        return
    try:
        conn.exec_driver_sql("START TRANSACTION READ ONLY")
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise
        log.debug("START TRANSACTION READ ONLY refused on %s: %s", url.database, describe_error(exc, url))
        conn.rollback()


def end_snapshot(conn: Connection, url: URL) -> None:
    """ROLLBACK, which ends the read-only transaction; its failure must not replace the read's own answer or
    error: the connection is then dropped, and the next cell gets a new one."""
    try:
        conn.rollback()
    except Exception as exc:  # noqa: BLE001 - any failure: the connection is not reused
        log.debug("ROLLBACK failed on %s: %s", url.database, describe_error(exc, url))
        conn.invalidate()


_SHOW_STATUS = f"SHOW GLOBAL STATUS WHERE Variable_name IN ({', '.join(repr(name) for name in STATUS_NAMES)})"
_SHOW_VARIABLES = f"SHOW VARIABLES WHERE Variable_name IN ({', '.join(repr(name) for name in VARIABLE_NAMES)})"


def node_state(conn: Connection, url: URL) -> NodeState | None:
    """The node's Galera and replication state, in the cell's own transaction (no grant needed); None on SQLite.
    A server that does not answer these (a proxy's own filter) is read as it is, and -vvv says so."""
    if is_sqlite(url):
        return None
    try:
        status = {name: value for name, value in conn.exec_driver_sql(_SHOW_STATUS)}
        variables = {name: value for name, value in conn.exec_driver_sql(_SHOW_VARIABLES)}
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise
        log.debug("node state of %s not read: %s", url.database, describe_error(exc, url))
        return NodeState()
    return NodeState.of(status, variables)


def _exact(col):
    """Byte-exact comparisons, as Nova's Python does: MySQL's default collations ignore case and trailing spaces."""
    return cast(col, LargeBinary)


def _wanted(where: ServiceFilter) -> list:
    """Non-deleted rows that are not the API's (a NULL binary is kept: it is a row to report)."""
    s = services.c
    api = [name.encode() for name in API_BINARIES]
    clauses = [s.deleted == 0, or_(s.binary.is_(None), _exact(s.binary).not_in(api))]
    if where.hosts:
        clauses.append(_exact(s.host).in_([h.encode("utf-8", "surrogateescape") for h in where.hosts]))
    if where.binaries:
        clauses.append(_exact(s.binary).in_([b.encode("utf-8", "surrogateescape") for b in where.binaries]))
    return clauses


#: Heartbeats outside these bounds are not dates the rule can read (MySQL's zero date, garbage text in SQLite).
_READABLE = (dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31, 23, 59, 59, 999999))


@dataclass(frozen=True)
class TallyQuery:
    """The policy, as the database applies it to one cell's table."""

    where: ServiceFilter
    down_time: float
    age_warning: float | None
    count_disabled: bool
    problem_limit: int
    #: A fixed "now"; None: the database server's own UTC clock.
    now: dt.datetime | None = None
    #: Heartbeats further in the future than this are counted as ``ahead`` (Policy.ahead_after).
    ahead_after: float | None = None


@dataclass(frozen=True)
class ServerClock:
    """A database server's UTC clock, and how far it is from this host's (seconds; + ahead, - behind)."""

    now: dt.datetime
    #: None for SQLite: the file is read with this host's own clock.
    skew: float | None


def _server_clock(conn, url: URL) -> ServerClock:
    """The server's UTC_TIMESTAMP(6) against this host's clock at the middle of the round trip."""
    before = utc_now()
    stamp = _as_datetime(conn.execute(select(_utc_now_sql(url))).scalar())
    after = utc_now()
    if stamp is None:
        raise ReadError("the database server did not tell its time")
    if is_sqlite(url):
        return ServerClock(stamp, None)
    return ServerClock(stamp, round((stamp - (before + (after - before) / 2)).total_seconds(), 3))


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


def read_counts(url: URL, query: TallyQuery, deadline: Deadline) -> CellCounts:
    """:func:`read_counts_on` over a connection of its own."""
    link = Link(url, deadline)
    try:
        return read_counts_on(link, url, query)
    finally:
        link.close()


def read_counts_on(link: Link, url: URL, query: TallyQuery) -> CellCounts:
    """Nova's rule and the plugin's policy applied by the database: one row per binary, whatever the
    number of services, and the first ``problem_limit`` problem rows in :attr:`Assessed.problem_key` order,
    in one read-only snapshot with the node's own state (a node that casts doubt is not counted).

    The rule in SQL is heartbeat.judge's interval form (:func:`heartbeat.within`): bounds are computed
    here to the microsecond and bound as parameters, so no date arithmetic happens in the database.
    """
    link.use(url)
    conn = link.conn
    try:
        begin_snapshot(conn, url)
        try:
            node = node_state(conn, url)
            if node is not None and node.doubt() is not None:
                return CellCounts({}, [], query.now, node=node)
            columns = set(conn.execute(select(literal_column("*")).select_from(services).limit(0)).keys())
            clock = _server_clock(conn, url) if query.now is None or not is_sqlite(url) else None
            now = query.now if query.now is not None else clock.now if clock else None
            assert now is not None
            rule = _RuleSql(columns, now, query)
            shape = (frozenset(columns), now, query)
            groups = _execute(conn, ("aggregate", *shape), rule.aggregate).all()
            problems = [row._mapping for row in _execute(conn, ("problems", *shape), rule.problems)]
            ahead = None
            if query.ahead_after is not None and any(row[list(rule.atoms).index("ahead") + 1] for row in groups):
                ahead = conn.execute(rule.furthest_ahead()).first()
            link.answered = True
        finally:
            end_snapshot(conn, url)
    except ReadError:
        raise
    except Exception as exc:  # noqa: BLE001 - the driver raises more than DBAPI errors (option files, TLS files)
        raise ReadError(describe_error(exc, url)) from None
    tallies: dict[str, BinaryTally] = {}
    names = list(rule.atoms)
    newest: list[dt.datetime] = []
    for binary, *flags, count, oldest, latest in groups:
        name = _text(binary)
        atoms = {atom: bool(flag) for atom, flag in zip(names, flags)}
        tally = _group_tally(name, atoms, int(count), oldest, latest, now, query.count_disabled)
        tallies[name] = tallies[name].plus(tally) if name in tallies else tally  # NULL and '' are both ""
        stamp = _as_datetime(latest) if atoms["readable"] and not atoms["defect"] else None
        if stamp is not None:
            newest.append(stamp)
    furthest = None if ahead is None else _checked_row(ahead._mapping)
    newest_age = round((now - max(newest)).total_seconds(), 6) if newest else None
    return CellCounts(
        tallies, [_checked_row(m) for m in problems], now, clock.skew if clock else None, furthest, newest_age, node
    )


#: Statements compiled for one server flavour, shared by every cell of the run: each cell has an engine of
#: its own (its own URL), so SQLAlchemy's per-engine cache would compile the same statement once per cell.
_COMPILED: dict[tuple, tuple[str, Any]] = {}
_COMPILED_LIMIT = 64


def _execute(conn, key: tuple, build):
    """``conn.execute(build())``, compiling once per run for all MySQL/MariaDB cells that ask the same thing.

    Only where the driver takes the values as they are (PyMySQL: no bind processors for our types);
    SQLite's datetimes need SQLAlchemy's processing, so SQLite goes the usual way."""
    dialect = conn.dialect
    if dialect.driver != "pymysql":
        return conn.execute(build())
    flavour = (dialect.server_version_info, dialect.identifier_preparer.initial_quote, getattr(dialect, "is_mariadb", None))
    entry = _COMPILED.get((flavour, key))
    if entry is None:
        compiled = build().compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
        params = compiled.construct_params()
        values = tuple(params[name] for name in compiled.positiontup or ()) if compiled.positional else params
        entry = (compiled.string, values)
        if len(_COMPILED) >= _COMPILED_LIMIT:
            _COMPILED.clear()
        _COMPILED[(flavour, key)] = entry
    return conn.exec_driver_sql(*entry)


def _distance(now: dt.datetime, *stamps: object) -> float | None:
    """The largest |now - stamp|, as Nova measures a heartbeat's age."""
    ages = []
    for stamp in stamps:
        try:
            moment = _as_datetime(stamp)
        except (TypeError, ValueError, OverflowError):
            return None
        if moment is not None:
            ages.append(abs((now - moment).total_seconds()))
    return round(max(ages), 6) if ages else None


class _RuleSql:
    """heartbeat.judge and policy.assess as SQL over one cell's services table.

    The per-row facts (atoms) are computed once, in a derived table, and the aggregate combines them:
    the same logic written over the raw expressions would make the database evaluate each of them
    many times per row (five times slower on MariaDB)."""

    def __init__(self, columns: set[str], now: dt.datetime, query: TallyQuery):
        s = services.c
        self.query = query
        legacy = "last_seen_up" not in columns
        beat = func.coalesce(s.updated_at, s.created_at) if legacy else func.coalesce(s.last_seen_up, s.created_at)
        earliest, latest = within(now, query.down_time)
        readable = and_(beat.is_not(None), beat >= _stamp(_READABLE[0]), beat <= _stamp(_READABLE[1]))
        disabled = func.coalesce(s.disabled, 0) != 0
        defect = or_(s.host.is_(None), func.length(s.host) == 0, s.binary.is_(None), func.length(s.binary) == 0)
        ahead_bound = now + dt.timedelta(seconds=query.ahead_after or 0)
        late_window: ColumnElement[bool] = false()
        if query.age_warning is not None:
            early, tardy = within(now, query.age_warning)
            late_window = or_(beat < _stamp(early), beat > _stamp(tardy))
        self.atoms: dict[str, ColumnElement] = {
            "defect": defect,
            "unreadable": and_(beat.is_not(None), not_(readable)),
            "readable": readable,
            "forced": false() if legacy else func.coalesce(s.forced_down, 0) != 0,
            "disabled": disabled,
            "auto": and_(
                disabled, _exact(func.substr(func.coalesce(s.disabled_reason, ""), 1, 5)) == literal(b"AUTO:", LargeBinary)
            ),
            "in_window": and_(beat >= _stamp(earliest), beat <= _stamp(latest)),
            "late_window": late_window,
            "ahead": false() if query.ahead_after is None else and_(not_(defect), readable, beat > _stamp(ahead_bound)),
        }
        self.beat = beat
        self.binary = _exact(s.binary)

    def aggregate(self):
        """One row per binary and combination of atoms (a handful): the database evaluates each atom once
        per row, and :func:`policy_logic` combines them per group in Python."""
        flags = [case((cond, 1), else_=0) for cond in self.atoms.values()]
        columns = [self.binary, *flags, func.count(), func.min(self.beat), func.max(self.beat)]
        positions: list = [literal_column(str(n)) for n in range(1, len(flags) + 2)]
        return select(*columns).select_from(services).where(*_wanted(self.query.where)).group_by(*positions)

    def furthest_ahead(self):
        """The row whose heartbeat lies furthest in the future (only asked when the aggregate counted one)."""
        return (
            select(literal_column("services.*"))
            .select_from(services)
            .where(*_wanted(self.query.where), self.atoms["ahead"])
            .order_by(self.beat.desc(), services.c.id)
            .limit(1)
        )

    def problems(self):
        logic = policy_logic(self.atoms.__getitem__, and_, or_, not_, false(), self.query.count_disabled)
        rank = case((logic["down"], 0), (logic["late"], 1), (not_(logic["up"]), 2), else_=3)
        binary_rank = case(
            (self.binary == b"nova-conductor", 0),
            (self.binary == b"nova-scheduler", 1),
            (self.binary == b"nova-compute", 3),
            else_=2,
        )
        return (
            select(literal_column("services.*"))
            .select_from(services)
            .where(*_wanted(self.query.where), logic["problem"])
            .order_by(rank, binary_rank, services.c.id)
            .limit(self.query.problem_limit)
        )


def policy_logic(atom, all_, any_, no, false_, count_disabled: bool) -> dict:
    """policy.assess over the atoms, written once for both uses: SQL (and_, or_, not_) for the problem
    rows, plain booleans for the aggregate's groups."""
    defect, auto = atom("defect"), atom("auto")
    broken = any_(defect, atom("unreadable"))
    quiet = false_ if count_disabled else all_(atom("disabled"), no(auto))  # operator-disabled, not alarmed
    up = all_(no(defect), no(atom("forced")), atom("readable"), atom("in_window"))
    late = all_(up, no(auto), no(quiet), atom("late_window"))
    down = any_(broken, auto, all_(no(up), no(quiet)))
    return {
        "up": up,
        "down": down,
        "late": late,
        "disabled": atom("disabled"),
        "problem": any_(broken, auto, no(up), quiet, late),
        "watched": all_(no(quiet), no(defect), atom("readable")),
    }


def _group_tally(name: str, atoms: dict[str, bool], count: int, oldest, newest, now: dt.datetime, count_disabled: bool):
    logic = policy_logic(atoms.__getitem__, lambda *x: all(x), lambda *x: any(x), lambda x: not x, False, count_disabled)
    return BinaryTally(
        name,
        total=count,
        up=count * logic["up"],
        down=count * logic["down"],
        late=count * logic["late"],
        disabled=count * logic["disabled"],
        ahead=count * atoms["ahead"],
        problems=count * logic["problem"],
        max_age=_distance(now, oldest, newest) if logic["watched"] else None,
    )


def _stamp(moment: dt.datetime):
    return literal(moment, DateTime())


def _checked_row(m: Mapping) -> ServiceRow:
    """A row the rule can judge; a table without Nova's columns is a ReadError, never a guess."""
    try:
        return row_from_mapping(m)
    except KeyError as exc:
        row_id = safe(str(m.get("id")), 40)
        raise ReadError(f"services row id={row_id} cannot be judged: no column {safe(str(exc.args[0]), 80)}") from None


def row_from_mapping(m: Mapping) -> ServiceRow:
    """A ServiceRow from a ``services.*`` result row of any Nova schema.

    A value that cannot be read spoils only its own row: an unreadable timestamp or a missing
    host or binary is recorded on the row (and judged down), every other row is judged as usual.
    """
    legacy = "last_seen_up" not in m
    unreadable: list[tuple[str, str]] = []

    def stamp(column: str) -> dt.datetime | None:
        value = m.get(column)
        try:
            return _as_datetime(value)
        except (TypeError, ValueError, OverflowError):
            unreadable.append((column, _text(value)))
            return None

    last_seen_up = None if legacy else stamp("last_seen_up")
    created_at, updated_at = stamp("created_at"), stamp("updated_at")
    host, binary = m["host"], m["binary"]
    return ServiceRow(
        id=_row_id(m["id"]),
        host=_text(host),
        binary=_text(binary),
        topic=None if m.get("topic") is None else _text(m["topic"]),
        disabled=bool(m.get("disabled")),
        disabled_reason=None if m.get("disabled_reason") is None else _text(m["disabled_reason"]),
        forced_down=bool(m.get("forced_down")),
        last_seen_up=last_seen_up,
        created_at=created_at,
        updated_at=updated_at,
        uuid=None if m.get("uuid") is None else _text(m["uuid"]),
        legacy_schema=legacy,
        unreadable=tuple(unreadable),
        defect=_missing("host", host) or _missing("binary", binary),
    )


def _missing(column: str, value: object) -> str | None:
    if value is None:
        return f"{column} NULL"
    return f"{column} empty" if _text(value) == "" else None


def _row_id(value: object) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 0


def _text(value: object) -> str:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    return "" if value is None else str(value)


def _as_datetime(value: object) -> dt.datetime | None:
    """MySQL hands back datetimes; SQLite hands back text in Nova's format."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return parse_timestamp(_text(value))


cell_mappings = table(
    "cell_mappings", column("id"), column("uuid"), column("name"), column("database_connection"), column("disabled")
)
aggregate_hosts = table("aggregate_hosts", column("host"), column("aggregate_id"))
aggregate_metadata = table("aggregate_metadata", column("aggregate_id"), column("key"), column("value"))


@dataclass(frozen=True)
class CellMappingRow:
    uuid: str
    name: str | None
    database_connection: str = field(repr=False)
    disabled: bool


@dataclass(frozen=True)
class ApiDatabase:
    """What the API database gave: every cell mapping, and each host's availability zones.

    ``zones`` is None when the aggregate tables could not be read (``zones_problem`` says why):
    the verdict does not need them, only the zone names do."""

    mappings: list[CellMappingRow]
    zones: dict[str, set[str]] | None
    zones_problem: str | None = None


def read_api_database(url: URL, deadline: Deadline, with_zones: bool) -> ApiDatabase:
    """Every cell mapping (cell0 and disabled cells included, as Nova's API lists them), in id order,
    and the availability zones of each host from the aggregates' ``availability_zone`` metadata."""
    mappings_stmt = select(
        cell_mappings.c.uuid, cell_mappings.c.name, cell_mappings.c.database_connection, cell_mappings.c.disabled
    ).order_by(cell_mappings.c.id)
    zones_stmt = (
        select(aggregate_hosts.c.host, aggregate_metadata.c.value)
        .select_from(aggregate_hosts)
        .join(aggregate_metadata, aggregate_hosts.c.aggregate_id == aggregate_metadata.c.aggregate_id)
        .where(aggregate_metadata.c.key == "availability_zone")
    )
    engine = make_engine(url, deadline)
    zones: dict[str, set[str]] | None = None
    zones_problem = None
    try:
        with engine.connect() as conn:
            mappings = [
                CellMappingRow(_text(uuid), None if name is None else _text(name), _text(conn_url), bool(disabled))
                for uuid, name, conn_url, disabled in conn.execute(mappings_stmt)
            ]
            if with_zones:
                try:
                    zones = {}
                    for host, zone in conn.execute(zones_stmt):
                        zones.setdefault(_text(host), set()).add(_text(zone))
                except DBAPIError as exc:
                    if exc.connection_invalidated:  # the server went away: not a matter of grants
                        raise
                    zones, zones_problem = None, describe_error(exc, url)
                    conn.rollback()
    except Exception as exc:  # noqa: BLE001 - the driver raises more than DBAPI errors (option files, TLS files)
        raise ReadError(describe_error(exc, url)) from None
    finally:
        engine.dispose()
    return ApiDatabase(mappings, zones, zones_problem)

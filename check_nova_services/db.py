"""SQLAlchemy Core access to Nova databases: read-only, bounded in time, one query per cell."""

from __future__ import annotations

import configparser
import datetime as dt
import math
import os
import re
import sqlite3
import threading
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    DateTime,
    Engine,
    LargeBinary,
    and_,
    case,
    cast,
    column,
    create_engine,
    event,
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
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import NullPool
from sqlalchemy.sql import ColumnElement, Select

from .deadline import Deadline
from .errors import ReadError
from .heartbeat import API_BINARIES, ServiceRow, within
from .policy import BinaryTally
from .redaction import redact
from .selection import ServiceFilter
from .text import safe
from .timestamps import parse_timestamp, utc_now
from .urls import is_secret_option, option_file

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


#: URL query options that name files the driver reads: checked before connecting, so that a
#: typo says which file, instead of PyMySQL's bare "[Errno 2]" or silently ignoring an option file.
FILE_OPTIONS = ("read_default_file", "ssl_ca", "ssl_cert", "ssl_key", "ssl_capath")


def is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def make_engine(url: URL, deadline: Deadline) -> Engine:
    """An engine with no pool, connect/read timeouts bounded by the deadline, and read-only sessions.

    MySQL/MariaDB sessions are READ ONLY and carry a server-side time limit, so that a statement
    the check gave up on (a table locked by a migration, an overloaded server) is cancelled by the
    server instead of holding a connection after the check has exited.
    """
    seconds = deadline.for_connection()
    if is_sqlite(url):
        return _sqlite_engine(url, seconds)
    _check_files(url)
    connect_args: dict[str, object] = {}
    if url.get_backend_name() == "mysql":
        # PyMySQL's read_timeout also bounds the handshake of a server that never answers.
        connect_args = {"connect_timeout": seconds, "read_timeout": seconds, "write_timeout": seconds}
    try:
        engine = create_engine(url, poolclass=NullPool, connect_args=connect_args)
    except Exception as exc:  # noqa: BLE001 - e.g. a URL option the dialect cannot convert
        raise ReadError(describe_error(exc, url)) from None
    if url.get_backend_name() == "mysql":
        statement_limit = round(0.8 * seconds, 3)

        def on_connect(dbapi_connection, _record) -> None:
            _mysql_session(dbapi_connection, statement_limit)

        event.listen(engine, "connect", on_connect)
        event.listen(engine, "do_connect", _pymysql_sharing_tls_defaults)
    return engine


def _pymysql_sharing_tls_defaults(dialect, _record, cargs, cparams):
    """PyMySQL (1.2) gives every connection without TLS options a fresh "preferred" TLS context, and
    loading the system's CA store for it costs about 20 ms of CPU: a 20-cell run spent a third of its
    time there. Every such connection of the run now shares the first one's context, built by PyMySQL
    itself with the same settings; connections with TLS options are untouched."""
    if dialect.driver != "pymysql":
        return None
    return _shared_tls_connection_class()(*cargs, **cparams)


_SHARED_TLS: dict[str, object] = {}
_SHARED_TLS_LOCK = threading.Lock()


def _shared_tls_connection_class():
    connection_class = _SHARED_TLS.get("class")
    if connection_class is None:
        import pymysql.connections

        class SharedTlsDefaults(pymysql.connections.Connection):
            def _create_ssl_ctx(self, sslp):
                if sslp:  # the URL asked for TLS in its own way
                    return super()._create_ssl_ctx(sslp)
                with _SHARED_TLS_LOCK:
                    if "context" not in _SHARED_TLS:
                        _SHARED_TLS["context"] = super()._create_ssl_ctx(sslp)
                    return _SHARED_TLS["context"]

        connection_class = _SHARED_TLS.setdefault("class", SharedTlsDefaults)
    return connection_class


def _mysql_session(dbapi_connection, statement_limit: float) -> None:
    """Every transaction of the session is READ ONLY (the check never writes), and no statement
    outlives the check: MariaDB's max_statement_time, MySQL's max_execution_time, lock_wait_timeout."""
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET SESSION TRANSACTION READ ONLY")
        server = str(getattr(dbapi_connection, "get_server_info", lambda: "")() or "")
        lock_wait = max(1, math.ceil(statement_limit))
        if "mariadb" in server.lower():
            limit = f"max_statement_time = {statement_limit:.3f}"
        else:
            limit = f"max_execution_time = {max(1, int(statement_limit * 1000))}"
        try:
            cursor.execute(f"SET SESSION {limit}, lock_wait_timeout = {lock_wait}")
        except Exception:  # noqa: BLE001 - a server too old for these variables is still read, unbounded
            pass


def _check_files(url: URL) -> None:
    """Files named in the URL's query must be readable by the monitoring user."""
    for option in FILE_OPTIONS:
        value = url.query.get(option)
        for path in (value,) if isinstance(value, str) else (value or ()):
            full = os.path.expanduser(path)
            if option == "ssl_capath":
                readable = os.path.isdir(full) and os.access(full, os.R_OK | os.X_OK)
                problem = None if readable else "not a readable directory"
            else:
                try:
                    with open(full, "rb"):
                        problem = None
                except OSError as exc:
                    problem = exc.strerror or type(exc).__name__
            if problem:
                raise ReadError(f"{option} {path}: {problem}")


def _sqlite_engine(url: URL, timeout: float) -> Engine:
    path = url.database or ""
    if path in ("", ":memory:"):
        raise ReadError("an SQLite URL needs a file: sqlite:///path/to/nova.sqlite")
    if not os.path.exists(path):
        raise ReadError(f"no SQLite database file {path}")
    # mode=ro: a typo must not create an empty database, and nothing can be written.
    uri = "file:" + urllib.parse.quote(os.path.abspath(path)) + "?mode=ro"

    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(uri, uri=True, timeout=timeout, check_same_thread=False)
        # Text that is not UTF-8 must not blind the check to the whole cell: decode what can be.
        conn.text_factory = _decode_text
        return conn

    return create_engine("sqlite://", poolclass=NullPool, creator=connect)


def _decode_text(value: bytes) -> str:
    return value.decode("utf-8", errors="replace")


def _utc_now_sql(url: URL):
    if is_sqlite(url):
        return func.strftime("%Y-%m-%d %H:%M:%f", "now")
    return literal_column("UTC_TIMESTAMP(6)")


def read_services(
    url: URL, where: ServiceFilter, deadline: Deadline, with_db_clock: bool = False
) -> tuple[list[ServiceRow], ServerClock | None]:
    """Non-deleted, non-API rows of one cell's services table, and the server's clock (always measured
    on MySQL/MariaDB, for the skew; on SQLite only if asked).

    One SELECT: ``services.*`` lets the same statement serve every schema since
    Icehouse, and the rule tells old from new by the columns that come back.
    """
    stmt: Select = select(literal_column("services.*")).select_from(services).where(*_wanted(where))
    engine = make_engine(url, deadline)
    try:
        with engine.connect() as conn:
            clock = _server_clock(conn, url) if with_db_clock or not is_sqlite(url) else None
            mappings = [row._mapping for row in conn.execute(stmt)]
    except Exception as exc:  # noqa: BLE001 - the driver raises more than DBAPI errors (option files, TLS files)
        raise ReadError(describe_error(exc, url)) from None
    finally:
        engine.dispose()
    return [_checked_row(m) for m in mappings], clock


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
    now: dt.datetime
    #: The server's clock against this host's (None on SQLite).
    skew: float | None = None
    #: The service whose heartbeat lies furthest in the future beyond ``ahead_after``, if any.
    furthest_ahead: ServiceRow | None = None


def read_counts(url: URL, query: TallyQuery, deadline: Deadline) -> CellCounts:
    """Nova's rule and the plugin's policy applied by the database: one row per binary, whatever the
    number of services, and the first ``problem_limit`` problem rows in :attr:`Assessed.problem_key` order.

    The rule in SQL is heartbeat.judge's interval form (:func:`heartbeat.within`): bounds are computed
    here to the microsecond and bound as parameters, so no date arithmetic happens in the database.
    """
    engine = make_engine(url, deadline)
    try:
        with engine.connect() as conn:
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
    except Exception as exc:  # noqa: BLE001 - the driver raises more than DBAPI errors (option files, TLS files)
        raise ReadError(describe_error(exc, url)) from None
    finally:
        engine.dispose()
    tallies: dict[str, BinaryTally] = {}
    names = list(rule.atoms)
    for binary, *flags, count, oldest, newest in groups:
        name = _text(binary)
        atoms = {atom: bool(flag) for atom, flag in zip(names, flags)}
        tally = _group_tally(name, atoms, int(count), oldest, newest, now, query.count_disabled)
        tallies[name] = tallies[name].plus(tally) if name in tallies else tally  # NULL and '' are both ""
    furthest = None if ahead is None else _checked_row(ahead._mapping)
    return CellCounts(tallies, [_checked_row(m) for m in problems], now, clock.skew if clock else None, furthest)


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


#: MySQL/MariaDB error codes worth a word of explanation.
_GALERA_NOT_READY = 1047
_STATEMENT_TIMEOUTS = (1969, 3024)  # MariaDB max_statement_time, MySQL max_execution_time
_CANT_CONNECT = 2003
_CLIENT_GAVE_UP = (2003, 2013)  # can't connect, lost connection: with "timed out", the server was silent
_DNS_FAILURE = re.compile(r"\[Errno (-\d+)\] ([^)]*)")


def describe_error(exc: BaseException, url: URL) -> str:
    """One line for the status output: what failed, where, never the password."""
    if isinstance(exc, DBAPIError):
        reason = _describe_driver_error(exc.orig or exc, url, wrapped=True)
    elif isinstance(exc, SQLAlchemyError):
        reason = _first_line(exc) or type(exc).__name__
    else:
        reason = _describe_driver_error(exc, url, wrapped=False)
    return redact(" ".join(reason.split()), [url.password or "", *_url_secrets(url)])


def _describe_driver_error(orig: BaseException, url: URL, wrapped: bool) -> str:
    args: tuple = getattr(orig, "args", ())
    if len(args) >= 2 and isinstance(args[0], int):  # PyMySQL and mysqlclient: (code, message)
        code, message = args[0], str(args[1])
        dns = _DNS_FAILURE.search(message) if code == _CANT_CONNECT else None
        if code == 1146:
            return _missing_table(message)
        if dns:
            return f"cannot resolve host name {url.host!r}: {dns.group(2)} (error {code})"
        if code == _GALERA_NOT_READY:
            return f"Galera node not ready: {message} (error {code})"
        if code in _STATEMENT_TIMEOUTS:
            return f"too slow, cancelled by the server: {message} (error {code})"
        if code in _CLIENT_GAVE_UP and "timed out" in message:
            return f"no answer in time: {message} (error {code})"
        return f"{message} (error {code})"
    if isinstance(orig, configparser.Error):
        # Only the first line: the next ones quote the file, password included.
        option_file = url.query.get("read_default_file")
        return f"cannot parse the MySQL option file {option_file}: {_first_line(orig) or type(orig).__name__}"
    text = str(orig)
    if "sequence number wrong" in text:  # the peer does not speak the MySQL protocol
        return f"not a MySQL/MariaDB server? ({_first_line(orig)})"
    if "no such table" in text:
        return _missing_table(text)
    if wrapped:  # a DBAPI error without a code, e.g. sqlite3's
        return text or type(orig).__name__
    # Anything else the driver raised while connecting (TLS files, bad URL options...): its type and
    # first line only, as further lines may quote file contents.
    first = _first_line(orig)
    return f"{type(orig).__name__}: {first}" if first else type(orig).__name__


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else ""


def _url_secrets(url: URL) -> list[str]:
    """Passwords a URL brings besides its own: query options named *password*, and those in the
    MySQL option file it names (PyMySQL reads them; the check never sees them otherwise)."""
    found = [
        value
        for key, values in url.query.items()
        if is_secret_option(key)
        for value in ((values,) if isinstance(values, str) else values)
    ]
    password = option_file(url).get("password")
    if password:
        found.append(password)
    return [secret for secret in found if secret]


def _missing_table(message: str) -> str:
    if "cell_mappings" in message:
        return "no cell_mappings table: not a Nova API database"
    if "aggregate" in message:
        return "no aggregate tables: not a Nova API database"
    return "no services table: not a Nova cell database"


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

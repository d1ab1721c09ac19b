"""Nova's services table as SQLAlchemy Core sees it: its columns, the rows a run is about, a row read into
a ServiceRow whatever the schema, and the server's own clock."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Connection,
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
from sqlalchemy.engine import URL, RowMapping
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import Cast, Label
from sqlalchemy.types import Boolean

from check_nova_services.rule.heartbeat import API_BINARIES, ServiceRow
from check_nova_services.rule.patterns import portable_regexp
from check_nova_services.rule.selection import COMPUTE_TOPIC, ServiceFilter, ZoneHosts
from check_nova_services.rule.versions import VERSIONED
from check_nova_services.shared.errors import ReadError
from check_nova_services.shared.text import safe
from check_nova_services.shared.text import text_of as text_of  # re-exported: sources/counts.py imports it from here
from check_nova_services.shared.timestamps import parse_timestamp, utc_now
from check_nova_services.sources.sessions import is_sqlite

if TYPE_CHECKING:
    from sqlalchemy import Row, Select
    from typing_extensions import Unpack

    #: A statement, and a row, of columns of any number and type (SQLAlchemy's generics take one type per column).
    AnySelect = Select[Unpack[tuple[Any, ...]]]
    AnyRow = Row[Unpack[tuple[Any, ...]]]

services = table(
    "services",
    *(
        column(name)
        for name in (
            "id",
            "deleted",
            "topic",
            "binary",
            "host",
            "disabled",
            "disabled_reason",
            "forced_down",
            "last_seen_up",
            "created_at",
            "updated_at",
            "version",
            "uuid",
        )
    ),
)


def utc_now_sql(url: URL) -> ColumnElement[dt.datetime | str]:
    if is_sqlite(url):
        return func.strftime("%Y-%m-%d %H:%M:%f", "now")
    return literal_column("UTC_TIMESTAMP(6)")


def exact(col: ColumnElement[Any]) -> Cast[bytes]:
    """Byte-exact comparisons, as Nova's Python does: MySQL's default collations ignore case and trailing spaces."""
    return cast(col, LargeBinary)


#: The label of :func:`counted_as` in a result row.
COUNTED_AS = "counted_as"


def counted_as() -> Label[str | None]:
    """The Nova binary the database compares a row's binary equal to, as Nova's ``binary IN (...)`` does under the
    column's collation (MySQL/MariaDB: case and trailing spaces ignored; SQLite: exact); NULL for any other."""
    binary = services.c.binary
    return case(*((binary == name, name) for name in VERSIONED), else_=None).label(COUNTED_AS)


class ExcludedBy(ColumnElement[bool]):
    """--exclude applied by the database: a row's BINARY@HOST matches one of the patterns exactly where
    ``re.search`` matches it. MariaDB's REGEXP (PCRE2) gets each pattern as rule.patterns.portable_regexp
    writes it, over a binary-collated UTF-8 text (its default collation ignores case); SQLite's REGEXP is
    SQLAlchemy's, Python's own ``re.search``, and gets the pattern as given. Only asked of those two
    (sessions.Link.regexp_as_python)."""

    inherit_cache = False  # compiled once per run by counts._execute, not by SQLAlchemy's cache
    type = Boolean()

    def __init__(self, patterns: tuple[str, ...]):
        self.patterns = patterns


@compiles(ExcludedBy, "mysql")
def _excluded_by_mariadb(element: ExcludedBy, compiler: SQLCompiler, **kw: Any) -> str:
    subject = "CONVERT(CONCAT(COALESCE(services.`binary`, ''), '@', COALESCE(services.host, '')) USING utf8mb4)"
    tests = []
    for pattern in element.patterns:
        portable = portable_regexp(pattern)
        assert portable is not None, "ReadPlan sends such a pattern to the row path"
        tests.append(f"{subject} COLLATE utf8mb4_bin REGEXP {compiler.process(literal(portable), **kw)}")
    return "(" + " OR ".join(tests) + ")"


@compiles(ExcludedBy, "sqlite")
def _excluded_by_sqlite(element: ExcludedBy, compiler: SQLCompiler, **kw: Any) -> str:
    subject = "(COALESCE(services.\"binary\", '') || '@' || COALESCE(services.host, ''))"
    tests = [f"{subject} REGEXP {compiler.process(literal(pattern), **kw)}" for pattern in element.patterns]
    return "(" + " OR ".join(tests) + ")"


def wanted(where: ServiceFilter) -> list[ColumnElement[bool]]:
    """Non-deleted rows that are not the API's (a NULL binary is kept: it is a row to report)."""
    s = services.c
    api = [name.encode() for name in API_BINARIES]
    clauses = [s.deleted == 0, or_(s.binary.is_(None), exact(s.binary).not_in(api))]
    if where.hosts:
        clauses.append(exact(s.host).in_([h.encode("utf-8", "surrogateescape") for h in where.hosts]))
    if where.binaries:
        clauses.append(exact(s.binary).in_([b.encode("utf-8", "surrogateescape") for b in where.binaries]))
    if where.zones is not None:
        clauses.append(in_zones(where.zones))
    return clauses


def in_zones(zones: ZoneHosts) -> ColumnElement[bool]:
    """ZoneHosts.keeps as SQL: the topic and the host compared exactly, as Nova's Python compares them."""
    s = services.c
    compute = exact(s.topic) == COMPUTE_TOPIC.encode()
    either = []
    if zones.hosts:
        either.append(and_(compute, HostIn(zones.hosts)))
    if zones.default_outside is not None:
        outside = or_(s.host.is_(None), not_(HostIn(zones.default_outside)))
        either.append(and_(compute, outside) if zones.default_outside else compute)
    if zones.internal:
        either.append(or_(s.topic.is_(None), not_(compute)))
    return or_(false(), *either)


class HostIn(ColumnElement[bool]):
    """A row's host, byte for byte, is one of ``hosts`` (not empty): written as hexadecimal literals, once per set
    and run, not as bound values -- the default zone's complement is every aggregated host, 100,000 of them, that
    SQLAlchemy would compile and the driver escape anew for each statement and cell."""

    inherit_cache = False  # compiled once per run by counts._execute, not by SQLAlchemy's cache
    type = Boolean()

    def __init__(self, hosts: frozenset[str]):
        self.hosts = hosts


_HEX_LISTS: dict[frozenset[str], str] = {}


def _hex_list(hosts: frozenset[str]) -> str:
    """Sorted: the same set gives the same text."""
    text = _HEX_LISTS.get(hosts)
    if text is None:
        if len(_HEX_LISTS) > 4:
            _HEX_LISTS.clear()
        text = _HEX_LISTS[hosts] = ", ".join(
            f"X'{h.hex()}'" for h in sorted(h.encode("utf-8", "surrogateescape") for h in hosts)
        )
    return text


@compiles(HostIn)
def _host_in(element: HostIn, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{compiler.process(exact(services.c.host), **kw)} IN ({_hex_list(element.hosts)})"


#: Heartbeats outside these bounds are not dates the rule can read (MySQL's zero date, garbage text in SQLite).
READABLE = (dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31, 23, 59, 59, 999999))


@dataclass(frozen=True)
class ServerClock:
    """A database server's UTC clock, and how far it is from this host's (seconds; + ahead, - behind)."""

    now: dt.datetime
    #: None for SQLite: the file is read with this host's own clock.
    skew: float | None


def server_clock(conn: Connection, url: URL) -> ServerClock:
    """The server's UTC_TIMESTAMP(6) against this host's clock at the middle of the round trip."""
    before = utc_now()
    stamp = as_datetime(conn.execute(select(utc_now_sql(url))).scalar())
    after = utc_now()
    if stamp is None:
        raise ReadError("the database server did not tell its time")
    if is_sqlite(url):
        return ServerClock(stamp, None)
    return ServerClock(stamp, round((stamp - (before + (after - before) / 2)).total_seconds(), 3))


def checked_row(m: RowMapping) -> ServiceRow:
    """A row the rule can judge; a table without Nova's columns is a ReadError, never a guess."""
    try:
        return row_from_mapping(m)
    except KeyError as exc:
        row_id = safe(str(m.get("id")), 40)
        raise ReadError(f"services row id={row_id} cannot be judged: no column {safe(str(exc.args[0]), 80)}") from None


def row_from_mapping(m: RowMapping) -> ServiceRow:
    """A ServiceRow from a ``services.*`` result row of any Nova schema.

    A value that cannot be read spoils only its own row: an unreadable timestamp or a missing
    host or binary is recorded on the row (and judged down), every other row is judged as usual.
    """
    legacy = "last_seen_up" not in m
    unreadable: list[tuple[str, str]] = []

    def stamp(column: str) -> dt.datetime | None:
        value = m.get(column)
        try:
            return as_datetime(value)
        except (TypeError, ValueError, OverflowError):
            unreadable.append((column, text_of(value)))
            return None

    last_seen_up = None if legacy else stamp("last_seen_up")
    created_at, updated_at = stamp("created_at"), stamp("updated_at")
    host, binary = m["host"], m["binary"]
    return ServiceRow(
        id=row_id(m["id"]),
        host=text_of(host),
        binary=text_of(binary),
        topic=None if m.get("topic") is None else text_of(m["topic"]),
        disabled=bool(m.get("disabled")),
        disabled_reason=None if m.get("disabled_reason") is None else text_of(m["disabled_reason"]),
        forced_down=bool(m.get("forced_down")),
        forced_down_unset="forced_down" in m and m["forced_down"] is None,
        counted_as=None if m.get(COUNTED_AS) is None else text_of(m[COUNTED_AS]),
        last_seen_up=last_seen_up,
        created_at=created_at,
        updated_at=updated_at,
        uuid=None if m.get("uuid") is None else text_of(m["uuid"]),
        legacy_schema=legacy,
        unreadable=tuple(unreadable),
        defect=name_defect("host", host) or name_defect("binary", binary),
        version=version_of(m.get("version")),
    )


def version_of(value: object) -> int | None:
    """An Integer column; anything else a driver could hand back (text on SQLite) is read as no version."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number: int = int(value)  # type: ignore[call-overload]  # whatever int() cannot read is caught below
    except (TypeError, ValueError):
        return None
    return number


def name_defect(column: str, value: object) -> str | None:
    if value is None:
        return f"{column} NULL"
    return f"{column} empty" if text_of(value) == "" else None


def row_id(value: object) -> int:
    try:
        number: int = int(value)  # type: ignore[call-overload]  # whatever int() cannot read is caught below
    except (TypeError, ValueError):
        return 0
    return number


def as_datetime(value: object) -> dt.datetime | None:
    """MySQL hands back datetimes; SQLite hands back text in Nova's format."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return parse_timestamp(text_of(value))

"""SQLAlchemy Core access to Nova databases: read-only, bounded in time, one query per cell."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import (
    Engine,
    column,
    create_engine,
    event,
    func,
    literal_column,
    select,
    table,
)
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from .heartbeat import API_BINARIES, ServiceRow

services = table("services", column("deleted"), column("binary"), column("host"))


class DatabaseError(Exception):
    """A database could not be read; the message is one line and holds no password."""


@dataclass(frozen=True)
class ServiceFilter:
    """Filters pushed into the WHERE clause, so a big cloud ships only what is asked for."""

    hosts: tuple[str, ...] = ()
    binaries: tuple[str, ...] = ()


def is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def make_engine(url: URL, timeout: float) -> Engine:
    """An engine with no pool, bounded connect/read timeouts and read-only sessions."""
    if is_sqlite(url):
        return _sqlite_engine(url, timeout)
    connect_args: dict[str, object] = {}
    if url.get_backend_name() == "mysql":
        # PyMySQL's read_timeout also bounds the handshake of a server that never answers.
        seconds = max(0.5, timeout)
        connect_args = {"connect_timeout": seconds, "read_timeout": seconds, "write_timeout": seconds}
    engine = create_engine(url, poolclass=NullPool, connect_args=connect_args)
    if url.get_backend_name() == "mysql":
        event.listen(engine, "connect", _mysql_read_only)
    return engine


def _mysql_read_only(dbapi_connection, _record) -> None:
    """Every transaction of the session is READ ONLY: the check never writes."""
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET SESSION TRANSACTION READ ONLY")


def _sqlite_engine(url: URL, timeout: float) -> Engine:
    path = url.database or ""
    if path in ("", ":memory:"):
        raise DatabaseError("an SQLite URL needs a file: sqlite:///path/to/nova.sqlite")
    if not os.path.exists(path):
        raise DatabaseError(f"no SQLite database file {path}")
    # mode=ro: a typo must not create an empty database, and nothing can be written.
    uri = "file:" + urllib.parse.quote(os.path.abspath(path)) + "?mode=ro"
    return create_engine(
        "sqlite://",
        poolclass=NullPool,
        creator=lambda: sqlite3.connect(uri, uri=True, timeout=timeout, check_same_thread=False),
    )


def _utc_now_sql(url: URL):
    if is_sqlite(url):
        return func.strftime("%Y-%m-%d %H:%M:%f", "now")
    return literal_column("UTC_TIMESTAMP(6)")


def read_services(
    url: URL, where: ServiceFilter, timeout: float, with_db_clock: bool = False
) -> tuple[list[ServiceRow], dt.datetime | None]:
    """Non-deleted, non-API rows of one cell's services table, and the DB's UTC clock if asked.

    One SELECT: ``services.*`` lets the same statement serve every schema since
    Icehouse, and the rule tells old from new by the columns that come back.
    """
    stmt = select(literal_column("services.*")).select_from(services).where(
        services.c.deleted == 0, services.c.binary.not_in(API_BINARIES)
    )
    if where.hosts:
        stmt = stmt.where(services.c.host.in_(where.hosts))
    if where.binaries:
        stmt = stmt.where(services.c.binary.in_(where.binaries))
    if with_db_clock:
        stmt = stmt.add_columns(_utc_now_sql(url).label("db_utc_now"))
    engine = make_engine(url, timeout)
    try:
        with engine.connect() as conn:
            result = conn.execute(stmt)
            mappings = [row._mapping for row in result]
            db_now = None
            if with_db_clock:
                db_now = _as_datetime(
                    mappings[0]["db_utc_now"] if mappings else conn.execute(select(_utc_now_sql(url))).scalar()
                )
    except SQLAlchemyError as exc:
        raise DatabaseError(describe_error(exc, url)) from None
    finally:
        engine.dispose()
    return [row_from_mapping(m) for m in mappings], db_now


def row_from_mapping(m: Mapping) -> ServiceRow:
    """A ServiceRow from a ``services.*`` result row of any Nova schema."""
    legacy = "last_seen_up" not in m
    return ServiceRow(
        id=int(m["id"]),
        host=_text(m["host"]),
        binary=_text(m["binary"]),
        topic=None if m.get("topic") is None else _text(m["topic"]),
        disabled=bool(m.get("disabled")),
        disabled_reason=None if m.get("disabled_reason") is None else _text(m["disabled_reason"]),
        forced_down=bool(m.get("forced_down")),
        last_seen_up=None if legacy else _as_datetime(m["last_seen_up"]),
        created_at=_as_datetime(m.get("created_at")),
        updated_at=_as_datetime(m.get("updated_at")),
        uuid=None if m.get("uuid") is None else _text(m["uuid"]),
        legacy_schema=legacy,
    )


def _text(value: object) -> str:
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    return "" if value is None else str(value)


def _as_datetime(value: object) -> dt.datetime | None:
    """MySQL hands back datetimes; SQLite hands back text in Nova's format."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(_text(value)).replace(tzinfo=None)


def describe_error(exc: SQLAlchemyError, url: URL, secrets: Iterable[str] = ()) -> str:
    """One line for the status output: what failed, where, never the password."""
    orig = exc.orig if isinstance(exc, DBAPIError) else None
    if orig is not None and len(getattr(orig, "args", ())) >= 2 and isinstance(orig.args[0], int):
        code, message = orig.args[0], str(orig.args[1])
        reason = f"{message} (error {code})"
        if code == 1146:
            reason = _missing_table(message)
    elif orig is not None:
        reason = str(orig) or type(orig).__name__
        if "no such table" in reason:
            reason = _missing_table(reason)
    else:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return redact(" ".join(reason.split()), [url.password or "", *secrets])


def _missing_table(message: str) -> str:
    if "cell_mappings" in message:
        return "no cell_mappings table: not a Nova API database"
    if "aggregate" in message:
        return "no aggregate tables: not a Nova API database"
    return "no services table: not a Nova cell database"


def redact(text: str, secrets: Iterable[str]) -> str:
    """Mask every secret that might have slipped into a message."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
            quoted = urllib.parse.quote(secret, safe="")
            if quoted != secret:
                text = text.replace(quoted, "***")
    return text


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


def read_api_database(url: URL, timeout: float, with_zones: bool) -> tuple[list[CellMappingRow], dict[str, set[str]]]:
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
    engine = make_engine(url, timeout)
    zones: dict[str, set[str]] = {}
    try:
        with engine.connect() as conn:
            mappings = [
                CellMappingRow(_text(uuid), None if name is None else _text(name), _text(conn_url), bool(disabled))
                for uuid, name, conn_url, disabled in conn.execute(mappings_stmt)
            ]
            if with_zones:
                for host, zone in conn.execute(zones_stmt):
                    zones.setdefault(_text(host), set()).add(_text(zone))
    except SQLAlchemyError as exc:
        raise DatabaseError(describe_error(exc, url)) from None
    finally:
        engine.dispose()
    return mappings, zones

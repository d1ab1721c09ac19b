"""The API database: every cell mapping, and each host's availability zones."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import (
    Connection,
    Executable,
    LargeBinary,
    cast,
    column,
    select,
    table,
)
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from check_nova_services.readings import MappedHosts
from check_nova_services.shared.deadline import Deadline
from check_nova_services.shared.errors import ReadError
from check_nova_services.shared.text import text_of
from check_nova_services.sources.db_errors import describe_error
from check_nova_services.sources.sessions import make_engine

cell_mappings = table(
    "cell_mappings", column("id"), column("uuid"), column("name"), column("database_connection"), column("disabled")
)


aggregate_hosts = table("aggregate_hosts", column("host"), column("aggregate_id"))


aggregate_metadata = table("aggregate_metadata", column("aggregate_id"), column("key"), column("value"))


aggregates = table("aggregates", column("id"), column("name"))


host_mappings = table("host_mappings", column("cell_id"), column("host"))


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
    zones: dict[str, frozenset[str]] | None
    zones_problem: str | None = None
    #: Every zone an aggregate's availability_zone names, hosts or not (None: zones unknown).
    zone_names: frozenset[str] | None = None
    #: host_mappings: each cell's compute hosts by cell uuid (None: unreadable, ``pools_problem`` says why), for the
    #: computes of a cell that cannot be read (Nova's API lists them so since microversion 2.69).
    mapped_hosts: dict[str, MappedHosts] | None = None
    #: The aggregates named in --aggregate-warning/--aggregate-critical that exist, with their hosts (None: unreadable).
    aggregate_hosts: dict[str, frozenset[str]] | None = field(default_factory=dict)
    #: Why host_mappings or the named aggregates could not be read (optional grants, like the aggregate tables).
    pools_problem: str | None = None


def read_api_database(url: URL, deadline: Deadline, aggregate_names: tuple[str, ...] = ()) -> ApiDatabase:
    """Every cell mapping (cell0 and disabled cells included, as Nova's API lists them), in id order; every aggregated
    host's availability zones from the aggregates' ``availability_zone`` metadata, and every zone named; each cell's
    mapped compute hosts (host_mappings) and the hosts of the aggregates ``aggregate_names`` names, for capacity.

    The zones, host_mappings and aggregates are optional grants: one that cannot be read is said (``zones_problem``,
    ``pools_problem``), the cells are read all the same."""
    mappings_stmt = select(
        cell_mappings.c.uuid, cell_mappings.c.name, cell_mappings.c.database_connection, cell_mappings.c.disabled
    ).order_by(cell_mappings.c.id)
    engine = make_engine(url, deadline)
    try:
        with engine.connect() as conn:
            mappings = [
                CellMappingRow(text_of(uuid), None if name is None else text_of(name), text_of(conn_url), bool(disabled))
                for uuid, name, conn_url, disabled in conn.execute(mappings_stmt)
            ]
            read_zones, zones_problem = _optional(conn, url, _read_zones)
            mapped, mapped_problem = _optional(conn, url, _mapped_hosts)
            named, named_problem = _optional(conn, url, lambda c: _aggregate_hosts(c, aggregate_names))
    except Exception as exc:  # noqa: BLE001 - the driver raises more than DBAPI errors (option files, TLS files)
        raise ReadError(describe_error(exc, url)) from None
    finally:
        engine.dispose()
    zones, zone_names = read_zones or (None, None)
    problem = mapped_problem or named_problem
    return ApiDatabase(mappings, zones, zones_problem, zone_names, mapped, named, problem)


_T = TypeVar("_T")


def _optional(conn: Connection, url: URL, read: Callable[[Connection], _T]) -> tuple[_T | None, str | None]:
    """``read(conn)``, or None and why when a grant is missing (the server going away is raised: no grant matter)."""
    try:
        return read(conn), None
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise
        conn.rollback()
        return None, describe_error(exc, url)


def _read_zones(conn: Connection) -> tuple[dict[str, frozenset[str]], frozenset[str]]:
    zones_stmt = (
        select(aggregate_hosts.c.host, aggregate_metadata.c.value)
        .select_from(aggregate_hosts)
        .join(aggregate_metadata, aggregate_hosts.c.aggregate_id == aggregate_metadata.c.aggregate_id)
        .where(aggregate_metadata.c.key == "availability_zone")
    )
    # DISTINCT over the bytes: under MySQL's collation AZ1 and az1 would be one zone; for Nova they are two.
    value = cast(aggregate_metadata.c.value, LargeBinary)
    names_stmt = select(value).where(aggregate_metadata.c.key == "availability_zone").distinct()
    names = frozenset(text_of(name) for (name,) in conn.execute(names_stmt))
    return _zones_of_hosts(conn, zones_stmt), names


def _mapped_hosts(conn: Connection) -> dict[str, MappedHosts]:
    """host_mappings by cell uuid: on MySQL/MariaDB one text per cell, kept whole (only a cell that cannot be read is
    split into its names, readings.mapped_names); rows when a name holds the separator."""
    joined = host_mappings.join(cell_mappings, host_mappings.c.cell_id == cell_mappings.c.id)
    if conn.dialect.name == "mysql":
        joined_texts = _joined(
            conn,
            "SELECT cell_mappings.uuid, COUNT(*), SUM(CHAR_LENGTH(host_mappings.host)), "
            "GROUP_CONCAT(host_mappings.host SEPARATOR '\\n') "
            "FROM host_mappings JOIN cell_mappings ON host_mappings.cell_id = cell_mappings.id "
            "GROUP BY cell_mappings.uuid",
            (),
        )
        if joined_texts is not None:
            return dict(joined_texts)
    by_cell: dict[str, list[str]] = {}
    for uuid, host in conn.execute(select(cell_mappings.c.uuid, host_mappings.c.host).select_from(joined)):
        by_cell.setdefault(text_of(uuid), []).append(text_of(host))
    return {cell: tuple(hosts) for cell, hosts in by_cell.items()}


def _aggregate_hosts(conn: Connection, names: tuple[str, ...]) -> dict[str, frozenset[str]]:
    """The hosts of each aggregate named (compared exactly: MySQL's = ignores case); one that does not exist is absent.
    None named: nothing asked."""
    if not names:
        return {}
    stmt = (
        select(aggregates.c.name, aggregate_hosts.c.host)
        .select_from(aggregates.outerjoin(aggregate_hosts, aggregate_hosts.c.aggregate_id == aggregates.c.id))
        .where(cast(aggregates.c.name, LargeBinary).in_([name.encode() for name in names]))
    )
    hosts: dict[str, set[str]] = {}
    for name, host in conn.execute(stmt):
        members = hosts.setdefault(text_of(name), set())
        if host is not None:
            members.add(text_of(host))
    return {name: frozenset(members) for name, members in hosts.items()}


def _zones_of_hosts(conn: Connection, zones_stmt: Executable) -> dict[str, frozenset[str]]:
    """Each aggregated host's zones; hosts with the same zones share one set (100,000 hosts, a handful of sets)."""
    pairs = _zone_hosts_grouped(conn) if conn.dialect.name == "mysql" else None
    if pairs is None:
        pairs = [(text_of(zone), [text_of(host)]) for host, zone in conn.execute(zones_stmt)]
    zones: dict[str, frozenset[str]] = {}
    shared: dict[frozenset[str], frozenset[str]] = {}
    for zone, hosts in pairs:
        alone = shared.setdefault(frozenset((zone,)), frozenset((zone,)))
        for host in hosts:
            known = zones.get(host)
            zones[host] = alone if known is None or known == alone else shared.setdefault(known | alone, known | alone)
    return zones


#: Between host names in GROUP_CONCAT: a name that holds it is seen by the count and read row by row instead.
_SEPARATOR = "\n"


def _zone_hosts_grouped(conn: Connection) -> list[tuple[str, list[str]]] | None:
    """MySQL/MariaDB: each zone aggregate's hosts as one text (a row per aggregate, not per host: half the time of
    100,000 rows); None when a host name holds the separator or the text was cut."""
    return _grouped(
        conn,
        "SELECT aggregate_metadata.value, COUNT(*), SUM(CHAR_LENGTH(aggregate_hosts.host)), "
        "GROUP_CONCAT(aggregate_hosts.host SEPARATOR '\\n') "
        "FROM aggregate_hosts JOIN aggregate_metadata ON aggregate_hosts.aggregate_id = aggregate_metadata.aggregate_id "
        "WHERE aggregate_metadata.`key` = 'availability_zone' "
        "GROUP BY aggregate_hosts.aggregate_id, aggregate_metadata.value",
        (),
    )


def _grouped(conn: Connection, statement: str, values: tuple[object, ...]) -> list[tuple[str, list[str]]] | None:
    """``statement``'s rows of (key, count of names, their length in characters, the names joined by the separator)
    as (key, names); None when a name holds the separator or the text was cut: then the caller reads rows."""
    texts = _joined(conn, statement, values)
    return None if texts is None else [(key, text.split(_SEPARATOR)) for key, text in texts]


def _joined(conn: Connection, statement: str, values: tuple[object, ...]) -> list[tuple[str, str]] | None:
    """``statement``'s rows as (key, the names joined by the separator), checked whole without splitting them: as many
    separators as names less one, as many characters as the names' and the separators' (group_concat_max_len cuts,
    a name may hold the separator: None, rows are read instead)."""
    conn.exec_driver_sql("SET SESSION group_concat_max_len = 4294967295")
    texts = []
    for key, count, length, joined in conn.exec_driver_sql(statement, values):
        text = text_of(joined)
        if text.count(_SEPARATOR) != count - 1 or len(text) != length + count - 1:
            return None
        texts.append((text_of(key), text))
    return texts

"""The API database: every cell mapping, and each host's availability zones."""

from __future__ import annotations

from dataclasses import dataclass, field

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


@dataclass(frozen=True)
class ZonesWanted:
    """Whose zones a run reads from the API database: a cloud of 100,000 aggregated hosts pays for their map
    (about 0.1 s and 15 MiB) only where the output needs it."""

    #: Some output names each service's zone (-v, the list): every aggregated host's zones are read.
    shown: bool = True
    #: --zone's zones: without ``shown``, only their hosts are read -- all aggregated hosts when the default zone is
    #: one of them (its computes are those outside every zone).
    selected: tuple[str, ...] = ()
    default_zone: str = "nova"

    @property
    def to_read(self) -> tuple[str, ...] | None:
        """None: every zone; (): none, the tables only asked for (their grants checked); else these zones."""
        if self.shown or self.default_zone in self.selected:
            return None
        return self.selected


#: Every aggregated host's zones.
EVERY_ZONE = ZonesWanted()


def read_api_database(url: URL, deadline: Deadline, wanted: ZonesWanted = EVERY_ZONE) -> ApiDatabase:
    """Every cell mapping (cell0 and disabled cells included, as Nova's API lists them), in id order,
    and the availability zones of the hosts ``wanted`` from the aggregates' ``availability_zone`` metadata.

    When no zone is wanted (a check with no -v, --zone or list) the zones are only asked for, not read (``zones``
    None): whether they can be read is still said ("zones unknown")."""
    mappings_stmt = select(
        cell_mappings.c.uuid, cell_mappings.c.name, cell_mappings.c.database_connection, cell_mappings.c.disabled
    ).order_by(cell_mappings.c.id)
    only = wanted.to_read
    zones_stmt = (
        select(aggregate_hosts.c.host, aggregate_metadata.c.value)
        .select_from(aggregate_hosts)
        .join(aggregate_metadata, aggregate_hosts.c.aggregate_id == aggregate_metadata.c.aggregate_id)
        .where(aggregate_metadata.c.key == "availability_zone")
    )
    if only:  # compared exactly, as ZoneHosts.of compares them (MySQL's = ignores case and trailing spaces)
        zones_stmt = zones_stmt.where(cast(aggregate_metadata.c.value, LargeBinary).in_([z.encode() for z in only]))
    engine = make_engine(url, deadline)
    zones: dict[str, frozenset[str]] | None = None
    zones_problem = None
    try:
        with engine.connect() as conn:
            mappings = [
                CellMappingRow(text_of(uuid), None if name is None else text_of(name), text_of(conn_url), bool(disabled))
                for uuid, name, conn_url, disabled in conn.execute(mappings_stmt)
            ]
            try:
                if only != ():
                    zones = _zones_of_hosts(conn, zones_stmt, only)
                else:  # asked with LIMIT 0: the grants are checked, nothing is read
                    conn.execute(zones_stmt.limit(0)).all()
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


def _zones_of_hosts(conn: Connection, zones_stmt: Executable, only: tuple[str, ...] | None) -> dict[str, frozenset[str]]:
    """Each aggregated host's zones (of ``only`` these zones, if given); hosts with the same zones share one set
    (100,000 hosts, a handful of sets)."""
    pairs = _zone_hosts_grouped(conn, only) if conn.dialect.name == "mysql" else None
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


def _zone_hosts_grouped(conn: Connection, only: tuple[str, ...] | None = None) -> list[tuple[str, list[str]]] | None:
    """MySQL/MariaDB: each zone aggregate's hosts as one text (a row per aggregate, not per host: half the time of
    100,000 rows); None when a host name holds the separator or the text was cut (group_concat_max_len), as the
    count of names and their length in characters tell."""
    conn.exec_driver_sql("SET SESSION group_concat_max_len = 4294967295")
    grouped = conn.exec_driver_sql(
        "SELECT aggregate_metadata.value, COUNT(*), SUM(CHAR_LENGTH(aggregate_hosts.host)), "
        "GROUP_CONCAT(aggregate_hosts.host SEPARATOR '\\n') "
        "FROM aggregate_hosts JOIN aggregate_metadata ON aggregate_hosts.aggregate_id = aggregate_metadata.aggregate_id "
        "WHERE aggregate_metadata.`key` = 'availability_zone' "
        + (f"AND CAST(aggregate_metadata.value AS BINARY) IN ({', '.join(['%s'] * len(only))}) " if only else "")
        + "GROUP BY aggregate_hosts.aggregate_id, aggregate_metadata.value",
        tuple(zone.encode() for zone in only or ()),
    )
    pairs = []
    for zone, count, length, hosts in grouped:
        names = text_of(hosts).split(_SEPARATOR)
        if len(names) != count or sum(map(len, names)) != length:
            return None
        pairs.append((text_of(zone), names))
    return pairs

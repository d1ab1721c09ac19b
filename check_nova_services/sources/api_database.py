"""The API database: every cell mapping, and each host's availability zones."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import (
    Connection,
    Executable,
    column,
    select,
    table,
)
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from check_nova_services.shared.deadline import Deadline
from check_nova_services.shared.errors import ReadError
from check_nova_services.sources.db_errors import describe_error
from check_nova_services.sources.services_table import text_of
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
    zones: dict[str, set[str]] | None
    zones_problem: str | None = None


def read_api_database(url: URL, deadline: Deadline, zones_shown: bool = True) -> ApiDatabase:
    """Every cell mapping (cell0 and disabled cells included, as Nova's API lists them), in id order,
    and the availability zones of each host from the aggregates' ``availability_zone`` metadata.

    Without ``zones_shown`` (a check that names no zone: no -v, no --zone, no list) the zones are only asked
    for, not read (``zones`` None): whether they can be read is still said ("zones unknown"), but a cloud of
    100,000 aggregated hosts does not pay their map, about 0.5 s and 45 MiB, on every run."""
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
                CellMappingRow(text_of(uuid), None if name is None else text_of(name), text_of(conn_url), bool(disabled))
                for uuid, name, conn_url, disabled in conn.execute(mappings_stmt)
            ]
            try:
                if zones_shown:
                    zones = _zones_of_hosts(conn, zones_stmt)
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


def _zones_of_hosts(conn: Connection, zones_stmt: Executable) -> dict[str, set[str]]:
    zones: dict[str, set[str]] = {}
    for host, zone in conn.execute(zones_stmt):
        zones.setdefault(text_of(host), set()).add(text_of(zone))
    return zones

"""Build a demo Nova cell database: a small, realistic cloud with heartbeats relative to now.

``check_nova_services_demo`` writes it (SQLite file by default, any SQLAlchemy
URL accepted) so that the real check can be run against it at once; with ``--live`` it then keeps
it alive, heartbeating as Nova does, and plays events (:mod:`check_nova_services.demo.live`).

It is installed beside the plugin, on real controllers, so it never destroys data: every
database it writes gets a marker table (:data:`MARKER`), and it refuses, before touching
anything, a database whose Nova tables it would replace hold rows it did not write
(:class:`Refused`).  Missing, empty and non-Nova databases are written.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid as uuidlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypedDict

from sqlalchemy import Column, DateTime, MetaData, String, Table, create_engine, func, insert, inspect, select, table
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.pool import NullPool

from check_nova_services import __version__
from check_nova_services.demo.schema import api_metadata, cell_metadata
from check_nova_services.shared.timestamps import utc_now
from check_nova_services.sources.urls import show_url

CELL0_UUID = "00000000-0000-0000-0000-000000000000"


DEFAULT_URL = "sqlite:///nova-demo.sqlite"


#: The marker table in every database the demo writes: one row, who wrote it and when.
MARKER = "check_nova_services_demo"


class ServiceRow(TypedDict):
    """A ``services`` row as Nova writes it, column by column: what the demo inserts and the live demo changes."""

    created_at: dt.datetime
    updated_at: dt.datetime | None
    host: str
    binary: str
    topic: str | None
    report_count: int
    disabled: bool
    disabled_reason: str | None
    deleted: int
    last_seen_up: dt.datetime | None
    forced_down: bool
    version: int | None
    uuid: str


class Refused(Exception):
    """The database holds Nova rows the demo did not write: nothing was touched."""


def _marker_metadata() -> MetaData:
    meta = MetaData()
    Table(
        MARKER,
        meta,
        Column("written_by", String(64), nullable=False),
        Column("written_at", DateTime, nullable=False),
    )
    return meta


def _rows(conn: Connection, name: str, schema: str | None) -> int:
    return conn.execute(select(func.count()).select_from(table(name, schema=schema))).scalar_one()


def foreign_rows(conn: Connection, nova_tables: Iterable[str], schema: str | None = None) -> dict[str, int]:
    """Rows in those of ``nova_tables`` that exist (tables or views), unless the demo's marker says
    it wrote the database; ``schema`` names another database on the same server."""
    found = inspect(conn)
    present = set(found.get_table_names(schema=schema)) | set(found.get_view_names(schema=schema))
    if MARKER in present and _rows(conn, MARKER, schema):
        return {}
    counts = {name: _rows(conn, name, schema) for name in sorted(present.intersection(nova_tables))}
    return {name: count for name, count in counts.items() if count}


def _refusal(url: URL | str, counts: dict[str, int]) -> Refused:
    held = ", ".join(f"{name}: {count} row{'' if count == 1 else 's'}" for name, count in counts.items())
    return Refused(
        f"{show_url(make_url(url))} holds Nova data the demo did not write ({held}), "
        "refusing to overwrite it; nothing was changed"
    )


def _guard(conn: Connection, url: URL | str, nova_tables: Iterable[str]) -> None:
    counts = foreign_rows(conn, nova_tables)
    if counts:
        raise _refusal(url, counts)


def _guard_sqlite_file(url: URL, nova_tables: Iterable[str]) -> None:
    """:func:`_guard` for a SQLite file that exists; a missing one is not created by looking."""
    if not url.database or url.database == ":memory:" or not os.path.exists(url.database):
        return
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            _guard(conn, url, nova_tables)
    finally:
        engine.dispose()


def _mark(conn: Connection) -> None:
    marker = _marker_metadata()
    marker.drop_all(conn)
    marker.create_all(conn)
    conn.execute(
        insert(marker.tables[MARKER]), {"written_by": f"check_nova_services_demo {__version__}", "written_at": utc_now()}
    )


def service(
    host: str,
    binary: str,
    now: dt.datetime,
    *,
    age: float | None = 5.0,
    created_age: float = 86400.0 * 30,
    updated_age: float | None = None,
    disabled: bool = False,
    disabled_reason: str | None = None,
    forced_down: bool = False,
    deleted: int = 0,
    topic: str | None = "",
    version: int | None = 74,
) -> ServiceRow:
    """A services row as Nova writes it; ``age`` seconds since last_seen_up (None: never reported); ``version``
    Nova 34's (Hibiscus) by default."""
    last_seen_up = None if age is None else now - dt.timedelta(seconds=age)
    updated_at = last_seen_up if updated_age is None else now - dt.timedelta(seconds=updated_age)
    return {
        "created_at": now - dt.timedelta(seconds=created_age),
        "updated_at": updated_at,
        "host": host,
        "binary": binary,
        "topic": binary.rpartition("nova-")[2] if topic == "" else topic,
        "report_count": 0 if age is None else int(created_age // 10),
        "disabled": disabled,
        "disabled_reason": disabled_reason,
        "deleted": deleted,
        "last_seen_up": last_seen_up,
        "forced_down": forced_down,
        "version": version,
        "uuid": str(uuidlib.uuid4()),
    }


def demo_rows(now: dt.datetime, computes: int = 36) -> list[ServiceRow]:
    """Two controllers and ``computes`` hypervisors, a few of them in trouble."""
    rows = []
    for n, ctl in enumerate(("ctl1", "ctl2"), start=1):
        rows.append(service(ctl, "nova-conductor", now, age=2.0 + n))
        rows.append(service(ctl, "nova-scheduler", now, age=4.0 + n))
        # The WSGI API rows never heartbeat; Nova's API (and this check) leave them out.
        rows.append(service(ctl, "nova-osapi_compute", now, age=None, topic=None))
        rows.append(service(ctl, "nova-metadata", now, age=None, topic=None))
    trouble: dict[int, dict[str, Any]] = {
        7: {"age": 312.0},  # died five minutes ago
        13: {"age": 4.0, "forced_down": True},  # fenced by the operator's HA tooling
        21: {"age": 2 * 86400.0, "disabled": True, "disabled_reason": "maintenance: RAM replacement"},
        29: {"age": 6.0, "disabled": True, "disabled_reason": "AUTO: Connection to libvirt lost: 1"},
        34: {"age": None, "created_age": 600.0},  # new host whose service never reported
    }
    for n in range(1, computes + 1):
        extra = trouble.get(n, {"age": float(n % 9 + 1)})
        rows.append(service(f"cmp{n:03d}", "nova-compute", now, **extra))
    # A decommissioned host, soft-deleted: Nova ignores it, so must the check.
    gone = service("cmp099", "nova-compute", now, age=90 * 86400.0)
    rows.append(gone | {"deleted": 1})
    return rows


def write_cell(url: URL | str, rows: Sequence[ServiceRow], legacy: bool = False) -> None:
    """Create (or replace) the services table at ``url`` and fill it with ``rows``.

    Raises :class:`Refused`, having changed nothing, if a services table there holds rows
    the demo did not write."""
    engine = create_engine(url, poolclass=NullPool)
    meta = cell_metadata(legacy=legacy)
    services = meta.tables["services"]
    values: Sequence[Mapping[str, object]] = rows
    if legacy:
        dropped = {"last_seen_up", "forced_down", "version", "uuid"}
        values = [{k: v for k, v in row.items() if k not in dropped} for row in rows]
    try:
        with engine.begin() as conn:
            _guard(conn, url, meta.tables)
            _mark(conn)
            meta.drop_all(conn)
            meta.create_all(conn)
            if values:
                conn.execute(insert(services), values)
    finally:
        engine.dispose()


def write_api_database(
    url: URL | str,
    cells: list[tuple[str, str, str]],
    zones: dict[str, list[str]] | None = None,
    disabled: tuple[str, ...] = (),
    host_mappings: dict[str, list[str]] | None = None,
    aggregates: dict[str, list[str]] | None = None,
) -> None:
    """Create the API tables at ``url``: cells as (uuid, name, database_connection), one
    aggregate per availability zone holding the listed hosts, each cell's compute hosts
    (``host_mappings``, by cell uuid) and aggregates that are no zone (``aggregates``, by name).

    Raises :class:`Refused`, having changed nothing, if any of those tables there holds rows
    the demo did not write."""
    engine = create_engine(url, poolclass=NullPool)
    meta = api_metadata()
    t = meta.tables
    try:
        with engine.begin() as conn:
            _guard(conn, url, t)
            _mark(conn)
            meta.drop_all(conn)
            meta.create_all(conn)
            for cell_uuid, name, connection in cells:
                conn.execute(
                    insert(t["cell_mappings"]),
                    {
                        "uuid": cell_uuid,
                        "name": name,
                        "transport_url": "none:///" if cell_uuid == CELL0_UUID else "rabbit://nova:secret@mq:5672/",
                        "database_connection": connection,
                        "disabled": name in disabled,
                    },
                )
            cell_ids = {u: n for n, (u, _, _) in enumerate(cells, start=1)}
            mapped = [{"cell_id": cell_ids[u], "host": h} for u, hosts in (host_mappings or {}).items() for h in hosts]
            if mapped:
                conn.execute(insert(t["host_mappings"]), mapped)
            groups: list[tuple[str, str | None, list[str]]] = [
                (f"agg-{zone}", zone, hosts) for zone, hosts in sorted((zones or {}).items())
            ]
            groups += [(name, None, hosts) for name, hosts in sorted((aggregates or {}).items())]
            for number, (name, zone, hosts) in enumerate(groups, start=1):
                conn.execute(insert(t["aggregates"]), {"id": number, "uuid": str(uuidlib.uuid4()), "name": name})
                if zone is not None:
                    conn.execute(
                        insert(t["aggregate_metadata"]), {"aggregate_id": number, "key": "availability_zone", "value": zone}
                    )
                if hosts:
                    conn.execute(insert(t["aggregate_hosts"]), [{"aggregate_id": number, "host": h} for h in hosts])
    finally:
        engine.dispose()


def sibling_url(url: URL, suffix: str) -> URL:
    """The database next to ``url``: nova-demo.sqlite -> nova-demo-api.sqlite, nova -> nova_api."""
    if url.get_backend_name() == "sqlite":
        stem, dot, ext = (url.database or "nova-demo.sqlite").rpartition(".")
        return url.set(database=f"{stem}-{suffix}.{ext}" if dot else f"{ext}-{suffix}")
    return url.set(database=f"{url.database or 'nova'}_{suffix}")


def write_deployment(url: URL, cells: int, computes: int, now: dt.datetime) -> URL:
    """A multi-cell deployment: an API database, cell0 with the super-conductor and scheduler
    (as DevStack lays it out), and ``cells`` cells sharing the demo's hypervisors and troubles.

    Every one of those databases is looked at before any is created or written: raises
    :class:`Refused`, having changed nothing, if one holds Nova rows the demo did not write."""
    api_tables, cell_tables = list(api_metadata().tables), list(cell_metadata().tables)
    targets = [(sibling_url(url, "api"), api_tables), *((sibling_url(url, f"cell{n}"), cell_tables) for n in range(cells + 1))]
    if url.get_backend_name() == "sqlite":
        for target, nova_tables in targets:
            _guard_sqlite_file(target, nova_tables)
    else:
        # URL.set(database=None) would keep the database: the server itself, whether or not it exists
        server_url = URL.create(url.drivername, url.username, url.password, url.host, url.port, database=None, query=url.query)
        server = create_engine(server_url, poolclass=NullPool)
        try:
            with server.begin() as conn:
                existing = set(inspect(conn).get_schema_names())
                for target, nova_tables in targets:
                    counts = foreign_rows(conn, nova_tables, schema=target.database) if target.database in existing else {}
                    if counts:
                        raise _refusal(target, counts)
                for target, _ in targets:
                    conn.exec_driver_sql(f"CREATE DATABASE IF NOT EXISTS `{target.database}`")
        finally:
            server.dispose()
    rows = demo_rows(now, computes)
    controllers = [r for r in rows if r["binary"] != "nova-compute"]
    hypervisors = [r for r in rows if r["binary"] == "nova-compute"]
    mappings = [(CELL0_UUID, "cell0", sibling_url(url, "cell0"))]
    write_cell(mappings[0][2], controllers)
    mapped: dict[str, list[str]] = {}
    for n in range(1, cells + 1):
        cell_url = sibling_url(url, f"cell{n}")
        conductor = service(f"cell{n}-conductor", "nova-conductor", now, age=3.0)
        write_cell(cell_url, [conductor, *hypervisors[n - 1 :: cells]])
        mappings.append((str(uuidlib.UUID(int=n)), f"cell{n}", cell_url))
        mapped[mappings[-1][0]] = sorted({r["host"] for r in hypervisors[n - 1 :: cells]})
    hosts = sorted(r["host"] for r in hypervisors)
    zones = {"az1": hosts[: len(hosts) // 2], "az2": hosts[len(hosts) // 2 :]}
    api_url = sibling_url(url, "api")
    cells_written = [(u, name, c.render_as_string(hide_password=False)) for u, name, c in mappings]
    write_api_database(api_url, cells_written, zones, host_mappings=mapped)
    return api_url

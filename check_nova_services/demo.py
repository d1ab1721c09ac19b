"""Build a demo Nova cell database: a small, realistic cloud with heartbeats relative to now.

``check_nova_services_demo`` writes it (SQLite file by default, any SQLAlchemy
URL accepted) so that the real check can be run against it at once.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import uuid as uuidlib

from sqlalchemy import create_engine, insert
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from .schema import api_metadata, cell_metadata
from .timestamps import utc_now

CELL0_UUID = "00000000-0000-0000-0000-000000000000"

DEFAULT_URL = "sqlite:///nova-demo.sqlite"


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
) -> dict:
    """A services row as Nova writes it; ``age`` seconds since last_seen_up (None: never reported)."""
    last_seen_up = None if age is None else now - dt.timedelta(seconds=age)
    if updated_age is not None:
        updated_at = now - dt.timedelta(seconds=updated_age)
    else:
        updated_at = last_seen_up
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
        "version": 74,
        "uuid": str(uuidlib.uuid4()),
    }


def demo_rows(now: dt.datetime, computes: int = 36) -> list[dict]:
    """Two controllers and ``computes`` hypervisors, a few of them in trouble."""
    rows = []
    for n, ctl in enumerate(("ctl1", "ctl2"), start=1):
        rows.append(service(ctl, "nova-conductor", now, age=2.0 + n))
        rows.append(service(ctl, "nova-scheduler", now, age=4.0 + n))
        # The WSGI API rows never heartbeat; Nova's API (and this check) leave them out.
        rows.append(service(ctl, "nova-osapi_compute", now, age=None, topic=None))
        rows.append(service(ctl, "nova-metadata", now, age=None, topic=None))
    trouble = {
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


def write_cell(url: URL | str, rows: list[dict], legacy: bool = False) -> None:
    """Create (or replace) the services table at ``url`` and fill it with ``rows``."""
    engine = create_engine(url, poolclass=NullPool)
    meta = cell_metadata(legacy=legacy)
    services = meta.tables["services"]
    if legacy:
        dropped = {"last_seen_up", "forced_down", "version", "uuid"}
        rows = [{k: v for k, v in row.items() if k not in dropped} for row in rows]
    with engine.begin() as conn:
        meta.drop_all(conn)
        meta.create_all(conn)
        if rows:
            conn.execute(insert(services), rows)
    engine.dispose()


def write_api_database(
    url: URL | str,
    cells: list[tuple[str, str, str]],
    zones: dict[str, list[str]] | None = None,
    disabled: tuple[str, ...] = (),
) -> None:
    """Create the API tables at ``url``: cells as (uuid, name, database_connection), and one
    aggregate per availability zone holding the listed hosts."""
    engine = create_engine(url, poolclass=NullPool)
    meta = api_metadata()
    t = meta.tables
    with engine.begin() as conn:
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
        for number, (zone, hosts) in enumerate(sorted((zones or {}).items()), start=1):
            conn.execute(insert(t["aggregates"]), {"id": number, "uuid": str(uuidlib.uuid4()), "name": f"agg-{zone}"})
            conn.execute(insert(t["aggregate_metadata"]), {"aggregate_id": number, "key": "availability_zone", "value": zone})
            for host in hosts:
                conn.execute(insert(t["aggregate_hosts"]), {"aggregate_id": number, "host": host})
    engine.dispose()


def sibling_url(url: URL, suffix: str) -> URL:
    """The database next to ``url``: nova-demo.sqlite -> nova-demo-api.sqlite, nova -> nova_api."""
    if url.get_backend_name() == "sqlite":
        stem, dot, ext = (url.database or "nova-demo.sqlite").rpartition(".")
        return url.set(database=f"{stem}-{suffix}.{ext}" if dot else f"{ext}-{suffix}")
    return url.set(database=f"{url.database or 'nova'}_{suffix}")


def write_deployment(url: URL, cells: int, computes: int, now: dt.datetime) -> URL:
    """A multi-cell deployment: an API database, cell0 with the super-conductor and scheduler
    (as DevStack lays it out), and ``cells`` cells sharing the demo's hypervisors and troubles."""
    if url.get_backend_name() != "sqlite":
        server = create_engine(url.set(database=None), poolclass=NullPool)
        with server.begin() as conn:
            for suffix in ["api", *(f"cell{n}" for n in range(cells + 1))]:
                conn.exec_driver_sql(f"CREATE DATABASE IF NOT EXISTS `{sibling_url(url, suffix).database}`")
        server.dispose()
    rows = demo_rows(now, computes)
    controllers = [r for r in rows if r["binary"] != "nova-compute"]
    hypervisors = [r for r in rows if r["binary"] == "nova-compute"]
    mappings = [(CELL0_UUID, "cell0", sibling_url(url, "cell0"))]
    write_cell(mappings[0][2], controllers)
    for n in range(1, cells + 1):
        cell_url = sibling_url(url, f"cell{n}")
        conductor = service(f"cell{n}-conductor", "nova-conductor", now, age=3.0)
        write_cell(cell_url, [conductor, *hypervisors[n - 1 :: cells]])
        mappings.append((str(uuidlib.UUID(int=n)), f"cell{n}", cell_url))
    hosts = sorted(r["host"] for r in hypervisors)
    zones = {"az1": hosts[: len(hosts) // 2], "az2": hosts[len(hosts) // 2 :]}
    api_url = sibling_url(url, "api")
    write_api_database(api_url, [(u, name, c.render_as_string(hide_password=False)) for u, name, c in mappings], zones)
    return api_url


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="check_nova_services_demo",
        description="Write a demo Nova cell database (services table) with heartbeats relative to now, "
        "or with --cells a whole multi-cell deployment: API database, cell0 and the cells.",
    )
    parser.add_argument("--db-url", default=DEFAULT_URL, help=f"where to write it (default {DEFAULT_URL})")
    parser.add_argument("--computes", type=int, default=36, help="number of nova-compute hosts (default 36)")
    parser.add_argument(
        "--cells",
        type=int,
        default=0,
        help="write an API database and this many cells besides cell0, next to --db-url "
        "(nova-demo-api.sqlite, nova-demo-cell0.sqlite, ...; on a server: nova_api, nova_cell0, ...)",
    )
    args = parser.parse_args(argv)
    url = make_url(args.db_url)
    now = utc_now()
    if args.cells > 0:
        api_url = write_deployment(url, args.cells, args.computes, now)
        shown = api_url.render_as_string(hide_password=True)
        print(
            f"wrote an API database and {args.cells + 1} cells; check them all with: check_nova_services --api-db-url {shown}"
        )
        sys.exit(0)
    rows = demo_rows(now, args.computes)
    write_cell(url, rows)
    print(f"wrote {len(rows)} service rows to {url.render_as_string(hide_password=True)}")
    sys.exit(0)


if __name__ == "__main__":
    main()

"""The demo writer is installed beside the plugin on production controllers: it must never destroy data.

A database whose Nova tables (those the demo would replace) hold rows the demo did not write is
refused, before anything is dropped or created; databases the demo wrote (its marker table says
so), missing, empty and non-Nova ones are written.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from check_nova_services import __version__
from check_nova_services.demo.schema import api_metadata, cell_metadata
from check_nova_services.demo.writer import MARKER, Refused, write_api_database, write_cell
from tests.conftest import Run, clean_env

REFUSED = (
    "check_nova_services_demo: {url} holds Nova data the demo did not write ({held}), "
    "refusing to overwrite it; nothing was changed\n"
)

#: A services table as Nova's initial migration creates it (MariaDB), and one of its rows.
NOVA_SERVICES_DDL = (
    "CREATE TABLE services (created_at DATETIME, updated_at DATETIME, deleted_at DATETIME, "
    "id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, host VARCHAR(255), `binary` VARCHAR(255), topic VARCHAR(255), "
    "report_count INT NOT NULL, disabled TINYINT(1), deleted INT, disabled_reason VARCHAR(255), "
    "last_seen_up DATETIME, forced_down TINYINT(1), version INT, uuid VARCHAR(36), "
    "UNIQUE KEY uniq_services0host0binary0deleted (host, `binary`, deleted)) ENGINE=InnoDB DEFAULT CHARSET=utf8"
)
NOVA_SERVICE_ROW = (
    "INSERT INTO services (created_at, updated_at, host, `binary`, topic, report_count, disabled, deleted, "
    "last_seen_up, forced_down, version, uuid) VALUES ('2025-03-01 08:00:00', '2026-11-26 11:59:58', "
    "'compute-17.prod', 'nova-compute', 'compute', 812345, 0, 0, '2026-11-26 11:59:58', 0, 66, "
    "'3b7c3d4e-5f60-4a1b-9c2d-7e8f9a0b1c2d')"
)
NOVA_CELL_MAPPING = (
    "INSERT INTO cell_mappings (created_at, uuid, name, transport_url, database_connection, disabled) VALUES "
    "('2025-03-01 08:00:00', '8a1f0c2e-4b3d-4e5f-9a6b-7c8d9e0f1a2b', 'cell1', 'rabbit://nova:Prod@mq:5672/', "
    "'mysql+pymysql://nova:Prod@db/nova', 0)"
)


def demo(*args: str) -> Run:
    proc = subprocess.run(
        [sys.executable, "-m", "check_nova_services.demo", *args],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=120,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def cells_line(api: URL) -> str:
    return f"wrote an API database and 3 cells; check them all with: check_nova_services --api-db-url {shown(api)}\n"


def create_tables(url: URL | str, metadata) -> None:
    engine = create_engine(url, poolclass=NullPool)
    metadata.create_all(engine)
    engine.dispose()


# --- MariaDB -----------------------------------------------------------------------------------


def databases(mariadb, prefix: str) -> list[str]:
    return sorted(row[0] for row in mariadb.execute("SHOW DATABASES") if row[0].startswith(prefix))


def drop_databases(mariadb, prefix: str) -> None:
    for name in databases(mariadb, prefix):
        mariadb.execute(f"DROP DATABASE `{name}`")


def test_mariadb_nova_cell_database_is_refused_and_untouched(mariadb):
    url = mariadb.create_database("demo_safety_nova")
    mariadb.execute(NOVA_SERVICES_DDL, NOVA_SERVICE_ROW, database="demo_safety_nova")
    before = mariadb.execute("SELECT * FROM services", database="demo_safety_nova")
    run = demo("--db-url", url.render_as_string(hide_password=False))
    assert run == Run(1, "", REFUSED.format(url=shown(url), held="services: 1 row"))
    assert mariadb.execute("SELECT * FROM services", database="demo_safety_nova") == before
    assert mariadb.execute("SHOW TABLES", database="demo_safety_nova") == [("services",)]
    with pytest.raises(Refused, match=r"\(services: 1 row\), refusing to overwrite it"):
        write_cell(url, [])
    assert mariadb.execute("SELECT * FROM services", database="demo_safety_nova") == before


def test_mariadb_nova_api_database_refuses_the_whole_deployment_before_creating_anything(mariadb):
    drop_databases(mariadb, "demo_safety_dep")
    base = mariadb.url("demo_safety_dep")
    api = mariadb.create_database("demo_safety_dep_api")
    create_tables(api, api_metadata())
    mariadb.execute(NOVA_CELL_MAPPING, database="demo_safety_dep_api")
    before = mariadb.execute("SELECT * FROM cell_mappings", database="demo_safety_dep_api")
    run = demo("--db-url", base.render_as_string(hide_password=False), "--cells", "2")
    assert run == Run(1, "", REFUSED.format(url=shown(api), held="cell_mappings: 1 row"))
    assert databases(mariadb, "demo_safety_dep") == ["demo_safety_dep_api"]
    assert mariadb.execute("SELECT * FROM cell_mappings", database="demo_safety_dep_api") == before
    with pytest.raises(Refused, match=r"\(cell_mappings: 1 row\)"):
        write_api_database(api, [])


def test_mariadb_nova_cell_refuses_the_deployment_before_the_api_database_is_created(mariadb):
    drop_databases(mariadb, "demo_safety_late")
    cell2 = mariadb.create_database("demo_safety_late_cell2")
    mariadb.execute(NOVA_SERVICES_DDL, NOVA_SERVICE_ROW, database="demo_safety_late_cell2")
    run = demo("--db-url", mariadb.url("demo_safety_late").render_as_string(hide_password=False), "--cells", "2")
    assert run == Run(1, "", REFUSED.format(url=shown(cell2), held="services: 1 row"))
    assert databases(mariadb, "demo_safety_late") == ["demo_safety_late_cell2"]


def test_mariadb_demo_database_is_rewritten(mariadb):
    url = mariadb.create_database("demo_safety_again")
    written = Run(0, f"wrote 45 service rows to {shown(url)}\n", "")
    assert demo("--db-url", url.render_as_string(hide_password=False)) == written
    # rows changed by hand in the demo's own table do not make it Nova's
    mariadb.execute("UPDATE services SET host = 'renamed' WHERE id = 1", database="demo_safety_again")
    assert demo("--db-url", url.render_as_string(hide_password=False)) == written
    assert mariadb.execute(f"SELECT written_by FROM {MARKER}", database="demo_safety_again") == [
        (f"check_nova_services_demo {__version__}",)
    ]
    assert mariadb.execute("SELECT COUNT(*) FROM services WHERE host = 'renamed'", database="demo_safety_again") == [(0,)]


def test_mariadb_demo_deployment_is_rewritten(mariadb):
    drop_databases(mariadb, "demo_safety_twice")
    base = mariadb.url("demo_safety_twice")
    api = mariadb.url("demo_safety_twice_api")
    for _ in range(2):
        assert demo("--db-url", base.render_as_string(hide_password=False), "--cells", "2") == Run(0, cells_line(api), "")
    assert databases(mariadb, "demo_safety_twice") == [f"demo_safety_twice_{s}" for s in ("api", "cell0", "cell1", "cell2")]
    assert mariadb.execute("SELECT COUNT(*) FROM cell_mappings", database="demo_safety_twice_api") == [(3,)]


def test_mariadb_empty_and_non_nova_databases_are_written(mariadb):
    empty = mariadb.create_database("demo_safety_empty")
    assert demo("--db-url", empty.render_as_string(hide_password=False)) == Run(
        0, f"wrote 45 service rows to {shown(empty)}\n", ""
    )
    # Nova's tables present but empty (a fresh deployment), beside a table that is none of the demo's business
    fresh = mariadb.create_database("demo_safety_fresh")
    mariadb.execute(
        NOVA_SERVICES_DDL, "CREATE TABLE other (id INT)", "INSERT INTO other VALUES (7)", database="demo_safety_fresh"
    )
    assert demo("--db-url", fresh.render_as_string(hide_password=False)) == Run(
        0, f"wrote 45 service rows to {shown(fresh)}\n", ""
    )
    assert mariadb.execute("SELECT * FROM other", database="demo_safety_fresh") == [(7,)]
    assert mariadb.execute("SELECT COUNT(*) FROM services", database="demo_safety_fresh") == [(45,)]


# --- SQLite ------------------------------------------------------------------------------------


def nova_sqlite(path) -> None:
    """A SQLite cell database with one Nova service row, written without the demo."""
    create_tables(f"sqlite:///{path}", cell_metadata())
    with sqlite3.connect(path) as conn:
        conn.execute(NOVA_SERVICE_ROW.replace("`", '"'))
    conn.close()


def test_sqlite_nova_cell_file_is_refused_and_untouched(tmp_path):
    path = tmp_path / "nova.sqlite"
    nova_sqlite(path)
    before = path.read_bytes()
    url = f"sqlite:///{path}"
    assert demo("--db-url", url) == Run(1, "", REFUSED.format(url=url, held="services: 1 row"))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nova.sqlite"]


def test_sqlite_nova_api_file_refuses_the_deployment_and_creates_no_file(tmp_path):
    api = tmp_path / "nova-api.sqlite"
    create_tables(f"sqlite:///{api}", api_metadata())
    with sqlite3.connect(api) as conn:
        conn.execute(NOVA_CELL_MAPPING)
    conn.close()
    before = api.read_bytes()
    run = demo("--db-url", f"sqlite:///{tmp_path}/nova.sqlite", "--cells", "2")
    assert run == Run(1, "", REFUSED.format(url=f"sqlite:///{api}", held="cell_mappings: 1 row"))
    assert api.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nova-api.sqlite"]


def test_sqlite_demo_files_are_rewritten_and_new_or_empty_ones_written(tmp_path):
    url = f"sqlite:///{tmp_path}/demo.sqlite"
    for _ in range(2):
        assert demo("--db-url", url) == Run(0, f"wrote 45 service rows to {url}\n", "")
    (tmp_path / "empty.sqlite").write_bytes(b"")
    empty = f"sqlite:///{tmp_path}/empty.sqlite"
    assert demo("--db-url", empty) == Run(0, f"wrote 45 service rows to {empty}\n", "")
    base = f"sqlite:///{tmp_path}/dep.sqlite"
    api = URL.create("sqlite", database=f"{tmp_path}/dep-api.sqlite")
    for _ in range(2):
        assert demo("--db-url", base, "--cells", "2") == Run(0, cells_line(api), "")
    with sqlite3.connect(tmp_path / "dep-cell1.sqlite") as conn:
        assert conn.execute(f"SELECT COUNT(*) FROM {MARKER}").fetchone() == (1,)
    conn.close()


def test_a_place_the_demo_cannot_write_is_one_line_not_a_traceback(tmp_path):
    missing = f"sqlite:///{tmp_path}/no-such-dir/demo.sqlite"
    run = demo("--db-url", missing)
    assert (run.code, run.stdout) == (1, "")
    assert run.stderr == f"check_nova_services_demo: cannot write {missing}: unable to open database file\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--db-url", "postgresql://nova@db/nova"],
            "--db-url: postgresql is not supported; Nova's databases are read from MySQL/MariaDB (mysql+pymysql://) "
            "or SQLite (sqlite:///)",
        ),
        (["--db-url", "nova.sqlite"], "--db-url is not a database URL (expected e.g. mysql+pymysql://user@host/nova)"),
        (["--computes", "-3"], "argument --computes: invalid whole number from 0 to 100000 value: '-3'"),
        (["--cells", "many"], "argument --cells: invalid whole number from 0 to 200 value: 'many'"),
    ],
)
def test_bad_input_is_one_line_and_nothing_is_written(tmp_path, monkeypatch, args, message):
    """The writer's own input, with the plugin's discipline: one clear line on stderr, exit 2, no file."""
    monkeypatch.chdir(tmp_path)
    run = demo(*args)
    assert (run.code, run.stdout, run.stderr) == (2, "", f"check_nova_services_demo: {message}\n")
    assert list(tmp_path.iterdir()) == []

"""Least privilege and secrets: SELECT on four tables is all the check needs, it never writes, and
its password never shows, wherever it comes from."""

from __future__ import annotations

import os
import re
import sqlite3
import stat
import urllib.parse

import pymysql
import pytest
from sqlalchemy import insert, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError

from check_nova_services.demo.schema import cell_metadata
from check_nova_services.demo.writer import service, write_api_database, write_cell
from check_nova_services.plugin.check import SUMMARY_BUDGET
from check_nova_services.shared.deadline import Deadline
from check_nova_services.shared.redaction import redact
from check_nova_services.sources.db_errors import describe_error
from check_nova_services.sources.sessions import make_engine
from tests.conftest import CLOCK, NOW, clean_env, run_check
from tests.harness.faults import parse_plugin_output, run_in_process, wait_no_connections

PASSWORD = "Pr1v/Secret@x;y'z"  # '/', '@', ';' and a quote: percent-encoded in URLs, quoted in option files
ROWS = [
    service("ctl1", "nova-conductor", NOW, age=3.0),
    service("cmp1", "nova-compute", NOW, age=5.0),
    service("cmp2", "nova-compute", NOW, age=95.0),
]
STATUS = "NOVA_SERVICES WARNING - nova-compute 1/2 down: cmp2 (95s)"


def mysql_url(port: int, database: str, user: str, password: str | None = PASSWORD, **query: str) -> str:
    return URL.create(
        "mysql+pymysql", username=user, password=password, host="127.0.0.1", port=port, database=database, query=query
    ).render_as_string(hide_password=False)


def assert_secret_absent(output: str, secret: str = PASSWORD) -> None:
    for spelling in {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)}:
        assert spelling not in output


@pytest.fixture(scope="module")
def single(mariadb):
    """One cell database and a user with SELECT on its services table and nothing else."""
    write_cell(mariadb.create_database("priv_cell"), ROWS)
    mariadb.execute(
        "DROP USER IF EXISTS 'priv_single'@'%'",
        f"CREATE USER 'priv_single'@'%' IDENTIFIED BY '{PASSWORD.replace(chr(39), chr(39) * 2)}'",
        "GRANT SELECT ON `priv_cell`.`services` TO 'priv_single'@'%'",
    )
    return mariadb


def test_select_on_services_is_all_a_single_database_needs(single):
    assert single.execute("SHOW GRANTS FOR 'priv_single'@'%'")[1:] == [
        ("GRANT SELECT ON `priv_cell`.`services` TO `priv_single`@`%`",)
    ]
    run = run_check("--db-url", mysql_url(single.admin.port, "priv_cell", "priv_single"), CLOCK, "-vv")
    parsed = parse_plugin_output(run.stdout, run.code)
    assert parsed.status_line == STATUS
    assert len(parsed.long_output) == 3
    assert (run.code, run.stderr) == (1, "")
    assert wait_no_connections(single, "priv_single") == []


# --- every cell, SELECT-only, with availability zones: the four grants are needed and enough ----------

CELLS = {"1": "aaaaaaaa-0000-4000-8000-000000000001", "2": "aaaaaaaa-0000-4000-8000-000000000002"}
GRANTS = {
    "cell_mappings": "GRANT SELECT ON `priv_api`.`cell_mappings` TO 'priv_cells'@'%'",
    "aggregate_hosts": "GRANT SELECT ON `priv_api`.`aggregate_hosts` TO 'priv_cells'@'%'",
    "aggregate_metadata": "GRANT SELECT ON `priv_api`.`aggregate_metadata` TO 'priv_cells'@'%'",
    "host_mappings": "GRANT SELECT ON `priv_api`.`host_mappings` TO 'priv_cells'@'%'",
    "aggregates": "GRANT SELECT ON `priv_api`.`aggregates` TO 'priv_cells'@'%'",
    "cell1 services": "GRANT SELECT ON `priv_cell1`.`services` TO 'priv_cells'@'%'",
    "cell2 services": "GRANT SELECT ON `priv_cell2`.`services` TO 'priv_cells'@'%'",
}


@pytest.fixture(scope="module")
def cells(mariadb):
    port = mariadb.admin.port
    api = mariadb.create_database("priv_api").render_as_string(hide_password=False)
    write_cell(mariadb.create_database("priv_cell1"), [service("cmp1", "nova-compute", NOW, age=5.0)])
    write_cell(mariadb.create_database("priv_cell2"), [service("cmp2", "nova-compute", NOW, age=6.0)])
    write_api_database(
        api,
        [(uuid, f"cell{n}", f"mysql+pymysql://nova:NovaOwn-1@127.0.0.1:{port}/priv_cell{n}") for n, uuid in CELLS.items()],
        zones={"az1": ["cmp1"], "az2": ["cmp2"]},
        host_mappings={CELLS["1"]: ["cmp1"], CELLS["2"]: ["cmp2"]},
        aggregates={"gpu": ["cmp2"]},
    )
    return mariadb


def grant_all_but(mariadb, *missing: str | None) -> None:
    mariadb.execute(
        "DROP USER IF EXISTS 'priv_cells'@'%'",
        f"CREATE USER 'priv_cells'@'%' IDENTIFIED BY 'Cells-{PASSWORD.replace(chr(39), chr(39) * 2)}'",
        *(grant for name, grant in GRANTS.items() if name not in missing),
    )


def cells_args(port: int) -> list[str]:
    api = mysql_url(port, "priv_api", "priv_cells", "Cells-" + PASSWORD)
    return ["--api-db-url", api, "--cell-credentials", "api", CLOCK]


def test_the_aggregates_table_is_read_only_for_the_aggregates_named(cells):
    """Every run reads the zones and host_mappings (capacity per zone); the aggregates table only for
    --aggregate-warning/--aggregate-critical, and then only the aggregates named."""
    grant_all_but(cells, None)
    run, _, statements = logged_run(cells, lambda: run_check(*cells_args(cells.admin.port)), "priv_cells")
    assert [s for s in statements if "FROM aggregates " in s] == []
    assert len([s for s in statements if "FROM host_mappings" in s]) == 1
    assert (run.code, run.stderr) == (0, "")
    run, _, statements = logged_run(
        cells, lambda: run_check(*cells_args(cells.admin.port), "--aggregate-critical", "gpu=1:"), "priv_cells"
    )
    assert [s.split("WHERE ")[-1] for s in statements if "FROM aggregates " in s] == [
        "CAST(aggregates.name AS BINARY) IN (X'677075')"  # gpu
    ]
    assert run.status == "NOVA_SERVICES OK - 2 of 2 services up: nova-compute 2/2"
    assert run.perfdata["aggregate_gpu_usable"] == "1;;1:;0;1"


def test_named_aggregates_that_cannot_be_read_are_unknown_never_ok_nor_a_page(cells):
    grant_all_but(cells, "aggregates")
    run = run_check(*cells_args(cells.admin.port), "--aggregate-critical", "gpu=1:", "-v")
    assert run.status == "NOVA_SERVICES UNKNOWN - aggregate gpu: 0 of 0 computes usable, more unknown (needs 1)"
    denied = "SELECT command denied to user 'priv_cells'@'localhost' for table `priv_api`.`aggregates` (error 1142)"
    assert run.lines[1:3] == [
        "capacity: aggregate gpu: 0 of 0 computes usable, more unknown (needs 1)",
        f"note: capacity partly unknown (optional grants: host_mappings, aggregates): {denied}",
    ]
    assert (run.code, run.stderr) == (3, "")


def test_without_host_mappings_a_dark_cells_computes_are_any_number(cells):
    """host_mappings is an optional grant: unread, nothing changes while every cell answers; with a cell dark, its
    computes are unknown in number, said once, and a zone range that they could break is UNKNOWN."""
    grant_all_but(cells, "host_mappings")
    run = run_check(*cells_args(cells.admin.port), "--zone-critical", "1:")
    assert run.status == "NOVA_SERVICES OK - 2 of 2 services up: nova-compute 2/2"
    assert (run.code, run.stderr) == (0, "")
    grant_all_but(cells, "host_mappings", "cell2 services")
    run = run_check(*cells_args(cells.admin.port), "--zone-critical", "1:,az2=2:", "-v")
    assert run.status == (
        f"NOVA_SERVICES UNKNOWN - cell cell2 ({CELLS['2'][:8]}…) unreachable; their computes unknown (host_mappings "
        "unreadable); az2: 0 of 0 computes usable, more unknown (needs 2); nova 0/0 usable (needs 1)"
    )
    denied = "SELECT command denied to user 'priv_cells'@'localhost' for table `priv_api`.`host_mappings` (error 1142)"
    assert run.lines[-2] == f"note: capacity partly unknown (optional grants: host_mappings, aggregates): {denied}"
    assert "az_az2_unknown" not in run.perfdata  # any number: no value to graph
    assert run.perfdata["az_az2_usable"] == "0;;2:;0;0"
    assert run.code == 3
    # in a view of one zone, that zone alone is any number (az2's items are none of its business)
    one = run_check(*cells_args(cells.admin.port), "--zone", "az1", "--zone-critical", "1:")
    assert sorted(name for name in one.perfdata if name.startswith("az_")) == ["az_az1_total", "az_az1_usable"]


def test_select_on_four_tables_is_all_every_cell_needs(cells):
    grant_all_but(cells, None)
    run = run_check(*cells_args(cells.admin.port), "--zone", "az2", "-vv")
    assert run.lines[0] == "NOVA_SERVICES OK - 1 of 1 services up: nova-compute 1/1"
    assert run.lines[1].startswith("up: nova-compute@cmp2 cell=cell2 zone=az2 status=enabled ")
    assert (run.code, run.stderr) == (0, "")
    assert wait_no_connections(cells, "priv_cells") == []


@pytest.mark.parametrize(
    "missing, line",
    [
        (
            "cell_mappings",
            "NOVA_SERVICES UNKNOWN - API database unreachable: SELECT command denied to user "
            "'priv_cells'@'localhost' for table `priv_api`.`cell_mappings` (error 1142)",
        ),
        (
            "cell2 services",
            f"NOVA_SERVICES UNKNOWN - cell cell2 ({CELLS['2']}) unreachable: Access denied for user "
            "'priv_cells'@'%' to database 'priv_cell2' (error 1044); 1 compute (az2 1)",
        ),
    ],
)
def test_each_required_grant_is_needed(cells, missing, line):
    grant_all_but(cells, missing)
    run = run_check(*cells_args(cells.admin.port))
    assert run.status == line
    assert (run.code, run.stderr) == (3, "")


@pytest.mark.parametrize("missing", ["aggregate_hosts", "aggregate_metadata"])
def test_without_the_zone_grants_the_verdict_stands_and_zones_are_unknown(cells, missing):
    grant_all_but(cells, missing)
    run = run_check(*cells_args(cells.admin.port), "-vv")
    denied = f"SELECT command denied to user 'priv_cells'@'localhost' for table `priv_api`.`{missing}` (error 1142)"
    assert run.lines[:4] == [  # the notes after the list of services, as in -v
        "NOVA_SERVICES OK - 2 of 2 services up: nova-compute 2/2; zones unknown",
        "up: nova-compute@cmp1 cell=cell1 status=enabled state=up heartbeat=5s ago "
        "(last_seen_up 2026-11-26 11:59:55) forced_down=no disabled_reason=-",
        "up: nova-compute@cmp2 cell=cell2 status=enabled state=up heartbeat=6s ago "
        "(last_seen_up 2026-11-26 11:59:54) forced_down=no disabled_reason=-",
        f"note: availability zones unknown ({denied}); they need SELECT on the API database's "
        "aggregate_hosts and aggregate_metadata",
    ]
    assert (run.code, run.stderr) == (0, "")
    zone = run_check(*cells_args(cells.admin.port), "--zone", "az1")
    assert zone.stdout == f"NOVA_SERVICES UNKNOWN - --zone cannot be applied, availability zones unknown: {denied}\n"
    assert zone.code == 3


# --- the check never writes ---------------------------------------------------------------------------

WRITES = [
    "INSERT INTO services (host, `binary`, topic, report_count, deleted) VALUES ('evil', 'nova-compute', 'x', 0, 0)",
    "UPDATE services SET forced_down = 1",
    "DELETE FROM services",
    "CREATE TABLE evil (id INT)",
    "DROP TABLE services",
    "ALTER TABLE services ADD COLUMN evil INT",
]


@pytest.mark.parametrize("statement", WRITES, ids=lambda s: s.split(" (")[0][:24])
@pytest.mark.parametrize("autocommit", [False, True], ids=["transaction", "autocommit"])
def test_the_plugins_engine_cannot_write_even_as_root(single, statement, autocommit):
    """The session is READ ONLY whatever the user may do: even root's writes fail through make_engine."""
    url = single.url("priv_cell").update_query_dict({"init_command": "SET SESSION TRANSACTION READ WRITE"})
    engine = make_engine(url, Deadline.after(5))
    try:
        with engine.connect() as conn:
            if autocommit:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            with pytest.raises(OperationalError) as caught:
                conn.execute(text(statement))
                conn.commit()
    finally:
        engine.dispose()
    assert caught.value.orig.args == (1792, "Cannot execute statement in a READ ONLY transaction")
    assert single.execute("SELECT COUNT(*), SUM(forced_down) FROM priv_cell.services") == [(3, 0)]


def test_the_plugins_engine_cannot_write_sqlite(tmp_path):
    path = tmp_path / "ro.sqlite"
    write_cell(f"sqlite:///{path}", ROWS)
    engine = make_engine(URL.create("sqlite", database=str(path)), Deadline.after(5))
    services = cell_metadata().tables["services"]
    try:
        for statement in (insert(services).values(host="evil", binary="x", report_count=0), text("DELETE FROM services")):
            with engine.connect() as conn, pytest.raises(OperationalError, match="attempt to write a readonly database"):
                conn.execute(statement)
                conn.commit()
    finally:
        engine.dispose()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM services").fetchone() == (3,)


def logged_run(server, run, user: str = "priv_single") -> tuple:
    """``run()`` with the server's general log on: its result, ``user``'s connections, and the statements they
    sent, in order."""
    server.execute("SET GLOBAL log_output = 'TABLE'", "TRUNCATE mysql.general_log", "SET GLOBAL general_log = ON")
    try:
        result = run()
    finally:
        server.execute("SET GLOBAL general_log = OFF")
    threads = [
        row[0]
        for row in server.execute(
            f"SELECT thread_id FROM mysql.general_log WHERE command_type = 'Connect' AND argument LIKE '{user}@%'"
        )
    ]
    statements = [
        row[0].decode() if isinstance(row[0], bytes) else row[0]
        for row in server.execute(
            "SELECT argument FROM mysql.general_log WHERE command_type = 'Query' "
            f"AND thread_id IN ({','.join(str(t) for t in threads) or 'NULL'}) ORDER BY event_time"
        )
    ]
    server.execute("TRUNCATE mysql.general_log")
    return result, threads, statements


def test_a_whole_run_sends_only_reads(single):
    """The server's general log of one run: every statement is a SELECT, SET, SHOW, START TRANSACTION READ ONLY
    or ROLLBACK."""
    url = mysql_url(single.admin.port, "priv_cell", "priv_single")
    run, threads, statements = logged_run(single, lambda: run_check("--db-url", url, CLOCK, "-t", "5"))
    assert run.status == STATUS
    assert len(threads) == 1  # one connection per cell, no pool
    # The session, one statement each (a proxy that refuses one cannot stop the read), then one read-only
    # transaction with the node's state and the counts.
    # -t 5 leaves about 4.4 s when connecting: 80 % of it, in whole seconds (ProxySQL pins a decimal one).
    # (What comes before is SQLAlchemy's dialect setup: SET NAMES, SELECT VERSION(), SHOW VARIABLES.)
    start = statements.index("SET SESSION TRANSACTION READ ONLY")
    assert statements[start : start + 4] == [
        "SET SESSION TRANSACTION READ ONLY",
        "SET SESSION max_statement_time = 3",
        "SET SESSION lock_wait_timeout = 4",
        "START TRANSACTION READ ONLY",
    ], statements
    assert statements[start + 4].startswith("SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_state_comment', ")
    assert (
        statements[start + 5]
        == "SHOW VARIABLES WHERE Variable_name IN ('wsrep_on', 'read_only', 'gtid_slave_pos', 'wsrep_cluster_address')"
    )
    assert any("FROM services" in s for s in statements)
    assert statements[-1] == "ROLLBACK"
    verbs = {s.split()[0].upper() for s in statements}
    assert verbs <= {"SELECT", "SET", "SHOW", "START", "ROLLBACK"}, statements


class AsProxySQL:
    """A real MariaDB connection that calls itself MySQL 8.0.11, as ProxySQL does in front of Kolla's MariaDB
    (its own mysql-server_version). ``mangle`` rewrites a statement on its way, as a proxy that cannot parse
    one would: the real server then refuses it."""

    def __init__(self, conn, server: str = "8.0.11", mangle: tuple[str, str] = ("", "")):
        self.conn, self.server, self.mangle = conn, server, mangle

    def get_server_info(self) -> str:
        return self.server

    def cursor(self):
        real, (old, new) = self.conn.cursor(), self.mangle

        class Cursor:
            def close(self):
                real.close()

            def execute(self, statement):
                return real.execute(statement.replace(old, new) if old else statement)

        return Cursor()


def session_values(conn) -> tuple:
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT @@session.tx_read_only, @@session.max_statement_time, @@session.lock_wait_timeout, "
            "@@global.lock_wait_timeout"
        )
        return cursor.fetchone()


def test_a_refused_session_statement_is_survived_and_the_others_apply(mariadb):
    from check_nova_services.sources.session_limits import session_setup

    with mariadb.connect() as conn:
        mangled = AsProxySQL(conn, server=conn.get_server_info(), mangle=("lock_wait_timeout", "lock_wait_timeout_x"))
        refused = session_setup(mangled, 2.5)
        settings = session_values(conn)
    assert refused == ["'SET SESSION lock_wait_timeout = 3' refused (1193): the read goes on without it"]
    read_only, statement_time, lock_wait, server_default = settings
    assert (read_only, statement_time, lock_wait) == (1, 2.0, server_default)  # the lock wait left as it was


def test_a_server_that_says_mysql_gets_no_session_time_limit_for_proxysql_to_replay(mariadb):
    """ProxySQL replays a session max_execution_time to its MariaDB backend, which refuses it in place of the
    next statement: a server that does not say MariaDB gets none (its limit rides in each SELECT)."""
    from check_nova_services.sources.session_limits import session_setup

    with mariadb.connect() as conn:
        refused = session_setup(AsProxySQL(conn), 2.5)
        settings = session_values(conn)
    assert refused == []
    assert settings[:3] == (1, 0.0, 3)


def test_behind_a_proxy_that_says_mysql_each_select_carries_the_limit(single, monkeypatch):
    """The whole run with the handshake's version as ProxySQL gives it: the same verdict, no session
    max_execution_time, and MySQL's MAX_EXECUTION_TIME hint in every SELECT. MariaDB 10.11 reads the hint as a
    comment: this shows what is sent, not that it limits anything."""
    import pymysql.connections

    monkeypatch.setattr(pymysql.connections.Connection, "get_server_info", lambda self: "8.0.11")
    url = mysql_url(single.admin.port, "priv_cell", "priv_single")
    run, _, statements = logged_run(single, lambda: run_in_process("--db-url", url, CLOCK, "-t", "5"))
    assert (run.code, run.stdout.split(" | ")[0], run.stderr) == (1, STATUS, "")
    sets = [s for s in statements if s.startswith("SET SESSION")]
    assert sets == ["SET SESSION TRANSACTION READ ONLY", "SET SESSION lock_wait_timeout = 4"]
    # Past SQLAlchemy's dialect setup (SELECT VERSION(), DATABASE(), @@variables), every SELECT carries the hint:
    # -t 5 leaves about 4.5 s when connecting, 80 % of it in milliseconds.
    setup = {"SELECT VERSION()", "SELECT DATABASE()", "SELECT @@tx_isolation", "SELECT @@sql_mode"}
    selects = [s for s in statements if s.upper().startswith("SELECT") and s not in setup and "@@lower_case" not in s]
    assert any("FROM services" in s for s in selects)
    limits = {re.match(r"SELECT /\*\+ MAX_EXECUTION_TIME\((\d+)\) \*/ ", s) for s in selects}
    assert None not in limits, selects
    assert all(3000 <= int(match.group(1)) <= 4000 for match in limits), selects


# --- the password: from a file, the environment or a MySQL option file; never in any output -------------


def nova_conf(tmp_path, connection: str):
    conf = tmp_path / "nova.conf"
    conf.write_text(f"[database]\nconnection = {connection}\n")
    conf.chmod(0o600)
    assert stat.S_IMODE(os.stat(conf).st_mode) == 0o600
    return conf


def option_file(tmp_path, body: str):
    path = tmp_path / "monitor.cnf"
    path.write_text(body)
    path.chmod(0o600)
    return path


def sources(tmp_path, port: int, database: str) -> dict[str, tuple[list[str], dict[str, str]]]:
    """The four places the password can come from: (arguments, environment)."""
    with_password = mysql_url(port, database, "priv_single")
    without = mysql_url(port, database, "priv_single", password=None)
    cnf = option_file(tmp_path, f'[client]\nuser = priv_single\npassword = "{PASSWORD}"\n')
    from_option_file = URL.create(
        "mysql+pymysql", host="127.0.0.1", port=port, database=database, query={"read_default_file": str(cnf)}
    ).render_as_string()
    return {
        "config-file": (["--config-file", str(nova_conf(tmp_path, with_password))], {}),
        "env-url": ([], {"NOVA_SERVICES_DB_URL": with_password}),
        "env-password": (["--db-url", without], {"NOVA_SERVICES_DB_PASSWORD": PASSWORD}),
        "option-file": (["--db-url", from_option_file], {}),
    }


SOURCES = ["config-file", "env-url", "env-password", "option-file"]


@pytest.mark.parametrize("source", SOURCES)
def test_password_sources_work(single, tmp_path, source):
    args, env = sources(tmp_path, single.admin.port, "priv_cell")[source]
    assert all(PASSWORD not in arg for arg in args)  # never on the command line
    run = run_check(*args, CLOCK, "-vvv", env=clean_env(**env))
    assert run.status == STATUS
    assert (run.code, run.stderr) == (1, "")
    assert_secret_absent(run.stdout)


@pytest.mark.parametrize("source", SOURCES)
def test_password_never_shows_in_errors(single, tmp_path, source):
    """The same credentials on a database the user may not read: the error names the user, not the password."""
    args, env = sources(tmp_path, single.admin.port, "priv_other")[source]
    run = run_check(*args, CLOCK, "-vvv", env=clean_env(**env))
    assert run.lines[0] == (
        "NOVA_SERVICES UNKNOWN - database priv_other unreachable: Access denied for user 'priv_single'@'%' "
        "to database 'priv_other' (error 1044)"
    )
    assert (run.code, run.stderr) == (3, "")
    assert_secret_absent(run.stdout)


def test_malformed_option_file_does_not_leak_its_password(single, tmp_path):
    """PyMySQL's parser quotes the offending line, password and all: only its first line may be shown."""
    cnf = option_file(tmp_path, f"password={PASSWORD}\n[client]\nuser=priv_single\n")
    url = URL.create(
        "mysql+pymysql", host="127.0.0.1", port=single.admin.port, database="priv_cell", query={"read_default_file": str(cnf)}
    ).render_as_string()
    run = run_check("--db-url", url, CLOCK, "-vvv")
    reason = f"cannot parse the MySQL option file {cnf}: File contains no section headers."
    # the status line cuts the reason to its budget at a word (the last space falls in its last words)
    room = SUMMARY_BUDGET - len("database priv_cell unreachable: ")
    cut = reason[: room - 1]
    shown = reason if len(reason) <= room else cut[: cut.rfind(" ")].rstrip(" ,:;(") + "…"
    assert run.lines[:2] == [
        f"NOVA_SERVICES UNKNOWN - database priv_cell unreachable: {shown}",
        f"unreachable: database priv_cell: {reason}",
    ]
    assert (run.code, run.stderr) == (3, "")
    assert_secret_absent(run.stdout)


def test_option_file_that_cannot_be_read(single, tmp_path):
    """PyMySQL silently ignores an option file it cannot read; the check says which file."""
    missing = tmp_path / "missing.cnf"
    url = URL.create(
        "mysql+pymysql",
        host="127.0.0.1",
        port=single.admin.port,
        database="priv_cell",
        query={"read_default_file": str(missing)},
    ).render_as_string()
    run = run_check("--db-url", url, CLOCK)
    assert run.status == (
        f"NOVA_SERVICES UNKNOWN - database priv_cell unreachable: read_default_file {missing}: No such file or directory"
    )
    assert run.code == 3


def test_tls_key_password_never_shows_at_debug_level(single):
    url = mysql_url(single.admin.port, "priv_other", "priv_single", ssl_key_password="Key-" + PASSWORD)
    run = run_check("--db-url", url, CLOCK, "-vvv")
    assert run.code == 3
    assert_secret_absent(run.stdout, "Key-" + PASSWORD)


def test_redaction_masks_secrets_but_not_words_that_contain_a_short_one():
    long_secret = "Pr1v/Secret@x"
    assert redact(f"a {long_secret} b {urllib.parse.quote(long_secret, safe='')} c", [long_secret]) == "a *** b *** c"
    assert redact("host 'nova-db.example.invalid', password p: p", ["p"]) == (
        "host 'nova-db.example.invalid', password ***: ***"
    )
    refused = OperationalError(
        "SELECT 1",
        {},
        pymysql.err.OperationalError(
            2003, "Can't connect to MySQL server on 'db.example.invalid' ([Errno -2] Name or service not known)"
        ),
    )
    assert describe_error(refused, URL.create("mysql+pymysql", username="u", password="p", host="db.example.invalid")) == (
        "cannot resolve host name 'db.example.invalid': Name or service not known (error 2003)"
    )

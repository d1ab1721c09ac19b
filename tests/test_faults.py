"""Faults: every way a database can fail the check, against the real MariaDB the suite controls.

For each fault the check must give a non-zero exit code and one exact reason, end within ``-t``
plus one second, print nothing on stderr and no traceback, never show the password, and leave
nothing behind: no process and no session on the server (``SHOW PROCESSLIST``).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.parse

import pytest
from sqlalchemy.engine import URL

from check_nova_services.demo.writer import service, write_api_database, write_cell
from tests.conftest import CLOCK, NOW, Run, clean_env, free_port, run_check
from tests.harness.faults import (
    READ_ONLY,
    WSREP_NOT_READY,
    FakeMySQL,
    PrivateMariaDB,
    parse_plugin_output,
    processes_with,
    wait_for_query,
    wait_no_connections,
)

USER = "fault_mon"
PASSWORD = "F4ult/Pass@word;1"  # '/', '@' and ';' travel percent-encoded inside URLs
DB = "faults_cell"
ROWS = [
    service("ctl1", "nova-conductor", NOW, age=3.0),
    service("cmp1", "nova-compute", NOW, age=5.0),
    service("cmp2", "nova-compute", NOW, age=7.0),
]
ONE_CELL_PERF = "| cells_total=1;;;0 cells_unreachable=1;;;0;1"


@pytest.fixture(scope="module")
def cell(mariadb):
    """A healthy cell database, and a monitoring user with SELECT on its services table only."""
    write_cell(mariadb.create_database(DB), ROWS)
    mariadb.execute(
        f"DROP USER IF EXISTS '{USER}'@'%'",
        f"CREATE USER '{USER}'@'%' IDENTIFIED BY '{PASSWORD}'",
        f"GRANT SELECT ON `{DB}`.`services` TO '{USER}'@'%'",
    )
    return mariadb


@pytest.fixture(autouse=True)
def nothing_left_on_the_server(mariadb):
    """After every fault: no session of the check's users, authenticated or not, is left on the server."""
    yield
    for user in (USER, "fault_nosel", ThreeCells.user, "unauthenticated user"):
        assert wait_no_connections(mariadb, user) == []


def url(port: int, database: str = DB, host: str = "127.0.0.1", user: str = USER, password: str = PASSWORD) -> str:
    return URL.create(
        "mysql+pymysql", username=user, password=password, host=host, port=port, database=database
    ).render_as_string(hide_password=False)


def spellings(secret: str) -> set[str]:
    return {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)}


def run_fault(*args: str, timeout: float, env: dict[str, str] | None = None, token: str = "") -> Run:
    """Run the check at -vvv (the most output there is) and assert what holds for every fault."""
    started = time.monotonic()
    run = run_check(*args, CLOCK, "-t", f"{timeout:g}", "-vvv", env=env, timeout=timeout + 30)
    elapsed = time.monotonic() - started
    assert elapsed < timeout + 1, f"took {elapsed:.2f}s with -t {timeout:g}"
    assert run.stderr == ""
    assert "Traceback" not in run.stdout
    assert run.code in (1, 2, 3), run.code
    for spelling in spellings(PASSWORD):
        assert spelling not in run.stdout
    parse_plugin_output(run.stdout, run.code)
    if token:
        assert processes_with(token) == []
    return run


def essential(run: Run) -> list[str]:
    """Status line, first long-output line and perfdata line; -vvv debug lines (between them) vary."""
    return run.lines[:2] + run.lines[-1:] if len(run.lines) > 3 else run.lines


def unreachable(reason: str, name: str = DB) -> list[str]:
    return [
        f"NOVA_SERVICES UNKNOWN - database {name} unreachable: {reason}",
        f"unreachable: database {name}: {reason}",
        ONE_CELL_PERF,
    ]


def assert_no_answer(run: Run, timeout: float, name: str = "nova") -> None:
    """A wedged peer: the reason names the -t the check was given."""
    assert run.lines[0] == f"NOVA_SERVICES UNKNOWN - database {name} unreachable: no answer within the {timeout:g}s timeout"
    assert run.lines[1] == f"unreachable: database {name}: no answer within the {timeout:g}s timeout"
    assert run.lines[-1] == ONE_CELL_PERF
    assert run.code == 3


def test_healthy_cell_is_ok_with_the_monitoring_user(cell):
    """The control for every fault below: same user, same database, no fault."""
    run = run_check("--db-url", url(cell.admin.port), CLOCK)
    assert run.status == "NOVA_SERVICES OK - 3 of 3 services up: nova-conductor 1/1, nova-compute 2/2"
    assert (run.code, run.stderr) == (0, "")
    assert wait_no_connections(cell, USER) == []


def test_connection_refused(cell):
    port = free_port()
    run = run_fault("--db-url", url(port), timeout=3, token=f":{port}/")
    assert essential(run) == unreachable(
        "Can't connect to MySQL server on '127.0.0.1' ([Errno 111] Connection refused) (error 2003)"
    )
    assert run.code == 3


def test_host_name_that_does_not_resolve(cell):
    host = "nova-db.example.invalid"  # RFC 6761: .invalid never resolves
    started = time.monotonic()
    try:
        socket.getaddrinfo(host, 3306, 0, socket.SOCK_STREAM)
        pytest.fail(f"{host} resolved")
    except socket.gaierror as exc:
        reason = exc.strerror
    if time.monotonic() - started > 1:
        pytest.skip("this machine's resolver is slow to answer for .invalid names")
    run = run_fault("--db-url", url(3306, host=host), timeout=3, token=host)
    assert essential(run) == unreachable(f"cannot resolve host name '{host}': {reason} (error 2003)")
    assert run.code == 3


def test_server_that_accepts_tcp_and_never_answers(cell):
    fake = FakeMySQL("silent")
    try:
        run = run_fault("--db-url", fake.url(), timeout=3, token=f":{fake.port}/")
        assert_no_answer(run, timeout=3)
        assert fake.accepted == 1
        assert fake.open_connections == 0  # the check's socket went away with the check
    finally:
        fake.close()


def test_server_that_stalls_after_the_handshake(cell):
    fake = FakeMySQL("stall")
    try:
        run = run_fault("--db-url", fake.url(), timeout=3)
        assert_no_answer(run, timeout=3)
        assert fake.queries  # it got as far as sending queries
        assert fake.open_connections == 0
    finally:
        fake.close()


def test_api_database_that_never_answers(cell):
    fake = FakeMySQL("silent")
    try:
        run = run_fault("--api-db-url", fake.url("nova_api"), timeout=2)
        assert run.lines[0] == (
            "NOVA_SERVICES UNKNOWN - API database unreachable: no answer in time: Lost connection to MySQL server "
            "during query (timed out) (error 2013)"
        )
        assert "|" not in run.stdout
        assert run.code == 3
        assert fake.open_connections == 0
    finally:
        fake.close()


def test_server_gone_in_the_middle_of_the_run(cell):
    """The peer completes the handshake, then closes the connection when the SELECT arrives."""
    fake = FakeMySQL("drop")
    try:
        run = run_fault("--db-url", fake.url(), timeout=3)
        assert essential(run) == unreachable("Lost connection to MySQL server during query (error 2013)", "nova")
        assert run.code == 3
    finally:
        fake.close()


def test_not_a_database_server(cell):
    """Something else listens on the port (here: an HTTP-ish answer)."""
    fake = FakeMySQL("garbage")
    try:
        run = run_fault("--db-url", fake.url(), timeout=3)
        assert essential(run) == unreachable(
            "not a MySQL/MariaDB server? (Packet sequence number wrong - got 80 expected 0)", "nova"
        )
    finally:
        fake.close()


@pytest.fixture
def slow_cell(cell):
    """A cell whose services table answers only after 30 s (a view that sleeps): a query in flight."""
    name = "faults_slow"
    write_cell(cell.create_database(name), ROWS)
    cell.execute(
        "RENAME TABLE services TO services_real",
        "CREATE VIEW services AS SELECT * FROM services_real WHERE SLEEP(30) = 0",
        database=name,
    )
    cell.execute(f"GRANT SELECT ON `{name}`.`services` TO '{USER}'@'%'")
    yield name
    left = wait_no_connections(cell, USER)
    for row in left:  # clean up for the next tests, then fail this one
        cell.execute(f"KILL {row[0]}")
    assert left == []


@pytest.mark.parametrize(
    "kill, reason",
    [
        ("KILL", "Lost connection to MySQL server during query (error 2013)"),
        ("KILL QUERY", "Query execution was interrupted (error 1317)"),
    ],
)
def test_session_killed_while_the_query_runs(cell, slow_cell, kill, reason):
    """The server ends the session (an admin's KILL, a failover) while the check's SELECT is running."""
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "check_nova_services", "--db-url", url(cell.admin.port, slow_cell), CLOCK, "-t", "10", "-vvv"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    try:
        session = wait_for_query(cell, USER, "FROM services")
        cell.execute(f"{kill} {session}")
        stdout, stderr = proc.communicate(timeout=15)
    finally:
        proc.kill()
        proc.wait()
    assert time.monotonic() - started < 10
    assert essential(Run(proc.returncode, stdout, stderr)) == unreachable(reason, slow_cell)
    assert (proc.returncode, stderr) == (3, "")
    assert PASSWORD not in stdout
    assert wait_no_connections(cell, USER) == []


def test_database_server_shut_down_in_the_middle_of_the_run():
    """A MariaDB of this test's own is shut down while the check's SELECT runs; the next run finds it gone."""
    server = PrivateMariaDB()
    try:
        write_cell(server.create_database("cell"), ROWS)
        server.execute(
            "RENAME TABLE services TO services_real",
            "CREATE VIEW services AS SELECT * FROM services_real WHERE SLEEP(30) = 0",
            database="cell",
        )
        server.execute(f"CREATE USER '{USER}'@'%' IDENTIFIED BY '{PASSWORD}'", f"GRANT SELECT ON cell.services TO '{USER}'@'%'")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "check_nova_services",
                "--db-url",
                url(server.admin.port, "cell"),
                CLOCK,
                "-t",
                "10",
                "-vvv",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=clean_env(),
        )
        try:
            wait_for_query(server, USER, "FROM services")
            started = time.monotonic()
            server.execute("SHUTDOWN")
            stdout, stderr = proc.communicate(timeout=15)
        finally:
            proc.kill()
            proc.wait()
        assert time.monotonic() - started < 2
        assert essential(Run(proc.returncode, stdout, stderr)) == unreachable(
            "Lost connection to MySQL server during query (error 2013)", "cell"
        )
        assert (proc.returncode, stderr) == (3, "")
        assert PASSWORD not in stdout
        assert server.process.wait(30) == 0
        after = run_fault("--db-url", url(server.admin.port, "cell"), timeout=3)
        assert essential(after) == unreachable(
            "Can't connect to MySQL server on '127.0.0.1' ([Errno 111] Connection refused) (error 2003)", "cell"
        )
    finally:
        server.stop()


def test_slow_query_is_cancelled_by_the_server_not_left_running(cell, slow_cell):
    """The check gives up on a query: the server must not keep running it for the next 30 s."""
    run = run_fault("--db-url", url(cell.admin.port, slow_cell), timeout=4)
    assert essential(run) == unreachable(
        "too slow, cancelled by the server: Query execution was interrupted (max_statement_time exceeded) (error 1969)",
        slow_cell,
    )
    assert wait_no_connections(cell, USER, within=1.0) == []


def test_table_locked_by_a_migration(cell):
    """A schema migration holds a lock on services: the check's query waits; it is cancelled in time and
    its session is gone while the lock is still held (checks every minute must not pile up)."""
    with cell.connect(DB) as admin, admin.cursor() as cursor:
        cursor.execute("LOCK TABLES services WRITE")
        try:
            run = run_fault("--db-url", url(cell.admin.port), timeout=4)
            left = wait_no_connections(cell, USER, within=1.0)
        finally:
            cursor.execute("UNLOCK TABLES")
    assert essential(run) == unreachable(
        "too slow, cancelled by the server: Query execution was interrupted (max_statement_time exceeded) (error 1969)"
    )
    assert left == []


def test_wrong_password(cell):
    run = run_fault("--db-url", url(cell.admin.port, password="Not-" + PASSWORD), timeout=3)
    assert essential(run) == unreachable(
        f"Access denied for user '{USER}'@'localhost' (using password: YES) (error 1045): "
        "wrong user or password, or REQUIRE SSL (no TLS here)"
    )
    assert "Not-" not in run.stdout
    assert wait_no_connections(cell, USER) == []


def test_user_without_select_on_services(cell):
    name = "faults_nogrant"
    write_cell(cell.create_database(name), ROWS)
    cell.execute(
        "DROP USER IF EXISTS 'fault_nosel'@'%'",
        f"CREATE USER 'fault_nosel'@'%' IDENTIFIED BY '{PASSWORD}'",
        # Some access to the database, none to services: the connection works, the SELECT does not.
        f"CREATE TABLE `{name}`.other (id INT)",
        f"GRANT SELECT ON `{name}`.`other` TO 'fault_nosel'@'%'",
    )
    run = run_fault("--db-url", url(cell.admin.port, name, user="fault_nosel"), timeout=3)
    assert essential(run) == unreachable(
        f"SELECT command denied to user 'fault_nosel'@'localhost' for table `{name}`.`services` (error 1142)", name
    )
    assert wait_no_connections(cell, "fault_nosel") == []


def test_user_without_any_grant_on_the_database(cell):
    name = "faults_nodbgrant"
    cell.create_database(name)
    run = run_fault("--db-url", url(cell.admin.port, name), timeout=3)
    assert essential(run) == unreachable(f"Access denied for user '{USER}'@'%' to database '{name}' (error 1044)", name)


def test_database_without_a_services_table(cell):
    name = "faults_notable"
    cell.create_database(name)
    cell.execute(f"GRANT SELECT ON `{name}`.* TO '{USER}'@'%'")
    run = run_fault("--db-url", url(cell.admin.port, name), timeout=3)
    assert essential(run) == unreachable("no services table: not a Nova cell database", name)


def test_database_that_does_not_exist(cell):
    run = run_fault("--db-url", url(cell.admin.port, "faults_nosuchdb", user="root", password=""), timeout=3)
    assert essential(run) == unreachable("Unknown database 'faults_nosuchdb' (error 1049)", "faults_nosuchdb")


@pytest.mark.parametrize(
    "rows", [[], [service("ctl1", "nova-osapi_compute", NOW, age=None, topic=None)]], ids=["empty", "only-api-rows"]
)
def test_empty_services_table_is_unknown_not_ok(cell, rows):
    """No service to judge is not health: a cell without services (a wrong database, a fresh deployment
    whose services never started) says so, UNKNOWN."""
    name = "faults_empty"
    write_cell(cell.create_database(name), rows)
    cell.execute(f"GRANT SELECT ON `{name}`.`services` TO '{USER}'@'%'")
    run = run_fault("--db-url", url(cell.admin.port, name), timeout=3)
    assert run.lines[0] == "NOVA_SERVICES UNKNOWN - no services matched"
    assert "|" not in run.stdout
    assert run.code == 3


@pytest.mark.parametrize(
    "error, reason",
    [
        (WSREP_NOT_READY, "Galera node not ready: WSREP has not yet prepared node for application use (error 1047)"),
        (READ_ONLY, f"{READ_ONLY[2]} (error 1290)"),
    ],
    ids=["galera-wsrep-1047", "read-only-1290"],
)
def test_server_error_packets_at_the_driver_boundary(cell, error, reason):
    """A real network peer completes the handshake and answers the query with an ERR packet."""
    fake = FakeMySQL("error", error=error)
    try:
        run = run_fault("--db-url", fake.url(), timeout=3)
        assert essential(run) == unreachable(reason, "nova")
        assert fake.open_connections == 0
    finally:
        fake.close()


def test_read_only_server_is_still_checked(cell):
    """A read-only replica (read_only=ON) serves the check: it never needs to write."""
    cell.execute("SET GLOBAL read_only = ON")
    try:
        run = run_check("--db-url", url(cell.admin.port), CLOCK)
    finally:
        cell.execute("SET GLOBAL read_only = OFF")
    assert run.status == "NOVA_SERVICES OK - 3 of 3 services up: nova-conductor 1/1, nova-compute 2/2"
    assert (run.code, run.stderr) == (0, "")


# --- one cell of three fails: the other two are reported in full, the failed one is named ----------

CELL_UUIDS = {n: f"{n}{n}{n}{n}{n}{n}{n}{n}-0000-4000-8000-00000000000{n}" for n in "123"}
PARTIAL_PERF = (
    "| 'nova-compute_disabled'=0;;;0;3 'nova-compute_down'=0;0;1.5;0;3 'nova-compute_late'=0;0;;0;3 "
    "'nova-compute_max_age'=7.0s;;;0 "
    "'nova-compute_total'=3;;;0 'nova-compute_version_max'=74 'nova-compute_version_min'=74 "
    "'nova-conductor_disabled'=0;;;0;2 'nova-conductor_down'=0;0;0;0;2 "
    "'nova-conductor_late'=0;0;;0;2 'nova-conductor_max_age'=4.0s;;;0 'nova-conductor_total'=2;;;0 "
    "'nova-conductor_version_max'=74 'nova-conductor_version_min'=74 "
    # the zone of the cells that answered; cell3's computes unknown in number (no host_mappings grant): no _unknown
    "az_nova_total=3;;;0 az_nova_usable=3;;;0;3 cells_total=3;;;0 "
    "cells_unreachable=1;;;0;3 clock_skew=0s;-25:25 services_too_old=0;0;;0"
)


class ThreeCells:
    """An API database and three cells; a SELECT-only monitoring user reads them all (--cell-credentials api)."""

    user = "fault_cells"

    def __init__(self, mariadb):
        self.mariadb = mariadb
        self.port = mariadb.admin.port
        self.api = mariadb.create_database("faults_api").render_as_string(hide_password=False)
        cells = {
            "1": [
                service("cond1", "nova-conductor", NOW, age=3.0),
                service("cmp1", "nova-compute", NOW, age=5.0),
                service("cmp2", "nova-compute", NOW, age=6.0),
            ],
            "2": [service("cond2", "nova-conductor", NOW, age=4.0), service("cmp3", "nova-compute", NOW, age=7.0)],
            "3": [service("cmp4", "nova-compute", NOW, age=95.0)],  # down: must not count while unreadable
        }
        for n, rows in cells.items():
            write_cell(mariadb.create_database(f"faults_cell{n}"), rows)
        self.write_api()
        mariadb.execute(
            f"DROP USER IF EXISTS '{self.user}'@'%'",
            f"CREATE USER '{self.user}'@'%' IDENTIFIED BY '{PASSWORD}'",
            *(
                f"GRANT SELECT ON `faults_api`.`{t}` TO '{self.user}'@'%'"
                for t in ("cell_mappings", "aggregate_hosts", "aggregate_metadata")
            ),
            *(f"GRANT SELECT ON `faults_cell{n}`.`services` TO '{self.user}'@'%'" for n in cells),
        )

    def write_api(self, cell3: str | None = None) -> None:
        """Cell mappings as Nova keeps them (Nova's own credentials); ``cell3`` overrides cell3's URL."""
        mapping = "mysql+pymysql://nova:N0va-Own-Pass@127.0.0.1:{port}/faults_cell{n}"
        cells = [(CELL_UUIDS[n], f"cell{n}", mapping.format(port=self.port, n=n)) for n in "123"]
        if cell3:
            cells[2] = (CELL_UUIDS["3"], "cell3", cell3)
        write_api_database(self.api, cells)

    def args(self, *more: str) -> list[str]:
        api = url(self.port, "faults_api", user=self.user)
        return ["--api-db-url", api, "--cell-credentials", "api", *more]


@pytest.fixture
def three_cells(cell):
    return ThreeCells(cell)


def _break_cell3(cells: ThreeCells, how: str, fake: FakeMySQL | None) -> str:
    """Break cell3 in one way; return the reason the check must give."""
    if how == "no-table":
        cells.mariadb.execute("DROP TABLE services", database="faults_cell3")
        return "no services table: not a Nova cell database"
    if how == "no-grant":
        cells.mariadb.execute(f"REVOKE SELECT ON `faults_cell3`.`services` FROM '{cells.user}'@'%'")
        return f"Access denied for user '{cells.user}'@'%' to database 'faults_cell3' (error 1044)"
    if how == "slow":
        cells.mariadb.execute(
            "RENAME TABLE services TO services_real",
            "CREATE VIEW services AS SELECT * FROM services_real WHERE SLEEP(30) = 0",
            database="faults_cell3",
        )
        return "too slow, cancelled by the server: Query execution was interrupted (max_statement_time exceeded) (error 1969)"
    assert fake is not None
    cells.write_api(cell3=fake.url("faults_cell3"))
    return {
        "galera": "Galera node not ready: WSREP has not yet prepared node for application use (error 1047)",
        "dropped": "Lost connection to MySQL server during query (error 2013)",
    }[how]


@pytest.mark.parametrize("how", ["no-table", "no-grant", "slow", "galera", "dropped"])
def test_one_cell_of_three_fails(three_cells, how):
    fake = {"galera": FakeMySQL("error"), "dropped": FakeMySQL("drop")}.get(how)
    try:
        reason = _break_cell3(three_cells, how, fake)
        run = run_fault(*three_cells.args(), timeout=4)
    finally:
        if fake:
            fake.close()
    named = f"cell cell3 ({CELL_UUIDS['3']})"
    assert essential(run) == [
        f"NOVA_SERVICES UNKNOWN - {named} unreachable: {reason}",
        f"unreachable: {named}: {reason}",
        PARTIAL_PERF,
    ]
    assert run.code == 3
    assert "N0va-Own-Pass" not in run.stdout
    assert wait_no_connections(three_cells.mariadb, three_cells.user, within=1.0) == []


def test_one_wedged_cell_of_three_does_not_hold_the_others(three_cells):
    fake = FakeMySQL("silent")
    try:
        three_cells.write_api(cell3=fake.url("faults_cell3"))
        run = run_fault(*three_cells.args(), timeout=3)
    finally:
        fake.close()
    named = f"cell cell3 ({CELL_UUIDS['3']})"
    assert run.lines[0] == f"NOVA_SERVICES UNKNOWN - {named} unreachable: no answer within the 3s timeout"
    assert essential(run)[1:] == [f"unreachable: {named}: no answer within the 3s timeout", PARTIAL_PERF]


def test_one_failed_cell_of_three_is_critical_when_asked(three_cells):
    _break_cell3(three_cells, "no-table", None)
    run = run_fault(*three_cells.args("--unreachable-cell-state", "critical"), timeout=4)
    assert run.lines[0] == (
        f"NOVA_SERVICES CRITICAL - cell cell3 ({CELL_UUIDS['3']}) unreachable: no services table: not a Nova cell database"
    )
    assert run.lines[-1] == PARTIAL_PERF
    assert run.code == 2

"""Many cells, few connections (issues 19, 24): cells that share a server and credentials share a connection,
at most --per-server to one server and --parallel in all; 150 cells on one server fit in -t 3; a server out
of connections (error 1040) is one clear reason; a cell not done in time says whether its time went here
(waiting for a connection, judging) or there (the database)."""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
import time

import pymysql
import pytest
from sqlalchemy.engine import make_url

from check_nova_services.demo.writer import service, write_api_database, write_cell
from check_nova_services.readings import Cell, CellReading
from check_nova_services.rule.selection import ServiceFilter
from check_nova_services.shared.deadline import Deadline
from check_nova_services.shared.errors import ReadError
from check_nova_services.sources.cells import ReadPlan, judge_rows, read_cell
from check_nova_services.sources.fanout import Limits, read_cells
from tests.conftest import CLOCK, NOW, run_check
from tests.harness.factories import POLICY
from tests.harness.mariadb import MariaDB

CELLS = 150
PASSWORD = "Fan-Out-Secret"


@pytest.fixture(scope="module")
def crowded(mariadb):
    """150 cell databases on one private server that allows 10 connections, mapped in an API database on the
    suite's server; a SELECT-only user without SUPER (who would get the one connection kept for SUPER)."""
    server = MariaDB("--max-connections=10", private=True)  # MariaDB's least
    try:
        mappings = []
        for n in range(CELLS):
            url = server.create_database(f"fan_cell{n}")
            write_cell(
                url, [service(f"c{n}ctl", "nova-conductor", NOW, age=3.0), service(f"c{n}cmp", "nova-compute", NOW, age=4.0)]
            )
            cell_url = server.url(f"fan_cell{n}", "mon", PASSWORD).render_as_string(hide_password=False)
            mappings.append((f"{n:08d}-0000-4000-8000-000000000000", f"cell{n}", cell_url))
        server.execute("CREATE USER 'mon'@'%' IDENTIFIED BY 'Fan-Out-Secret'", "GRANT SELECT ON *.* TO 'mon'@'%'")
        api = mariadb.create_database("fan_api")
        write_api_database(api, mappings)
        yield server, api.render_as_string(hide_password=False)
    finally:
        server.stop()


def peak_connections(server: MariaDB, run) -> tuple[int, object]:
    """The most connections the server held at once during ``run()``, the check's own among them."""
    with server.connect() as admin, admin.cursor() as cursor:
        cursor.execute("FLUSH STATUS")
        result = run()
        cursor.execute("SHOW GLOBAL STATUS LIKE 'Max_used_connections'")
        peak = int(cursor.fetchone()[1]) - 1  # less this admin connection
    return peak, result


def test_150_cells_of_one_server_are_read_over_two_connections_within_3_seconds(crowded):
    server, api = crowded
    peak, run = peak_connections(server, lambda: run_check("--api-db-url", api, CLOCK, "-t", "3"))
    assert (run.code, run.stderr) == (0, "")
    assert run.status == "NOVA_SERVICES OK - 300 of 300 services up: nova-conductor 150/150, nova-compute 150/150"
    assert run.perfdata["cells_unreachable"] == "0;;;0;150"
    assert peak == 2  # --per-server 2: never one connection per cell


def test_per_server_one_reads_every_cell_over_one_connection(crowded):
    server, api = crowded
    peak, run = peak_connections(
        server,
        lambda: run_check(
            "--api-db-url", api, CLOCK, "--per-server", "1", "--cell", "cell1", "--cell", "cell7", "--cell", "cell9"
        ),
    )
    assert (run.code, run.status) == (0, "NOVA_SERVICES OK - 6 of 6 services up: nova-conductor 3/3, nova-compute 3/3")
    assert peak == 1


def test_a_server_out_of_connections_is_one_reason_for_its_cells(crowded):
    """The server's 10 connections held by others (Nova's services): every cell says why, on the first line."""
    server, api = crowded
    holders = [pymysql.connect(host="127.0.0.1", port=server.admin.port, user="mon", password=PASSWORD) for _ in range(10)]
    try:
        run = run_check("--api-db-url", api, CLOCK, "-t", "5", "--cell", "cell1", "--cell", "cell2", "--cell", "cell3")
    finally:
        for holder in holders:
            holder.close()
    assert (run.code, run.stderr) == (3, "")
    assert run.status == (
        "NOVA_SERVICES UNKNOWN - 3 of 3 cells unreachable: cell1, cell2, cell3; each: the server has no connection to "
        "spare (Too many connections, error 1040): raise max_connections, or lower --per-server"
    )
    assert PASSWORD not in run.stdout


def test_an_option_that_is_not_a_number_of_connections_is_unknown():
    for value in ("0", "-1", "two", "1001"):
        run = run_check("--db-url", "sqlite:///nowhere.sqlite", "--per-server", value)
        assert (run.code, run.stdout) == (
            3,
            f"NOVA_SERVICES UNKNOWN - argument --per-server: expected a number of connections from 1 to 1000, not '{value}'\n",
        )


# --- where the time went: the scheduler itself, with reads that block as a slow server would -------------------


class Held:
    """A connection the reads below never use: they stand for a server's answers."""

    def __init__(self):
        self.answered = False

    def usable(self) -> bool:
        return True

    def close(self) -> None:
        pass


def cells_of_one_server(n: int) -> list[Cell]:
    return [Cell(f"cell{i}", None, make_url(f"mysql+pymysql://mon:x@db.example.org/nova_cell{i}")) for i in range(n)]


def test_a_cell_that_waited_for_a_connection_says_the_time_went_here():
    release = threading.Event()

    def read(cell, link):
        release.wait(10)  # the first cell's server never answers; the others wait behind it
        return CellReading(cell)

    try:
        readings = read_cells(
            cells_of_one_server(3),
            read,
            Deadline(at=time.monotonic() + 0.3, seconds=3),
            Limits(parallel=8, per_server=1),
            connect=lambda url, deadline: Held(),
        )
    finally:
        release.set()
    assert [r.error for r in readings] == [
        "no answer within the 3s timeout",
        "not reached within the 3s timeout: the connections to its server (--per-server 1, --parallel 8) were still "
        "reading other cells",
        "not reached within the 3s timeout: the connections to its server (--per-server 1, --parallel 8) were still "
        "reading other cells",
    ]


def test_a_cell_answered_but_not_judged_in_time_says_the_time_went_here():
    release = threading.Event()

    def read(cell, link):
        link.answered = True  # the database has answered; judging is what takes the time
        release.wait(10)
        return CellReading(cell)

    try:
        [reading] = read_cells(
            cells_of_one_server(1), read, Deadline(at=time.monotonic() + 0.3, seconds=3), connect=lambda url, d: Held()
        )
    finally:
        release.set()
    assert reading.error == "answered, but not judged within the 3s timeout: the time went on this host, not the database"


def test_a_refused_connection_is_the_reason_of_every_cell_it_would_have_read():

    tries = []

    def refuse(url, deadline):
        tries.append(url.database)
        raise ReadError("Access denied for user 'mon'@'localhost' (using password: YES) (error 1045)")

    readings = read_cells(cells_of_one_server(5), lambda cell, link: CellReading(cell), Deadline.after(5), connect=refuse)
    assert {r.error for r in readings} == {"Access denied for user 'mon'@'localhost' (using password: YES) (error 1045)"}
    assert len(tries) <= 2  # one try per connection, not one per cell


def test_connections_are_bounded_in_all_and_per_server():
    lock = threading.Lock()
    open_now: dict[str, int] = {}
    peaks: dict[str, int] = {}

    class Counted(Held):
        def __init__(self, host):
            super().__init__()
            self.host = host
            with lock:
                open_now[host] = open_now.get(host, 0) + 1
                open_now["all"] = open_now.get("all", 0) + 1
                for key in (host, "all"):
                    peaks[key] = max(peaks.get(key, 0), open_now[key])

        def close(self):
            with lock:
                open_now[self.host] -= 1
                open_now["all"] -= 1

    def read(cell, link):
        time.sleep(0.01)
        return CellReading(cell)

    cells = [
        Cell(f"c{s}-{i}", None, make_url(f"mysql+pymysql://mon:x@db{s}.example.org/nova_cell{i}"))
        for s in range(6)
        for i in range(10)
    ]
    readings = read_cells(
        cells, read, Deadline.after(20), Limits(parallel=5, per_server=2), connect=lambda url, d: Counted(url.host)
    )
    assert [r.error for r in readings] == [None] * 60
    assert peaks["all"] <= 5
    assert max(peaks[f"db{s}.example.org"] for s in range(6)) <= 2


@pytest.mark.parametrize("missing_first", [False, True], ids=["missing-second", "missing-first"])
def test_one_cells_missing_database_is_that_cells_reason_alone(mariadb, missing_first):
    """One connection reads both cells (--per-server 1): one cell's database is gone, the other is read as usual.
    Found by review: with the missing database first, the shared connection logged in to it (URL.set ignores
    None) and every cell of the server read 'Unknown database'."""
    cell = mariadb.create_database(f"fan_present_{int(missing_first)}")
    write_cell(cell, [service("cmp1", "nova-compute", NOW, age=4.0)])
    missing = mariadb.url("fan_missing").render_as_string(hide_password=False)
    api = mariadb.create_database(f"fan_api_missing_{int(missing_first)}")
    mappings = [("cell1", cell.render_as_string(hide_password=False)), ("cell2", missing)]
    if missing_first:
        mappings.reverse()
    uuids = ["11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"]
    write_api_database(api, [(uuid, name, url) for uuid, (name, url) in zip(uuids, mappings)])
    run = run_check("--api-db-url", api.render_as_string(hide_password=False), CLOCK, "--per-server", "1")
    assert (run.code, run.stderr) == (3, "")
    uuid = uuids[0] if missing_first else uuids[1]
    assert run.status == f"NOVA_SERVICES UNKNOWN - cell cell2 ({uuid}) unreachable: Unknown database 'fan_missing' (error 1049)"
    assert run.perfdata["nova-compute_total"] == "1;;;0"


def test_a_refusal_while_another_connection_is_still_opening_leaves_the_cells_to_it():
    """Found by review: a server one connection short of its limit refuses the second connection at once while
    the first is still logging in; the first then reads every cell."""

    opened = []
    lock = threading.Lock()

    def connect(url, deadline):
        with lock:
            first = not opened
            opened.append(url.database)
        if first:
            time.sleep(0.05)  # TLS and authentication take their time
            return Held()
        raise ReadError("the server has no connection to spare (Too many connections, error 1040)")

    readings = read_cells(cells_of_one_server(10), lambda cell, link: CellReading(cell), Deadline.after(5), connect=connect)
    assert [r.error for r in readings] == [None] * 10


def test_nothing_new_starts_after_the_deadline():
    """Found by review: once the answer is being printed, abandoned workers take no further cell."""
    started = []

    def read(cell, link):
        started.append(cell.name)
        time.sleep(0.2)
        return CellReading(cell)

    readings = read_cells(
        cells_of_one_server(10), read, Deadline(at=time.monotonic() + 0.5, seconds=1), Limits(8, 1), connect=lambda u, d: Held()
    )
    when_returned = len(started)
    time.sleep(0.6)
    assert len(started) == when_returned <= 3
    assert sum(r.error is None for r in readings) <= when_returned  # only a cell that was started can be done


class UsableLink:
    """A connection that is never used: the read under test fails before it would be."""

    answered = False

    def usable(self) -> bool:
        return True

    def close(self) -> None:
        pass


def sqlite_cell(tmp_path, name: str = "cell1") -> Cell:
    path = tmp_path / f"{name}.sqlite"
    write_cell(f"sqlite:///{path}", [service("cmp1", "nova-compute", NOW, age=5.0)])
    return Cell(name, None, make_url(f"sqlite:///{path}"))


def test_a_cell_that_cannot_be_tried_says_why():
    """Catches read_cells' ``cell.problem or "no database URL"`` -> ``and``: a cell whose
    URL template did not format is reported with that reason, not a generic one."""
    cells = [Cell("cell1", None, None, problem="cell cell1's database_connection is not a database URL")]
    [reading] = read_cells(cells, lambda cell, link: pytest.fail("a cell without a URL is not read"), Deadline.after(5))
    assert reading.error == "cell cell1's database_connection is not a database URL"


def test_an_unexpected_failure_of_a_cell_is_one_line_without_its_password():
    """Catches ``str(cell.url.password or "")`` -> ``and`` in read_cells: whatever a driver
    raises, the cell's password is masked in the reason."""
    cell = Cell("cell1", None, make_url("mysql+pymysql://nova:Cell-Secret-3@db.example.org/nova"))

    def read(cell, link):
        raise RuntimeError("handshake with nova:Cell-Secret-3@db.example.org\nfailed")

    [reading] = read_cells([cell], read, Deadline.after(5), connect=lambda url, deadline: UsableLink())
    assert reading.error == "RuntimeError: handshake with nova:***@db.example.org failed"


def test_a_cell_that_never_answers_is_abandoned_on_a_daemon_thread():
    """Catches ``daemon=True`` -> ``False`` in read_cells: a cell stuck in a socket read
    must not keep the process alive past its timeout."""
    release = threading.Event()

    def read(cell, link):
        release.wait(30)
        raise AssertionError("released")

    cell = Cell("stuck", None, make_url("sqlite:///stuck.sqlite"))
    before = set(threading.enumerate())
    try:
        [reading] = read_cells(
            [cell], read, Deadline(at=time.monotonic() + 0.2, seconds=1), connect=lambda url, deadline: UsableLink()
        )
        stuck = [thread for thread in threading.enumerate() if thread not in before and thread.is_alive()]
        assert reading.error == "no answer within the 1s timeout"
        assert [thread.daemon for thread in stuck] == [True]
    finally:
        release.set()


def test_a_cell_read_says_what_it_found_at_vvv(tmp_path, caplog):
    """Catches ``outcome.error is None`` -> ``is not`` in read_cells' debug lines and the
    time arithmetic of read_cell and judge_rows."""
    cell = sqlite_cell(tmp_path)
    plan = ReadPlan(ServiceFilter(), POLICY, NOW)
    rows_plan = dataclasses.replace(plan, in_database=False)
    with caplog.at_level(logging.DEBUG, logger="nagiosplugin.check_nova_services"):
        counted, listed = read_cells(
            [cell, dataclasses.replace(cell, name="cell2")],
            lambda c, link: read_cell(c, link, plan if c.name == "cell1" else rows_plan, None),
            Deadline.after(5),
        )
    assert (counted.error, counted.services, listed.error, listed.services) == (None, 1, None, 1)
    assert 0 < counted.seconds < 5 and 0 < listed.seconds < 5
    assert judge_rows(cell, [], rows_plan, None, NOW).seconds == 0.0
    lines = [re.sub(r"in [0-9.]+s", "in Ns", record.getMessage()) for record in caplog.records]
    assert lines == [f"cell {name}: 1 services in Ns from {cell.url}" for name in ("cell1", "cell2")]

"""A real asynchronous replica (two private MariaDB servers, GTID replication): read as usual while it
replicates, not taken as the truth once its replication stops (issues 19, 24) or lags beyond what the rule
tolerates (issue 28: MASTER_DELAY, with writes dated in the past for a minute's lag at once). The user is
SELECT-only: it cannot run SHOW REPLICA STATUS, and needs not; then a whole cell down on a replica is UNKNOWN,
not CRITICAL. With SLAVE MONITOR granted it reads the lag."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from check_nova_services.demo.writer import service, write_cell
from check_nova_services.shared.text import duration
from tests.conftest import CLOCK, NOW, run_check
from tests.harness.replica import AsyncReplica

PASSWORD = "Replica-Mon-Secret"
HOSTS = (("ctl1", "nova-conductor"), ("cmp1", "nova-compute"))
ROWS = [service("ctl1", "nova-conductor", NOW, age=3.0), service("cmp1", "nova-compute", NOW, age=4.0)]
UP = "NOVA_SERVICES OK - 2 of 2 services up: nova-conductor 1/1, nova-compute 1/1"
MON = "'mon'@'%'"
GRANT = "grant SLAVE MONITOR or REPLICATION CLIENT"
#: down_time 60 - report_interval 10 (Nova's defaults): the lag a healthy service's heartbeat still reads up after.
TOLERANCE = 50


@pytest.fixture(scope="module")
def pair():
    pair = AsyncReplica()
    try:
        write_cell(pair.primary.create_database("nova"), ROWS)
        stale = pair.primary.create_database("nova_stale")
        write_cell(stale, [service(h, b, NOW, age=300.0) for h, b in (("ctl1", "nova-conductor"), ("cmp1", "nova-compute"))])
        write_cell(pair.primary.create_database("nova_lag"), [])
        pair.primary.execute(f"CREATE USER {MON} IDENTIFIED BY '{PASSWORD}'", f"GRANT SELECT ON `nova%`.* TO {MON}")
        pair.wait_caught_up()
        yield pair
    finally:
        pair.stop()


@pytest.fixture
def replica(pair):
    yield pair
    pair.reset()


def url(server, database: str = "nova") -> str:
    return server.url(database, "mon", PASSWORD).render_as_string(hide_password=False)


def test_a_running_replica_is_read_as_usual(replica):
    run = run_check("--db-url", url(replica.replica), CLOCK, "-vvv")
    assert (run.code, run.lines[0].split(" | ")[0], run.stderr) == (0, UP, "")
    assert any(
        re.search(
            rf"^cell nova: 2 services in [\d.]+s from .*, replica, replication running, lag not readable \({GRANT}\)$", line
        )
        for line in run.lines
    )


def test_a_replica_whose_sql_thread_stopped_is_not_the_truth(replica):
    replica.stop_sql_thread()
    run = run_check("--db-url", url(replica.replica), CLOCK)
    assert (run.code, run.status, run.stderr) == (
        3,
        "NOVA_SERVICES UNKNOWN - database nova is a replica whose replication has stopped (Slave_running OFF): "
        "heartbeats may be stale",
        "",
    )
    assert run_check("--db-url", url(replica.primary), CLOCK).status == UP  # the primary is the truth


def test_a_whole_cell_down_on_a_replica_whose_lag_cannot_be_read_is_not_paged(replica):
    """Issue 28: the SELECT-only user cannot tell a replica's lag from a dead cell: UNKNOWN, naming the grant."""
    run = run_check("--db-url", url(replica.replica, "nova_stale"), CLOCK)
    assert (run.code, run.status, run.stderr) == (
        3,
        f"NOVA_SERVICES UNKNOWN - database nova_stale is a replica whose lag cannot be read ({GRANT}) and every service "
        "reads down: heartbeats may be stale",
        "",
    )
    assert run_check("--db-url", url(replica.primary, "nova_stale"), CLOCK).code == 2  # the primary says it is down


def test_a_whole_cell_down_on_a_replica_that_does_not_lag_says_so(replica):
    replica.grant_lag_reading(MON)
    run = run_check("--db-url", url(replica.replica, "nova_stale"), CLOCK, "-vvv")
    assert (run.code, run.lines[0].split(" | ")[0]) == (
        2,
        "NOVA_SERVICES CRITICAL - nova_stale: all 2 services down, newest heartbeat 5m00s ago (read from a replica)",
    )
    assert any(re.search(r", replica, replication running, 0s behind$", line) for line in run.lines)


def lagging(replica, seconds_ago: int, grant: bool, lock: bool = False) -> int:
    """nova_lag's services down on the replica (2 minutes old at CLOCK), and up on the primary (3 s old), held back
    by a delay of 5 minutes (or a lock on the replica's rows): written ``seconds_ago`` in the past, they lag that many
    seconds at once. The lag the replica reported then; the run the caller makes comes after (the lag only grows)."""
    write_cell(replica.primary.url("nova_lag"), [service(h, b, NOW, age=120.0) for h, b in HOSTS])
    replica.wait_caught_up()
    if grant:
        replica.grant_lag_reading(MON)
    if lock:
        replica.lock_rows("nova_lag", "services")
    else:
        replica.delay(300)
    beat = (NOW - dt.timedelta(seconds=3)).isoformat(" ")
    status = replica.write_dated(
        seconds_ago, f"UPDATE services SET updated_at='{beat}', last_seen_up='{beat}'", database="nova_lag"
    )
    assert run_check("--db-url", url(replica.primary, "nova_lag"), CLOCK).status == UP
    return int(status["Seconds_Behind_Master"])


def lag_now(replica) -> int:
    return int(replica.slave_status()["Seconds_Behind_Master"])


@pytest.mark.parametrize("lock", [False, True], ids=["master-delay", "sql-thread-waits-on-a-lock"])
def test_a_replica_behind_by_more_than_the_rule_tolerates_is_not_the_truth(replica, lock):
    """Issue 28: MASTER_DELAY, or an SQL thread waiting on a lock, holds the heartbeats back: every service read
    down, "all 2 services down" was paged. With SLAVE MONITOR the lag is read, and beyond 50 s the cell is stale."""
    before = lagging(replica, 78, grant=True, lock=lock)
    run = run_check("--db-url", url(replica.replica, "nova_lag"), CLOCK)
    after = lag_now(replica)
    assert TOLERANCE < before <= after
    assert run.code == 3
    assert run.status in {
        f"NOVA_SERVICES UNKNOWN - database nova_lag is a replica {duration(lag)} behind its primary: heartbeats may be stale"
        for lag in range(before, after + 1)
    }


def test_a_lagging_replica_whose_lag_cannot_be_read_is_not_paged(replica):
    """The same replica without the grant: every service reads down, which is what a lag looks like: UNKNOWN."""
    lagging(replica, 78, grant=False)
    run = run_check("--db-url", url(replica.replica, "nova_lag"), CLOCK)
    assert (run.code, run.status) == (
        3,
        f"NOVA_SERVICES UNKNOWN - database nova_lag is a replica whose lag cannot be read ({GRANT}) and every service "
        "reads down: heartbeats may be stale",
    )


def test_a_replica_behind_within_what_the_rule_tolerates_is_read_as_usual(replica):
    """20 s behind, heartbeats 3 s old on the primary read at most 23 s old here: up, as Nova would say."""
    write_cell(replica.primary.url("nova_lag"), [service(h, b, NOW, age=3.0) for h, b in HOSTS])
    replica.wait_caught_up()
    replica.grant_lag_reading(MON)
    replica.delay(300)
    status = replica.write_dated(20, "UPDATE services SET report_count = report_count + 1", database="nova_lag")
    before = int(status["Seconds_Behind_Master"])
    run = run_check("--db-url", url(replica.replica, "nova_lag"), CLOCK, "-vvv")
    after = lag_now(replica)
    assert 20 <= before <= after < TOLERANCE
    assert (run.code, run.lines[0].split(" | ")[0]) == (0, UP)
    described = [re.search(r", replica, replication running, (\d+)s behind$", line) for line in run.lines]
    assert [int(m.group(1)) for m in described if m] in ([lag] for lag in range(before, after + 1))


def test_the_monitoring_user_sees_the_replicas_lag_only_with_the_grant(replica):
    """What the policy rests on: without SLAVE MONITOR, SHOW REPLICA STATUS is refused (error 1227), in the same
    read-only transaction as the heartbeats, which it leaves usable; with it, the lag is there."""
    import pymysql

    def show(cursor):
        cursor.execute("SHOW REPLICA STATUS")
        return cursor.fetchone()["Seconds_Behind_Master"]

    def connect():
        return pymysql.connect(
            host="127.0.0.1",
            port=replica.replica.admin.port,
            user="mon",
            password=PASSWORD,
            database="nova",
            cursorclass=pymysql.cursors.DictCursor,
        )

    with connect() as conn, conn.cursor() as cursor:
        cursor.execute("START TRANSACTION READ ONLY")
        with pytest.raises(pymysql.err.OperationalError) as refused:
            show(cursor)
        cursor.execute("SELECT COUNT(*) AS n FROM services")
        assert (refused.value.args[0], cursor.fetchone()["n"]) == (1227, 2)
    replica.grant_lag_reading(MON)
    with connect() as conn, conn.cursor() as cursor:
        assert show(cursor) == 0

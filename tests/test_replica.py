"""A real asynchronous replica (two private MariaDB servers, GTID replication): read as usual while it
replicates, not taken as the truth once its replication stops, and a whole cell down on it says so
(issues 19, 24). The user is SELECT-only: it cannot run SHOW SLAVE STATUS, and needs not."""

from __future__ import annotations

import re

import pytest

from check_nova_services.demo.writer import service, write_cell
from tests.conftest import CLOCK, NOW, run_check
from tests.harness.replica import AsyncReplica

PASSWORD = "Replica-Mon-Secret"
ROWS = [service("ctl1", "nova-conductor", NOW, age=3.0), service("cmp1", "nova-compute", NOW, age=4.0)]
UP = "NOVA_SERVICES OK - 2 of 2 services up: nova-conductor 1/1, nova-compute 1/1"


@pytest.fixture(scope="module")
def pair():
    pair = AsyncReplica()
    try:
        write_cell(pair.primary.create_database("nova"), ROWS)
        stale = pair.primary.create_database("nova_stale")
        write_cell(stale, [service(h, b, NOW, age=300.0) for h, b in (("ctl1", "nova-conductor"), ("cmp1", "nova-compute"))])
        pair.primary.execute(f"CREATE USER 'mon'@'%' IDENTIFIED BY '{PASSWORD}'", "GRANT SELECT ON `nova%`.* TO 'mon'@'%'")
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
        re.search(r"^cell nova: 2 services in [\d.]+s from .*, replica, replication running$", line) for line in run.lines
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


def test_a_whole_cell_down_on_a_replica_says_so(replica):
    run = run_check("--db-url", url(replica.replica, "nova_stale"), CLOCK)
    assert (run.code, run.status) == (
        2,
        "NOVA_SERVICES CRITICAL - nova_stale: all 2 services down, newest heartbeat 5m00s ago (read from a replica)",
    )


def test_the_monitoring_user_cannot_see_the_replicas_lag(replica):
    """Why the policy reads Slave_running, read_only and gtid_slave_pos: SHOW SLAVE STATUS needs a grant."""
    import pymysql

    with (
        pymysql.connect(
            host="127.0.0.1", port=replica.replica.admin.port, user="mon", password=PASSWORD, database="nova"
        ) as conn,
        conn.cursor() as cursor,
    ):
        with pytest.raises(pymysql.err.OperationalError) as refused:
            cursor.execute("SHOW SLAVE STATUS")
    assert refused.value.args[0] == 1227

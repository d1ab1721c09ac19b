"""When the database may not tell the truth (issues 19, 24), in process: a node's own state judged by the
policy of nodes.py, and the words the first line and -v give for stale nodes, whole cells down, shared
failure reasons, leftover rows of removed binaries and -w/-c typos in a narrowed view. Exact lines and codes;
the same states on real Galera nodes and replicas are in test_galera.py and test_replica.py."""

from __future__ import annotations

import dataclasses

import pytest

from check_nova_services.readings import Cell
from check_nova_services.rule.nodes import NodeState, lag_tolerance
from check_nova_services.rule.selection import Selection, ServiceFilter
from check_nova_services.sources.cells import ReadPlan, doubted, judge_rows
from tests.harness.factories import NOW, POLICY, check, computes, controllers, row

SYNCED = {"wsrep_local_state_comment": "Synced", "wsrep_cluster_status": "Primary", "wsrep_ready": "ON"}
GALERA = {"wsrep_on": "ON", "read_only": "OFF", "gtid_slave_pos": ""}
PLAIN = {"wsrep_on": "OFF", "read_only": "OFF", "gtid_slave_pos": ""}


@pytest.mark.parametrize(
    "status, variables, doubt",
    [
        (SYNCED, GALERA, None),
        ({**SYNCED, "wsrep_local_state_comment": "Donor/Desynced"}, GALERA, "node desynced (Donor/Desynced)"),
        ({**SYNCED, "wsrep_local_state_comment": "Joined"}, GALERA, "node not synced (Joined)"),
        (
            {**SYNCED, "wsrep_local_state_comment": "Joining: receiving State Transfer"},
            GALERA,
            "node not synced (Joining: receiving State Transfer)",
        ),
        (
            {**SYNCED, "wsrep_cluster_status": "non-Primary", "wsrep_ready": "OFF", "wsrep_local_state_comment": "Initialized"},
            GALERA,
            "node not in the primary component (non-Primary, Initialized)",
        ),
        ({**SYNCED, "wsrep_ready": "OFF"}, GALERA, "node not ready (wsrep_ready OFF, Synced)"),
        # wsrep_on OFF: the wsrep status a Galera-built server reports means nothing
        ({**SYNCED, "wsrep_cluster_status": "Disconnected"}, PLAIN, None),
        ({}, PLAIN, None),
        (
            {"Slave_running": "OFF"},
            {**PLAIN, "read_only": "ON", "gtid_slave_pos": "0-1-42"},
            "is a replica whose replication has stopped (Slave_running OFF)",
        ),
        ({"Slave_running": "ON"}, {**PLAIN, "read_only": "ON", "gtid_slave_pos": "0-1-42"}, None),
        # multi-source: Slave_running speaks of the default connection only; a named one runs
        ({"Slave_running": "OFF", "Slaves_running": "1"}, {**PLAIN, "read_only": "ON", "gtid_slave_pos": "0-1-42"}, None),
        (
            {"Slave_running": "", "Slaves_running": "0"},
            {**PLAIN, "read_only": "ON", "gtid_slave_pos": "0-1-42"},
            "is a replica whose replication has stopped (Slave_running OFF)",
        ),
        # a former replica, promoted (writable): its old position means nothing
        ({"Slave_running": "OFF"}, {**PLAIN, "gtid_slave_pos": "0-1-42"}, None),
        # MySQL: no Slave_running, no gtid_slave_pos; a read-only server is not known to be a replica
        ({}, {"read_only": "ON"}, None),
        ({}, {}, None),
    ],
)
def test_the_policy_per_node_state(status, variables, doubt):
    assert NodeState.of(status, variables).doubt(50.0) == doubt


MARIADB_REPLICA = {**PLAIN, "read_only": "ON", "gtid_slave_pos": "0-1-42"}
RUNNING = {"Slave_running": "ON", "Slaves_running": "1"}
GRANT = "SLAVE MONITOR or REPLICATION CLIENT"


def behind(*lags: object, column: str = "Seconds_Behind_Master", sql: str = "Yes") -> list[dict[str, object]]:
    """SHOW REPLICA STATUS rows, one per source, as the driver gives them (an int, or None for NULL)."""
    thread = "Replica_SQL_Running" if column.endswith("Source") else "Slave_SQL_Running"
    return [{column: lag, thread: sql} for lag in lags]


@pytest.mark.parametrize(
    "status, variables, replication, refused, doubt",
    [
        # within the tolerance (down_time 60 - report_interval 10 = 50 s): a healthy service still reads up
        (RUNNING, MARIADB_REPLICA, behind(0), False, None),
        (RUNNING, MARIADB_REPLICA, behind(50), False, None),
        (RUNNING, MARIADB_REPLICA, behind(51), False, "is a replica 51s behind its primary"),
        (RUNNING, MARIADB_REPLICA, behind(78), False, "is a replica 78s behind its primary"),
        (RUNNING, MARIADB_REPLICA, behind(130), False, "is a replica 2m10s behind its primary"),
        # multi-source: the largest lag; a source whose lag is NULL does not hide another's
        (RUNNING, MARIADB_REPLICA, behind(3, None, 78), False, "is a replica 78s behind its primary"),
        # lag unknown (NULL, or no grant): read as it is here; a whole cell down is doubted (below)
        (RUNNING, MARIADB_REPLICA, behind(None), False, None),
        (RUNNING, MARIADB_REPLICA, None, True, None),
        # MariaDB's own status comes first, whatever the grant
        (
            {"Slave_running": "OFF"},
            MARIADB_REPLICA,
            behind(None, sql="No"),
            False,
            "is a replica whose replication has stopped (Slave_running OFF)",
        ),
        # MySQL 8.0.22+: no Slave_running; its replica status says a lag, or a stopped SQL thread
        ({}, {"read_only": "ON"}, behind(78, column="Seconds_Behind_Source"), False, "is a replica 78s behind its primary"),
        (
            {},
            {"read_only": "ON"},
            behind(None, column="Seconds_Behind_Source", sql="No"),
            False,
            "is a replica whose replication has stopped (Replica_SQL_Running No)",
        ),
        (
            {},
            {"read_only": "ON"},
            behind(None, sql="No"),
            False,
            "is a replica whose replication has stopped (Slave_SQL_Running No)",
        ),
        # a read-only server that is no replica (no row), or one that refuses to say
        ({}, {"read_only": "ON"}, [], False, None),
        ({}, {"read_only": "ON"}, None, True, None),
    ],
)
def test_the_policy_on_a_replicas_lag(status, variables, replication, refused, doubt):
    """Issue 28: a replica whose SQL thread runs but lags paged "all down"; its lag, where the grant lets it be read,
    beyond down_time - report_interval makes it stale."""
    node = NodeState.of(status, variables, replication, refused)
    assert node.doubt(lag_tolerance(60, 10)) == doubt


def test_the_lag_a_replica_may_have_is_down_time_less_one_report_interval():
    assert (lag_tolerance(60, 10), lag_tolerance(75, 30), lag_tolerance(60, None)) == (50, 45, 60)


@pytest.mark.parametrize(
    "status, variables, replication, refused, doubt",
    [
        (
            RUNNING,
            MARIADB_REPLICA,
            None,
            True,
            f"is a replica whose lag cannot be read (grant {GRANT}) and every service reads down",
        ),
        (
            RUNNING,
            MARIADB_REPLICA,
            behind(None),
            False,
            "is a replica whose lag the server does not know (Seconds_Behind_Master NULL) and every service reads down",
        ),
        (RUNNING, MARIADB_REPLICA, None, False, "is a replica whose lag was not read and every service reads down"),
        (
            {},
            {"read_only": "ON"},
            None,
            True,
            f"is a read-only server, a replica maybe, whose lag cannot be read (grant {GRANT}) and every service reads down",
        ),
        # the lag is known (within the tolerance, or the cell would not have been read): the outage is real
        (RUNNING, MARIADB_REPLICA, behind(2), False, None),
        # no replica: the outage is real
        ({}, PLAIN, None, False, None),
        ({}, {"read_only": "ON"}, [], False, None),
        (SYNCED, GALERA, None, False, None),
    ],
)
def test_a_whole_cell_down_on_a_replica_whose_lag_is_unknown(status, variables, replication, refused, doubt):
    assert NodeState.of(status, variables, replication, refused).doubt_when_all_down() == doubt


def test_a_whole_cell_down_on_a_replica_whose_lag_is_unknown_is_stale_a_partial_outage_is_not():
    """sources.cells.doubted: every service down (2 or more) on such a replica is UNKNOWN; one service down of
    several is read as it is; so is a cell of one service down (that is as likely its own outage: the same
    threshold as the first line's whole-cell phrase)."""
    node = NodeState.of(RUNNING, MARIADB_REPLICA, None, True)
    plan = ReadPlan(ServiceFilter(), POLICY, NOW, in_database=False)
    cell = Cell("cell1", None, None)

    def read(rows):
        return doubted(dataclasses.replace(judge_rows(cell, rows, plan, None, NOW), node=node))

    whole = read(controllers("ctl1", age=300) + computes("cmp", 3, age=300))
    assert (whole.error, whole.stale, whole.tallies) == (
        f"is a replica whose lag cannot be read (grant {GRANT}) and every service reads down",
        True,
        {},
    )
    partial = read(controllers("ctl1") + computes("cmp", 3, age=300))
    assert (partial.error, partial.stale, partial.tallies["nova-compute"].down) == (None, False, 3)
    alone = read(computes("cmp", 1, age=300))
    assert (alone.error, alone.tallies["nova-compute"].down) == (None, 1)
    plain = dataclasses.replace(judge_rows(cell, computes("cmp", 3, age=300), plan, None, NOW), node=NodeState.of({}, PLAIN))
    assert doubted(plain) is plain


@pytest.mark.parametrize(
    "size, address, doubt",
    [
        (
            "1",
            "gcomm://10.0.0.1,10.0.0.2,10.0.0.3",
            "node is a Primary component of 1 while wsrep_cluster_address lists 3 nodes (a bootstrapped minority?)",
        ),
        (
            "1",
            "gcomm://10.0.0.1:4567,10.0.0.2:4567?pc.wait_prim=no",
            "node is a Primary component of 1 while wsrep_cluster_address lists 2 nodes (a bootstrapped minority?)",
        ),
        ("3", "gcomm://10.0.0.1,10.0.0.2,10.0.0.3", None),
        ("2", "gcomm://10.0.0.1,10.0.0.2,10.0.0.3", None),  # one node down, the other two keep quorum
        ("1", "gcomm://", None),  # the first node of a new cluster
        ("1", "gcomm://10.0.0.1", None),  # a cluster of one
        ("1", "", None),
    ],
)
def test_a_galera_node_alone_in_its_primary_component_while_its_address_lists_others(size, address, doubt):
    """Issue 28: a split brain's clue, a minority bootstrapped as its own Primary, Synced with nobody."""
    node = NodeState.of({**SYNCED, "wsrep_cluster_size": size}, {**GALERA, "wsrep_cluster_address": address})
    assert node.doubt(50.0) == doubt


@pytest.mark.parametrize(
    "status, variables, replication, refused, described",
    [
        (RUNNING, MARIADB_REPLICA, behind(3), False, "replica, replication running, 3s behind"),
        (RUNNING, MARIADB_REPLICA, None, True, f"replica, replication running, lag not readable (grant {GRANT})"),
        (RUNNING, MARIADB_REPLICA, behind(None), False, "replica, replication running, lag unknown"),
        (
            {"Slave_running": "OFF"},
            MARIADB_REPLICA,
            None,
            True,
            f"replica, replication stopped, lag not readable (grant {GRANT})",
        ),
        ({}, {"read_only": "ON"}, None, True, f"read-only, replica status refused (grant {GRANT} to read a lag)"),
        (
            {**SYNCED, "wsrep_cluster_size": "3"},
            GALERA,
            None,
            False,
            "Galera node Synced, Primary, wsrep_ready ON, cluster size 3",
        ),
        ({}, PLAIN, None, False, "no Galera, no replication seen"),
    ],
)
def test_what_minus_vvv_says_of_a_node(status, variables, replication, refused, described):
    assert NodeState.of(status, variables, replication, refused).describe() == described


def test_a_lagging_replica_is_not_taken_as_the_truth():
    run = check({"cell2": controllers("ctl2") + computes("cmp", 3)}, stale={"cell1": "is a replica 78s behind its primary"})
    assert (run.code, run.line) == (
        3,
        "NOVA_SERVICES UNKNOWN - cell1's database is a replica 78s behind its primary: heartbeats may be stale",
    )


def test_a_desynced_node_is_not_taken_as_the_truth():
    run = check(
        {"cell2": controllers("ctl2") + computes("cmp", 3)}, stale={"cell1": "node desynced (Donor/Desynced)"}, verbosity=1
    )
    assert (run.code, run.line) == (
        3,
        "NOVA_SERVICES UNKNOWN - cell1's database node desynced (Donor/Desynced): heartbeats may be stale",
    )
    assert run.long == [
        "stale: cell cell1 (00000002-4b1e-4c0d-9a2f-6d1c0c5e0002): its database node desynced (Donor/Desynced); "
        "its heartbeats may be stale, not judged"
    ]
    assert (run.perfdata["cells_total"], run.perfdata["cells_unreachable"]) == ("2;;;0", "1;;;0;2")


def test_a_stale_cell_beside_an_unreachable_one_and_a_down_service():
    """UNKNOWN outranks WARNING: what cannot be known comes first, the down service keeps its count."""
    cells = {"cell3": controllers("ctl3") + computes("cmp", 3) + [row("gone", age=600)]}
    run = check(
        cells,
        unreachable={"cell2": "no answer within the 10s timeout"},
        stale={"cell1": "is a replica whose replication has stopped (Slave_running OFF)"},
    )
    assert (run.code, run.line) == (
        3,
        "NOVA_SERVICES UNKNOWN - cell cell2 (00000002…) unreachable; cell1's database is a replica whose replication "
        "has stopped (Slave_running OFF): heartbeats may be stale; nova-compute 1/4 down",
    )


def test_several_stale_cells_share_their_reason():
    doubt = "node not in the primary component (non-Primary, Initialized)"
    run = check({}, stale={"cell1": doubt, "cell2": doubt})
    assert (run.code, run.line) == (
        3,
        "NOVA_SERVICES UNKNOWN - 2 of 2 cells' databases may be stale: cell1, cell2; each: node not in the primary "
        "component (non-Primary, Initialized)",
    )


def test_cells_failing_for_one_reason_give_it_on_the_first_line():
    reason = "MariaDB's ed25519 authentication needs the Python package PyNaCl: pip install PyNaCl in the plugin's environment"
    run = check({}, {"cell0": reason, "cell1": reason, "cell2": reason})
    assert (run.code, run.line) == (
        3,
        "NOVA_SERVICES UNKNOWN - 3 of 3 cells unreachable: cell0, cell1, cell2; each: MariaDB's ed25519 "
        "authentication needs the Python package PyNaCl: pip install PyNaCl in the plugin's environment",
    )
    mixed = check({}, {"cell0": reason, "cell1": "no answer within the 10s timeout"})
    assert mixed.line == "NOVA_SERVICES UNKNOWN - 2 of 2 cells unreachable: cell0, cell1"


def test_a_whole_cell_down_says_its_newest_heartbeat():
    cells = {"cell1": controllers("ctl1", age=312) + computes("cmp", 60, age=400), "cell2": controllers("ctl2")}
    run = check(cells)
    assert (run.code, run.line) == (2, "NOVA_SERVICES CRITICAL - cell1: all 62 services down, newest heartbeat 5m12s ago")


def test_leftover_rows_of_a_removed_binary_warn_with_the_fix():
    day = 86400
    cells = {"cell1": controllers("ctl1") + computes("cmp", 3) + [row("ctl1", "nova-consoleauth", age=800 * day)]}
    run = check(cells, verbosity=1)
    assert (run.code, run.line) == (
        1,
        "NOVA_SERVICES WARNING - nova-consoleauth removed in Train: 1 leftover row (openstack compute service delete): "
        "ctl1 (800d00h)",
    )
    assert run.perfdata["nova-consoleauth_down"] == "1;0;;0;1"  # WARNING at 1: never the thresholds' CRITICAL
    [leftover] = cells["cell1"][-1:]
    assert run.long == [
        "down: nova-consoleauth@ctl1 cell=cell1 status=enabled state=down heartbeat=800d00h ago (last_seen_up "
        "2024-09-17 15:00:00) forced_down=no disabled_reason=-",
        "note: nova-consoleauth was removed from Nova in Train: its 1 down row is a leftover; delete with openstack "
        f"compute service delete {leftover.id}",
    ]


def test_leftovers_come_after_the_live_binaries():
    cells = {
        "cell1": controllers("ctl1")
        + [row("cmp1", age=300), row("old", "nova-cert", age=9e6), row("n", "nova-network", age=9e6)]
    }
    run = check(cells)
    assert (run.code, run.line) == (
        2,
        "NOVA_SERVICES CRITICAL - nova-compute 1/1 down: cmp1 (5m00s); nova-cert removed in Pike: 1 leftover row: "
        "old (104d04h); nova-network removed in Ussuri: 1 leftover row: n (104d04h)",
    )


def test_a_removed_binary_is_a_live_one_on_a_cloud_older_than_its_removal():
    """Found by review: on a Stein cloud (its conductors and schedulers at 37) nova-consoleauth may still run
    (Train removed it): down, it is no leftover to delete, and still a WARNING, as on any cloud (deprecated
    since Rocky). nova-cert, removed in Pike, is a leftover there."""
    stein = [row(h, b, version=37) for h in ("ctl1", "ctl2") for b in ("nova-conductor", "nova-scheduler")]
    cells = {"cell1": stein + [row("ctl1", "nova-consoleauth", age=300, version=37), row("old", "nova-cert", age=9e6)]}
    run = check(cells)
    assert (run.code, run.line) == (
        1,
        "NOVA_SERVICES WARNING - nova-consoleauth 1/1 down: ctl1 (5m00s); nova-cert removed in Pike: 1 leftover row "
        "(openstack compute service delete): old (104d04h)",
    )
    assert run.perfdata["nova-consoleauth_down"] == "1;0;;0;1"  # the leftovers' WARNING, not the thresholds
    # One version on: Train's first (38), the same row is a leftover.
    train = [row(h, b, version=38) for h in ("ctl1", "ctl2") for b in ("nova-conductor", "nova-scheduler")]
    run = check({"cell1": train + [row("ctl1", "nova-consoleauth", age=300, version=37)]})
    assert (run.code, run.line) == (
        1,
        "NOVA_SERVICES WARNING - nova-consoleauth removed in Train: 1 leftover row (openstack compute service delete): "
        "ctl1 (5m00s)",
    )


def test_a_leftover_rows_old_version_is_no_upgrade_in_progress():
    """Found by review: the version a leftover row last wrote (35, years ago) read as 'versions 35 to 74: an upgrade
    in progress'. Live binaries of mixed versions still say it."""
    leftover = "nova-consoleauth removed in Train: 1 leftover row (openstack compute service delete): ctl1 (104d04h)"
    cells = {"cell1": [row("ctl1", b, version=74) for b in ("nova-conductor", "nova-scheduler")]}
    cells["cell1"] += [row("cmp1", version=74), row("ctl1", "nova-consoleauth", age=9e6, version=35)]
    run = check(cells)
    assert (run.code, run.line) == (1, f"NOVA_SERVICES WARNING - {leftover}")
    cells["cell1"][2] = row("cmp1", version=72)
    assert check(cells).line == f"NOVA_SERVICES WARNING - {leftover}; versions 72 to 74: an upgrade in progress"


def test_a_threshold_typo_is_named_in_a_narrowed_view_too():
    cells = {"cell1": controllers("ctl1") + computes("cmp", 3)}
    narrowed = Selection(hosts=("cmp00001",))
    typo = check(cells, critical=("nova-compte=0",), selection=narrowed)
    assert typo.line == "NOVA_SERVICES OK - 1 of 1 services up: nova-compute 1/1; -w/-c nova-compte: no such service"
    # a real binary that the narrowed view leaves out is no typo
    chosen = check(cells, critical=("nova-scheduler=0",), selection=narrowed)
    assert chosen.line == "NOVA_SERVICES OK - 1 of 1 services up: nova-compute 1/1"

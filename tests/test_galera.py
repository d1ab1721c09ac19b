"""A real three-node Galera cluster (Debian's galera-4, loopback ports): a node that is desynced, frozen by
FLUSH TABLES WITH READ LOCK, or cut off from the group (with and without dirty reads) is not taken as the
truth (issues 19, 24), nor one cut off and bootstrapped as a Primary component of its own (a split brain,
issue 28); a Synced node is read as usual. Exact first lines and exit codes."""

from __future__ import annotations

import pytest

from check_nova_services.demo.writer import service, write_api_database, write_cell
from tests.conftest import CLOCK, NOW, run_check
from tests.harness.galera import GaleraCluster

PASSWORD = "Galera-Mon-Secret"
ROWS = [service("ctl1", "nova-conductor", NOW, age=3.0)] + [
    service(f"cmp{n}", "nova-compute", NOW, age=4.0) for n in range(1, 22)
]
UP = "NOVA_SERVICES OK - 22 of 22 services up: nova-conductor 1/1, nova-compute 21/21"

#: A cluster forms, syncs and partitions in real time: run once, in the whole suite (rule/nodes.py, which
#: decides what a node's state means, is tested in process on every Python).
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    cluster = GaleraCluster(3)  # three, as clouds run it: a node's cluster address then lists the two others
    try:
        first = cluster[1]
        write_cell(first.create_database("nova"), ROWS)
        first.execute(
            f"CREATE USER 'mon'@'%' IDENTIFIED BY '{PASSWORD}'",
            "GRANT SELECT ON nova.* TO 'mon'@'%'",
            "GRANT SELECT ON nova_api.* TO 'mon'@'%'",
        )
        cluster.wait_synced()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def galera(cluster):
    """The cluster, Synced again after each test whatever it did."""
    yield cluster
    cluster.reset()


def node_url(cluster: GaleraCluster, index: int, query: str = "") -> str:
    url = cluster[index].url("nova", "mon", PASSWORD).render_as_string(hide_password=False)
    return url + query


def check(cluster: GaleraCluster, index: int, *args: str, query: str = ""):
    run = run_check("--db-url", node_url(cluster, index, query), CLOCK, "-t", "5", *args)
    assert run.stderr == ""
    return run


def test_a_synced_node_is_read_as_usual(galera):
    for index in (1, 2, 3):
        run = check(galera, index)
        assert (run.code, run.status) == (0, UP)


def test_a_desynced_node_is_not_the_truth(galera):
    galera.desync(galera[2])
    run = check(galera, 2)
    assert (run.code, run.status) == (
        3,
        "NOVA_SERVICES UNKNOWN - database nova node desynced (Donor/Desynced): heartbeats may be stale",
    )
    assert run.perfdata["cells_unreachable"] == "1;;;0;1"
    assert check(galera, 1).status == UP  # the other node is Synced


def test_a_node_frozen_by_a_read_lock_is_not_the_truth(galera):
    """FLUSH TABLES WITH READ LOCK (a backup tool's) desyncs and pauses the node: it applies nothing."""
    lock = galera.freeze(galera[2])
    try:
        run = check(galera, 2, "-v")
    finally:
        galera.thaw(galera[2], lock)
    assert (run.code, run.lines[0].split(" | ")[0]) == (
        3,
        "NOVA_SERVICES UNKNOWN - database nova node desynced (Donor/Desynced): heartbeats may be stale",
    )
    assert run.lines[1] == (
        "stale: database nova: its database node desynced (Donor/Desynced); its heartbeats may be stale, not judged"
    )


def test_a_partitioned_node_refuses_reads_and_says_so(galera):
    """Cut off, node 2 is non-Primary and refuses reads (error 1047): never OK or CRITICAL."""
    assert galera.isolate(galera[2])["wsrep_cluster_status"] == "non-Primary"
    run = check(galera, 2)
    assert (run.code, run.status) == (
        3,
        "NOVA_SERVICES UNKNOWN - database nova unreachable: Galera node not ready: WSREP has not yet prepared node "
        "for application use (error 1047)",
    )
    assert check(galera, 1).status == UP  # nodes 1 and 3 keep the Primary component (2 of 3)


def test_a_partitioned_node_with_dirty_reads_is_not_the_truth(galera):
    """With wsrep_dirty_reads (here from the URL's init_command) it serves heartbeats frozen at the partition:
    22 of 22 up for a minute, then all down. The node's own state says it is not the truth."""
    status = galera.isolate(galera[2])
    run = check(galera, 2, query="?init_command=SET+SESSION+wsrep_dirty_reads%3DON")
    assert (run.code, run.status) == (
        3,
        "NOVA_SERVICES UNKNOWN - database nova node not in the primary component "
        f"(non-Primary, {status['wsrep_local_state_comment']}): heartbeats may be stale",
    )


def test_a_minority_bootstrapped_as_its_own_primary_is_not_the_truth(galera):
    """Issue 28, a split brain's clue: node 3, cut off and bootstrapped (pc.bootstrap=YES), says Primary, Synced and
    ready, and serves heartbeats frozen at the split (all down a minute later). Alone in a component while its
    wsrep_cluster_address lists the two others, it is not the truth; the majority is."""
    status = galera.bootstrap_minority(galera[3])
    assert (status["wsrep_cluster_status"], status["wsrep_local_state_comment"], status["wsrep_cluster_size"]) == (
        "Primary",
        "Synced",
        "1",
    )
    run = check(galera, 3)
    assert (run.code, run.status) == (
        3,
        "NOVA_SERVICES UNKNOWN - database nova node is a Primary component of 1 while wsrep_cluster_address lists 2 "
        "nodes (a bootstrapped minority?): heartbeats may be stale",
    )
    assert check(galera, 1).status == UP  # nodes 1 and 2 go on as the cluster


def test_cells_on_different_nodes_are_judged_each_by_its_own(galera):
    """The API database maps two cells to the same database through each node: only the desynced one is doubted."""
    first = galera[1]
    api = first.create_database("nova_api")
    write_api_database(
        api,
        [
            ("11111111-1111-4111-8111-111111111111", "cell1", node_url(galera, 1)),
            ("22222222-2222-4222-8222-222222222222", "cell2", node_url(galera, 2)),
        ],
    )
    galera.wait_synced()
    galera.desync(galera[2])
    api_url = first.url("nova_api", "mon", PASSWORD).render_as_string(hide_password=False)
    run = run_check("--api-db-url", api_url, CLOCK, "-t", "5")
    assert (run.code, run.status, run.stderr) == (
        3,
        "NOVA_SERVICES UNKNOWN - cell2's database node desynced (Donor/Desynced): heartbeats may be stale",
        "",
    )
    assert (run.perfdata["nova-compute_total"], run.perfdata["cells_unreachable"]) == ("21;;;0", "1;;;0;2")

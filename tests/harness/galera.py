"""A private Galera cluster of real MariaDB nodes on loopback ports, to see what a check meets on a desynced,
frozen or partitioned node (wsrep states are not faked: the same status variables a production node reports).

Each node is a `MariaDB` of its own (own datadir, socket and ports, ``--no-defaults``); node 1 bootstraps the
cluster and the others join it by rsync SST (Debian's mariadb-server depends on galera-4 and rsync; mariabackup
SST would need the mariadb-backup package).  Every state change here is reversible (`GaleraCluster.reset`), so
one cluster can serve a whole pytest session.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pymysql
from sqlalchemy.engine import URL

from tests.harness.faults import processes_with
from tests.harness.mariadb import MariaDB, free_port

PROVIDER = "/usr/lib/galera/libgalera_smm.so"

#: Short EVS timeouts: a partition is seen in a few seconds, not the 15 s of the defaults.  Galera wants the
#: keepalive period under a third of the suspect timeout (its default PT1S is refused with PT2S).
EVS_TIMEOUTS = "evs.keepalive_period=PT0.5S;evs.suspect_timeout=PT2S;evs.inactive_timeout=PT4S;evs.install_timeout=PT3S"

Status = dict[str, str]


def _free_ports(count: int) -> list[int]:
    """``count`` distinct free loopback ports, never the defaults of a system server (3306, 4444, 4567, 4568)."""
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports and port not in (3306, 4444, 4567, 4568):
            ports.append(port)
    return ports


class GaleraNode(MariaDB):
    """One wsrep node; fresh Galera ports on each start attempt, like `MariaDB` takes a fresh SQL port."""

    def __init__(self, index: int, cluster_name: str, peers: list[str], weight: int = 1, sst_method: str = "rsync") -> None:
        """``peers`` are gmcast ``host:port`` of running nodes; none means bootstrap a new cluster."""
        self.index = index
        self.cluster_name = cluster_name
        self.peers = peers
        self.weight = weight
        self.sst_method = sst_method
        self.gmcast_port = self.ist_port = self.sst_port = 0
        self.joiner_tmp: str | None = None
        super().__init__(private=True)

    def _start(self) -> URL:
        self.gmcast_port, self.ist_port, self.sst_port = _free_ports(3)
        joiner: tuple[str, ...] = ()
        if self.peers:
            joiner = (f"--datadir={self._joiner_datadir()}",)  # a later --datadir wins over the one of MariaDB
        provider_options = ";".join(
            [
                f"gmcast.listen_addr=tcp://127.0.0.1:{self.gmcast_port}",
                f"ist.recv_addr=127.0.0.1:{self.ist_port}",
                EVS_TIMEOUTS,
                f"pc.weight={self.weight}",
                "gcache.size=32M",  # the 128M default is a file written per node
                "pc.recovery=FALSE",  # no gvwstate.dat: a node never tries to restore an old view
            ]
        )
        self.server_options = (
            "--wsrep-on=ON",
            f"--wsrep-provider={PROVIDER}",
            f"--wsrep-cluster-name={self.cluster_name}",
            f"--wsrep-cluster-address=gcomm://{','.join(self.peers)}",
            f"--wsrep-node-name=node{self.index}",
            f"--wsrep-node-address=127.0.0.1:{self.gmcast_port}",
            f"--wsrep-sst-receive-address=127.0.0.1:{self.sst_port}",
            f"--wsrep-sst-method={self.sst_method}",
            f"--wsrep-provider-options={provider_options}",
            "--binlog-format=ROW",
            "--default-storage-engine=InnoDB",
            "--innodb-autoinc-lock-mode=2",
            *joiner,
        )
        return super()._start()

    def _joiner_datadir(self) -> Path:
        """An empty datadir the rsync SST daemon may write: run by root it drops to ``nobody``, which cannot enter
        the 0700 temp dir of `MariaDB`.  mariadbd (root) reads the received files.  All a joiner's data comes from
        the donor: the datadir `MariaDB` initialised stays unused."""
        self.joiner_tmp = tempfile.mkdtemp(prefix="cns-galera-")
        datadir = Path(self.joiner_tmp, "data")
        datadir.mkdir()
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chmod(self.joiner_tmp, 0o711)
            os.chown(datadir, nobody.pw_uid, nobody.pw_gid)
        return datadir

    @property
    def gmcast(self) -> str:
        return f"127.0.0.1:{self.gmcast_port}"

    def status(self) -> Status:
        """``SHOW GLOBAL STATUS LIKE 'wsrep%'`` as a dict: the values a monitoring check reads."""
        return {name: value for name, value in self.execute("SHOW GLOBAL STATUS LIKE 'wsrep%'")}

    def stop(self) -> None:
        """Also ends SST helpers started for this node (found by its temp dir), then removes the dir."""
        dirs = [path for path in (self.tmp, self.joiner_tmp) if path]
        super().stop()
        for path in dirs:
            for pid in processes_with(path):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            shutil.rmtree(path, ignore_errors=True)
        self.joiner_tmp = None

    def __repr__(self) -> str:
        return f"<GaleraNode {self.index} sql={self.admin.port} gmcast={self.gmcast_port}>"


class GaleraCluster:
    """``size`` (1 to 3) real Galera nodes, all Synced on return; `nodes` lists them, node 1 first.

    With two nodes node 1 has ``pc.weight=2``: a split then leaves node 1 Primary (2 of 3 votes) and node 2
    non-Primary, instead of losing quorum on both sides.
    """

    def __init__(self, size: int = 2, timeout: float = 60, sst_method: str = "rsync") -> None:
        if not 1 <= size <= 3:
            raise ValueError("a GaleraCluster has 1 to 3 nodes")
        if not os.path.exists(PROVIDER):
            raise RuntimeError(f"{PROVIDER} not found: install galera-4 (a dependency of mariadb-server)")
        self.size = size
        self.nodes: list[GaleraNode] = []
        self._frozen: dict[pymysql.connections.Connection, GaleraNode] = {}
        self._bootstrapped: list[GaleraNode] = []
        name = f"cns-{uuid.uuid4().hex[:8]}"  # never the name of another cluster on this machine
        try:
            for index in range(1, size + 1):  # one after the other: each joiner has a donor to itself
                weight = 2 if index == 1 and size == 2 else 1
                peers = [node.gmcast for node in self.nodes]
                self.nodes.append(GaleraNode(index, name, peers, weight=weight, sst_method=sst_method))
            self.wait_synced(timeout)
        except BaseException:
            self.stop()
            raise

    def __getitem__(self, index: int) -> GaleraNode:
        """``cluster[1]`` is node 1 (numbered as in the logs and node names, not from 0)."""
        return self.nodes[index - 1]

    # --- observing -------------------------------------------------------------------------------------

    def status(self, node: GaleraNode) -> Status:
        return node.status()

    def wait_for(self, node: GaleraNode, predicate: Callable[[Status], bool], timeout: float = 30) -> Status:
        """Poll ``node``'s wsrep status until ``predicate`` holds; return that status (TimeoutError otherwise)."""
        deadline = time.monotonic() + timeout
        while True:
            status = node.status()
            if predicate(status):
                return status
            if time.monotonic() > deadline:
                raise TimeoutError(f"{node!r} after {timeout} s: {_summary(status)}")
            time.sleep(0.1)

    def wait_synced(self, timeout: float = 30) -> list[Status]:
        """Every node Synced, Primary and seeing all ``size`` nodes: the state each test may start from."""
        deadline = time.monotonic() + timeout
        return [
            self.wait_for(
                node,
                lambda s: (
                    s.get("wsrep_local_state_comment") == "Synced"
                    and s.get("wsrep_cluster_status") == "Primary"
                    and s.get("wsrep_cluster_size") == str(self.size)
                    and s.get("wsrep_ready") == "ON"
                ),
                max(deadline - time.monotonic(), 0.1),
            )
            for node in self.nodes
        ]

    # --- changing state (each with its way back) -------------------------------------------------------

    def desync(self, node: GaleraNode) -> Status:
        """``wsrep_desync=ON``: the node leaves flow control and says Donor/Desynced, still Primary and ready."""
        self._not_frozen(node)
        node.execute("SET GLOBAL wsrep_desync=ON")
        return self.wait_for(node, lambda s: s["wsrep_local_state_comment"] != "Synced", 10)

    def resync(self, node: GaleraNode) -> Status:
        """``wsrep_desync=OFF``: Synced again once it has applied what queued up (unless also frozen)."""
        self._not_frozen(node)
        node.execute("SET GLOBAL wsrep_desync=OFF")
        return self.wait_for(node, lambda s: s["wsrep_local_state_comment"] == "Synced", 30)

    def _not_frozen(self, node: GaleraNode) -> None:
        if node in self._frozen.values():
            raise ValueError(f"{node!r} is frozen: SET GLOBAL wsrep_desync waits for the paused provider, i.e. forever")

    def freeze(self, node: GaleraNode) -> pymysql.connections.Connection:
        """``FLUSH TABLES WITH READ LOCK`` on a connection held open (the lock lives as long as it does):
        Galera then desyncs and pauses the node, as a backup tool would.  Undo with `thaw`."""
        conn = node.connect()
        with conn.cursor() as cursor:
            cursor.execute("FLUSH TABLES WITH READ LOCK")
        self._frozen[conn] = node
        return conn

    def thaw(self, node: GaleraNode, conn: pymysql.connections.Connection) -> Status:
        """``UNLOCK TABLES`` on the connection `freeze` returned and close it; wait until the lock's desync is gone
        (and the node Synced, unless `desync` holds it too)."""
        held = int(node.status()["wsrep_desync_count"])
        self._frozen.pop(conn, None)
        try:
            with conn.cursor() as cursor:
                cursor.execute("UNLOCK TABLES")
        finally:
            conn.close()
        return self.wait_for(
            node,
            lambda s: (
                int(s["wsrep_desync_count"]) < held
                and (s["wsrep_desync_count"] != "0" or s["wsrep_local_state_comment"] == "Synced")
            ),
            30,
        )

    def isolate(self, node: GaleraNode, timeout: float = 30) -> Status:
        """Cut ``node`` off the group (``gmcast.isolate=1``) and wait until both sides have seen the partition.

        Returns the node's status: non-Primary, except node 1 of a two-node cluster, which keeps quorum by its
        weight (then node 2 is the non-Primary side).  A frozen node (FTWRL pauses its provider) keeps its old
        view until thawed.  A one-node cluster has nothing to be cut off from."""
        if self.size == 1:
            raise ValueError("a one-node cluster cannot be partitioned")
        node.execute("SET GLOBAL wsrep_provider_options='gmcast.isolate=1'")
        status = self.wait_for(node, lambda s: s["wsrep_cluster_size"] == "1" and s["wsrep_cluster_status"] != "", timeout)
        if node.weight < 2:
            status = self.wait_for(node, lambda s: s["wsrep_cluster_status"] == "non-Primary", timeout)
        for other in self.nodes:
            if other is not node and other not in self._frozen.values():  # a paused (frozen) node sees no new view
                self.wait_for(other, lambda s: s["wsrep_cluster_size"] == str(self.size - 1), timeout)
        return status

    def rejoin(self, node: GaleraNode, timeout: float = 30) -> list[Status]:
        """``gmcast.isolate=0``: the node reconnects, catches up (IST) and the whole cluster is Synced again."""
        node.execute("SET GLOBAL wsrep_provider_options='gmcast.isolate=0'")
        return self.wait_synced(timeout)

    def bootstrap_minority(self, node: GaleraNode, timeout: float = 30) -> Status:
        """Split brain: `isolate` ``node``, then ``pc.bootstrap=YES`` on it, as an operator does who takes the cut-off
        side for the only survivor. It becomes a Primary component of its own, Synced and ready, beside the rest of
        the cluster's. Two Primary components do not merge when they meet again: `reset` makes ``node`` reconnect
        (``SET GLOBAL wsrep_cluster_address``), and it joins the others' component as a new member would."""
        self.isolate(node, timeout)
        node.execute("SET GLOBAL wsrep_provider_options='pc.bootstrap=YES'")
        self._bootstrapped.append(node)
        return self.wait_for(
            node,
            lambda s: s["wsrep_cluster_status"] == "Primary" and s["wsrep_local_state_comment"] == "Synced",
            timeout,
        )

    def reset(self, timeout: float = 30) -> list[Status]:
        """Undo whatever a test left: unlock frozen nodes, resync, rejoin isolated ones, reconnect bootstrapped ones;
        all Synced again."""
        self._unfreeze_all()
        for node in self.nodes:
            node.execute("SET GLOBAL wsrep_provider_options='gmcast.isolate=0'", "SET GLOBAL wsrep_desync=OFF")
        while self._bootstrapped:
            node = self._bootstrapped.pop()
            ((address,),) = node.execute("SELECT @@GLOBAL.wsrep_cluster_address")
            node.execute(f"SET GLOBAL wsrep_cluster_address='{address}'")
        return self.wait_synced(timeout)

    def _unfreeze_all(self) -> None:
        """Close the connections `freeze` holds: a read lock ends with its connection."""
        for conn in self._frozen:
            try:
                conn.close()
            except pymysql.err.Error:
                pass
        self._frozen.clear()

    def stop(self) -> None:
        """Stop every node, joiners first (node 1 last keeps a Primary component to the end)."""
        self._unfreeze_all()
        for node in reversed(self.nodes):
            node.stop()
        self.nodes = []


def _summary(status: Status) -> str:
    keys = ("wsrep_local_state_comment", "wsrep_cluster_status", "wsrep_cluster_size", "wsrep_ready", "wsrep_connected")
    return ", ".join(f"{key}={status.get(key)!r}" for key in keys)

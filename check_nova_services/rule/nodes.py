"""What a database node says of itself, and whether its heartbeats can be taken as the truth. No I/O.

A Galera node out of sync, or a replica whose replication has stopped, answers queries with data that
may be minutes old: every service then reads down (a false page) or a dead one reads up. The node's own
status (``SHOW STATUS``, ``SHOW VARIABLES``: no grant needed) tells; the policy, per state:

- Galera, not in the Primary component, or not ready (``wsrep_ready`` OFF): cannot know.
- Galera, Primary and ready but not Synced (Donor/Desynced, Joining, Joined...): it may lag, cannot know.
- MariaDB replica (``gtid_slave_pos`` set, ``read_only`` ON) with replication stopped (``Slave_running``
  OFF for the default connection, and no SQL thread of a named one running, ``Slaves_running`` 0): cannot
  know. With replication running it is read as it is (its lag needs a grant to see), and a whole cell
  down says its newest heartbeat's age, which points at a stale database.
- Anything else (a plain server, MySQL's replicas, whose state needs grants): read as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

#: What is asked, in the same transaction as the heartbeats (SHOW ... WHERE: one round trip each).
STATUS_NAMES = ("wsrep_local_state_comment", "wsrep_cluster_status", "wsrep_ready", "Slave_running", "Slaves_running")
VARIABLE_NAMES = ("wsrep_on", "read_only", "gtid_slave_pos")


@dataclass(frozen=True)
class NodeState:
    """A node's status and variables, names lower-cased; empty when not asked (SQLite) or not answered."""

    status: Mapping[str, str] = field(default_factory=dict)
    variables: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, status: Mapping[str, object], variables: Mapping[str, object]) -> NodeState:
        def lowered(pairs: Mapping[str, object]) -> dict[str, str]:
            return {str(key).lower(): _text(value) for key, value in pairs.items()}

        return cls(lowered(status), lowered(variables))

    @property
    def galera(self) -> bool:
        """A Galera node: wsrep is on and its provider reports a cluster status."""
        return _on(self.variables.get("wsrep_on")) and "wsrep_cluster_status" in self.status

    @property
    def replica(self) -> bool:
        """A MariaDB replica as a SELECT-only user can see one: a replication position, and read-only."""
        return bool(self.variables.get("gtid_slave_pos")) and _on(self.variables.get("read_only"))

    @property
    def replicating(self) -> bool:
        """Replication applies changes. ``Slave_running`` speaks of the default (unnamed) connection only, so a
        multi-source replica's named connections count through ``Slaves_running`` (SQL threads running)."""
        if _on(self.status.get("slave_running")):
            return True
        running = self.status.get("slaves_running", "")
        return running.isdigit() and int(running) > 0

    def doubt(self) -> str | None:
        """Why this node's heartbeats may not be the truth, in words for "<cell>'s database <doubt>"; None: trusted."""
        if self.galera:
            cluster = self.status.get("wsrep_cluster_status", "")
            state = self.status.get("wsrep_local_state_comment", "") or "state unknown"
            if cluster != "Primary":
                return f"node not in the primary component ({cluster or 'no cluster status'}, {state})"
            if not _on(self.status.get("wsrep_ready")):
                return f"node not ready (wsrep_ready {self.status.get('wsrep_ready') or 'unknown'}, {state})"
            if state != "Synced":
                verb = "desynced" if "desync" in state.lower() else "not synced"
                return f"node {verb} ({state})"
            return None
        if self.replica and not self.replicating and self.status.get("slave_running", "").upper() in ("OFF", ""):
            if "slave_running" not in self.status and "slaves_running" not in self.status:
                return None  # the server says nothing of replication (MySQL): read as it is
            return "is a replica whose replication has stopped (Slave_running OFF)"
        return None

    def describe(self) -> str:
        """The node's role for -vvv and the notes: what the check saw."""
        if self.galera:
            return (
                f"Galera node {self.status.get('wsrep_local_state_comment', '?')}, "
                f"{self.status.get('wsrep_cluster_status', '?')}, wsrep_ready {self.status.get('wsrep_ready', '?')}"
            )
        if self.replica:
            return f"replica, replication {'running' if self.replicating else 'stopped'}"
        return "no Galera, no replication seen" if self.variables else "node state not read"


def _on(value: str | None) -> bool:
    return (value or "").strip().upper() in ("ON", "1", "YES", "TRUE")


def _text(value: object) -> str:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    return "" if value is None else str(value)

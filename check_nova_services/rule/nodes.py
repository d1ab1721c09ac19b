"""What a database node says of itself, and whether its heartbeats can be taken as the truth. No I/O.

A Galera node out of sync, or a replica whose replication has stopped or lags, answers queries with data that
may be minutes old: every service then reads down (a false page) or a dead one reads up. The node's own
status (``SHOW STATUS``, ``SHOW VARIABLES``: no grant needed), and on a read-only server its replica status
(``SHOW REPLICA STATUS``: a grant, optional) tell; the policy, per state:

- Galera, not in the Primary component, or not ready (``wsrep_ready`` OFF): cannot know.
- Galera, Primary and ready but not Synced (Donor/Desynced, Joining, Joined...): it may lag, cannot know.
- Galera, Primary and Synced in a component of 1 node while its ``wsrep_cluster_address`` lists several (a
  minority bootstrapped as its own Primary: a split brain): cannot know. ``gcomm://`` alone (the first node of
  a new cluster) or one node listed is a cluster of one, and read as it is.
- MariaDB replica (``gtid_slave_pos`` set, ``read_only`` ON) with replication stopped (``Slave_running``
  OFF for the default connection, and no SQL thread of a named one running, ``Slaves_running`` 0): cannot
  know.
- A replica whose lag is read (``SHOW REPLICA STATUS``' ``Seconds_Behind_Master``/``_Source``, the largest of
  its connections; needs SLAVE MONITOR on MariaDB, REPLICATION CLIENT on MySQL) beyond what the rule can
  tolerate: cannot know. A heartbeat read there is older by the lag, and a healthy service's is up to
  report_interval old, so beyond ``down_time - report_interval`` (:func:`lag_tolerance`) healthy services
  read down. Within it: read as it is.
- A replica whose lag cannot be read (no grant, or the server says NULL) is read as it is, but if every
  service of its cell reads down (:meth:`NodeState.doubt_when_all_down`) that is what a lag beyond the
  tolerance looks like, and no page: cannot know. A partial outage is read as it is.
- Anything else (a plain server, a MySQL read-only server whose replica status is not refused): read as it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from check_nova_services.shared.text import duration, text_of

#: What is asked, in the same transaction as the heartbeats (SHOW ... WHERE: one round trip each).
STATUS_NAMES = (
    "wsrep_local_state_comment",
    "wsrep_cluster_status",
    "wsrep_ready",
    "wsrep_cluster_size",
    "Slave_running",
    "Slaves_running",
)
VARIABLE_NAMES = ("wsrep_on", "read_only", "gtid_slave_pos", "wsrep_cluster_address")

#: The grant that lets a monitoring user read a replica's lag: MariaDB's (10.5.9+), then MySQL's.
LAG_GRANT = "SLAVE MONITOR or REPLICATION CLIENT"

#: SHOW REPLICA STATUS columns, lower-cased -> as the server names them: the lag (MariaDB's and MySQL's before
#: 8.0.22, then MySQL's), the SQL thread.
_LAG_COLUMNS = {"seconds_behind_master": "Seconds_Behind_Master", "seconds_behind_source": "Seconds_Behind_Source"}
_SQL_THREAD_COLUMNS = {"slave_sql_running": "Slave_SQL_Running", "replica_sql_running": "Replica_SQL_Running"}


def lag_tolerance(down_time: float, report_interval: float | None) -> float:
    """The largest replication lag at which a healthy service still reads up on a replica: its heartbeat is up
    to ``report_interval`` old on the primary, and older by the lag on the replica; down beyond ``down_time``."""
    return down_time - (report_interval or 0.0)


@dataclass(frozen=True)
class NodeState:
    """A node's status and variables, names lower-cased; empty when not asked (SQLite) or not answered."""

    status: Mapping[str, str] = field(default_factory=dict)
    variables: Mapping[str, str] = field(default_factory=dict)
    #: ``SHOW REPLICA STATUS``' rows (one per source), names lower-cased; None: not asked, or refused.
    replication: tuple[Mapping[str, str], ...] | None = None
    #: ``SHOW REPLICA STATUS`` was refused (error 1227: no SLAVE MONITOR/REPLICATION CLIENT): the lag is unknown.
    replication_refused: bool = False

    @classmethod
    def of(
        cls,
        status: Mapping[str, object],
        variables: Mapping[str, object],
        replication: Sequence[Mapping[str, object]] | None = None,
        replication_refused: bool = False,
    ) -> NodeState:
        rows = None if replication is None else tuple(_lowered(row) for row in replication)
        return cls(_lowered(status), _lowered(variables), rows, replication_refused)

    @property
    def galera(self) -> bool:
        """A Galera node: wsrep is on and its provider reports a cluster status."""
        return _on(self.variables.get("wsrep_on")) and "wsrep_cluster_status" in self.status

    @property
    def read_only(self) -> bool:
        """A read-only server outside Galera: a replica, maybe. Its replica status is worth one round trip."""
        return _on(self.variables.get("read_only")) and not self.galera

    @property
    def replica(self) -> bool:
        """A replica: MariaDB's as a SELECT-only user can see one (a replication position, and read-only), or any
        server whose replica status has a row."""
        mariadb = bool(self.variables.get("gtid_slave_pos")) and _on(self.variables.get("read_only"))
        return mariadb or bool(self.replication)

    @property
    def replicating(self) -> bool:
        """Replication applies changes. ``Slave_running`` speaks of the default (unnamed) connection only, so a
        multi-source replica's named connections count through ``Slaves_running`` (SQL threads running)."""
        if _on(self.status.get("slave_running")):
            return True
        running = self.status.get("slaves_running", "")
        return running.isdigit() and int(running) > 0

    @property
    def lag(self) -> float | None:
        """Seconds the replica's data is behind its primary, the largest of its sources; None: not known."""
        lags = [float(row[c]) for row in self.replication or () for c in _LAG_COLUMNS if row.get(c, "").isdigit()]
        return max(lags) if lags else None

    def doubt(self, lag_tolerance: float) -> str | None:
        """Why this node's heartbeats may not be the truth, in words for "<cell>'s database <doubt>"; None: trusted.
        ``lag_tolerance``: the replication lag beyond which healthy services read down (:func:`lag_tolerance`)."""
        if self.galera:
            return self._galera_doubt()
        stopped = self._stopped()
        if stopped is not None:
            return f"is a replica whose replication has stopped ({stopped})"
        lag = self.lag
        if lag is not None and lag > lag_tolerance:
            return f"is a replica {duration(lag)} behind its primary"
        return None

    def doubt_when_all_down(self) -> str | None:
        """Why every service of the cell reading down may be this node's lag, not an outage: a replica (or a read-only
        server that refuses to say) whose lag cannot be read; None: the outage is read as it is."""
        if self.lag is not None or not (self.replica or (self.read_only and self.replication_refused)):
            return None
        if self.replication_refused:
            why = f"whose lag cannot be read (grant {LAG_GRANT})"
        elif self.replication is None:
            why = "whose lag was not read"
        else:
            why = f"whose lag the server does not know ({self._lag_column()} NULL)"
        subject = "a replica" if self.replica else "a read-only server, a replica maybe,"
        return f"is {subject} {why} and every service reads down"

    def _galera_doubt(self) -> str | None:
        cluster = self.status.get("wsrep_cluster_status", "")
        state = self.status.get("wsrep_local_state_comment", "") or "state unknown"
        if cluster != "Primary":
            return f"node not in the primary component ({cluster or 'no cluster status'}, {state})"
        if not _on(self.status.get("wsrep_ready")):
            return f"node not ready (wsrep_ready {self.status.get('wsrep_ready') or 'unknown'}, {state})"
        if state != "Synced":
            verb = "desynced" if "desync" in state.lower() else "not synced"
            return f"node {verb} ({state})"
        listed = len(cluster_members(self.variables.get("wsrep_cluster_address", "")))
        if self.status.get("wsrep_cluster_size") == "1" and listed > 1:
            return (
                f"node is a Primary component of 1 while wsrep_cluster_address lists {listed} nodes (a bootstrapped minority?)"
            )
        return None

    def _stopped(self) -> str | None:
        """What says a replica's replication has stopped: MariaDB's status, or the replica status' SQL threads."""
        if not self.replica:
            return None
        if "slave_running" in self.status or "slaves_running" in self.status:  # MariaDB says it without a grant
            stopped = not self.replicating and self.status.get("slave_running", "").upper() in ("OFF", "")
            return "Slave_running OFF" if stopped else None
        columns = [c for c in _SQL_THREAD_COLUMNS if c in (self.replication or ({},))[0]]
        if columns and not any(row.get(c) == "Yes" for row in self.replication or () for c in columns):
            return f"{_SQL_THREAD_COLUMNS[columns[0]]} No"
        return None  # the server says nothing of replication (MySQL without the grant): read as it is

    def _lag_column(self) -> str:
        first = (self.replication or ({},))[0]
        return next((name for column, name in _LAG_COLUMNS.items() if column in first), "Seconds_Behind_Master")

    def describe(self) -> str:
        """The node's role for -vvv and the notes: what the check saw."""
        if self.galera:
            return (
                f"Galera node {self.status.get('wsrep_local_state_comment', '?')}, "
                f"{self.status.get('wsrep_cluster_status', '?')}, wsrep_ready {self.status.get('wsrep_ready', '?')}, "
                f"cluster size {self.status.get('wsrep_cluster_size', '?')}"
            )
        if self.replica:
            return f"replica, replication {'running' if self._stopped() is None else 'stopped'}, {self._lag_words()}"
        if self.read_only and self.replication_refused:
            return f"read-only, replica status refused (grant {LAG_GRANT} to read a lag)"
        return "no Galera, no replication seen" if self.variables else "node state not read"

    def _lag_words(self) -> str:
        lag = self.lag
        if lag is not None:
            return f"{duration(lag)} behind"
        if self.replication_refused:
            return f"lag not readable (grant {LAG_GRANT})"
        return "lag unknown" if self.replication else "lag not read"


def cluster_members(address: str) -> list[str]:
    """The nodes a ``gcomm://`` address lists (``gcomm://`` alone: none, a new cluster's first node); options after
    ``?`` are not nodes."""
    if not address.lower().startswith("gcomm://"):
        return []
    listed = address[len("gcomm://") :].split("?", 1)[0]
    return [member for member in (m.strip() for m in listed.split(",")) if member]


def _lowered(pairs: Mapping[str, object]) -> dict[str, str]:
    return {str(key).lower(): text_of(value) for key, value in pairs.items()}


def _on(value: str | None) -> bool:
    return (value or "").strip().upper() in ("ON", "1", "YES", "TRUE")

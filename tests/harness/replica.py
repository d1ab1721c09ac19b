"""A private asynchronous replication pair: two `MariaDB` servers, the replica following the primary by GTID.

For what a check sees on a replica that is running, stopped or behind (``MASTER_DELAY``, and writes dated in
the past: a lag of a minute without waiting a minute), with or without the grant that shows a monitoring user
the lag.  Every change here is reversible (`AsyncReplica.reset`), so one pair can serve a whole pytest session.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor

import pymysql

from tests.harness.mariadb import MariaDB

REPL_USER = "repl"
REPL_PASSWORD = "repl-secret"


class AsyncReplica:
    """``primary`` (binary log, server-id 1) and ``replica`` (server-id 2, ``read_only`` unless told otherwise),
    replicating with ``master_use_gtid=slave_pos``; both threads running and caught up on return."""

    def __init__(self, read_only: bool = True, timeout: float = 30) -> None:
        """``read_only`` as replicas are usually run: a SELECT-only user sees the same either way."""
        replica_options = ["--server-id=2", "--relay-log=relay-bin", "--skip-slave-start"]
        if read_only:
            replica_options.append("--read-only=ON")
        self.delayed = 0
        self.granted: list[str] = []
        self.locks: list[pymysql.connections.Connection] = []
        with ThreadPoolExecutor(2) as pool:  # two independent servers: start them side by side
            primary = pool.submit(MariaDB, "--log-bin=primary-bin", "--server-id=1", "--binlog-format=ROW", private=True)
            replica = pool.submit(MariaDB, *replica_options, private=True)
            self.primary: MariaDB = _result(primary, replica)
            self.replica: MariaDB = _result(replica, primary)
        try:
            self.primary.execute(
                "SET SESSION sql_log_bin=0",  # the replica needs no copy of the replication account
                f"CREATE USER '{REPL_USER}'@'%' IDENTIFIED BY '{REPL_PASSWORD}'",
                f"GRANT REPLICATION SLAVE ON *.* TO '{REPL_USER}'@'%'",
            )
            self.replica.execute(
                f"CHANGE MASTER TO master_host='127.0.0.1', master_port={self.primary.admin.port}, "
                f"master_user='{REPL_USER}', master_password='{REPL_PASSWORD}', master_use_gtid=slave_pos, "
                "master_connect_retry=1",
                "START SLAVE",
            )
            self.wait_running(timeout)
            self.wait_caught_up(timeout)
        except BaseException:
            self.stop()
            raise

    # --- observing -------------------------------------------------------------------------------------

    def slave_status(self) -> dict[str, object]:
        """``SHOW SLAVE STATUS`` of the replica, by column name ({} once replication is not configured)."""
        with self.replica.connect() as conn, conn.cursor(pymysql.cursors.DictCursor) as cursor:
            cursor.execute("SHOW SLAVE STATUS")
            return dict(cursor.fetchone() or {})

    def wait_running(self, timeout: float = 30, io: str = "Yes", sql: str = "Yes") -> dict[str, object]:
        """Until Slave_IO_Running and Slave_SQL_Running are ``io`` and ``sql``; the slave status then."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.slave_status()
            if (status.get("Slave_IO_Running"), status.get("Slave_SQL_Running")) == (io, sql):
                return status
            if time.monotonic() > deadline:
                raise TimeoutError(f"replica threads not {io}/{sql} after {timeout} s: {_brief(status)}")
            time.sleep(0.1)

    def wait_caught_up(self, timeout: float = 30) -> str:
        """Until the replica's ``gtid_slave_pos`` equals the primary's ``gtid_binlog_pos``; that GTID position."""
        deadline = time.monotonic() + timeout
        while True:
            ((primary_pos,),) = self.primary.execute("SELECT @@GLOBAL.gtid_binlog_pos")
            ((replica_pos,),) = self.replica.execute("SELECT @@GLOBAL.gtid_slave_pos")
            if primary_pos == replica_pos:
                return primary_pos
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"replica at {replica_pos!r}, primary at {primary_pos!r} after {timeout} s: {_brief(self.slave_status())}"
                )
            time.sleep(0.1)

    # --- changing state (each with its way back) -------------------------------------------------------

    def stop_sql_thread(self) -> dict[str, object]:
        """``STOP SLAVE SQL_THREAD``: events still arrive (IO thread) but are not applied; the replica falls behind."""
        self.replica.execute("STOP SLAVE SQL_THREAD")
        return self.wait_running(io="Yes", sql="No")

    def start_sql_thread(self) -> dict[str, object]:
        self.replica.execute("START SLAVE SQL_THREAD")
        return self.wait_running(io="Yes", sql="Yes")

    def delay(self, seconds: int) -> dict[str, object]:
        """``MASTER_DELAY``: the replica's SQL thread runs, and applies each event ``seconds`` after the primary
        wrote it; what it has not applied yet its readers do not see."""
        self.replica.execute("STOP SLAVE", f"CHANGE MASTER TO master_delay={int(seconds)}", "START SLAVE")
        self.delayed = int(seconds)
        return self.wait_running()

    def write_dated(self, seconds_ago: int, *statements: str, database: str, timeout: float = 30) -> dict[str, object]:
        """``statements`` on the primary, their binary log events dated ``seconds_ago`` in the past (``SET
        TIMESTAMP``): a replica's ``Seconds_Behind_Master`` counts from that date, and ``MASTER_DELAY`` holds an event
        back until that date plus the delay. The replica's status once the events arrived (and, under a delay
        or a lock that holds them, once the lag shows)."""
        with self.primary.connect(database) as conn, conn.cursor() as cursor:
            cursor.execute(f"SET TIMESTAMP=UNIX_TIMESTAMP() - {int(seconds_ago)}")
            for statement in statements:
                cursor.execute(statement)
            conn.commit()
        ((position,),) = self.primary.execute("SELECT @@GLOBAL.gtid_binlog_pos")
        held = self.delayed > seconds_ago or bool(self.locks)
        deadline = time.monotonic() + timeout
        while True:
            status = self.slave_status()
            lag = status.get("Seconds_Behind_Master")
            if status.get("Gtid_IO_Pos") == position and (not held or (isinstance(lag, int) and lag >= seconds_ago)):
                return status
            if time.monotonic() > deadline:
                raise TimeoutError(f"dated write not received after {timeout} s: {_brief(status)}")
            time.sleep(0.1)

    def lock_rows(self, database: str, table: str) -> None:
        """On the replica, a transaction holding every row of ``table`` (``SELECT ... FOR UPDATE``), as a long report
        would: the SQL thread, applying a change to them, waits on the lock (``innodb_lock_wait_timeout``, then
        retries) while replication runs. `reset` ends it."""
        conn = self.replica.connect(database)
        with conn.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute(f"SELECT * FROM `{table}` FOR UPDATE")
        self.locks.append(conn)

    def grant_lag_reading(self, user: str) -> None:
        """``GRANT SLAVE MONITOR`` to ``user`` (``'name'@'host'``), on the primary and replicated: it may then read
        ``SHOW REPLICA STATUS``, the lag among it. Before `delay`, which would hold the grant back too."""
        if self.delayed:
            raise ValueError("grant before delay(): the replica would apply the grant only after the delay")
        self.primary.execute(f"GRANT SLAVE MONITOR ON *.* TO {user}")
        self.granted.append(user)
        self.wait_caught_up()

    def reset(self, timeout: float = 30) -> str:
        """Undo whatever a test left: no delay, no lock, no grant given here, both threads running, the replica caught
        up."""
        while self.locks:
            self.locks.pop().close()  # the transaction ends with its connection, and its locks
        if self.delayed:
            self.replica.execute("STOP SLAVE", "CHANGE MASTER TO master_delay=0")
            self.delayed = 0
        self.replica.execute("START SLAVE")  # a no-op, with a warning, for threads that already run
        while self.granted:
            self.primary.execute(f"REVOKE SLAVE MONITOR ON *.* FROM {self.granted.pop()}")
        self.wait_running(timeout)
        return self.wait_caught_up(timeout)

    def stop(self) -> None:
        """Stop both servers, replica first (it would only retry connecting to a primary that is gone)."""
        for server in ("replica", "primary"):
            if hasattr(self, server):
                getattr(self, server).stop()


def _result(future: Future[MariaDB], other: Future[MariaDB]) -> MariaDB:
    """The server a start future gave; on failure the other server (if it started) is stopped too."""
    try:
        return future.result()
    except BaseException:
        try:
            other.result().stop()
        except Exception:  # noqa: BLE001 - the first failure is the one to report
            pass
        raise


def _brief(status: dict[str, object]) -> str:
    keys = ("Slave_IO_Running", "Slave_SQL_Running", "Last_IO_Error", "Last_SQL_Error", "Gtid_IO_Pos", "Seconds_Behind_Master")
    return ", ".join(f"{key}={status.get(key)!r}" for key in keys)

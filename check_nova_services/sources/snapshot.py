"""One consistent read per cell: a read-only transaction, and the node's own state (Galera, replication) read in it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import (
    Connection,
)
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from check_nova_services.rule.nodes import STATUS_NAMES, VARIABLE_NAMES, NodeState
from check_nova_services.shared.errors import ReadError
from check_nova_services.sources.db_errors import describe_error
from check_nova_services.sources.sessions import Link, is_sqlite

log = logging.getLogger("nagiosplugin.check_nova_services")
T = TypeVar("T")


def begin_snapshot(conn: Connection, url: URL) -> None:
    """One read-only transaction per cell: its counts and its problem rows come from the same snapshot,
    and behind a proxy (ProxySQL) every statement of it goes to the same backend node as the node's state.
    A server or proxy that refuses the statement is still read, statement by statement."""
    if is_sqlite(url):
        return
    try:
        conn.exec_driver_sql("START TRANSACTION READ ONLY")
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise
        log.debug("START TRANSACTION READ ONLY refused on %s: %s", url.database, describe_error(exc, url))
        conn.rollback()


def end_snapshot(conn: Connection, url: URL) -> None:
    """ROLLBACK, which ends the read-only transaction; its failure must not replace the read's own answer or
    error: the connection is then dropped, and the next cell gets a new one."""
    try:
        conn.rollback()
    except Exception as exc:  # noqa: BLE001 - any failure: the connection is not reused
        log.debug("ROLLBACK failed on %s: %s", url.database, describe_error(exc, url))
        conn.invalidate()


_SHOW_STATUS = f"SHOW GLOBAL STATUS WHERE Variable_name IN ({', '.join(repr(name) for name in STATUS_NAMES)})"


_SHOW_VARIABLES = f"SHOW VARIABLES WHERE Variable_name IN ({', '.join(repr(name) for name in VARIABLE_NAMES)})"


def node_state(conn: Connection, url: URL) -> NodeState | None:
    """The node's Galera and replication state, in the cell's own transaction (no grant needed); None on SQLite.
    A server that does not answer these (a proxy's own filter) is read as it is, and -vvv says so. On a read-only
    server, its replica status too (:func:`replica_status`)."""
    if is_sqlite(url):
        return None
    try:
        status = {name: value for name, value in conn.exec_driver_sql(_SHOW_STATUS)}
        variables = {name: value for name, value in conn.exec_driver_sql(_SHOW_VARIABLES)}
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise
        log.debug("node state of %s not read: %s", url.database, describe_error(exc, url))
        return NodeState()
    node = NodeState.of(status, variables)
    if not node.read_only:
        return node
    rows, refused = replica_status(conn, url)
    return NodeState.of(status, variables, rows, refused)


#: MySQL's and MariaDB's "you need (at least one of) the ... privilege(s)", and "You have an error in your SQL syntax".
_ACCESS_DENIED = (1227, 1142)
_SYNTAX_ERROR = 1064


def replica_status(conn: Connection, url: URL) -> tuple[list[dict[str, object]] | None, bool]:
    """``SHOW REPLICA STATUS`` (MariaDB 10.5.1+, MySQL 8.0.22+; MySQL 8.4 knows no other), ``SHOW SLAVE STATUS``
    on a server too old for it: its rows, and whether it was refused (no SLAVE MONITOR or REPLICATION CLIENT:
    the lag is then unknown, which is no error). A refused statement leaves the transaction as it was."""
    for statement in ("SHOW REPLICA STATUS", "SHOW SLAVE STATUS"):
        try:
            return [dict(row._mapping) for row in conn.exec_driver_sql(statement)], False
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise
            code = _error_code(exc)
            log.debug("%s refused on %s: %s", statement, url.database, describe_error(exc, url))
            if code != _SYNTAX_ERROR:
                return None, code in _ACCESS_DENIED
    return None, False


def _error_code(exc: DBAPIError) -> int | None:
    args = getattr(exc.orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def read_in_snapshot(
    link: Link, url: URL, read: Callable[[Connection], T], lag_tolerance: float
) -> tuple[NodeState | None, T | None]:
    """``read`` in one read-only snapshot of the cell at ``url``, with the node's state read first: nothing is
    read from a node that casts doubt on its data (then the result is None), a replica behind by more than
    ``lag_tolerance`` seconds among them. Any failure is one ReadError."""
    link.use(url)
    conn = link.conn
    try:
        begin_snapshot(conn, url)
        try:
            node = node_state(conn, url)
            if node is not None and node.doubt(lag_tolerance) is not None:
                return node, None
            result = read(conn)
            link.answered = True
            return node, result
        finally:
            end_snapshot(conn, url)
    except ReadError:
        raise
    except Exception as exc:  # noqa: BLE001 - the driver raises more than DBAPI errors (option files, TLS files)
        raise ReadError(describe_error(exc, url)) from None

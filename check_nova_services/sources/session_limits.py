"""Read-only sessions that outlive no check: every MySQL/MariaDB session is READ ONLY and carries a server-side time
limit, so that a statement the check gave up on (a table locked by a migration, an overloaded server) is cancelled
by the server instead of holding a connection after the check has exited. Set one statement at a time: a proxy or
an old server may refuse one, and the read must still happen."""

from __future__ import annotations

import logging
import math

from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine import URL
from sqlalchemy.engine.interfaces import DBAPIConnection, DBAPICursor, ExecutionContext
from sqlalchemy.pool import ConnectionPoolEntry

# Under "nagiosplugin" so that nagiosplugin shows these lines in the output at -vvv.
log = logging.getLogger("nagiosplugin.check_nova_services")


def limit_sessions(engine: Engine, url: URL, seconds: float) -> None:
    """Every session of a MySQL/MariaDB ``engine`` set up by session_setup, and every SELECT on a server that does not
    say MariaDB limited by MySQL's MAX_EXECUTION_TIME hint: both at 80 % of the connection's ``seconds``."""
    statement_limit = round(0.8 * seconds, 3)
    hint = f"SELECT /*+ MAX_EXECUTION_TIME({max(1, int(statement_limit * 1000))}) */"

    def on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        for failure in session_setup(dbapi_connection, statement_limit):
            log.debug("session setup on %s: %s", url.host or url.query.get("unix_socket") or "?", failure)

    def limit_each_select(
        _conn: Connection,
        cursor: DBAPICursor,
        statement: str,
        parameters: object,
        _context: ExecutionContext | None,
        _executemany: bool,
    ) -> tuple[str, object]:
        """MySQL's limit rides in each SELECT, not in the session (see session_setup)."""
        if statement[:7].upper() == "SELECT " and not says_mariadb(cursor.connection):
            statement = hint + statement[6:]
        return statement, parameters

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "before_cursor_execute", limit_each_select, retval=True)


def says_mariadb(dbapi_connection: DBAPIConnection | None) -> bool:
    """The server's version in the handshake names MariaDB: the server itself, not a proxy (ProxySQL gives its
    own mysql-server_version, SQLAlchemy's SELECT VERSION() may reach the backend)."""
    return "mariadb" in str(getattr(dbapi_connection, "get_server_info", lambda: "")() or "").lower()


def session_setup(dbapi_connection: DBAPIConnection, statement_limit: float) -> list[str]:
    """Every transaction of the session is READ ONLY (the check never writes), and no statement outlives
    the check: MariaDB's max_statement_time, lock_wait_timeout.

    A server that does not say MariaDB gets no session time limit: MySQL's is the MAX_EXECUTION_TIME hint
    in each SELECT (limit_sessions), because ProxySQL says MySQL (its own version, 8.0.11) in front of
    Kolla's MariaDB, and replays a session max_execution_time to the backend, which refuses it (1193) in
    place of the next statement: every read would fail. MariaDB before 12.0 ignores the hint, so behind
    ProxySQL its reads have no statement limit, only lock_wait_timeout (the client's timeouts still bound the check).

    One statement each, and a refusal is no failure: a proxy or an old server may reject one, and the
    read must still happen, bounded by the client's timeouts. Returns what was refused."""
    statements = ["SET SESSION TRANSACTION READ ONLY"]
    if says_mariadb(dbapi_connection):
        # Whole seconds: ProxySQL tracks an integer max_statement_time, and pins the session on a decimal one.
        statements.append(f"SET SESSION max_statement_time = {max(1, int(statement_limit))}")
    statements.append(f"SET SESSION lock_wait_timeout = {max(1, math.ceil(statement_limit))}")
    refused = []
    cursor = dbapi_connection.cursor()
    try:
        for statement in statements:
            try:
                cursor.execute(statement)
            except Exception as exc:  # noqa: BLE001 - any refusal: the read goes on without it
                code = getattr(exc, "args", ("",))[0]
                refused.append(f"{statement!r} refused ({code}): the read goes on without it")
    finally:
        cursor.close()
    return refused

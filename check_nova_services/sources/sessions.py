"""Connections to the databases: no pool, timeouts from the deadline, read-only sessions that outlive no
check, and one connection shared by the cells that live on the same server behind the same credentials."""

from __future__ import annotations

import logging
import math
import os
import socket
import sqlite3
import ssl
import threading
import urllib.parse
from typing import TYPE_CHECKING, Any, Optional, Union

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, Dialect
from sqlalchemy.engine.interfaces import DBAPIConnection, DBAPICursor, ExecutionContext
from sqlalchemy.pool import ConnectionPoolEntry, NullPool

from check_nova_services.shared.deadline import Deadline
from check_nova_services.shared.errors import ReadError
from check_nova_services.shared.text import text_of
from check_nova_services.sources.db_errors import describe_error
from check_nova_services.sources.urls import option_file

if TYPE_CHECKING:
    import pymysql.connections

# Under "nagiosplugin" so that nagiosplugin shows these lines in the output at -vvv.
log = logging.getLogger("nagiosplugin.check_nova_services")

#: URL query options that name files the driver reads: checked before connecting, so that a
#: typo says which file, instead of PyMySQL's bare "[Errno 2]" or silently ignoring an option file.
FILE_OPTIONS = ("read_default_file", "ssl_ca", "ssl_cert", "ssl_key", "ssl_capath")
#: The same files as an option file's group names them (PyMySQL reads them there too).
OPTION_FILE_FILES = {"ssl-ca": "ssl_ca", "ssl-cert": "ssl_cert", "ssl-key": "ssl_key", "ssl-capath": "ssl_capath"}


def is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def make_engine(url: URL, deadline: Deadline) -> Engine:
    """An engine with no pool, connect/read timeouts bounded by the deadline, and read-only sessions.

    MySQL/MariaDB sessions are READ ONLY and carry a server-side time limit, so that a statement
    the check gave up on (a table locked by a migration, an overloaded server) is cancelled by the
    server instead of holding a connection after the check has exited.
    """
    seconds = deadline.for_connection()
    if is_sqlite(url):
        return _sqlite_engine(url, seconds)
    check_files(url)
    connect_args: dict[str, object] = {}
    if url.get_backend_name() == "mysql":
        # PyMySQL's read_timeout also bounds the handshake of a server that never answers.
        connect_args = {"connect_timeout": seconds, "read_timeout": seconds, "write_timeout": seconds}
    try:
        engine = create_engine(url, poolclass=NullPool, connect_args=connect_args)
    except Exception as exc:  # noqa: BLE001 - e.g. a URL option the dialect cannot convert
        raise ReadError(describe_error(exc, url)) from None
    if url.get_backend_name() == "mysql":
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
        event.listen(engine, "do_connect", _pymysql_sharing_tls_defaults)
    return engine


def _pymysql_sharing_tls_defaults(
    dialect: Dialect, _record: ConnectionPoolEntry, cargs: tuple[Any, ...], cparams: dict[str, Any]
) -> pymysql.connections.Connection[Any] | None:
    """PyMySQL (1.2) gives every connection without TLS options a fresh "preferred" TLS context, and
    loading the system's CA store for it costs about 20 ms of CPU: a 20-cell run spent a third of its
    time there. Every such connection of the run now shares the first one's context, built by PyMySQL
    itself with the same settings; connections with TLS options are untouched."""
    if dialect.driver != "pymysql":
        return None
    return _shared_tls_connection_class()(*cargs, **cparams)


class _SharedTls:
    """The run's one default TLS context, and the PyMySQL connection class that shares it (made at first use:
    PyMySQL is imported only where a URL needs it)."""

    lock = threading.Lock()
    context: ssl.SSLContext | None = None
    connection_class: type[pymysql.connections.Connection[Any]] | None = None


def _shared_tls_connection_class() -> type[pymysql.connections.Connection[Any]]:
    if _SharedTls.connection_class is not None:
        return _SharedTls.connection_class
    import pymysql.connections
    import pymysql.err

    class SharedTlsDefaults(pymysql.connections.Connection):
        def _create_ssl_ctx(self, sslp: dict[str, Any]) -> ssl.SSLContext:
            # _create_ssl_ctx is PyMySQL's private method, absent from its stubs: hence the ignores.
            if sslp:  # the URL asked for TLS in its own way
                own: ssl.SSLContext = super()._create_ssl_ctx(sslp)  # type: ignore[misc]
                return own
            with _SharedTls.lock:
                if _SharedTls.context is None:
                    _SharedTls.context = super()._create_ssl_ctx(sslp)  # type: ignore[misc]
                return _SharedTls.context

        def connect(self, sock: socket.socket | None = None) -> None:
            """A refusal says whether the connection had TLS: an account that REQUIREs SSL refuses one without.
            PyMySQL calls a Unix socket secure, but speaks no TLS there, and MariaDB refuses such an account on it."""
            try:
                super().connect(sock)
            except pymysql.err.OperationalError as exc:
                # _secure (the handshake went TLS) is private to PyMySQL; without_tls is read back by db_errors.
                exc.without_tls = not self._secure or bool(self.unix_socket)  # type: ignore[attr-defined]
                raise

    with _SharedTls.lock:
        if _SharedTls.connection_class is None:
            _SharedTls.connection_class = SharedTlsDefaults
        return _SharedTls.connection_class


def says_mariadb(dbapi_connection: DBAPIConnection | None) -> bool:
    """The server's version in the handshake names MariaDB: the server itself, not a proxy (ProxySQL gives its
    own mysql-server_version, SQLAlchemy's SELECT VERSION() may reach the backend)."""
    return "mariadb" in str(getattr(dbapi_connection, "get_server_info", lambda: "")() or "").lower()


def session_setup(dbapi_connection: DBAPIConnection, statement_limit: float) -> list[str]:
    """Every transaction of the session is READ ONLY (the check never writes), and no statement outlives
    the check: MariaDB's max_statement_time, lock_wait_timeout.

    A server that does not say MariaDB gets no session time limit: MySQL's is the MAX_EXECUTION_TIME hint
    in each SELECT (make_engine), because ProxySQL says MySQL (its own version, 8.0.11) in front of
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


def check_files(url: URL) -> None:
    """Files named in the URL's query, or in its option file's group, must be readable by the monitoring user."""
    named = [(option, url.query.get(option), "") for option in FILE_OPTIONS]
    group = option_file(url)
    if group:
        where = f" (in {url.query.get('read_default_file')} [{url.query.get('read_default_group') or 'client'}])"
        named += [(key, group.get(key), where) for key in OPTION_FILE_FILES if not url.query.get(OPTION_FILE_FILES[key])]
    for option, value, where in named:
        for path in (value,) if isinstance(value, str) else (value or ()):
            if not path:
                continue
            full = os.path.expanduser(path)
            if option in ("ssl_capath", "ssl-capath"):
                readable = os.path.isdir(full) and os.access(full, os.R_OK | os.X_OK)
                problem = None if readable else "not a readable directory"
            else:
                try:
                    with open(full, "rb"):
                        problem = None
                except OSError as exc:
                    problem = exc.strerror or type(exc).__name__
            if problem:
                raise ReadError(f"{option} {path}{where}: {problem}")


def _sqlite_engine(url: URL, timeout: float) -> Engine:
    path = url.database or ""
    if path in ("", ":memory:"):
        raise ReadError("an SQLite URL needs a file: sqlite:///path/to/nova.sqlite")
    if not os.path.exists(path):
        raise ReadError(f"no SQLite database file {path}")
    # mode=ro: a typo must not create an empty database, and nothing can be written.
    uri = "file:" + urllib.parse.quote(os.path.abspath(path)) + "?mode=ro"

    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(uri, uri=True, timeout=timeout, check_same_thread=False)
        # Text that is not UTF-8 must not blind the check to the whole cell: decode what can be.
        conn.text_factory = text_of
        return conn

    return create_engine("sqlite://", poolclass=NullPool, creator=connect)


def sharing_key(url: URL) -> str:
    """Cells whose URLs differ only by database name can share one connection: same server, same
    credentials, same options. Held in memory only (it carries the password)."""
    if is_sqlite(url) or not url.database or "read_default_file" in url.query:
        # An option file may name a database= that PyMySQL logs in to when the URL gives none: not shared.
        return url.render_as_string(hide_password=False)
    return url.set(database="").render_as_string(hide_password=False)


#: A server as (backend, host or SQLite file, port, Unix socket): what cells on one server have in common.
ServerKey = tuple[str, Optional[str], Optional[int], Union[str, tuple[str, ...], None]]


def server_key(url: URL) -> ServerKey:
    """The server a URL reaches, whoever logs in: cells on one server share its connection budget."""
    if is_sqlite(url):
        return ("sqlite", url.database, None, None)
    socket = url.query.get("unix_socket")
    return (url.get_backend_name(), (url.host or "localhost").lower(), url.port or 3306, socket)


class Link:
    """One open connection, reused for every cell whose URL differs only by its database name."""

    def __init__(self, url: URL, deadline: Deadline) -> None:
        self.url = url
        # A shared connection logs in to no database: one cell's missing database or grant (1049, 1044) must not
        # read as the refusal of every cell of the server; each cell's database is chosen by use().
        shared = not is_sqlite(url) and bool(url.database) and "read_default_file" not in url.query
        # (URL.set ignores None: an empty name is what leaves the database out of the login.)
        self.engine = make_engine(url.set(database="") if shared else url, deadline)
        try:
            self.conn: Connection = self.engine.connect()
        except Exception as exc:  # noqa: BLE001 - the driver raises more than DBAPI errors (option files, TLS files)
            self.engine.dispose()
            raise ReadError(describe_error(exc, url)) from None
        self.database = None if shared else url.database
        #: The current cell's statements have all been answered (set by snapshot.py's read_in_snapshot): time past
        #: this went on judging here.
        self.answered = False

    def use(self, url: URL) -> None:
        """Make ``url``'s database the current one (COM_INIT_DB): the statements stay the same for every cell."""
        if is_sqlite(url) or not url.database or url.database == self.database:
            return
        try:
            self.conn.connection.dbapi_connection.select_db(url.database)  # type: ignore[union-attr]
        except Exception as exc:  # noqa: BLE001 - e.g. no grant on that database
            raise ReadError(describe_error(exc, url)) from None
        self.database = url.database

    @property
    def regexp_as_python(self) -> bool:
        """The server can apply --exclude as Python's ``re`` would (services_table.ExcludedBy): SQLite through
        SQLAlchemy's own REGEXP, MariaDB's PCRE2 on the portable form. Not MySQL (ICU reads ``.`` otherwise) nor a
        proxy that hides which server is behind it: there the rows are read and judged here."""
        return is_sqlite(self.url) or says_mariadb(self.conn.connection.dbapi_connection)

    def usable(self) -> bool:
        """Still connected (after a failed read: a lost connection is opened anew for the next cell)."""
        if self.conn.invalidated or self.conn.closed:
            return False
        if is_sqlite(self.url):
            return True
        try:
            self.conn.connection.dbapi_connection.ping(reconnect=False)  # type: ignore[union-attr]
        except Exception:  # noqa: BLE001 - any failure: not usable
            return False
        return True

    def close(self) -> None:
        try:
            self.conn.close()
        finally:
            self.engine.dispose()


def open_link(url: URL, deadline: Deadline) -> Link:
    return Link(url, deadline)

"""Engines and the connections cells share: no pool, timeouts from the deadline, and one connection shared by the
cells that live on the same server behind the same credentials. What each session is set to (session_limits.py), the
run's TLS context (tls.py, pymysql_connection.py), the files a URL names (url_files.py) and SQLite's read-only file
(sqlite_engine.py) are modules of their own."""

from __future__ import annotations

from typing import Optional, Union

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from check_nova_services.shared.deadline import Deadline
from check_nova_services.shared.errors import ReadError
from check_nova_services.sources.db_errors import describe_error
from check_nova_services.sources.session_limits import limit_sessions, says_mariadb
from check_nova_services.sources.sqlite_engine import sqlite_engine
from check_nova_services.sources.tls import pymysql_sharing_tls_defaults
from check_nova_services.sources.url_files import check_files


def is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def make_engine(url: URL, deadline: Deadline) -> Engine:
    """An engine with no pool, connect/read timeouts bounded by the deadline, and read-only sessions with a
    server-side time limit (session_limits.py); PyMySQL's connections share the run's default TLS context (tls.py)."""
    seconds = deadline.for_connection()
    if is_sqlite(url):
        return sqlite_engine(url, seconds)
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
        limit_sessions(engine, url, seconds)
        event.listen(engine, "do_connect", pymysql_sharing_tls_defaults)
    return engine


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

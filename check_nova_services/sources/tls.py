"""One default TLS context per run. PyMySQL (1.2) gives every connection without TLS options a fresh "preferred" TLS
context, and loading the system's CA store for it costs about 20 ms of CPU: a 20-cell run spent a third of its time
there. Every such connection of the run now shares the first one's context, built by PyMySQL itself with the same
settings; connections with TLS options are untouched."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Dialect
from sqlalchemy.pool import ConnectionPoolEntry

if TYPE_CHECKING:
    import pymysql.connections


class _Default:
    """The run's one default TLS context, made at first use."""

    lock = threading.Lock()
    context: ssl.SSLContext | None = None


def shared_default_context(build: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
    """The run's default TLS context: built by ``build`` (PyMySQL's own) for the first connection, then shared."""
    with _Default.lock:
        if _Default.context is None:
            _Default.context = build()
        return _Default.context


def pymysql_sharing_tls_defaults(
    dialect: Dialect, _record: ConnectionPoolEntry, cargs: tuple[Any, ...], cparams: dict[str, Any]
) -> pymysql.connections.Connection[Any] | None:
    """SQLAlchemy's do_connect: a PyMySQL connection is made by the class that shares the default context (imported
    here, at the first connection: PyMySQL is imported only where a URL needs it); other drivers connect as usual."""
    if dialect.driver != "pymysql":
        return None
    from check_nova_services.sources.pymysql_connection import SharedTlsConnection

    return SharedTlsConnection(*cargs, **cparams)

"""The PyMySQL connection class of every MySQL and MariaDB connection the check makes: it shares the run's default
TLS context (tls.py) and says whether a refused connection had TLS.

Both lean on PyMySQL's privates: it overrides ``_create_ssl_ctx(self, sslp)`` and reads ``_secure``. They were
checked against the PyMySQL releases of CHECKED_PYMYSQL; tests/test_pymysql_connection.py fails on any other,
so that a new PyMySQL is read again before it is trusted here."""

from __future__ import annotations

import functools
import socket
import ssl
from typing import Any

import pymysql.connections
import pymysql.err

from check_nova_services.sources.tls import shared_default_context

#: The PyMySQL releases this class was checked against: from the first (included) to the first not checked.
CHECKED_PYMYSQL = ((1, 2, 0), (1, 3, 0))


class SharedTlsConnection(pymysql.connections.Connection):
    """PyMySQL's Connection, but for the default context it shares and the TLS it reports on a refusal."""

    def _create_ssl_ctx(self, sslp: dict[str, Any]) -> ssl.SSLContext:
        # _create_ssl_ctx is PyMySQL's private method, absent from its stubs: hence the ignores.
        if sslp:  # the URL asked for TLS in its own way
            own: ssl.SSLContext = super()._create_ssl_ctx(sslp)  # type: ignore[misc]
            return own
        # PyMySQL's "preferred" TLS (the URL has no TLS options): its context, built once per run.
        return shared_default_context(functools.partial(super()._create_ssl_ctx, sslp))  # type: ignore[misc]

    def connect(self, sock: socket.socket | None = None) -> None:
        """A refusal says whether the connection had TLS: an account that REQUIREs SSL refuses one without.
        PyMySQL calls a Unix socket secure, but speaks no TLS there, and MariaDB refuses such an account on it."""
        try:
            super().connect(sock)
        except pymysql.err.OperationalError as exc:
            # _secure (the handshake went TLS) is private to PyMySQL; without_tls is read back by db_errors.
            exc.without_tls = not self._secure or bool(self.unix_socket)  # type: ignore[attr-defined]
            raise

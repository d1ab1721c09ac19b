"""The check's PyMySQL connection class (sources/pymysql_connection.py) leans on PyMySQL's privates: it overrides
``Connection._create_ssl_ctx(self, sslp)`` to share one default TLS context per run, and reads ``_secure`` to say
whether a refused connection had TLS. A private method may vanish, be renamed or change its signature in any
release, and the override would then be passed by silently (every connection back to a CA store load of its own,
about 20 ms of CPU each) or break the handshake. These tests fail first, in process, with no server: on a PyMySQL
outside the releases the class was checked against, or whose privates are no longer what it overrides."""

from __future__ import annotations

import inspect

import pymysql
import pymysql.connections

from check_nova_services.sources.pymysql_connection import CHECKED_PYMYSQL, SharedTlsConnection


def test_the_installed_pymysql_is_a_release_the_connection_class_was_checked_against():
    """Checked against PyMySQL 1.2 (1.2.4 when this test was written): the release whose "preferred" TLS calls
    ``_create_ssl_ctx({})`` for each connection without TLS options, the call the class shares. Another release
    fails here until its ``_create_ssl_ctx`` and ``_secure`` are read again and CHECKED_PYMYSQL moved. The version is
    ``pymysql.VERSION``: ``pymysql.__version__`` is the mysqlclient version PyMySQL poses as, not its own."""
    first, beyond = CHECKED_PYMYSQL
    assert first <= tuple(pymysql.VERSION[:3]) < beyond, pymysql.VERSION_STRING


def test_the_overridden_private_method_is_still_pymysqls_with_the_same_signature():
    """The override replaces ``Connection._create_ssl_ctx(self, sslp)`` itself, and ``_secure`` is still there."""
    private = pymysql.connections.Connection.__dict__.get("_create_ssl_ctx")
    assert callable(private)
    assert str(inspect.signature(private)) == "(self, sslp)"
    assert list(inspect.signature(SharedTlsConnection._create_ssl_ctx).parameters) == ["self", "sslp"]
    assert pymysql.connections.Connection.__dict__.get("_secure") is False


def test_pymysql_builds_its_preferred_tls_context_through_the_override_once_per_run():
    """PyMySQL asks for the "preferred" context as it builds a connection: two connections without TLS options get
    the run's one context; a connection with TLS options of its own gets its own."""
    first = SharedTlsConnection(host="127.0.0.1", defer_connect=True)
    second = SharedTlsConnection(host="127.0.0.1", defer_connect=True)
    own = SharedTlsConnection(host="127.0.0.1", ssl={"check_hostname": False}, defer_connect=True)
    assert first.ctx is not None
    assert second.ctx is first.ctx
    assert own.ctx is not first.ctx

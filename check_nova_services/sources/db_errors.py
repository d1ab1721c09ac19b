"""What went wrong with a database, in one line an operator acts on: where, why, what to do, never a password."""

from __future__ import annotations

import configparser
import re

from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from check_nova_services.shared.redaction import redact
from check_nova_services.sources.urls import is_secret_option, option_file

#: MySQL/MariaDB error codes worth a word of explanation.
_GALERA_NOT_READY = 1047
_TOO_MANY_CONNECTIONS = (1040, 1203)  # the server's max_connections, the account's max_user_connections
_ACCESS_DENIED = 1045
_STATEMENT_TIMEOUTS = (1969, 3024)  # MariaDB max_statement_time, MySQL max_execution_time
_CANT_CONNECT = 2003
_CLIENT_GAVE_UP = (2003, 2013)  # can't connect, lost connection: with "timed out", the server was silent
_AUTH_PLUGIN_UNKNOWN = 2059
_DNS_FAILURE = re.compile(r"\[Errno (-\d+)\] ([^)]*)")
_CANNOT_BIND = re.compile(r"\[Errno 99\]")
#: "Authentication plugin 'b'parsec'' not configured": PyMySQL quotes the name's bytes repr.
_PLUGIN_NAME = re.compile(r"plugin '(?:b')?([A-Za-z0-9_]+)'?' not configured")
#: PyMySQL names the host even when it connected through a Unix socket.
_CANT_CONNECT_ON_HOST = re.compile(r"^Can't connect to MySQL server on (?:'[^']*'|\"[^\"]*\")")

#: PyMySQL's words when an authentication method needs a package it could not import, and that package.
_MISSING_AUTH_PACKAGE = {
    "'pynacl' package is required": ("MariaDB's ed25519", "PyNaCl"),
    "'cryptography' package is required": ("MySQL 8's caching_sha2_password (or sha256_password) without TLS", "cryptography"),
}


def describe_error(exc: BaseException, url: URL) -> str:
    """One line for the status output: what failed, where, never the password."""
    if isinstance(exc, DBAPIError):
        reason = _describe_driver_error(exc.orig or exc, url, wrapped=True)
    elif isinstance(exc, SQLAlchemyError):
        reason = _first_line(exc) or type(exc).__name__
    else:
        reason = _describe_driver_error(exc, url, wrapped=False)
    return redact(" ".join(reason.split()), [url.password or "", *url_secrets(url)])


def _describe_driver_error(orig: BaseException, url: URL, wrapped: bool) -> str:
    args: tuple[object, ...] = getattr(orig, "args", ())
    if len(args) >= 2 and isinstance(args[0], int):  # PyMySQL and mysqlclient: (code, message)
        return _describe_coded(args[0], _naming_the_socket(args[0], str(args[1]), url), orig, url)
    if isinstance(orig, configparser.Error):
        # Only the first line: the next ones quote the file, password included.
        option_file = url.query.get("read_default_file")
        return f"cannot parse the MySQL option file {option_file}: {_first_line(orig) or type(orig).__name__}"
    text = str(orig)
    for words, (method, package) in _MISSING_AUTH_PACKAGE.items():
        if words in text:
            return (
                f"{method} authentication needs the Python package {package}: pip install {package} in the plugin's environment"
            )
    if "sequence number wrong" in text:  # the peer does not speak the MySQL protocol
        return f"not a MySQL/MariaDB server? ({_first_line(orig)})"
    if "no such table" in text:
        return _missing_table(text)
    if wrapped:  # a DBAPI error without a code, e.g. sqlite3's
        return text or type(orig).__name__
    # Anything else the driver raised while connecting (TLS files, bad URL options...): its type and
    # first line only, as further lines may quote file contents.
    first = _first_line(orig)
    return f"{type(orig).__name__}: {first}" if first else type(orig).__name__


def _naming_the_socket(code: int, message: str, url: URL) -> str:
    """A failed socket connection names the socket, as the mysql client does: PyMySQL's message names the host
    (127.0.0.1, localhost), which sends the operator to look at the wrong thing. The option file's socket wins,
    as in PyMySQL."""
    socket = option_file(url).get("socket") or url.query.get("unix_socket")
    if code != _CANT_CONNECT or not isinstance(socket, str) or not socket:
        return message
    return _CANT_CONNECT_ON_HOST.sub(lambda _: f"Can't connect to MySQL server through socket {socket!r}", message, count=1)


def _describe_coded(code: int, message: str, orig: BaseException, url: URL) -> str:
    dns = _DNS_FAILURE.search(message) if code == _CANT_CONNECT else None
    if code == 1146:
        return _missing_table(message)
    if dns:
        return f"cannot resolve host name {url.host!r}: {dns.group(2)} (error {code})"
    if code == _CANT_CONNECT and _CANNOT_BIND.search(message):
        bind = url.query.get("bind_address") or option_file(url).get("bind-address")
        return f"bind-address {bind} is not an address of this host: {message} (error {code})"
    if code == _GALERA_NOT_READY:
        return f"Galera node not ready: {message} (error {code})"
    if code in _TOO_MANY_CONNECTIONS:
        limit = "max_connections" if code == 1040 else "the account's max_user_connections"
        return f"the server has no connection to spare ({message}, error {code}): raise {limit}, or lower --per-server"
    if code == _ACCESS_DENIED and getattr(orig, "without_tls", False):
        # MariaDB and MySQL refuse an account that REQUIREs SSL exactly as a wrong password: one cause of two.
        return f"{message} (error {code}): wrong user or password, or REQUIRE SSL (no TLS here)"
    if code == _AUTH_PLUGIN_UNKNOWN and "not configured" in message:
        plugin = _PLUGIN_NAME.search(message)
        name = plugin.group(1) if plugin else "?"
        return (
            f"the server asks for the authentication plugin {name}, which PyMySQL cannot use (error {code}): give "
            "the monitoring user mysql_native_password, ed25519 or caching_sha2_password"
        )
    if code in _STATEMENT_TIMEOUTS:
        return f"too slow, cancelled by the server: {message} (error {code})"
    if code in _CLIENT_GAVE_UP and "timed out" in message:
        return f"no answer in time: {message} (error {code})"
    return f"{message} (error {code})"


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else ""


def url_secrets(url: URL) -> list[str]:
    """Passwords a URL brings besides its own: query options named *password*, and those in the
    MySQL option file it names (PyMySQL reads them; the check never sees them otherwise)."""
    found = [
        value
        for key, values in url.query.items()
        if is_secret_option(key)
        for value in ((values,) if isinstance(values, str) else values)
    ]
    password = option_file(url).get("password")
    if password:
        found.append(password)
    return [secret for secret in found if secret]


def _missing_table(message: str) -> str:
    if "cell_mappings" in message:
        return "no cell_mappings table: not a Nova API database"
    if "aggregate" in message:
        return "no aggregate tables: not a Nova API database"
    return "no services table: not a Nova cell database"

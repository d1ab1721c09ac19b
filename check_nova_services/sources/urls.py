"""Database URLs: read unambiguously, limited to what the check supports, shown without secrets.

Every URL the check connects to passes through :func:`parse_db_url`, whatever its source
(command line, environment, nova.conf, a ``cell_mappings`` row).  A cell's server always
comes from its own mapping; with ``--cell-credentials api`` only the API database's
credentials and TLS settings are carried over (:func:`with_api_credentials`).
"""

from __future__ import annotations

import configparser
import logging
import os
import urllib.parse

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from check_nova_services.shared.errors import ConfigError

log = logging.getLogger("nagiosplugin.check_nova_services")

#: Backends the check reads, and the one driver it reads MySQL/MariaDB with.
SUPPORTED = "MySQL/MariaDB (mysql+pymysql://) or SQLite (sqlite:///)"
_MYSQL_SPELLINGS = {"mysql", "mysql+pymysql", "mysql+mysqldb", "mariadb", "mariadb+pymysql", "mariadb+mysqldb"}
_SQLITE_SPELLINGS = {"sqlite", "sqlite+pysqlite"}

#: Query options that name or carry credentials: with --cell-credentials api, the mapping's are dropped.
_CREDENTIAL_OPTIONS = ("user", "password", "passwd")
#: TLS settings of a MySQL option file (PyMySQL reads ssl-<key>) and their URL spelling.
_OPTION_FILE_TLS = {f"ssl-{key}": f"ssl_{key}" for key in ("ca", "capath", "cert", "key", "cipher")}

_ENCODING_HINT = "percent-encode @ / ? # in the user name and password (%40 %2F %3F %23)"
_PORTS = range(1, 65536)


def parse_db_url(text: str, origin: str) -> URL:
    """An SQLAlchemy URL the check can use, or a ConfigError whose message never repeats the text.

    Read as SQLAlchemy's ``make_url`` reads it, as Nova (oslo.db) does: a raw ``/ # : ?`` in the password is
    part of it. Refused before any connection or name lookup, as Nova could not use them either: a URL whose
    user name and password make_url cannot tell from the host (a raw ``@`` in them, a ``/`` or ``:`` in the
    user name), a port out of range, and backends other than MySQL/MariaDB and SQLite.  ``plugin=`` is
    dropped: a URL never makes the check load code.
    """
    if _userinfo_is_ambiguous(text):
        raise ConfigError(f"{origin}: cannot tell the password from the host; {_ENCODING_HINT}")
    try:
        url = make_url(text)
        port = url.port
    except (ArgumentError, ValueError):
        raise ConfigError(f"{origin} is not a database URL (expected e.g. mysql+pymysql://user@host/nova)") from None
    if _userinfo_unread(text, url):
        raise ConfigError(f"{origin}: cannot tell the password from the host; {_ENCODING_HINT}")
    if port is not None and port not in _PORTS:
        raise ConfigError(f"{origin}: the port is out of range (1-65535)")
    driver = url.drivername.lower()
    if driver in _MYSQL_SPELLINGS:
        # Nova writes mysql+pymysql; mysql:// (MySQLdb) and mariadb:// name the same servers.
        url = url.set(drivername="mysql+pymysql")
    elif driver not in _SQLITE_SPELLINGS:
        raise ConfigError(f"{origin}: {_printable(driver)} is not supported; Nova's databases are read from {SUPPORTED}")
    if "plugin" in url.query:
        log.debug("%s: plugin= dropped, the check loads no SQLAlchemy plugins", origin)
        url = url.difference_update_query(["plugin"])
    return url


def _userinfo_is_ambiguous(text: str) -> bool:
    """A second '@': make_url ends the password at the first, and the rest of it would be read as the host."""
    scheme, sep, rest = text.partition("://")
    if not sep or scheme.lower().startswith("sqlite"):
        return False
    return rest.count("@") > 1


def _userinfo_unread(text: str, url: URL) -> bool:
    """A user and password make_url did not find (a '/' in the user name): they would be read as host, database
    or options, and shown. The '@' of a user-info with a ':' before it, and no user read."""
    scheme, _, rest = text.partition("://")
    if scheme.lower().startswith("sqlite") or url.username is not None:
        return False
    before, at, _ = rest.partition("@")
    return bool(at) and ":" in before


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() and ch not in "|" else "?" for ch in text)[:40] or "?"


def add_password(url: URL, password: str | None) -> URL:
    """Fill in a password from the environment when the URL names a user but no password."""
    if password and url.username and url.password is None:
        return url.set(password=password)
    return url


def is_secret_option(key: str) -> bool:
    """URL query options that carry a password (PyMySQL also takes ``passwd``)."""
    return "password" in key.lower() or "passwd" in key.lower()


def show_url(url: URL) -> str:
    """A URL fit for output: password masked."""
    masked = {key: "***" for key in url.query if is_secret_option(key)}  # e.g. ssl_key_password, passwd
    rendered = url.update_query_dict(masked).render_as_string(hide_password=True)
    return rendered.replace("=%2A%2A%2A", "=***")  # the mask as the password's, not percent-encoded


def option_file(url: URL) -> dict[str, str]:
    """The options of the MySQL option file a URL names (``read_default_file``), as PyMySQL reads
    them: group ``read_default_group`` or ``client``, ``_`` read as ``-``, one pair of quotes dropped.
    Empty when there is none or it cannot be read (connecting then says why)."""
    path = url.query.get("read_default_file")
    if not isinstance(path, str):
        return {}
    group = url.query.get("read_default_group")
    parser = configparser.RawConfigParser(allow_no_value=True, strict=False)
    parser.optionxform = lambda optionstr: optionstr.lower().replace("_", "-")  # type: ignore[method-assign]
    try:
        with open(os.path.expanduser(path), encoding="utf-8", errors="replace") as handle:
            parser.read_file(handle)
    except (OSError, configparser.Error):
        return {}
    section = group if isinstance(group, str) and group else "client"
    if not parser.has_section(section):
        return {}
    return {key: unquote(value or "") for key, value in parser.items(section)}


def unquote(value: str) -> str:
    """One matching pair of quotes around a value dropped, as both readers of Nova's settings do: PyMySQL
    for a MySQL option file, oslo.config for nova.conf."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def with_api_credentials(cell: URL, api: URL) -> URL:
    """The cell's own server (host, port, socket, database, its option file), read as the API
    database's user: user and password, and TLS settings, come from the API URL and its option file.

    The API side's server settings (``unix_socket``, and ``socket``/``host``/``port`` of its option
    file) never carry over: a cell read through the API's socket would be another server.
    """
    from_file = option_file(api)
    username = api.username or from_file.get("user") or None
    password = api.password
    if password is None:
        password = _first_text(api.query.get("password"), api.query.get("passwd")) or from_file.get("password")
    query = {key: value for key, value in cell.query.items() if key not in _CREDENTIAL_OPTIONS}
    tls = {file_key: url_key for file_key, url_key in _OPTION_FILE_TLS.items() if from_file.get(file_key)}
    query.update({url_key: from_file[file_key] for file_key, url_key in tls.items()})
    query.update({key: value for key, value in api.query.items() if key.lower().startswith("ssl")})
    # _replace, not set(): set() would keep the mapping's user when the API names none.
    return cell._replace(username=username, password=password).set(query=query)


def _first_text(*values: object) -> str | None:
    for value in values:
        if isinstance(value, str) and value:
            return value
        if isinstance(value, tuple) and value:
            return str(value[0])
    return None


def format_db_url(template: str, base: str | None) -> str:
    """A cell mapping's database_connection, formatted the way Nova's CellMapping.format_db_url does.

    Placeholders ({scheme}, {username}, {password}, {hostname}, {port}, {path},
    {query}, {fragment}, and {username1}, {hostname1}, ... for a comma-separated
    netloc) come from the reader's own [database]/connection.  Like Nova, a
    template that cannot be formatted is used as it is (and will fail to connect).
    """
    if base is None:
        return template
    try:
        parsed = urllib.parse.urlparse(base)
        values: dict[str, object] = {
            "username": parsed.username,
            "password": parsed.password,
            "hostname": parsed.hostname,
            "port": parsed.port,
            "scheme": parsed.scheme,
            "query": parsed.query,
            "fragment": parsed.fragment,
            "path": parsed.path.lstrip("/"),
        }
        if "," in parsed.netloc:
            for index, netloc in enumerate(parsed.netloc.split(","), start=1):
                for key, value in _netloc_parts(netloc).items():
                    values[f"{key}{index}"] = value
        return template.format(**values)
    except Exception:  # noqa: BLE001 - Nova falls back to the raw URL on any failure
        return template


def _netloc_parts(netloc: str) -> dict[str, str | None]:
    """user:pass@host:port of one host of a multi-host URL, split as Nova splits it."""
    userpass, hostport = netloc.split("@", 1) if "@" in netloc else ("", netloc)
    parts: dict[str, str | None] = {"username": None, "password": None, "hostname": None, "port": None}
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise ValueError("Invalid IPv6 URL")
        parts["hostname"], parts["port"] = hostport[1:end], hostport[end + 1 :]
    elif ":" in hostport:
        parts["hostname"], parts["port"] = hostport.split(":", 1)
    else:
        parts["hostname"] = hostport
    if ":" in userpass:
        parts["username"], parts["password"] = userpass.split(":", 1)
    else:
        parts["username"] = userpass
    return parts

"""Where the check's settings come from: nova.conf files, environment, URLs.

Passwords are kept out of argv: a database URL may come from a nova.conf-style
file (mode 0640, root and the group of the user that runs the checks), from
``NOVA_SERVICES_DB_URL``, or carry no password at all and take it from ``NOVA_SERVICES_DB_PASSWORD`` or a MySQL option file
(``?read_default_file=...``).
"""

from __future__ import annotations

import configparser
import os
import stat
import string
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.engine import URL

from check_nova_services.shared.errors import ConfigError
from check_nova_services.sources.urls import add_password, parse_db_url, unquote

DEFAULT_CONFIG_FILE = "/etc/nova/nova.conf"
ENV_DB_URL = "NOVA_SERVICES_DB_URL"
ENV_API_DB_URL = "NOVA_SERVICES_API_DB_URL"
ENV_DB_PASSWORD = "NOVA_SERVICES_DB_PASSWORD"
#: Where oslo.config looks for project nova's nova.conf and nova.conf.d, for messages.
DEFAULT_PLACES = "~/.nova, ~, /etc/nova or /etc"


@dataclass
class NovaConf:
    """The handful of nova.conf options the check reads (later files win)."""

    database_connection: str | None = None
    api_database_connection: str | None = None
    service_down_time: int | None = None
    report_interval: int | None = None
    servicegroup_driver: str | None = None
    default_availability_zone: str | None = None
    internal_service_availability_zone: str | None = None
    files: list[str] = field(default_factory=list)


# (section, option) -> NovaConf attribute, and whether it is an integer
_OPTIONS = {
    ("database", "connection"): ("database_connection", False),
    ("api_database", "connection"): ("api_database_connection", False),
    ("DEFAULT", "service_down_time"): ("service_down_time", True),
    ("DEFAULT", "report_interval"): ("report_interval", True),
    ("DEFAULT", "servicegroup_driver"): ("servicegroup_driver", False),
    ("DEFAULT", "default_availability_zone"): ("default_availability_zone", False),
    ("DEFAULT", "internal_service_availability_zone"): (
        "internal_service_availability_zone",
        False,
    ),
}


def nova_config_files(
    sources: list[tuple[str, str]],
    use_defaults: bool,
    home: str | None = None,
    environ: Mapping[str, str] | None = None,
    etc: str = "/etc",
) -> list[str]:
    """The files Nova's oslo.config would parse, in order (later ones win), for project ``nova``.

    ``sources`` are the command line's ("file", PATH) and ("dir", PATH) options in their order.
    With ``use_defaults``, as oslo.config's ``_parse_config_files`` does: first the default
    nova.conf unless a --config-file is given, then every *.conf of the default nova.conf.d
    unless a --config-dir is given, then the sources, each --config-dir's *.conf in sorted
    order at its place. Without ``use_defaults`` just the sources. ``home``, ``environ`` (for
    $SNAP_COMMON and $SNAP) and ``etc`` are the search roots: ~, os.environ and /etc.

    One deviation, for a check that runs as another user than Nova: a default nova.conf that
    cannot be looked at (a directory on its path not searchable) is an error, where oslo.config
    would take it for absent and read the next one; a default nova.conf.d there is skipped as
    oslo.config does, and a nova.conf.d that exists but cannot be listed is an error.
    """
    home = os.path.expanduser("~") if home is None else home
    environ = os.environ if environ is None else environ
    files: list[str] = []
    if use_defaults:
        places = _default_places(home, environ, etc)
        if not any(kind == "file" for kind, _ in sources):
            found = _first_existing([os.path.join(place, "nova.conf") for place in places], "file")
            files += [found] if found else []
        if not any(kind == "dir" for kind, _ in sources):
            found = _first_existing([os.path.join(place, "nova.conf.d") for place in places], "directory")
            files += _conf_files(found) if found else []
    for kind, path in sources:
        path = _expand(path, home)
        if kind == "file":
            files.append(path)
            continue
        try:
            os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            raise ConfigError(f"config directory {path} not found") from None
        except OSError as exc:
            raise ConfigError(f"cannot read config directory {path}: {exc.strerror}") from None
        files += _conf_files(path)
    return files


def _default_places(home: str, environ: Mapping[str, str], etc: str) -> list[str]:
    """oslo.config's _get_config_dirs('nova'): ~/.nova, ~, /etc/nova, /etc, then the snap ones."""
    places = [os.path.join(home, ".nova"), home, os.path.join(etc, "nova"), etc]
    places += [os.path.join(environ[name], "etc", "nova") for name in ("SNAP_COMMON", "SNAP") if environ.get(name)]
    return places


def _expand(path: str, home: str) -> str:
    """~ and ~/... as oslo.config expands them (with our home), ~user by the system."""
    if path == "~" or path.startswith("~/"):
        return home + path[1:]
    return os.path.expanduser(path)


def _first_existing(candidates: list[str], what: str) -> str | None:
    """The first candidate that exists, as oslo.config's _search_dirs; an unreadable one is an error for files."""
    for path in candidates:
        try:
            os.stat(path)
        except PermissionError as exc:
            if what == "file":  # Nova may well read this one: we cannot tell what it holds
                raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
        except (OSError, ValueError):  # missing, a non-directory on the path, a loop, a NUL byte
            continue
        else:
            return path
    return None


def _conf_files(directory: str) -> list[str]:
    """sorted(glob(directory/*.conf)): not hidden names, case-sensitive; nothing when it is not a directory."""
    try:
        if not stat.S_ISDIR(os.stat(directory).st_mode):
            return []
        names = os.listdir(directory)
    except OSError as exc:
        raise ConfigError(f"cannot read config directory {directory}: {exc.strerror}") from None
    return sorted(os.path.join(directory, name) for name in names if name.endswith(".conf") and not name.startswith("."))


def read_nova_conf(paths: list[str]) -> NovaConf:
    """Read nova.conf-format files in order, later values overriding earlier ones, as oslo.config does."""
    conf = NovaConf()
    merged: dict[str, dict[str, tuple[str, str]]] = {}  # section -> option -> (raw value, file)
    for path in paths:
        # [DEFAULT] is an ordinary section in oslo.config: it must not leak into others.
        parser = configparser.ConfigParser(interpolation=None, strict=False, default_section="\0none")
        try:
            with open(path, encoding="utf-8") as handle:
                parser.read_file(handle)
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
        except (configparser.Error, UnicodeDecodeError) as exc:
            first_line = str(exc).splitlines()[0]
            raise ConfigError(f"cannot parse config file {path}: {first_line}") from None
        for section in parser.sections():
            for option, raw in parser.items(section):
                merged.setdefault(section, {})[option] = (unquote(raw.strip()), path)
        conf.files.append(path)
    for (section, option), (attr, is_int) in _OPTIONS.items():
        if option not in merged.get(section, {}):
            continue
        raw, path = merged[section][option]
        value = _substitute(raw, section, merged)
        if is_int:
            try:
                setattr(conf, attr, int(value))
            except ValueError:
                raise ConfigError(f"[{section}] {option} in {path} is not an integer: {value!r}") from None
        else:
            setattr(conf, attr, value or None)
    return conf


class _OsloTemplate(string.Template):
    """oslo.config's substitution: $$ is a dollar, $name or ${group.name} another option's value."""

    idpattern = r"[_a-z][\._a-z0-9]*"


def _substitute(value: str, section: str, merged: dict[str, dict[str, tuple[str, str]]], depth: int = 0) -> str:
    if "$" not in value or depth > 10:
        return value
    value = value.replace("\\$", "$$")  # oslo reads \$ as $$ too

    class Lookup(dict[str, str]):
        def __missing__(self, key: str) -> str:
            group, _, name = key.rpartition(".")
            for where in [group] if group else [section, "DEFAULT"]:
                if name in merged.get(where, {}):
                    return _substitute(merged[where][name][0], where, merged, depth + 1)
            raise KeyError(key)  # unknown: left as it is, like safe_substitute in oslo.config

    return _OsloTemplate(value).safe_substitute(Lookup())


def pick_url(
    cli_value: str | None, env_name: str, conf_value: str | None, what: str, environ: Mapping[str, str] | None = None
) -> URL | None:
    """The first URL given: command line, then environment, then config file."""
    environ = os.environ if environ is None else environ
    for value, origin in (
        (cli_value, f"--{what}"),
        (environ.get(env_name), env_name),
        (conf_value, "the config file's connection"),
    ):
        if value:
            return add_password(parse_db_url(value, origin), environ.get(ENV_DB_PASSWORD))
    return None

"""Where the check's settings come from: nova.conf files, environment, URLs.

Passwords are kept out of argv: a database URL may come from a nova.conf-style
file (mode 0600), from ``NOVA_SERVICES_DB_URL``, or carry no password at all
and take it from ``NOVA_SERVICES_DB_PASSWORD`` or a MySQL option file
(``?read_default_file=...``).
"""

from __future__ import annotations

import configparser
import os
import string
from dataclasses import dataclass, field

from sqlalchemy.engine import URL

from .errors import ConfigError
from .urls import add_password, parse_db_url

DEFAULT_CONFIG_FILE = "/etc/nova/nova.conf"
ENV_DB_URL = "NOVA_SERVICES_DB_URL"
ENV_API_DB_URL = "NOVA_SERVICES_API_DB_URL"
ENV_DB_PASSWORD = "NOVA_SERVICES_DB_PASSWORD"


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
                merged.setdefault(section, {})[option] = (_unquote(raw.strip()), path)
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


def _unquote(value: str) -> str:
    """oslo.config drops one matching pair of quotes around a value."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


class _OsloTemplate(string.Template):
    """oslo.config's substitution: $$ is a dollar, $name or ${group.name} another option's value."""

    idpattern = r"[_a-z][\._a-z0-9]*"


def _substitute(value: str, section: str, merged: dict, depth: int = 0) -> str:
    if "$" not in value or depth > 10:
        return value
    value = value.replace("\\$", "$$")  # oslo reads \$ as $$ too

    class Lookup(dict):
        def __missing__(self, key: str) -> str:
            group, _, name = key.rpartition(".")
            for where in [group] if group else [section, "DEFAULT"]:
                if name in merged.get(where, {}):
                    return _substitute(merged[where][name][0], where, merged, depth + 1)
            raise KeyError(key)  # unknown: left as it is, like safe_substitute in oslo.config

    return _OsloTemplate(value).safe_substitute(Lookup())


def pick_url(cli_value: str | None, env_name: str, conf_value: str | None, what: str) -> URL | None:
    """The first URL given: command line, then environment, then config file."""
    for value, origin in (
        (cli_value, f"--{what}"),
        (os.environ.get(env_name), env_name),
        (conf_value, "the config file's connection"),
    ):
        if value:
            return add_password(parse_db_url(value, origin), os.environ.get(ENV_DB_PASSWORD))
    return None

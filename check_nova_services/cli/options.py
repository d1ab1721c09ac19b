"""The command line: one option group per concern, each value checked by its type; errors are UNKNOWN (3)."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from check_nova_services import __version__
from check_nova_services.output.listing import COLUMNS
from check_nova_services.rule.thresholds import DEFAULT_CRITICAL, DEFAULT_WARNING
from check_nova_services.shared.errors import UsageError
from check_nova_services.shared.text import safe
from check_nova_services.sources.fanout import DEFAULT_PARALLEL, DEFAULT_PER_SERVER

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

UNKNOWN = 3


#: Beyond this, seconds are a typo (and signal.alarm would overflow).
MAX_SECONDS = 86400 * 365


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors as UNKNOWN and exits 3 after --help/--version."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(_without_value(message))

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            sys.stdout.write(message)
        sys.exit(UNKNOWN)

    def print_help(self, file: SupportsWrite[str] | None = None) -> None:
        super().print_help(sys.stdout)  # a plugin's words go to stdout, --help's too, whatever file argparse asks

    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        if message:
            sys.stdout.write(message)


#: argparse's words for a value given to a switch (--verbose=3, --count-disabled=yes), the same on 3.9 to 3.13.
_IGNORED_VALUE = re.compile(r"^argument (?P<option>\S+): ignored explicit argument (?P<value>.*)$")


def _without_value(message: str) -> str:
    """ "ignored explicit argument '3'" says nothing of what to do: the switch takes no value; -v is repeated."""
    ignored = _IGNORED_VALUE.match(message)
    if ignored is None:
        return message
    option, value = ignored["option"], ignored["value"]
    hint = ": give -v, -vv or -vvv" if option == "-v/--verbose" else ""
    return f"argument {option}: takes no value, not {value}{hint}"


def _refused(expected: str, text: str) -> argparse.ArgumentTypeError:
    """argparse's own words ("invalid positive number of seconds value") read like a typo: say what is expected."""
    return argparse.ArgumentTypeError(f"expected {expected}, not {safe(text, 40)!r}")


def _number(text: str, expected: str, kind: type[int] | type[float] = float) -> float:
    try:
        return kind(text)
    except ValueError:
        raise _refused(expected, text) from None


def _positive_float(text: str) -> float:
    expected = f"a number of seconds above 0, at most {MAX_SECONDS}"
    value = _number(text, expected)
    if not 0 < value <= MAX_SECONDS:  # also refuses nan and inf
        raise _refused(expected, text)
    return value


def _non_negative_int(text: str) -> int:
    expected = f"a whole number of seconds from 0 to {MAX_SECONDS}"
    value = int(_number(text[:13], expected, int))  # 13 characters: more is a typo, and a slow int()
    if len(text) > 12 or not 0 <= value <= MAX_SECONDS:
        raise _refused(expected, text)
    return value


def _non_negative_float(text: str) -> float:
    expected = f"a number of seconds from 0 to {MAX_SECONDS}"
    value = _number(text, expected)
    if not 0 <= value <= MAX_SECONDS:
        raise _refused(expected, text)
    return value


def _connections(text: str) -> int:
    expected = "a number of connections from 1 to 1000"
    value = int(_number(text[:7], expected, int))
    if len(text) > 6 or not 1 <= value <= 1000:
        raise _refused(expected, text)
    return value


def _file_path(text: str) -> str:
    if not text or text.endswith("/"):
        raise _refused("the path of a file", text)
    return text


def _one_of(*choices: str) -> Callable[[str], str]:
    """A choice type whose error message does not change between Python versions."""

    def parse(text: str) -> str:
        if text.lower() not in choices:
            raise _refused(" or ".join(choices), text)
        return text.lower()

    return parse


class _ConfigSource(argparse._AppendAction):
    """--config-file and --config-dir into one list of ("file"|"dir", PATH), in command-line order (oslo.config's)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        items = list(getattr(namespace, self.dest, None) or [])
        items.append(("dir" if option_string == "--config-dir" else "file", values))
        setattr(namespace, self.dest, items)


def build_parser() -> argparse.ArgumentParser:

    parser = _Parser(
        prog="check_nova_services",
        description=(
            "Check Nova services (nova-compute, nova-conductor, nova-scheduler, ...) by "
            "reading their heartbeats from Nova's cell databases, with Nova's own rule: "
            "up iff not forced down and |now - (last_seen_up or created_at)| <= service_down_time. "
            "Exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (cannot know: bad arguments, "
            "database or cell unreachable, timeout)."
        ),
        epilog=(
            "Passwords never need to be on the command line: use --config-file (a nova.conf-format file "
            "of mode 0640, owned by root and the group of the user that runs the checks, e.g. root:nagios), "
            "NOVA_SERVICES_DB_URL / NOVA_SERVICES_API_DB_URL, "
            "NOVA_SERVICES_DB_PASSWORD, or a MySQL option file (?read_default_file=PATH in the URL)."
        ),
        add_help=False,
        allow_abbrev=False,
    )
    for add_group in (_where, _rule, _which, _thresholds, _general, _service_list, _prometheus):
        add_group(parser)
    return parser


def _where(parser: argparse.ArgumentParser) -> None:
    """The databases to read and the config files that name them."""
    src = parser.add_argument_group("where the services are")
    src.add_argument(
        "--db-url",
        metavar="URL",
        help="SQLAlchemy URL of one cell database (mysql+pymysql://USER@HOST/nova or sqlite:///PATH)",
    )
    src.add_argument(
        "--api-db-url",
        metavar="URL",
        help="SQLAlchemy URL of the API database (nova_api): check every cell listed in its cell_mappings, "
        "with availability zones from its aggregates (default: [api_database]/connection of the config file)",
    )
    src.add_argument(
        "--cell-credentials",
        type=_one_of("mapping", "api"),
        default="mapping",
        metavar="mapping|api",
        help="user and password for the cell databases: those in cell_mappings, as Nova uses them (mapping, "
        "default), or those of the API database URL, for a SELECT-only monitoring user (api)",
    )
    src.add_argument(
        "--config-file",
        metavar="PATH",
        action=_ConfigSource,
        dest="config_sources",
        default=[],
        help="nova.conf-format file ([database]/connection, [DEFAULT]/service_down_time, report_interval); "
        "repeatable, later files override earlier ones (default: the first of ~/.nova/nova.conf, ~/nova.conf, "
        "/etc/nova/nova.conf, /etc/nova.conf when no URL or only --config-dir is given)",
    )
    src.add_argument(
        "--config-dir",
        metavar="DIR",
        action=_ConfigSource,
        dest="config_sources",
        default=[],
        help="directory of *.conf files read in sorted order after the files before it on the command line, "
        "as oslo.config does (default: nova.conf.d beside nova.conf)",
    )


def _rule(parser: argparse.ArgumentParser) -> None:
    """Nova's own settings of the rule, and the clock it is applied with."""
    rule = parser.add_argument_group("Nova's rule")
    rule.add_argument(
        "--service-down-time",
        metavar="SECONDS",
        type=_non_negative_int,
        help="override [DEFAULT]/service_down_time (Nova's default 60)",
    )
    rule.add_argument(
        "--report-interval",
        metavar="SECONDS",
        type=_non_negative_int,
        help="override [DEFAULT]/report_interval (Nova's default 10)",
    )
    rule.add_argument(
        "--clock",
        default="local",
        metavar="local|db|TIMESTAMP",
        help="'now' for the rule: this host's UTC clock like nova-api (local, default), each database "
        "server's UTC clock (db), or a fixed UTC time such as 2026-11-26T15:00:00 (replaying an incident)",
    )


def _which(parser: argparse.ArgumentParser) -> None:
    """Filters: which services a run is about."""
    sel = parser.add_argument_group("which services")
    sel.add_argument("--host", action="append", default=[], metavar="HOST", help="only this host (repeatable)")
    sel.add_argument(
        "--binary",
        action="append",
        default=[],
        metavar="BINARY",
        help="only this binary, e.g. nova-compute (repeatable)",
    )
    sel.add_argument("--cell", action="append", default=[], metavar="NAME|UUID", help="only this cell (repeatable)")
    sel.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="REGEX",
        help="leave out services whose BINARY@HOST matches this regular expression, e.g. a decommissioned "
        "host's leftover rows: '@cmp-old-[0-9]+$' (repeatable)",
    )
    sel.add_argument(
        "--zone",
        action="append",
        default=[],
        metavar="ZONE",
        help="only services in this availability zone (repeatable)",
    )


def _thresholds(parser: argparse.ArgumentParser) -> None:
    """When a count becomes WARNING or CRITICAL."""
    thr = parser.add_argument_group("thresholds")
    thr.add_argument(
        "-w",
        "--warning",
        action="append",
        default=[],
        metavar="[BINARY=]RANGE",
        help="range of down services per binary that is OK; outside it WARNING. A count (0, 2, @3:5) or a share "
        f"of the binary's services (10%%); repeatable or comma-separated (default: {','.join(DEFAULT_WARNING)})",
    )
    thr.add_argument(
        "-c",
        "--critical",
        action="append",
        default=[],
        metavar="[BINARY=]RANGE",
        help=f"as --warning, for CRITICAL (default: {','.join(DEFAULT_CRITICAL).replace('%', '%%')}). A plain RANGE replaces "
        "every default of its level; BINARY=RANGE replaces only that binary's",
    )
    thr.add_argument(
        "--zone-warning",
        action="append",
        default=[],
        metavar="[ZONE=]RANGE",
        help="range of usable computes (up and enabled nova-compute) per availability zone that is OK; outside it "
        "WARNING. A count (8: = at least 8) or a share of the zone's computes (50%%:); a plain RANGE applies to every "
        "zone; repeatable or comma-separated. Needs the API database",
    )
    thr.add_argument(
        "--zone-critical",
        action="append",
        default=[],
        metavar="[ZONE=]RANGE",
        help="as --zone-warning, for CRITICAL",
    )
    thr.add_argument(
        "--aggregate-warning",
        action="append",
        default=[],
        metavar="AGGREGATE=RANGE",
        help="as --zone-warning, for the usable computes of a host aggregate that is no zone (a GPU pool, a tenant's "
        "dedicated hosts), named by its name; repeatable",
    )
    thr.add_argument(
        "--aggregate-critical",
        action="append",
        default=[],
        metavar="AGGREGATE=RANGE",
        help="as --aggregate-warning, for CRITICAL",
    )
    thr.add_argument(
        "--age-warning",
        metavar="SECONDS",
        type=_non_negative_float,
        help="WARNING when a service that is still up has a heartbeat older than this "
        "(default: halfway between report_interval and the service down time, 35 with Nova's defaults; "
        "0 turns it off)",
    )
    thr.add_argument(
        "--skew-warning",
        metavar="SECONDS",
        type=_non_negative_float,
        help="WARNING when a database server's clock is further than this from this host's (default: half of "
        "service down time minus report_interval, 25 with Nova's defaults: there a healthy heartbeat starts to "
        "read late; 0 turns it off)",
    )
    thr.add_argument(
        "--count-disabled",
        action="store_true",
        help="count disabled services that are down as down (default: disabled services are reported, "
        "not alarmed; services disabled by Nova itself, reason 'AUTO: ...', always count as down)",
    )
    thr.add_argument(
        "--compute-version-floor",
        metavar="RELEASE|VERSION",
        help="the oldest nova-compute service version the control plane accepts, as a release name (Gazpacho) or a "
        "number (72); older computes warn (default: the oldest release Nova supports beside the newest conductor or "
        "scheduler seen, as its own startup check decides)",
    )
    thr.add_argument(
        "--too-old-compute-state",
        type=_one_of("warning", "critical"),
        default="warning",
        metavar="warning|critical",
        help="state when a nova-compute is older than that floor (default warning: the next control plane upgrade or "
        "restart would fail to start)",
    )
    thr.add_argument(
        "--unreachable-cell-state",
        type=_one_of("unknown", "critical"),
        default="unknown",
        metavar="unknown|critical",
        help="state when a cell database cannot be read or its node may be stale (default unknown; the other cells "
        "are reported anyway)",
    )


def _general(parser: argparse.ArgumentParser) -> None:
    """The bounds of a run: time, connections, verbosity; version and help."""
    gen = parser.add_argument_group("general")
    gen.add_argument(
        "-t",
        "--timeout",
        type=_positive_float,
        default=10.0,
        metavar="SECONDS",
        help="bound on the whole run, UNKNOWN when reached (default 10)",
    )
    gen.add_argument(
        "--parallel",
        type=_connections,
        default=DEFAULT_PARALLEL,
        metavar="N",
        help=f"at most N database connections at once, in all (default {DEFAULT_PARALLEL})",
    )
    gen.add_argument(
        "--per-server",
        type=_connections,
        default=DEFAULT_PER_SERVER,
        metavar="N",
        help="at most N connections at once to one database server; cells that share a server and credentials "
        f"share connections (default {DEFAULT_PER_SERVER})",
    )
    gen.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="-v: a line per problem service; -vv: every service; -vvv: debug",
    )
    gen.add_argument("-V", "--version", action="version", version=f"check_nova_services {__version__}")
    gen.add_argument("-h", "--help", action="help", help="show this help and exit")


def _service_list(parser: argparse.ArgumentParser) -> None:
    """--list: the service table or JSON instead of the check."""
    tools = parser.add_argument_group("the service list (instead of the check)")
    tools.add_argument(
        "--list",
        action="store_true",
        help=f"list every matching service ({', '.join(COLUMNS)}) as nova-manage service list did, by Nova's rule, "
        "without Keystone or the Nova API; "
        "exit 0 complete, 1 partial (cells unreachable: named on stderr or in the JSON's errors), 3 no list",
    )
    tools.add_argument(
        "--format",
        type=_one_of("text", "json", "openmetrics"),
        default="text",
        metavar="text|json|openmetrics",
        help='--list as an aligned table (text, default) or as JSON: {"services": [...], "errors": [...]}; openmetrics, '
        "without --list: the check's reading and state as Prometheus metrics on stdout instead of the Nagios line",
    )


def _prometheus(parser: argparse.ArgumentParser) -> None:
    """--textfile: the check's metrics for node_exporter's textfile collector."""
    prometheus = parser.add_argument_group("Prometheus (instead of the Nagios line)")
    prometheus.add_argument(
        "--textfile",
        metavar="PATH",
        type=_file_path,
        help="write --format openmetrics's metrics to PATH (e.g. DIR/nova_services.prom in node_exporter's "
        "--collector.textfile.directory) atomically, by a temporary file in the same directory; nothing on stdout "
        "unless the file cannot be written or nothing could be read (one UNKNOWN line); exit status the check's",
    )


def refuse_conflicts(args: argparse.Namespace) -> None:
    """The metrics are the check's, not the list's: --list takes neither --format openmetrics nor --textfile."""
    if args.list and (args.format == "openmetrics" or args.textfile is not None):
        given = "--textfile" if args.textfile is not None else "--format openmetrics"
        raise UsageError(f"{given} gives the check's metrics, not the list: give it without --list")

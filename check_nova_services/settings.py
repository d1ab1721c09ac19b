"""Every setting of one run, decided in one place: command line > environment > config files > Nova's defaults.
Data only: cli/run.py hands them to the sources and the check."""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy.engine import URL

from check_nova_services.readings import Clock
from check_nova_services.rule.heartbeat import DEFAULT_REPORT_INTERVAL, DEFAULT_SERVICE_DOWN_TIME, effective_down_time
from check_nova_services.rule.patterns import runaway_repetition
from check_nova_services.rule.policy import Policy
from check_nova_services.rule.releases import SERVICE_VERSION_ALIASES
from check_nova_services.rule.selection import Selection
from check_nova_services.rule.thresholds import DEFAULT_CRITICAL, DEFAULT_WARNING, ThresholdTable
from check_nova_services.rule.versions import Floor, parse_floor
from check_nova_services.shared.deadline import Deadline
from check_nova_services.shared.errors import ConfigError
from check_nova_services.shared.redaction import redact
from check_nova_services.shared.text import safe
from check_nova_services.shared.timestamps import parse_timestamp
from check_nova_services.sources.api_database import ZonesWanted
from check_nova_services.sources.config import (
    DEFAULT_PLACES,
    ENV_API_DB_URL,
    ENV_DB_PASSWORD,
    ENV_DB_URL,
    NovaConf,
    nova_config_files,
    pick_url,
    read_nova_conf,
)
from check_nova_services.sources.discovery import CellSource
from check_nova_services.sources.fanout import DEFAULT_LIMITS, Limits
from check_nova_services.sources.urls import show_url

_T = TypeVar("_T")

SELECTION_OPTIONS = ("cell", "zone", "host", "binary", "exclude")


@dataclass(frozen=True)
class Judgement:
    """How a run judges what it read: the part of the settings the nagiosplugin check is built from."""

    warning: ThresholdTable
    critical: ThresholdTable
    policy: Policy
    unreachable_is_critical: bool = False
    #: Seconds of clock difference with a database server that warn; None: off.
    skew_warning: float | None = None
    #: -v count: the long output's detail.
    verbosity: int = 0
    #: --exclude was given: the count of excluded services is perfdata too.
    excluding: bool = False
    #: Computes too old for the control plane are CRITICAL, not WARNING.
    too_old_is_critical: bool = False

    @property
    def threshold_binaries(self) -> frozenset[str]:
        """Binaries named in -w/-c: one that no service has is likely a typo."""
        return self.warning.named_binaries | self.critical.named_binaries

    @property
    def every_service(self) -> bool:
        """-vv: the long output lists every service, so the survey keeps every row it reads."""
        return self.verbosity >= 2


@dataclass(frozen=True)
class Settings:
    """What the check needs, with every default and every piece of arithmetic already applied."""

    source: CellSource
    conf: NovaConf
    #: As configured (command line or nova.conf or Nova's default), before Nova's report_interval rule.
    service_down_time: int
    report_interval: int
    policy: Policy
    clock: Clock
    selection: Selection
    #: What the nagiosplugin check needs to judge the Reading (plugin.check.build_check).
    judgement: Judgement
    deadline: Deadline
    #: Connections at once, in all and to one server.
    limits: Limits = DEFAULT_LIMITS
    #: Passwords and other secrets met while reading the settings: masked in any message.
    secrets: tuple[str, ...] = field(default=(), repr=False)
    #: Beyond this, every database server against this host's clock is a question of whose clock is wrong
    #: (survey.survey): asked even with --skew-warning 0, as a false "all down" is never wanted.
    skew_limit: float | None = None

    def debug_lines(self) -> list[str]:
        """What -vvv says about the settings: files read, effective limits, the clock, where the cells come from."""
        policy, source = self.policy, self.source
        lines = [
            f"config files read: {', '.join(self.conf.files) or 'none'}",
            f"service_down_time {policy.down_time}s (configured {self.service_down_time}, report_interval "
            f"{self.report_interval}); age warning {policy.age_warning}; skew warning {self.judgement.skew_warning}; "
            f"clock {self.clock}",
        ]
        if source.api_url is not None:
            base = source.db_url and show_url(source.db_url)
            lines.append(f"API database {show_url(source.api_url)}; cell template base {base}")
        return lines


def build_settings(args: argparse.Namespace, deadline: Deadline, environ: Mapping[str, str] | None = None) -> Settings:
    """Parsed arguments + environment + nova.conf -> Settings, or ConfigError with a one-line reason."""
    environ = os.environ if environ is None else environ
    clock = parse_clock(args.clock)
    sources = list(args.config_sources)
    given = args.db_url or args.api_db_url or environ.get(ENV_DB_URL) or environ.get(ENV_API_DB_URL)
    # oslo.config's files and order; a URL without any config option reads none (nova.conf need not be readable).
    config_files = nova_config_files(sources, use_defaults=bool(sources) or not given, environ=environ)
    if not config_files and not given:
        where = "--config-dir" if any(kind == "dir" for kind, _ in sources) else "nova.conf.d"
        raise ConfigError(
            f"no database to check: give --db-url, --api-db-url, {ENV_DB_URL} or --config-file "
            f"(no nova.conf in {DEFAULT_PLACES}, no *.conf in {where})"
        )
    conf = read_nova_conf(config_files)
    if (conf.servicegroup_driver or "db").strip().lower() == "mc":
        raise ConfigError(
            "servicegroup_driver = mc: heartbeats live in memcached, the database cannot tell which services are up"
        )
    db_url = pick_url(args.db_url, ENV_DB_URL, conf.database_connection, "db-url", environ)
    api_url = pick_url(args.api_db_url, ENV_API_DB_URL, conf.api_database_connection, "api-db-url", environ)
    secrets = tuple(
        s for s in [environ.get(ENV_DB_PASSWORD, "")] + [str(u.password or "") for u in (db_url, api_url) if u] if s
    )
    try:
        return _assemble(args, deadline, conf, clock, db_url, api_url, secrets)
    except ConfigError as exc:  # what follows may quote the command line: no password in it
        raise ConfigError(redact(str(exc), secrets)) from None


def _zones_shown(args: argparse.Namespace) -> bool:
    """Some output names each service's zone: -v, the list, the metrics' per-service series."""
    return bool(args.verbose or args.list or args.format == "openmetrics" or args.textfile is not None)


def _assemble(
    args: argparse.Namespace,
    deadline: Deadline,
    conf: NovaConf,
    clock: Clock,
    db_url: URL | None,
    api_url: URL | None,
    secrets: tuple[str, ...],
) -> Settings:
    if api_url is None:
        if db_url is None:
            raise ConfigError(f"no database to check: {', '.join(conf.files)} has no [database]/connection")
        if args.cell or args.zone:
            raise ConfigError("--cell and --zone need the API database (--api-db-url or [api_database]/connection)")

    service_down_time = _first(args.service_down_time, conf.service_down_time, DEFAULT_SERVICE_DOWN_TIME)
    report_interval = _first(args.report_interval, conf.report_interval, DEFAULT_REPORT_INTERVAL)
    down_time = effective_down_time(service_down_time, report_interval)
    policy = Policy(
        down_time=down_time,
        age_warning=default_age_warning(report_interval, down_time, args.age_warning),
        count_disabled=args.count_disabled,
        ahead_after=report_interval,
        version_floor=_version_floor(args.compute_version_floor),
    )
    check_clock_reach(clock, policy, args.clock)
    return Settings(
        source=CellSource(
            db_url,
            api_url,
            own_credentials=args.cell_credentials == "api",
            only=tuple(args.cell),
            default_zone=conf.default_availability_zone or "nova",
            internal_zone=conf.internal_service_availability_zone or "internal",
            zones=ZonesWanted(_zones_shown(args), tuple(args.zone), conf.default_availability_zone or "nova"),
        ),
        conf=conf,
        service_down_time=service_down_time,
        report_interval=report_interval,
        policy=policy,
        clock=clock,
        selection=Selection(
            hosts=tuple(args.host),
            binaries=tuple(args.binary),
            zones=tuple(args.zone),
            exclude=_compile_excludes(args.exclude),
            cells=tuple(args.cell),
            text=_filters_text(args),
        ),
        judgement=Judgement(
            warning=ThresholdTable(args.warning, DEFAULT_WARNING, "--warning"),
            critical=ThresholdTable(args.critical, DEFAULT_CRITICAL, "--critical"),
            policy=policy,
            unreachable_is_critical=args.unreachable_cell_state == "critical",
            skew_warning=default_skew_warning(report_interval, down_time, args.skew_warning),
            verbosity=args.verbose,
            excluding=bool(args.exclude),
            too_old_is_critical=args.too_old_compute_state == "critical",
        ),
        deadline=deadline,
        limits=Limits(parallel=args.parallel, per_server=args.per_server),
        secrets=secrets,
        skew_limit=default_skew_warning(report_interval, down_time, args.skew_warning)
        or default_skew_warning(report_interval, down_time, None),
    )


def _version_floor(given: str | None) -> Floor | None:
    if given is None:
        return None
    try:
        return parse_floor(given)
    except ValueError:
        names = ", ".join(SERVICE_VERSION_ALIASES)
        raise ConfigError(
            f"--compute-version-floor {safe(given, 40)}: give a release ({names}) or a service version number"
        ) from None


def default_age_warning(report_interval: int, down_time: int, given: float | None) -> float | None:
    """Halfway between a healthy heartbeat's age (report_interval) and Nova's down verdict, from the
    *effective* down time; ``--age-warning 0`` turns the early warning off (None)."""
    if given is None:
        return (report_interval + down_time) / 2
    return given or None


def default_skew_warning(report_interval: int, down_time: float, given: float | None) -> float | None:
    """Half the margin between a healthy heartbeat's age (report_interval) and the down verdict: with this
    host's clock that far ahead, healthy heartbeats already read late (--age-warning's default sits at the
    same point), twice as far and they read down. ``--skew-warning 0`` turns it off (None)."""
    if given is None:
        return (down_time - report_interval) / 2
    return given or None


def parse_clock(text: str) -> Clock:
    """local, db, or a fixed instant; an instant with an offset is converted to naive UTC, as Nova stores it."""
    if text in ("local", "db"):
        return text
    try:
        instant: dt.datetime = parse_timestamp(text)
    except ValueError:
        raise ConfigError(f"--clock {text!r}: expected local, db or a UTC timestamp like 2026-11-26T15:00:00") from None
    except OverflowError:  # an offset that moves the instant off the calendar
        raise ConfigError(f"--clock {text!r}: in UTC it falls outside the years 1 to 9999") from None
    return instant


def check_clock_reach(clock: Clock, policy: Policy, text: str) -> None:
    """A fixed instant whose rule bounds (now ± service down time or age warning, now + report_interval) fall
    off the calendar would fail in the middle of reading a cell, as if the database were unreachable: refused
    here, naming --clock and the instants that can be judged."""
    if not isinstance(clock, dt.datetime):
        return
    seconds = math.ceil(max(policy.down_time, policy.age_warning or 0.0, policy.ahead_after or 0.0))
    reach = dt.timedelta(seconds=seconds)
    first, last = dt.datetime.min + reach, dt.datetime.max - reach
    if not first <= clock <= last:
        raise ConfigError(
            f"--clock {text!r}: the rule's bounds, {seconds}s either side of it, fall off the calendar; "
            f"give a time from {first.isoformat(timespec='seconds')} to {last.isoformat(timespec='seconds')}"
        )


def _compile_excludes(patterns: list[str]) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise ConfigError(f"--exclude {pattern!r}: not a regular expression ({exc})") from None
        runaway = runaway_repetition(pattern)
        if runaway is not None:  # one match could outlast -t, and nothing can interrupt it
            raise ConfigError(
                f"--exclude {safe(pattern, 80)!r}: {runaway} can backtrack for minutes on one host name, past any "
                "timeout; write it without (e.g. '@cmp-old-[0-9]+$')"
            )
    return tuple(compiled)


def _first(*values: _T | None) -> _T:
    """The first value given: the command line's, else the config files', else Nova's default."""
    return next(v for v in values if v is not None)


def _filters_text(args: argparse.Namespace) -> str:
    """The selection as given, for "no services matched (...)"; counted when long, so the line stays short."""
    filters = [f"--{name} {safe(value)}" for name in SELECTION_OPTIONS for value in getattr(args, name)]
    if len(" ".join(filters)) > 120:
        filters = [f"{len(getattr(args, name))} --{name}" for name in SELECTION_OPTIONS if getattr(args, name)]
        return f" ({', '.join(filters)})"
    return f" ({' '.join(filters)})" if filters else ""

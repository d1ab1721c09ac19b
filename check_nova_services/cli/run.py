"""One run in its named steps: the settings (settings.py, data only), then the check -- nagiosplugin's Resource
surveys the cells (sources/survey.py), its Contexts judge, its Summary words (output/) -- or the list, or the check's
reading and state as Prometheus metrics."""

from __future__ import annotations

import argparse
import logging
import math
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import NoReturn, TypeVar

import nagiosplugin

from check_nova_services.cli.options import UNKNOWN
from check_nova_services.output.listing import exit_code, json_chunks, table_lines, unreachable_lines
from check_nova_services.output.openmetrics import exposition, failure_exposition, write_textfile
from check_nova_services.plugin.check import build_check
from check_nova_services.plugin.streamed import StreamedOutput
from check_nova_services.readings import Reading
from check_nova_services.settings import Settings, build_settings
from check_nova_services.shared.deadline import Deadline
from check_nova_services.shared.errors import ConfigError, ReadError, UsageError
from check_nova_services.shared.redaction import redact
from check_nova_services.shared.text import safe
from check_nova_services.sources.survey import survey

_T = TypeVar("_T")


def run_check(args: argparse.Namespace, started: float, secrets: list[str]) -> NoReturn:
    """Settings -> nagiosplugin check -> exit. Everything judged is decided in settings.py."""
    # The Runtime captures "nagiosplugin.*" log lines from now on, shown at -vvv; -vv's lines are written as made.
    runtime = nagiosplugin.Runtime()
    runtime.output = StreamedOutput(runtime.logchan)
    runtime.verbose = min(args.verbose, 3)
    settings = settings_of(args, started, secrets)
    log = logging.getLogger("nagiosplugin.check_nova_services")
    for line in settings.debug_lines():
        log.debug("%s", line)
    every_service = settings.judgement.every_service
    # The survey runs inside the check (nagiosplugin's Resource.probe), under its timeout.
    check = build_check(settings.judgement, lambda: survey_of(settings, every_service))
    check.main(verbose=min(args.verbose, 3), timeout=math.ceil(args.timeout))
    raise AssertionError("unreachable")  # check.main exits


def run_list(args: argparse.Namespace, started: float, secrets: list[str]) -> int:
    """--list: every matching service as a table or JSON; unreachable cells on stderr or in "errors"."""
    reading = survey_of(settings_of(args, started, secrets), every_service=True, allow_empty=True)
    if args.format == "json":
        sys.stdout.writelines(json_chunks(reading))
    else:
        colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        sys.stdout.writelines(line + "\n" for line in table_lines(reading, colour=colour))
        for line in unreachable_lines(reading):
            print(line, file=sys.stderr)
    return exit_code(reading)


def run_metrics(args: argparse.Namespace, started: float, secrets: list[str]) -> int:
    """--format openmetrics, --textfile: the check's own reading and judgement (the same survey, every service kept
    for its series) as Prometheus metrics, on stdout or atomically into the textfile; the exit status is the check's.
    A run that read nothing (a config file, the databases, the timeout) is an exposition too, scrape_success 0 with
    the reason, so that a textfile never goes on showing an older reading; with --textfile the reason is also the
    one UNKNOWN line of the check (main), as is a textfile that cannot be written."""
    failure: Exception | None = None
    chunks: Iterator[str]
    try:
        settings = settings_of(args, started, secrets)
        reading, state = _judged(settings, args.timeout)
        chunks = exposition(reading, state, time.time(), settings.judgement.excluding, settings.judgement.capacity.named_pools)
    except (UsageError, ConfigError, ReadError, nagiosplugin.Timeout) as exc:
        failure, state = exc, UNKNOWN
        reason = timed_out(exc) if isinstance(exc, nagiosplugin.Timeout) else str(exc).splitlines()[0]
        chunks = failure_exposition(safe(redact(reason, secrets), 500), time.time())
    if args.textfile is None:
        sys.stdout.flush()
        sys.stdout.buffer.writelines(chunk.encode("utf-8") for chunk in chunks)  # UTF-8 whatever the locale
        sys.stdout.buffer.flush()
        return state
    try:
        write_textfile(args.textfile, chunks)
    except OSError as exc:
        raise ConfigError(f"cannot write the textfile {args.textfile}: {exc.strerror or exc}") from None
    if failure is not None:
        raise failure
    return state


def _judged(settings: Settings, timeout: float) -> tuple[Reading, int]:
    """The survey, within nagiosplugin's hard bound as the check has it, then the check's judgement of it: its exit
    status, from the same Contexts, without its words."""
    reading = _within(timeout, lambda: survey_of(settings, every_service=True))
    check = build_check(settings.judgement, lambda: reading)
    check()
    return reading, int(check.exitcode)


def _within(seconds: float, work: Callable[[], _T]) -> _T:
    """nagiosplugin's Runtime bound (SIGALRM, whole seconds, nagiosplugin.Timeout), for a run without its Runtime."""

    def expire(signum: int, frame: FrameType | None) -> NoReturn:
        raise nagiosplugin.Timeout(f"{math.ceil(seconds)}s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(math.ceil(seconds))
    try:
        return work()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def timed_out(exc: nagiosplugin.Timeout) -> str:
    """The line of a run that nagiosplugin's timeout ended."""
    return f"timed out after {exc}: no complete answer from the database(s)"


def settings_of(args: argparse.Namespace, started: float, secrets: list[str]) -> Settings:
    """The run's settings, its deadline counted from the start; the secrets they met kept for masking."""
    settings = build_settings(args, Deadline.after(args.timeout, started))
    secrets.extend(settings.secrets)
    return settings


def survey_of(settings: Settings, every_service: bool, allow_empty: bool = False) -> Reading:
    """The deployment the settings point at, read and judged (sources/survey.py); ``every_service`` for the list
    view; ``allow_empty``: no service matched is an empty list, not an UNKNOWN."""
    return survey(
        settings.source,
        settings.selection,
        settings.policy,
        settings.clock,
        settings.deadline,
        list_every_service=every_service,
        allow_empty=allow_empty,
        limits=settings.limits,
        skew_limit=settings.skew_limit,
    )

"""One run in its named steps: the settings (settings.py, data only), then the check -- nagiosplugin's Resource
surveys the cells (sources/survey.py), its Contexts judge, its Summary words (output/) -- or the list."""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from typing import NoReturn

import nagiosplugin

from check_nova_services.output.listing import exit_code, json_chunks, table_lines, unreachable_lines
from check_nova_services.plugin.check import build_check
from check_nova_services.plugin.streamed import StreamedOutput
from check_nova_services.readings import Reading
from check_nova_services.settings import Settings, build_settings
from check_nova_services.shared.deadline import Deadline
from check_nova_services.sources.survey import survey


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

"""check_nova_services_demo: write a demo database, or keep one alive with --live (demo/live.py)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import NoReturn

from sqlalchemy.exc import SQLAlchemyError

from check_nova_services.demo.writer import DEFAULT_URL, Refused, demo_rows, write_cell, write_deployment
from check_nova_services.rule.heartbeat import DEFAULT_REPORT_INTERVAL
from check_nova_services.shared.errors import ConfigError
from check_nova_services.shared.timestamps import utc_now
from check_nova_services.sources.db_errors import describe_error
from check_nova_services.sources.urls import parse_db_url

#: Beyond these a demo is a typo, not a demo.
MAX_COMPUTES = 100_000
MAX_CELLS = 200


class _Parser(argparse.ArgumentParser):
    """Bad input is one line on stderr and exit 2, nothing written: the plugin's discipline, for the writer."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: {message}", file=sys.stderr)
        sys.exit(2)


def _count(limit: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not text.strip().isdigit() or int(text) > limit:
            raise ValueError(text)
        return int(text)

    parse.__name__ = f"whole number from 0 to {limit}"
    return parse


def main(argv: list[str] | None = None) -> None:
    parser = _Parser(
        prog="check_nova_services_demo",
        description="Write a demo Nova cell database (services table) with heartbeats relative to now, "
        "or with --cells a whole multi-cell deployment: API database, cell0 and the cells.",
    )
    parser.add_argument("--db-url", default=DEFAULT_URL, help=f"where to write it (default {DEFAULT_URL})")
    parser.add_argument("--computes", type=_count(MAX_COMPUTES), default=36, help="number of nova-compute hosts (default 36)")
    parser.add_argument(
        "--cells",
        type=_count(MAX_CELLS),
        default=0,
        help="write an API database and this many cells besides cell0, next to --db-url "
        "(nova-demo-api.sqlite, nova-demo-cell0.sqlite, ...; on a server: nova_api, nova_cell0, ...)",
    )
    live = parser.add_argument_group("live demo (see the README)")
    live.add_argument(
        "--live",
        action="store_true",
        help="then keep it alive: heartbeat its running services every report interval as Nova does, leave the dead "
        "ones dead, log each action on stdout, until SIGINT or SIGTERM (a demo already there is reused)",
    )
    live.add_argument(
        "--report-interval",
        metavar="SECONDS",
        help=f"with --live: seconds between heartbeats (default {DEFAULT_REPORT_INTERVAL}, Nova's)",
    )
    live.add_argument(
        "--event",
        action="append",
        default=[],
        metavar="SECONDS:ACTION:TARGET[:REASON]",
        help="with --live, repeatable: SECONDS after the start, ACTION (stop, force-down, disable, "
        "auto-disable, revive) the services TARGET names (BINARY@HOST or HOST); disable and auto-disable take "
        "an optional reason, e.g. 30:stop:nova-compute@cmp001, 90:disable:cmp002:RAM swap",
    )
    args = parser.parse_args(argv)
    try:  # the plugin's own reading: a backend it cannot check, or no URL at all, is refused before anything
        url = parse_db_url(args.db_url, "--db-url")
    except ConfigError as exc:
        parser.error(str(exc))
    if args.live:
        from check_nova_services.demo.live import run

        sys.exit(run(parser.prog, args, url))
    if args.event or args.report_interval is not None:
        print(f"{parser.prog}: --event and --report-interval need --live", file=sys.stderr)
        sys.exit(2)
    now = utc_now()
    try:
        if args.cells > 0:
            api_url = write_deployment(url, args.cells, args.computes, now)
            shown = api_url.render_as_string(hide_password=True)
            print(
                f"wrote an API database and {args.cells + 1} cells; "
                f"check them all with: check_nova_services --api-db-url {shown}"
            )
            sys.exit(0)
        rows = demo_rows(now, args.computes)
        write_cell(url, rows)
    except Refused as refused:
        print(f"{parser.prog}: {refused}", file=sys.stderr)
        sys.exit(1)
    except SQLAlchemyError as exc:  # a path that does not exist, a server that refuses: one line, no traceback
        where = url.render_as_string(hide_password=True)
        print(f"{parser.prog}: cannot write {where}: {describe_error(exc, url)}", file=sys.stderr)
        sys.exit(1)
    print(f"wrote {len(rows)} service rows to {url.render_as_string(hide_password=True)}")
    sys.exit(0)

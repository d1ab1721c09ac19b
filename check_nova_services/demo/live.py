"""``check_nova_services_demo --live``: keep the demo's story true, or rehearse an incident on it.

The demo database ages: a minute after it is written every heartbeat in it is too old and the
check reports nearly every service down.  The live demo plays the demo's running services: every
``report_interval`` it reports their state as Nova's servicegroup DB driver does (the service's
``report_count`` goes up by one, so Nova sets ``last_seen_up`` to now; the save bumps ``updated_at``).
The dead ones stay dead (their heartbeat is not refreshed), forced-down ones stay forced down,
disabled ones stay disabled.

Events on the command line change the story at set times (seconds after the start; events due at
the same time as a heartbeat come first)::

    SECONDS:stop:TARGET            the service stops heartbeating (down after service_down_time)
    SECONDS:force-down:TARGET      forced_down = true (what `openstack compute service set --down` does)
    SECONDS:disable:TARGET[:REASON]       disabled by an operator, with that disabled_reason
    SECONDS:auto-disable:TARGET[:REASON]  disabled by Nova itself: disabled_reason "AUTO: REASON"
    SECONDS:revive:TARGET          enabled, not forced down, heartbeating again (at once)

TARGET is ``BINARY@HOST`` or a ``HOST`` (every service on it).

The same safety as the writer: it only writes databases that carry the demo's marker table.  One
without it is first written as a demo, which the writer refuses when it holds Nova rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from types import FrameType
from typing import Callable

from sqlalchemy import create_engine, func, inspect, select, table, update
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import SQLAlchemyError

from check_nova_services.demo.schema import cell_metadata
from check_nova_services.demo.writer import MARKER, Refused, demo_rows, sibling_url, write_cell, write_deployment
from check_nova_services.rule.heartbeat import (
    API_BINARIES,
    AUTO_DISABLED_PREFIX,
    DEFAULT_REPORT_INTERVAL,
    DEFAULT_SERVICE_DOWN_TIME,
    effective_down_time,
)
from check_nova_services.shared.timestamps import utc_now
from check_nova_services.sources.db_errors import describe_error
from check_nova_services.sources.urls import show_url

ACTIONS = ("stop", "force-down", "disable", "auto-disable", "revive")
EVENT_SYNTAX = "SECONDS:ACTION:TARGET[:REASON]"
#: The reason Nova's libvirt driver gives when it loses its hypervisor.
DEFAULT_AUTO_REASON = "Connection to libvirt lost: 1"
_REASON_LIMIT = 255  # services.disabled_reason is VARCHAR(255)

_services = cell_metadata().tables["services"]


class Usage(Exception):
    """A command line the live demo cannot follow: one line, exit 2."""


@dataclass(frozen=True)
class Event:
    at: float
    action: str
    host: str
    binary: str | None
    reason: str | None
    text: str

    @property
    def target(self) -> str:
        return f"{self.binary}@{self.host}" if self.binary else self.host

    def matches(self, service: Service) -> bool:
        return service.host == self.host and self.binary in (None, service.binary)


@dataclass(frozen=True)
class Service:
    cell: int
    id: int
    binary: str
    host: str

    @property
    def name(self) -> str:
        return f"{self.binary}@{self.host}"


def parse_event(text: str) -> Event:
    """``SECONDS:ACTION:TARGET[:REASON]``; raises :class:`Usage` saying what is wrong."""
    parts = text.split(":", 3)
    if len(parts) < 3:
        raise Usage(f"--event {text!r}: expected {EVENT_SYNTAX}, e.g. 30:stop:nova-compute@cmp001")
    seconds, action, target = parts[:3]
    at = _event_seconds(text, seconds)
    if action not in ACTIONS:
        raise Usage(f"--event {text!r}: unknown action {action!r} (one of {', '.join(ACTIONS)})")
    binary, host = _event_target(text, target)
    reason = _event_reason(text, action, parts[3] if len(parts) == 4 else None)
    return Event(at, action, host, binary, reason, text)


def _event_seconds(text: str, seconds: str) -> float:
    """When the event is due, in seconds after the start: a finite number, 0 or more."""
    try:
        at = float(seconds)
    except ValueError:
        at = math.nan
    if not math.isfinite(at) or at < 0:
        raise Usage(f"--event {text!r}: {seconds!r} is not a number of seconds (0 or more)")
    return at


def _event_target(text: str, target: str) -> tuple[str | None, str]:
    """``BINARY@HOST`` or ``HOST`` (every service on it) as (binary or None, host)."""
    binary, at_sign, host = target.rpartition("@")
    if not host or (at_sign and not binary):
        raise Usage(f"--event {text!r}: the target must be BINARY@HOST or HOST, not {target!r}")
    return binary or None, host


def _event_reason(text: str, action: str, reason: str | None) -> str | None:
    """The disabled_reason the event writes: only disable and auto-disable take one; Nova's own starts "AUTO:"
    and has a default (what libvirt's loss says); none may exceed the column."""
    if reason is not None:
        if action not in ("disable", "auto-disable"):
            raise Usage(f"--event {text!r}: only disable and auto-disable take a reason")
        if not reason.strip():
            raise Usage(f"--event {text!r}: empty reason (leave out the last ':' for none)")
    if action == "auto-disable":
        reason = reason or DEFAULT_AUTO_REASON
        reason = reason if reason.startswith(AUTO_DISABLED_PREFIX) else f"{AUTO_DISABLED_PREFIX} {reason}"
    if reason is not None and len(reason) > _REASON_LIMIT:
        raise Usage(f"--event {text!r}: the reason is longer than Nova's {_REASON_LIMIT} characters")
    return reason


def parse_interval(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        raise Usage(f"--report-interval {text!r}: expected a number of seconds greater than 0")
    return seconds


def log(line: str) -> None:
    """One action, one line on stdout: UTC time to the millisecond, then what was done."""
    stamp = utc_now().isoformat(timespec="milliseconds")
    print(f"{stamp}Z {line}", flush=True)


@dataclass
class _Signals:
    """SIGINT and SIGTERM only set a flag: the loop finishes what it writes, then stops."""

    received: str | None = None
    previous: dict[int, Callable[[int, FrameType | None], object] | int | None] = field(default_factory=dict)

    def __enter__(self) -> _Signals:
        for number in (signal.SIGINT, signal.SIGTERM):
            self.previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for number, handler in self.previous.items():
            signal.signal(number, handler)

    def _handle(self, number: int, frame: FrameType | None) -> None:
        self.received = signal.Signals(number).name

    def sleep_until(self, deadline: float) -> None:
        while self.received is None:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.1))


def _is_demo(url: URL, holding: str = "services") -> bool:
    """The database exists and carries the demo's marker and the table ``holding``."""
    if url.get_backend_name() == "sqlite" and not (url.database and os.path.exists(url.database)):
        return False
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            if MARKER not in tables or holding not in tables:
                return False
            return bool(conn.execute(select(func.count()).select_from(table(MARKER))).scalar_one())
    except SQLAlchemyError:
        return False  # missing, unreachable: writing it says why, or refuses
    finally:
        engine.dispose()


class LiveDemo:
    """The demo's cell databases, their running services, and what the events do to them."""

    def __init__(self, cells: list[URL], interval: float) -> None:
        self.cells = cells
        self.interval = interval
        self.engines: list[Engine] = [create_engine(url, pool_pre_ping=True) for url in cells]
        self.services: list[Service] = []
        self.running: set[Service] = set()
        self.dead: list[Service] = []
        self.heartbeats = 0

    def load(self) -> None:
        """Read the services; running are those whose heartbeat is as recent as the newest one in
        the demo, give or take Nova's down time: a demo written an hour ago comes back as written."""
        s = _services.c
        beats: list[tuple[Service, dt.datetime | None]] = []
        for index, engine in enumerate(self.engines):
            with engine.connect() as conn:
                query = select(s.id, s.binary, s.host, s.last_seen_up).where(s.deleted == 0).order_by(s.id)
                for row in conn.execute(query):
                    if row.binary in API_BINARIES or not row.host or not row.binary:
                        continue
                    beats.append((Service(index, row.id, row.binary, row.host), row.last_seen_up))
        seen = [beat for _, beat in beats if beat is not None]
        newest = max(seen) if seen else None
        window = dt.timedelta(seconds=effective_down_time(DEFAULT_SERVICE_DOWN_TIME, math.ceil(self.interval)))
        self.services = [service for service, _ in beats]
        for service, beat in beats:
            if newest is not None and beat is not None and newest - beat <= window:
                self.running.add(service)
            else:
                self.dead.append(service)

    def targets(self, event: Event) -> list[Service]:
        found = [service for service in self.services if event.matches(service)]
        if not found:
            raise Usage(f"--event {event.text!r}: no service in the demo matches {event.target}")
        return found

    def _write(self, services: list[Service], what: str, values: Callable[[dt.datetime], dict[str, object]]) -> bool:
        """One UPDATE per cell on these services' rows; a failure is logged, the demo goes on."""
        ok = True
        for index, engine in enumerate(self.engines):
            ids = [service.id for service in services if service.cell == index]
            if not ids:
                continue
            try:
                with engine.begin() as conn:
                    conn.execute(update(_services).where(_services.c.id.in_(ids)).values(**values(utc_now())))
            except SQLAlchemyError as exc:
                ok = False
                log(f"{what} failed in {show_url(self.cells[index])}: {describe_error(exc, self.cells[index])}")
        return ok

    def heartbeat(self) -> None:
        beating = sorted(self.running, key=lambda service: (service.cell, service.id))
        if self._write(beating, "heartbeat", _heartbeat):
            self.heartbeats += 1
            log(f"heartbeat: {len(beating)} service{'' if len(beating) == 1 else 's'}")

    def apply(self, event: Event) -> None:
        services = self.targets(event)
        names = ", ".join(service.name for service in services)
        when = f"event at {event.at:g}s"
        if event.action == "stop":
            self.running.difference_update(services)
            log(f"{when}: {names} stopped heartbeating")
            return
        if event.action == "revive":
            if self._write(services, when, lambda now: {**_heartbeat(now), **_enabled(now)}):
                self.running.update(services)
                log(f"{when}: {names} revived: enabled, forced_down false, heartbeating again")
            return
        if event.action == "force-down":
            if self._write(services, when, lambda now: {"forced_down": True, "updated_at": now}):
                log(f"{when}: {names} forced down")
            return
        reason = event.reason
        if self._write(services, when, lambda now: {"disabled": True, "disabled_reason": reason, "updated_at": now}):
            by = "by Nova" if event.action == "auto-disable" else "by an operator"
            log(f"{when}: {names} disabled {by}, reason: {reason if reason is not None else '(none)'}")

    def close(self) -> None:
        for engine in self.engines:
            engine.dispose()


def _heartbeat(now: dt.datetime) -> dict[str, object]:
    """What a state report changes in the row (Nova's service_update when report_count grows)."""
    return {"last_seen_up": now, "updated_at": now, "report_count": _services.c.report_count + 1}


def _enabled(now: dt.datetime) -> dict[str, object]:
    return {"forced_down": False, "disabled": False, "disabled_reason": None, "updated_at": now}


def _prepare(url: URL, cells: int, computes: int) -> list[URL]:
    """The cell databases to keep alive: the demo already there, or one written now."""
    if cells > 0:
        targets = [sibling_url(url, f"cell{n}") for n in range(cells + 1)]
        api_url = sibling_url(url, "api")
        check = f"check them all with: check_nova_services --api-db-url {show_url(api_url)}"
        if _is_demo(api_url, "cell_mappings") and all(_is_demo(target) for target in targets):
            log(f"reusing the demo's API database and {cells + 1} cells; {check}")
        else:
            write_deployment(url, cells, computes, utc_now())
            log(f"wrote an API database and {cells + 1} cells; {check}")
        return targets
    if _is_demo(url):
        log(f"reusing the demo in {show_url(url)}")
    else:
        rows = demo_rows(utc_now(), computes)
        write_cell(url, rows)
        log(f"wrote {len(rows)} service rows to {show_url(url)}")
    return [url]


def run(prog: str, args: argparse.Namespace, url: URL) -> int:
    """The live demo until SIGINT or SIGTERM; the exit code."""
    try:
        interval = DEFAULT_REPORT_INTERVAL if args.report_interval is None else parse_interval(args.report_interval)
        events = sorted((parse_event(text) for text in args.event), key=lambda event: event.at)
    except Usage as usage:
        print(f"{prog}: {usage}", file=sys.stderr)
        return 2
    with _Signals() as signals:
        demo: LiveDemo | None = None
        try:
            cells = _prepare(url, args.cells, args.computes)
            demo = LiveDemo(cells, interval)
            demo.load()
            for event in events:
                demo.targets(event)
            return _loop(demo, events, signals)
        except Usage as usage:
            print(f"{prog}: {usage}", file=sys.stderr)
            return 2
        except Refused as refused:
            print(f"{prog}: {refused}", file=sys.stderr)
            return 1
        except SQLAlchemyError as exc:
            print(f"{prog}: cannot write {show_url(url)}: {describe_error(exc, url)}", file=sys.stderr)
            return 1
        finally:
            if demo is not None:
                demo.close()
            if signals.received:
                beats = demo.heartbeats if demo else 0
                log(f"stopped on {signals.received}: {beats} heartbeat{'' if beats == 1 else 's'} written, disconnected")


def _loop(demo: LiveDemo, events: list[Event], signals: _Signals) -> int:
    if signals.received:
        return 0
    dead = ", ".join(service.name for service in demo.dead) or "none"
    log(
        f"heartbeating {len(demo.running)} services every {demo.interval:g}s as Nova does; "
        f"not heartbeating (dead in the demo): {dead}; stop with SIGINT (Ctrl-C) or SIGTERM"
    )
    start = time.monotonic()
    next_beat = start
    pending = list(events)
    while signals.received is None:
        now = time.monotonic()
        while pending and start + pending[0].at <= now:
            demo.apply(pending.pop(0))
        if next_beat <= now:
            demo.heartbeat()
            next_beat += demo.interval
            if next_beat <= time.monotonic():  # fell behind (a slow database): no burst of catch-up beats
                next_beat = time.monotonic() + demo.interval
        signals.sleep_until(min(next_beat, start + pending[0].at) if pending else next_beat)
    return 0

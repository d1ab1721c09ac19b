"""Every cell read at once, within the deadline, without flooding a server: at most ``parallel`` connections
in all and ``per_server`` to any one server, each connection reused for every cell it can reach (the same
server with the same credentials: one connection reads 70 cells of one server in turn)."""

from __future__ import annotations

import enum
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.engine import URL

from check_nova_services.readings import Cell, CellReading
from check_nova_services.shared.deadline import Deadline
from check_nova_services.shared.errors import ReadError
from check_nova_services.shared.redaction import redact
from check_nova_services.shared.text import safe
from check_nova_services.sources.discovery import show
from check_nova_services.sources.sessions import Link, ServerKey, open_link, server_key, sharing_key

log = logging.getLogger("nagiosplugin.check_nova_services")

#: Connections at once, in all and to one server. Nova's own services hold most of a server's
#: max_connections (151 by default): a monitoring check takes a couple, never a burst of one per cell.
DEFAULT_PARALLEL = 8
DEFAULT_PER_SERVER = 2

Read = Callable[[Cell, Link], CellReading]
Connect = Callable[[URL, Deadline], Link]


@dataclass(frozen=True)
class Limits:
    parallel: int = DEFAULT_PARALLEL
    per_server: int = DEFAULT_PER_SERVER


DEFAULT_LIMITS = Limits()


class Phase(enum.Enum):
    WAITING = "waiting for a connection"
    CONNECTING = "connecting"
    READING = "reading"
    DONE = "done"


@dataclass
class _Group:
    """Cells one connection can read in turn (same server, same credentials)."""

    server: ServerKey
    pending: deque[int] = field(default_factory=deque)
    active: int = 0
    #: Workers holding an open connection to it, and those still opening one.
    connected: int = 0
    connecting: int = 0
    #: At most this many workers (lowered to those connected when the server refuses one more).
    limit: int = 1_000_000


def read_cells(
    cells: list[Cell], read: Read, deadline: Deadline, limits: Limits = DEFAULT_LIMITS, connect: Connect = open_link
) -> list[CellReading]:
    """Read every cell; a cell not done by the deadline says where its time went.

    Daemon threads: a cell stuck in a socket read must not hold the process past its timeout,
    so it is abandoned rather than joined."""
    readings = _Fanout(cells, read, deadline, limits, connect).run()
    for reading in readings:
        _log_reading(reading)
    return readings


class _Fanout:
    """One run's scheduler: workers take a group of cells with room on its server, read its cells over one
    connection in turn, and leave what they could not start to the deadline's report. Every field below the
    cells is shared by the workers and changed only under ``_lock``."""

    def __init__(self, cells: list[Cell], read: Read, deadline: Deadline, limits: Limits, connect: Connect) -> None:
        self._cells = cells
        self._read = read
        self._deadline = deadline
        self._limits = limits
        self._connect = connect
        self._lock = threading.Condition()
        self._outcomes: list[CellReading | None] = [None] * len(cells)
        self._phases = [Phase.WAITING] * len(cells)
        #: The connection each cell is being read over, for the deadline's report (answered or not).
        self._links: dict[int, Link] = {}
        #: Cells by the connection that can read them (server and credentials).
        self._groups: dict[str, _Group] = {}
        #: Workers at each server, whichever credentials they use.
        self._busy: dict[ServerKey, int] = {}
        for index, cell in enumerate(cells):
            if cell.problem is not None or cell.url is None:  # never tried: answered before any worker starts
                self._outcomes[index] = CellReading(cell, error=cell.problem or "no database URL")
                self._phases[index] = Phase.DONE
                continue
            self._groups.setdefault(sharing_key(cell.url), _Group(server_key(cell.url))).pending.append(index)

    def run(self) -> list[CellReading]:
        """Start the workers, wait for every cell or the deadline, and answer for every cell."""
        threads = [threading.Thread(target=self._work, daemon=True) for _ in range(self._workers())]
        for thread in threads:
            thread.start()
        with self._lock:
            done = self._lock.wait_for(self._all_done, timeout=self._deadline.left())
        if done:  # every cell has its answer: let the workers say goodbye to their servers (COM_QUIT), within the deadline
            for thread in threads:
                thread.join(self._deadline.left())
        with self._lock:
            return [
                outcome or CellReading(cell, error=_late(self._phases[i], self._links.get(i), self._deadline, self._limits))
                for i, (cell, outcome) in enumerate(zip(self._cells, self._outcomes))
            ]

    def _workers(self) -> int:
        """No more threads than could ever hold a connection at once."""
        groups = self._groups.values()
        pending = sum(len(g.pending) for g in groups)
        per_server = self._limits.per_server
        return min(self._limits.parallel, pending, sum(min(len(g.pending), per_server) for g in groups))

    def _all_done(self) -> bool:
        return all(phase is Phase.DONE for phase in self._phases)

    def _any_pending(self) -> bool:
        return any(g.pending for g in self._groups.values())

    def _finish(self, index: int, outcome: CellReading) -> None:
        """A cell's answer (under the lock): its connection is no longer its own, and the waiter may be done."""
        self._outcomes[index], self._phases[index] = outcome, Phase.DONE
        self._links.pop(index, None)
        self._lock.notify_all()

    # --- a worker: take a group, serve it, give its place back ------------------------------------------------

    def _work(self) -> None:
        while True:
            group = self._claim()
            if group is None:
                return
            try:
                self._serve(group)
            finally:
                self._release(group)

    def _claim(self) -> _Group | None:
        """The next group with room on its server, once there is one; None when nothing is left or time is up."""
        with self._lock:
            if self._deadline.left() <= 0:  # past the deadline nothing new is started: the answer is being printed
                return None
            group = self._take()
            while group is None:
                left = self._deadline.left()
                if not self._any_pending() or left <= 0:
                    return None
                self._lock.wait(left)
                group = self._take()
            self._busy[group.server] = self._busy.get(group.server, 0) + 1
            group.active += 1
            return group

    def _take(self) -> _Group | None:
        """A group with cells left, below --per-server on its server and below its own limit (under the lock)."""
        for group in self._groups.values():
            if group.pending and self._busy.get(group.server, 0) < self._limits.per_server and group.active < group.limit:
                return group
        return None

    def _release(self, group: _Group) -> None:
        with self._lock:
            self._busy[group.server] -= 1
            group.active -= 1
            self._lock.notify_all()

    # --- serving a group over one connection ------------------------------------------------------------------

    def _serve(self, group: _Group) -> None:
        """Read the group's cells in turn over one connection, opened for the first and again after one is lost."""
        link: Link | None = None
        try:
            while True:
                index = self._next_cell(group, link)
                if index is None:
                    return
                if link is None:
                    link = self._open(group, index)
                    if link is None:
                        return
                link = self._read_over(group, index, link)
        finally:
            if link is not None:
                with self._lock:
                    group.connected -= 1
                _close_quietly(link)

    def _next_cell(self, group: _Group, link: Link | None) -> int | None:
        """The group's next cell, now this worker's; None when none is left or time is up."""
        with self._lock:
            if not group.pending or self._deadline.left() <= 0:
                return None
            index = group.pending.popleft()
            self._phases[index] = Phase.CONNECTING if link is None else Phase.READING
            if link is None:
                group.connecting += 1
            return index

    def _open(self, group: _Group, index: int) -> Link | None:
        """A connection for the group, or None: then the cell went back to another connection, or failed."""
        url = self._cells[index].url
        assert url is not None
        try:
            link = self._connect(url, self._deadline)
        except Exception as exc:  # noqa: BLE001 - any failure to connect is these cells' verdict
            self._refused(group, index, _reason(exc, self._cells[index]))
            return None
        with self._lock:
            group.connecting -= 1
            group.connected += 1
        return link

    def _refused(self, group: _Group, index: int, reason: str) -> None:
        """A connection refused: leave the cell to one that is open or opening, or fail every cell of the group."""
        with self._lock:
            group.connecting -= 1
            if group.connected or group.connecting:  # another connection reads (or may read) them
                group.pending.appendleft(index)
                self._phases[index] = Phase.WAITING
                group.limit = max(1, group.connected + group.connecting)  # and try no more
                return
            # Same server, same credentials: the same refusal for every cell it would have read.
            for other in [index, *group.pending]:
                self._finish(other, CellReading(self._cells[other], error=reason))
            group.pending.clear()

    def _read_over(self, group: _Group, index: int, link: Link) -> Link | None:
        """Read one cell; the connection to go on with, or None when the failure took it."""
        cell = self._cells[index]
        with self._lock:
            self._phases[index] = Phase.READING
            self._links[index] = link
            link.answered = False
        kept: Link | None = link
        try:
            outcome = self._read(cell, link)
        except Exception as exc:  # noqa: BLE001 - any failure of one cell is that cell's verdict
            outcome = CellReading(cell, error=_reason(exc, cell))
            if not link.usable():  # the connection went with it: a new one for the next cell
                kept = None
                with self._lock:
                    group.connected -= 1
                _close_quietly(link)
        with self._lock:
            self._finish(index, outcome)
        return kept


def _log_reading(reading: CellReading) -> None:
    """What a cell gave, at -vvv: its count, time, server and node, or its reason."""
    label = safe(reading.cell.label)
    if reading.error is None:
        skew = "" if reading.skew is None else f", server clock {reading.skew:+.3f}s from this host's"
        node = "" if reading.node is None else f", {reading.node.describe()}"
        log.debug(
            "cell %s: %d services in %.3fs from %s%s%s",
            label,
            reading.services,
            reading.seconds,
            show(reading.cell),
            skew,
            node,
        )
    else:
        log.debug("cell %s: %s (%s)", label, reading.error, show(reading.cell))


def _late(phase: Phase, link: Link | None, deadline: Deadline, limits: Limits) -> str:
    """Where the time of a cell not done by the deadline went: here (waiting for a connection, judging) or there."""
    if phase is Phase.WAITING:
        return (
            f"not reached within the {deadline.seconds:g}s timeout: the connections to its server "
            f"(--per-server {limits.per_server}, --parallel {limits.parallel}) were still reading other cells"
        )
    if link is not None and getattr(link, "answered", False):
        return (
            f"answered, but not judged within the {deadline.seconds:g}s timeout: the time went on this host, not the database"
        )
    return deadline.missed


def _close_quietly(link: Link) -> None:
    try:
        link.close()
    except Exception:  # noqa: BLE001 - closing a dead or abandoned connection cannot change a verdict
        pass


def _reason(exc: BaseException, cell: Cell) -> str:
    if isinstance(exc, ReadError):
        return str(exc)
    password = "" if cell.url is None else str(cell.url.password or "")
    return " ".join(redact(f"{type(exc).__name__}: {exc}", [password]).split())

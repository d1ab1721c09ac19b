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
from check_nova_services.sources.cells import show
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
    outcomes: list[CellReading | None] = [None] * len(cells)
    phases = [Phase.WAITING] * len(cells)
    links: dict[int, Link] = {}
    groups: dict[str, _Group] = {}
    for index, cell in enumerate(cells):
        if cell.problem is not None or cell.url is None:
            outcomes[index], phases[index] = CellReading(cell, error=cell.problem or "no database URL"), Phase.DONE
            continue
        groups.setdefault(sharing_key(cell.url), _Group(server_key(cell.url))).pending.append(index)
    lock = threading.Condition()
    busy: dict[ServerKey, int] = {}

    def finish(index: int, outcome: CellReading) -> None:
        outcomes[index], phases[index] = outcome, Phase.DONE
        links.pop(index, None)
        lock.notify_all()

    def take() -> _Group | None:
        for group in groups.values():
            if group.pending and busy.get(group.server, 0) < limits.per_server and group.active < group.limit:
                return group
        return None

    def worker() -> None:
        while True:
            with lock:
                if deadline.left() <= 0:  # past the deadline nothing new is started: the answer is being printed
                    return
                group = take()
                while group is None:
                    left = deadline.left()
                    if not any(g.pending for g in groups.values()) or left <= 0:
                        return
                    lock.wait(left)
                    group = take()
                busy[group.server] = busy.get(group.server, 0) + 1
                group.active += 1
            try:
                serve(group)
            finally:
                with lock:
                    busy[group.server] -= 1
                    group.active -= 1
                    lock.notify_all()

    def serve(group: _Group) -> None:
        link: Link | None = None
        try:
            while True:
                with lock:
                    if not group.pending or deadline.left() <= 0:
                        return
                    index = group.pending.popleft()
                    phases[index] = Phase.CONNECTING if link is None else Phase.READING
                    if link is None:
                        group.connecting += 1
                cell = cells[index]
                assert cell.url is not None
                if link is None:
                    try:
                        link = connect(cell.url, deadline)
                    except Exception as exc:  # noqa: BLE001 - any failure to connect is these cells' verdict
                        reason = _reason(exc, cell)
                        with lock:
                            group.connecting -= 1
                            if group.connected or group.connecting:  # another connection reads (or may read) them
                                group.pending.appendleft(index)
                                phases[index] = Phase.WAITING
                                group.limit = max(1, group.connected + group.connecting)  # and try no more
                                return
                            # Same server, same credentials: the same refusal for every cell it would have read.
                            for other in [index, *group.pending]:
                                finish(other, CellReading(cells[other], error=reason))
                            group.pending.clear()
                        return
                    with lock:
                        group.connecting -= 1
                        group.connected += 1
                with lock:
                    phases[index] = Phase.READING
                    links[index] = link
                    link.answered = False
                try:
                    outcome = read(cell, link)
                except Exception as exc:  # noqa: BLE001 - any failure of one cell is that cell's verdict
                    outcome = CellReading(cell, error=_reason(exc, cell))
                    if not link.usable():  # the connection went with it: a new one for the next cell
                        gone, link = link, None
                        with lock:
                            group.connected -= 1
                        _close_quietly(gone)
                with lock:
                    finish(index, outcome)
        finally:
            if link is not None:
                with lock:
                    group.connected -= 1
                _close_quietly(link)

    pending = sum(len(g.pending) for g in groups.values())
    workers = min(limits.parallel, pending, sum(min(len(g.pending), limits.per_server) for g in groups.values()))
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
    for thread in threads:
        thread.start()
    with lock:
        done = lock.wait_for(lambda: all(phase is Phase.DONE for phase in phases), timeout=deadline.left())
    if done:  # every cell has its answer: let the workers say goodbye to their servers (COM_QUIT), within the deadline
        for thread in threads:
            thread.join(deadline.left())
    with lock:
        readings = [
            outcome or CellReading(cell, error=_late(phases[i], links.get(i), deadline, limits))
            for i, (cell, outcome) in enumerate(zip(cells, outcomes))
        ]
    for reading in readings:
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
    return readings


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

"""The cells one run covers, and reading all of them at once within the deadline."""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, field

from sqlalchemy.engine import URL

from .db import DatabaseError, ServiceFilter, read_services, redact
from .heartbeat import ServiceRow


@dataclass(frozen=True)
class Cell:
    """A cell database to read. ``url`` holds credentials: never print it, use ``show_url``."""

    name: str
    uuid: str | None
    url: URL = field(repr=False)
    disabled: bool = False

    @property
    def label(self) -> str:
        return f"{self.name} ({self.uuid})" if self.uuid else self.name


@dataclass
class CellReport:
    """What one cell gave back: its rows, or why it could not."""

    cell: Cell
    rows: list[ServiceRow] = field(default_factory=list)
    db_now: dt.datetime | None = None
    error: str | None = None


def read_cells(
    cells: list[Cell], where: ServiceFilter, deadline: float, with_db_clock: bool = False
) -> list[CellReport]:
    """Read every cell concurrently; a cell not done by ``deadline`` (monotonic) is reported as timed out.

    Daemon threads: a cell stuck in a socket read must not hold the process
    past its timeout, so it is abandoned rather than joined.
    """
    started = time.monotonic()
    outcomes: list[CellReport | None] = [None] * len(cells)

    def work(index: int, cell: Cell) -> None:
        try:
            rows, db_now = read_services(cell.url, where, deadline - time.monotonic(), with_db_clock)
            outcomes[index] = CellReport(cell, rows, db_now)
        except DatabaseError as exc:
            outcomes[index] = CellReport(cell, error=str(exc))
        except Exception as exc:  # noqa: BLE001 - any failure of one cell is that cell's verdict
            reason = redact(f"{type(exc).__name__}: {exc}", [cell.url.password or ""])
            outcomes[index] = CellReport(cell, error=" ".join(reason.split()))

    threads = [
        threading.Thread(target=work, args=(i, cell), daemon=True) for i, cell in enumerate(cells)
    ]
    for thread in threads:
        thread.start()
    reports = []
    for thread, cell, index in zip(threads, cells, range(len(cells))):
        thread.join(max(0.0, deadline - time.monotonic()))
        outcome = outcomes[index]
        if thread.is_alive() or outcome is None:
            outcome = CellReport(cell, error=f"no answer within {deadline - started:.1f}s")
        reports.append(outcome)
    return reports

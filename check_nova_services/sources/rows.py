"""The row path: every matching services row of one cell, for the list view, --zone and --exclude."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import (
    Connection,
    literal_column,
    select,
)
from sqlalchemy.engine import URL

from check_nova_services.rule.heartbeat import ServiceRow
from check_nova_services.rule.nodes import NodeState
from check_nova_services.rule.selection import ServiceFilter
from check_nova_services.shared.deadline import Deadline
from check_nova_services.sources.services_table import (
    ServerClock,
    checked_row,
    counted_as,
    exact,
    server_clock,
    services,
    wanted,
)
from check_nova_services.sources.sessions import Link, is_sqlite
from check_nova_services.sources.snapshot import read_in_snapshot

if TYPE_CHECKING:
    from check_nova_services.sources.services_table import AnySelect

T = TypeVar("T")


def read_services(
    url: URL, where: ServiceFilter, deadline: Deadline, with_db_clock: bool = False
) -> tuple[list[ServiceRow], ServerClock | None]:
    """:func:`read_services_on` over a connection of its own, whatever a replica's lag (the rows as the node has them)."""
    link = Link(url, deadline)
    try:
        rows, clock, _node = read_services_on(link, url, where, with_db_clock, lag_tolerance=math.inf)
    finally:
        link.close()
    return rows, clock


def read_services_on(
    link: Link, url: URL, where: ServiceFilter, with_db_clock: bool = False, *, lag_tolerance: float
) -> tuple[list[ServiceRow], ServerClock | None, NodeState | None]:
    """Non-deleted, non-API rows of one cell's services table, the server's clock (always measured
    on MySQL/MariaDB, for the skew; on SQLite only if asked), and the node's state. Rows are not read
    from a node whose state casts doubt on them (a replica lagging beyond ``lag_tolerance`` seconds among them)."""
    node, result = judge_services_on(link, url, where, lambda rows, clock: (list(rows), clock), with_db_clock, lag_tolerance)
    rows, clock = result if result is not None else ([], None)
    return rows, clock, node


def judge_services_on(
    link: Link,
    url: URL,
    where: ServiceFilter,
    judge: Callable[[Iterator[ServiceRow], ServerClock | None], T],
    with_db_clock: bool,
    lag_tolerance: float,
    in_list_order: bool = False,
) -> tuple[NodeState | None, T | None]:
    """``judge`` handed the rows one at a time as they arrive (an unbuffered cursor), with the server's clock: a
    cell's rows are never all held at once. None for a node that casts doubt on its data (judge is not called).

    One SELECT: ``services.*`` lets the same statement serve every schema since
    Icehouse, and the rule tells old from new by the columns that come back; beside it, the Nova binary the
    database compares each binary equal to (services_table.counted_as), for Nova's minimum version.
    """
    stmt: AnySelect = select(literal_column("services.*"), counted_as()).select_from(services).where(*wanted(where))
    if in_list_order:  # the list's order, binary then host, as Python orders text: by code point, which is UTF-8's byte order
        stmt = stmt.order_by(exact(services.c.binary), exact(services.c.host), services.c.id)

    def read(conn: Connection) -> T:
        clock = server_clock(conn, url) if with_db_clock or not is_sqlite(url) else None
        result = conn.execute(stmt.execution_options(stream_results=True))
        return judge((checked_row(row._mapping) for row in result), clock)

    return read_in_snapshot(link, url, read, lag_tolerance)

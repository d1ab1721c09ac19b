"""Nova's tables as far as this project touches them, for the demo database and the tests.

The check itself never creates anything: it only reads.  Columns follow Nova's
initial migrations (``nova/db/main/migrations``, ``nova/db/api/migrations``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)


def _timestamps() -> list[Column[dt.datetime]]:
    return [Column("created_at", DateTime), Column("updated_at", DateTime)]


def cell_metadata(legacy: bool = False) -> MetaData:
    """A cell database's ``services`` table; ``legacy`` drops the Liberty+ columns."""
    meta = MetaData()
    columns: list[Column[Any]] = [
        *_timestamps(),
        Column("deleted_at", DateTime),
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("host", String(255)),
        Column("binary", String(255)),
        Column("topic", String(255)),
        Column("report_count", Integer, nullable=False, default=0),
        Column("disabled", Boolean, default=False),
        Column("deleted", Integer, default=0),
        Column("disabled_reason", String(255)),
    ]
    if not legacy:
        columns += [
            Column("last_seen_up", DateTime, nullable=True),
            Column("forced_down", Boolean(create_constraint=False), default=False),
            Column("version", Integer, default=0),
            Column("uuid", String(36), nullable=True),
        ]
    Table(
        "services",
        meta,
        *columns,
        UniqueConstraint("host", "topic", "deleted", name="uniq_services0host0topic0deleted"),
        UniqueConstraint("host", "binary", "deleted", name="uniq_services0host0binary0deleted"),
        *([] if legacy else [Index("services_uuid_idx", "uuid", unique=True)]),
    )
    return meta


def api_metadata() -> MetaData:
    """The API database tables the check reads: cells and availability-zone aggregates."""
    meta = MetaData()
    Table(
        "cell_mappings",
        meta,
        *_timestamps(),
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("uuid", String(36), nullable=False, unique=True),
        Column("name", String(255)),
        Column("transport_url", Text()),
        Column("database_connection", Text()),
        Column("disabled", Boolean, default=False),
    )
    Table(
        "host_mappings",
        meta,
        *_timestamps(),
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("cell_id", Integer, ForeignKey("cell_mappings.id"), nullable=False),
        Column("host", String(255), nullable=False, unique=True),
    )
    Table(
        "aggregates",
        meta,
        *_timestamps(),
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("uuid", String(36)),
        Column("name", String(255), unique=True),
    )
    Table(
        "aggregate_hosts",
        meta,
        *_timestamps(),
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("host", String(255)),
        Column("aggregate_id", Integer, ForeignKey("aggregates.id"), nullable=False),
        UniqueConstraint("host", "aggregate_id", name="uniq_aggregate_hosts0host0aggregate_id"),
    )
    Table(
        "aggregate_metadata",
        meta,
        *_timestamps(),
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("aggregate_id", Integer, ForeignKey("aggregates.id"), nullable=False),
        Column("key", String(255), nullable=False),
        Column("value", String(255), nullable=False),
        UniqueConstraint("aggregate_id", "key", name="uniq_aggregate_metadata0aggregate_id0key"),
    )
    return meta

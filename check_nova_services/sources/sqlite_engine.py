"""An SQLite cell database (the demo's, a test's), opened read-only: a typo must not create an empty database,
nothing can be written, and text that is not UTF-8 does not blind the check to the whole cell."""

from __future__ import annotations

import os
import sqlite3
import urllib.parse

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from check_nova_services.shared.errors import ReadError
from check_nova_services.shared.text import text_of


def sqlite_engine(url: URL, timeout: float) -> Engine:
    path = url.database or ""
    if path in ("", ":memory:"):
        raise ReadError("an SQLite URL needs a file: sqlite:///path/to/nova.sqlite")
    if not os.path.exists(path):
        raise ReadError(f"no SQLite database file {path}")
    # mode=ro: a typo must not create an empty database, and nothing can be written.
    uri = "file:" + urllib.parse.quote(os.path.abspath(path)) + "?mode=ro"

    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(uri, uri=True, timeout=timeout, check_same_thread=False)
        # Text that is not UTF-8 must not blind the check to the whole cell: decode what can be.
        conn.text_factory = text_of
        return conn

    return create_engine("sqlite://", poolclass=NullPool, creator=connect)

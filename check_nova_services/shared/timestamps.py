"""Naive-UTC instants, as Nova stores and compares them, read the same way on Python 3.9 to 3.13.

``datetime.fromisoformat`` only learnt ``Z`` and fractions of any length in 3.11; the
``--clock`` option and SQLite's text timestamps must read alike on every supported Python.
"""

from __future__ import annotations

import datetime as dt
import re

_TIMESTAMP = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<time>\d{2}:\d{2}(?::\d{2})?)(?:[.,](?P<fraction>\d{1,9}))?)?"
    r"\s*(?P<zone>Z|[+-]\d{2}(?::?\d{2})?)?",
    re.IGNORECASE,
)


def utc_now() -> dt.datetime:
    """This host's clock, naive UTC."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def parse_timestamp(text: str) -> dt.datetime:
    """An ISO-8601 date or date and time (``T`` or space, any fraction, ``Z`` or an offset) as naive UTC.

    Raises ValueError for anything else, including impossible dates such as MySQL's zero date.
    """
    match = _TIMESTAMP.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not an ISO-8601 timestamp: {text!r}")
    clock = match["time"] or "00:00"
    fraction = (match["fraction"] or "").ljust(6, "0")[:6]
    moment = dt.datetime.fromisoformat(f"{match['date']}T{clock}" + (f".{fraction}" if match["fraction"] else ""))
    zone = match["zone"]
    if zone and zone.upper() != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
        moment -= sign * offset
    return moment

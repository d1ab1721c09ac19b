"""``--list``: the service list of the removed ``nova-manage service list``, without Keystone or the Nova API.

The same survey and the same rule as the check; an aligned table for people, JSON for scripts.
Pure: the Reading in, text out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from json.encoder import encode_basestring
from typing import Any

from check_nova_services.readings import Cell, ListedService, Reading
from check_nova_services.rule.versions import release_of
from check_nova_services.shared.text import duration, safe

COLUMNS = (
    "Binary",
    "Host",
    "Zone",
    "Status",
    "State",
    "Updated_At",
    "Cell",
    "Age",
    "Forced down",
    "Version",
    "Disabled reason",
)
#: Exit codes of --list (the check's are 0-3 by state): the whole list, a partial one, none at all.
LIST_COMPLETE, LIST_PARTIAL, LIST_NONE = 0, 1, 3
_RED, _GREEN, _RESET = "\033[31m", "\033[32m", "\033[0m"


def listed_services(reading: Reading) -> Iterator[ListedService]:
    """The services to list, sorted by binary, host, cell, one at a time as they are written: a list of 100,000
    records would hold hundreds of MiB. Services --exclude left out are not listed."""
    return (s for s in reading.every_service() if not s.excluded)


def service_records(reading: Reading) -> Iterator[dict[str, Any]]:
    """One dict per service: what each JSON object holds (json_chunks writes the same text without the dicts)."""
    uuids = {cell.name: cell.uuid for cell in reading.cells}
    return (dict(zip(JSON_KEYS, _json_values(s, uuids.get(s.cell)))) for s in listed_services(reading))


#: The keys of a JSON service object, in order.
JSON_KEYS = (
    "binary",
    "host",
    "zone",
    "cell",
    "cell_uuid",
    "status",
    "state",
    "forced_down",
    "disabled_reason",
    "heartbeat",
    "heartbeat_source",
    "age_seconds",
    "id",
    "uuid",
    "version",
    "release",
)


def _json_values(s: ListedService, cell_uuid: str | None) -> tuple[Any, ...]:
    stamp = s.heartbeat
    return (
        s.binary,
        s.host,
        s.zone,
        s.cell,
        cell_uuid,
        "disabled" if s.disabled else "enabled",
        "up" if s.up else "down",
        bool(s.forced_down),
        s.disabled_reason,
        None if stamp is None else stamp + "Z",
        s.source if stamp is not None else None,
        None if s.age is None or stamp is None else round(s.age, 3),
        s.id,
        s.uuid,
        s.version,
        None if s.version is None else release_of(s.version),
    )


def json_chunks(reading: Reading) -> Iterator[str]:
    """``{"services": [...], "errors": [...]}`` in pieces to write as they come: stable keys, one service object a
    line, one error object per unreachable cell. Together one valid JSON document. Each object is the text json's
    encoder makes of :func:`service_records`' dict (tests/test_list.py), written without the dict: the values
    that repeat (binary, zone, cell...) are encoded once per run."""
    yield '{"services": ['
    uuids = {cell.name: cell.uuid for cell in reading.cells}
    repeated: dict[Any, str] = {}

    def once(value: Any) -> str:
        text = repeated.get(value)
        if text is None:
            text = repeated[value] = _json_value(value)
        return text

    separator = "\n  "
    for s in listed_services(reading):
        (binary, host, zone, cell, cell_uuid, status, state, forced, reason, beat, source, age, row_id, uuid, version,
         release) = _json_values(s, uuids.get(s.cell))  # fmt: skip
        yield (
            f'{separator}{{"binary": {once(binary)}, "host": {_json_value(host)}, "zone": {once(zone)}, '
            f'"cell": {once(cell)}, "cell_uuid": {once(cell_uuid)}, "status": "{status}", "state": "{state}", '
            f'"forced_down": {"true" if forced else "false"}, "disabled_reason": {once(reason)}, '
            f'"heartbeat": {_json_value(beat)}, "heartbeat_source": {once(source)}, "age_seconds": {_json_value(age)}, '
            f'"id": {row_id}, "uuid": {_json_value(uuid)}, "version": {once(version)}, "release": {once(release)}}}'
        )
        separator = ",\n  "
    errors = [{"cell": r.cell.name, "cell_uuid": r.cell.uuid, "error": r.error} for r in reading.unreachable]
    yield '\n], "errors": ' + json.dumps(errors, ensure_ascii=False) + "}\n"


def _json_value(value: Any) -> str:
    """One value as json.dumps(value, ensure_ascii=False) writes it (str, int, float, bool, None)."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, str):
        return encode_basestring(value)
    return int.__repr__(value) if isinstance(value, int) else float.__repr__(value)


def table_lines(reading: Reading, colour: bool = False) -> Iterator[str]:
    """An aligned table with a header, a line at a time; every cell made safe (no control characters, no ``|``
    surprises). Two passes over the services, the widths first: no table held whole. Values that repeat (binary,
    zone, cell, version, reason) are made safe once per run."""
    cells = _TableCells()
    widths = [len(name) for name in COLUMNS]
    for s in listed_services(reading):
        widths = [max(width, len(value)) for width, value in zip(widths, cells.row(s))]
    yield "  ".join(name.ljust(width) for name, width in zip(COLUMNS, widths)).rstrip()
    state = COLUMNS.index("State")
    for row in map(cells.row, listed_services(reading)):
        padded = [value.ljust(width) for value, width in zip(row, widths)]
        if colour:
            padded[state] = (_GREEN if row[state] == "up" else _RED) + padded[state] + _RESET
        yield "  ".join(padded).rstrip()


class _TableCells:
    """A service's table cells; the safe text of a value that repeats is made once."""

    def __init__(self) -> None:
        self.known: dict[tuple[str, Any], str] = {}

    def once(self, column: str, value: Any, make: Any) -> str:
        key = (column, value)
        text = self.known.get(key)
        if text is None:
            text = self.known[key] = make(value)
        return text

    def row(self, s: ListedService) -> list[str]:
        heartbeat, age = s.heartbeat, s.age
        return [
            self.once("binary", s.binary, lambda v: safe(v or "?", 255)),
            safe(s.host or "?", 255),
            self.once("zone", s.zone, lambda v: safe(v or "-", 255)),
            "disabled" if s.disabled else "enabled",
            "up" if s.up else "down",
            "-" if heartbeat is None else heartbeat[:19].replace("T", " "),
            self.once("cell", s.cell, lambda v: safe(v, 255)),
            "-" if age is None or heartbeat is None else (f"-{duration(age)}" if age < 0 else duration(age)),
            "yes" if s.forced_down else "no",
            self.once("version", s.version, _version_text),
            self.once("reason", s.disabled_reason, lambda v: safe(v or "-", 255)),
        ]


def _version_text(version: int | None) -> str:
    if version is None:
        return "-"
    release = release_of(version)
    return f"{version} ({release})" if release else f"{version}"


def unreachable_lines(reading: Reading) -> list[str]:
    """For stderr beside the table: one line per cell that could not be read."""
    return [f"check_nova_services: {_cell(r.cell)} unreachable: {safe(r.error, 300)}" for r in reading.unreachable]


def _cell(cell: Cell) -> str:
    return f"cell {safe(cell.name, 80)} ({cell.uuid})" if cell.uuid else f"database {safe(cell.name, 80)}"


def exit_code(reading: Reading) -> int:
    """0 every cell listed; 1 some cells unreachable (the rest listed); 3 not one cell could be read."""
    if not reading.unreachable:
        return LIST_COMPLETE
    return LIST_NONE if len(reading.unreachable) == len(reading.cells) else LIST_PARTIAL

"""``--list``: the service list of the removed ``nova-manage service list``, without Keystone or the Nova API.

The same survey and the same rule as the check; an aligned table for people, JSON for scripts.
Pure: the Reading in, text out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
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


def service_records(reading: Reading) -> Iterator[dict[str, Any]]:
    """One dict per service, sorted by binary, host, cell: the JSON objects, and the table's source. Made one
    at a time, as they are written: a list of 100,000 dicts would hold hundreds of MiB. Services --exclude left
    out are not listed."""
    uuids = {cell.name: cell.uuid for cell in reading.cells}
    return (_record(s, uuids.get(s.cell)) for s in reading.every_service() if not s.excluded)


def _record(s: ListedService, cell_uuid: str | None) -> dict[str, Any]:
    stamp = s.heartbeat
    return {
        "binary": s.binary,
        "host": s.host,
        "zone": s.zone,
        "cell": s.cell,
        "cell_uuid": cell_uuid,
        "status": "disabled" if s.disabled else "enabled",
        "state": "up" if s.up else "down",
        "forced_down": bool(s.forced_down),
        "disabled_reason": s.disabled_reason,
        "heartbeat": None if stamp is None else stamp + "Z",
        "heartbeat_source": s.source if stamp is not None else None,
        "age_seconds": None if s.age is None or stamp is None else round(s.age, 3),
        "id": s.id,
        "uuid": s.uuid,
        "version": s.version,
        "release": None if s.version is None else release_of(s.version),
    }


#: One encoder for the run: json.dumps(..., ensure_ascii=False) makes a new one per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False)


def json_chunks(reading: Reading) -> Iterator[str]:
    """``{"services": [...], "errors": [...]}`` in pieces to write as they come: stable keys, one service object a
    line (json's C encoder; an indented document goes through its pure-Python one, ten times slower), one error
    object per unreachable cell. Together one valid JSON document."""
    yield '{"services": ['
    encode = _ENCODER.encode
    for index, record in enumerate(service_records(reading)):
        yield ",\n  " if index else "\n  "
        yield encode(record)
    errors = [{"cell": r.cell.name, "cell_uuid": r.cell.uuid, "error": r.error} for r in reading.unreachable]
    yield '\n], "errors": ' + json.dumps(errors, ensure_ascii=False) + "}\n"


def table_lines(reading: Reading, colour: bool = False) -> Iterator[str]:
    """An aligned table with a header, a line at a time; every cell made safe (no control characters, no ``|``
    surprises). Two passes over the services, the widths first: no table held whole."""
    widths = [len(name) for name in COLUMNS]
    for record in service_records(reading):
        widths = [max(width, len(value)) for width, value in zip(widths, _table_row(record))]
    yield "  ".join(name.ljust(width) for name, width in zip(COLUMNS, widths)).rstrip()
    state = COLUMNS.index("State")
    for row in map(_table_row, service_records(reading)):
        cells = [value.ljust(width) for value, width in zip(row, widths)]
        if colour:
            cells[state] = (_GREEN if row[state] == "up" else _RED) + cells[state] + _RESET
        yield "  ".join(cells).rstrip()


def _table_row(record: dict[str, Any]) -> list[str]:
    heartbeat = record["heartbeat"]
    age = record["age_seconds"]
    return [
        safe(record["binary"] or "?", 255),
        safe(record["host"] or "?", 255),
        safe(record["zone"] or "-", 255),
        record["status"],
        record["state"],
        "-" if heartbeat is None else heartbeat[:19].replace("T", " "),
        safe(record["cell"], 255),
        "-" if age is None else (f"-{duration(age)}" if age < 0 else duration(age)),
        "yes" if record["forced_down"] else "no",
        "-" if record["version"] is None else f"{record['version']}" + (f" ({record['release']})" if record["release"] else ""),
        safe(record["disabled_reason"] or "-", 255),
    ]


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

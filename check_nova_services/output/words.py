"""How one service, one cell, one count is named, in the first line and in the long output alike."""

from __future__ import annotations

from check_nova_services.readings import Cell, ListedService
from check_nova_services.rule.policy import Assessed, BinaryTally, Standing, binary_rank
from check_nova_services.shared.text import duration, safe


def short_cell(cell: Cell) -> str:
    """A cell in a list of several: its name, or the start of its uuid when it has none."""
    if cell.uuid and cell.name == cell.uuid:
        return f"{cell.uuid[:8]}…"
    return safe(cell.name, 40)


def cell_name(cell: Cell, named: bool = True, short_uuid: bool = False) -> str:
    """A cell as the on-call person needs it: name and uuid (whole unless ``short_uuid``)."""
    what = ("cell " if cell.uuid else "database ") if named else ""
    if not cell.uuid:
        return f"{what}{safe(cell.name, 40)}"
    uuid = f"{cell.uuid[:8]}…" if short_uuid else cell.uuid
    if cell.uuid == cell.name:  # an unnamed cell is known by its uuid alone
        return f"{what}{uuid} (disabled)" if cell.disabled else f"{what}{uuid}"
    text = f"{what}{safe(cell.name, 40)}"
    return f"{text} ({uuid}, disabled)" if cell.disabled else f"{text} ({uuid})"


def why(s: Assessed) -> str:
    """Why a service counts as down, in a few words."""
    row, verdict = s.row, s.verdict
    if verdict.problem is not None:
        return verdict.problem
    if s.standing is Standing.AUTO_DISABLED:
        return safe(row.disabled_reason, 60)
    if row.forced_down:
        return "forced down"
    if verdict.age is None:
        return "no heartbeat"
    if verdict.never_reported:
        return f"never reported, created {duration(verdict.age)} ago"
    if verdict.age < 0:
        return f"heartbeat {duration(verdict.age)} in the future"
    return duration(verdict.age)


def count_of(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


def age(s: Assessed) -> str:
    value = s.verdict.age or 0.0
    return f"{duration(value)} in the future" if value < 0 else duration(value)


def database_of(cell: Cell) -> str:
    return f"{safe(cell.name, 40)}'s database" if cell.uuid else f"database {safe(cell.name, 40)}"


def ahead_or_behind(seconds: float) -> str:
    return "ahead of" if seconds > 0 else "behind"


def binary_order(tally: BinaryTally) -> tuple[int, str]:
    return (binary_rank(tally.binary), tally.binary or "")


def describe(s: ListedService) -> str:
    """One service as a long-output line: everything the on-call person needs to act."""
    fields = [
        f"{'excluded, ' if s.excluded else ''}{s.standing}: {_named(s.binary, s.host, s.id, s.defect, 255, 255)}",
        f"cell={safe(s.cell)}",
    ]
    if s.zone is not None:
        fields.append(f"zone={safe(s.zone)}")
    fields += [
        f"status={'disabled' if s.disabled else 'enabled'}",
        f"state={'up' if s.up else 'down'}",
        f"heartbeat={_heartbeat(s)}",
        f"forced_down={'yes' if s.forced_down else 'no'}",
        f"disabled_reason={safe(s.disabled_reason, 120)}",
    ]
    return " ".join(fields)


def _heartbeat(s: ListedService) -> str:
    if s.problem is not None:
        return f"unreadable ({s.source} '{safe(s.unreadable, 40)}')" if s.unreadable is not None else f"none ({s.problem})"
    if s.age is None or s.heartbeat is None:
        return "none"
    when = "in the future" if s.age < 0 else "ago"
    return f"{duration(s.age)} {when} ({s.source} {s.heartbeat[:19].replace('T', ' ')})"


def who(s: Assessed, short: bool = True) -> str:
    """binary@host; the pager line shortens long names, the long output keeps all of Nova's 255."""
    binary_limit, host_limit = (40, 60) if short else (255, 255)
    row = s.row
    return _named(row.binary, row.host, row.id, row.defect is not None, binary_limit, host_limit)


def host_of(s: Assessed, with_cell: bool = False) -> str:
    """The host alone, listed under its binary's name; host@cell when ``with_cell`` (the same name lives in
    more than one cell)."""
    row = s.row
    defect = row.defect is not None
    host = _name_part(row.host, 60, defect)
    if with_cell and not defect:
        host = f"{host}@{safe(s.cell_name, 30)}"
    return _found_by_id(host, row.id, defect)


def _named(binary: str, host: str, row_id: int, defect: bool, binary_limit: int, host_limit: int) -> str:
    named = f"{_name_part(binary, binary_limit, defect)}@{_name_part(host, host_limit, defect)}"
    return _found_by_id(named, row_id, defect)


def _name_part(name: str, limit: int, defect: bool) -> str:
    """A defective row's missing name shows as ``?``."""
    return "?" if defect and not name else safe(name, limit)


def _found_by_id(named: str, row_id: int, defect: bool) -> str:
    """A defective row has no name to act on: its row id finds it."""
    return f"{named} (services row id={row_id})" if defect else named

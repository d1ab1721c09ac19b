"""How one service, one cell, one count is named, in the first line and in the long output alike."""

from __future__ import annotations

from check_nova_services.readings import Cell
from check_nova_services.rule.policy import Assessed, Standing, binary_rank
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


def binary_order(tally) -> tuple[int, str]:
    return (binary_rank(tally.binary), tally.binary or "")


def describe(s: Assessed, excluded: bool = False) -> str:
    """One service as a long-output line: everything the on-call person needs to act."""
    row, verdict = s.row, s.verdict
    fields = [
        f"{'excluded, ' if excluded else ''}{s.standing.value}: {who(s, short=False)}",
        f"cell={safe(s.cell_name)}",
    ]
    if s.zone is not None:
        fields.append(f"zone={safe(s.zone)}")
    fields += [
        f"status={'disabled' if row.disabled else 'enabled'}",
        f"state={'up' if verdict.up else 'down'}",
        f"heartbeat={_heartbeat(s)}",
        f"forced_down={'yes' if row.forced_down else 'no'}",
        f"disabled_reason={safe(row.disabled_reason, 120)}",
    ]
    return " ".join(fields)


def _heartbeat(s: Assessed) -> str:
    verdict = s.verdict
    if verdict.problem is not None:
        stored = dict(s.row.unreadable).get(verdict.source or "")
        return f"unreadable ({verdict.source} '{safe(stored, 40)}')" if stored is not None else f"none ({verdict.problem})"
    if verdict.age is None:
        return "none"
    when = "in the future" if verdict.age < 0 else "ago"
    stamp = getattr(s.row, verdict.source or "created_at")
    return f"{duration(verdict.age)} {when} ({verdict.source} {stamp:%Y-%m-%d %H:%M:%S})"


def who(s: Assessed, short: bool = True) -> str:
    """binary@host; the pager line shortens long names, the long output keeps all of Nova's 255."""
    binary_limit, host_limit = (40, 60) if short else (255, 255)
    row = s.row
    if row.defect is not None:  # no name to act on: the row id finds it
        binary = safe(row.binary, binary_limit) if row.binary else "?"
        host = safe(row.host, host_limit) if row.host else "?"
        return f"{binary}@{host} (services row id={row.id})"
    return f"{safe(row.binary, binary_limit)}@{safe(row.host, host_limit)}"

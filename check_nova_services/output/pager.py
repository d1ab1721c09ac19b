"""The first line's facts, from the run's Reading. Pure: no I/O, no nagiosplugin.

The first line is a fixed order of facts, each with its own words and its count, so that none is
lost in a big outage: (1) what cannot be known (unreachable cells, stale nodes), (2) down services,
whole cells first, then by binary with the control plane first, (3) late heartbeats, then computes too
old for the control plane, (4) notes (disabled, excluded, zones unknown, mixed versions, -w/-c names that
match no service). fit.py shares the budget out; words.py names services, cells and counts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from check_nova_services.output.fit import SEPARATOR, SUMMARY_BUDGET, Fact, fit, heads_fit
from check_nova_services.output.words import (
    age,
    ahead_or_behind,
    binary_order,
    cell_name,
    count_of,
    database_of,
    host_of,
    short_cell,
    who,
    why,
)
from check_nova_services.readings import CellReading, Reading
from check_nova_services.rule.capacity import AGGREGATE, ZONE, Pool, Shortfall
from check_nova_services.rule.policy import KNOWN_BINARIES, OTHER_BINARY_RANK, Assessed, Standing, binary_rank
from check_nova_services.rule.releases import RELEASES
from check_nova_services.rule.versions import COMPUTE, release_of
from check_nova_services.shared.text import duration, safe


@dataclass(frozen=True)
class Capacity:
    """What the checks judged of the zones and aggregates: those short of their ranges, worst first, and those
    named in the ranges that do not exist."""

    shortfalls: tuple[Shortfall, ...] = ()
    unmatched: tuple[Pool, ...] = ()
    #: Some range is given (--zone-*, --aggregate-*): that a dark cell's computes cannot be counted is news.
    judged: bool = False


#: No zone or aggregate judged.
NO_CAPACITY = Capacity()


#: Whole cells down are named one by one, each with its newest heartbeat, up to this many and while every fact's
#: head fits beside them; more, or less room, and they are one fact: "8 cells all down (160 services): cell000, …".
WHOLE_CELLS_NAMED = 3


def first_line(
    reading: Reading,
    unmatched_thresholds: Iterable[str] = (),
    budget: int = SUMMARY_BUDGET,
    skew_warning: float | None = None,
    capacity: Capacity = NO_CAPACITY,
) -> str:
    """The status text after "NOVA_SERVICES STATE - ", at most ``budget`` characters."""
    whole = _whole_cells(reading)
    facts = _facts(reading, whole, _each_whole_cell(whole), unmatched_thresholds, budget, skew_warning, capacity)
    if len(whole) > 1 and (len(whole) > WHOLE_CELLS_NAMED or not heads_fit(facts, budget)):
        facts = _facts(reading, whole, [_whole_cells_as_one(whole)], unmatched_thresholds, budget, skew_warning, capacity)
    return fit(facts, budget)


def _facts(
    reading: Reading,
    whole: list[CellReading],
    whole_facts: list[Fact],
    unmatched_thresholds: Iterable[str],
    budget: int,
    skew_warning: float | None,
    capacity: Capacity,
) -> list[Fact]:
    """Every fact of the line in its order, the whole cells down as given; this host's wrong clock first, since
    every other fact was judged around it (and it replaces the skew it explains). Zones and aggregates short of
    computes follow the down services they come from."""
    shortfalls = [_shortfall(s) for s in capacity.shortfalls]
    known = [*whole_facts, *_down(reading, whole), *shortfalls, *_late(reading), *_too_old(reading)]
    host_clock = _host_clock(reading)
    skew = [] if host_clock else _skew(reading, skew_warning)
    unreachable = _unreachable(reading, alone=not known and not skew and not host_clock)
    facts = [*unreachable, *_unknown_computes(reading, capacity.judged), *known]
    notes = skew + _notes(reading, unmatched_thresholds) + _unmatched_pools(capacity.unmatched)
    if not facts:
        room = budget - sum(len(n.head) + len(SEPARATOR) for n in host_clock + notes)
        facts = [Fact(_all_up(reading, room))]
    return host_clock + facts + notes


def _unreachable(reading: Reading, alone: bool) -> list[Fact]:
    """Cells that could not be read, then cells whose node casts doubt on its data (stale): uuids shortened
    unless one cell is all there is to say (-v has them whole). Failures that share one reason give it."""
    gone = [r for r in reading.unreachable if not r.stale]
    stale = [r for r in reading.unreachable if r.stale]
    facts = []
    if len(gone) == 1:
        report = gone[0]
        head = f"{cell_name(report.cell, short_uuid=not alone or bool(stale))} unreachable"
        short_head = f"{cell_name(report.cell, short_uuid=True)} unreachable"
        terse = f"{short_cell(report.cell)} unreachable"
        facts.append(Fact(head, [safe(report.error, 300)], 1, short_head=short_head, terse=terse, prose=True))
    elif gone:
        facts += _several(gone, f"{len(gone)} of {len(reading.cells)} cells unreachable", f"{len(gone)} cells unreachable")
    if len(stale) == 1:
        database = database_of(stale[0].cell)
        head = f"{database} {safe(stale[0].error, 120)}: heartbeats may be stale"
        facts.append(Fact(head, terse=f"{database} may be stale"))
    elif stale:
        head = f"{len(stale)} of {len(reading.cells)} cells' databases may be stale"
        facts += _several(stale, head, f"{len(stale)} cells' databases may be stale")
    return facts


def _unknown_computes(reading: Reading, judged: bool) -> list[Fact]:
    """The computes of the cells that could not be read, by zone, as host_mappings places them (Nova's API lists
    them so): "6 computes (az2 3, nova 3)"; when host_mappings cannot say, that, once, where capacity is judged (-v
    says it always)."""
    gone = [r for r in reading.unreachable if r.capacity]
    if not gone:
        return []
    if any(count.unbounded for r in gone for count in r.capacity.values()):
        return [Fact("their computes unknown (host_mappings unreadable)", terse="computes unknown")] if judged else []
    computes = sum(len(r.unknown_hosts) for r in gone)
    by_zone: dict[str, int] = defaultdict(int)
    for r in gone:
        for pool, count in r.capacity.items():
            if pool.kind == ZONE:
                by_zone[pool.name] += count.unknown
    zones = ", ".join(f"{safe(zone, 30)} {n}" for zone, n in sorted(by_zone.items()))
    return [Fact(f"{count_of(computes, 'compute')} ({zones})", terse=count_of(computes, "compute"))]


def pool_name(pool: Pool) -> str:
    """A zone by its name, an aggregate as "aggregate NAME"."""
    return safe(pool.name, 40) if pool.kind == ZONE else f"{AGGREGATE} {safe(pool.name, 40)}"


def shortfall_text(shortfall: Shortfall) -> str:
    """ "az2: 2 of 10 computes usable (needs 6)", the unknown ones said when there are any."""
    count = shortfall.count
    unknown = ", more unknown" if count.unbounded else f", {count.unknown} unknown" if count.unknown else ""
    return f"{pool_name(shortfall.pool)}: {count.usable} of {count.total} computes usable{unknown} ({_wants(shortfall)})"


def _wants(shortfall: Shortfall) -> str:
    return f"needs {shortfall.needs}" if shortfall.needs is not None else f"range {safe(shortfall.range_text, 30)}"


def _shortfall(shortfall: Shortfall) -> Fact:
    """A pool short of computes; in few words "az2 2/10 usable (needs 6)": what it needs is the news."""
    count = shortfall.count
    terse = f"{pool_name(shortfall.pool)} {count.usable}/{count.total} usable ({_wants(shortfall)})"
    return Fact(shortfall_text(shortfall), terse=terse)


def _unmatched_pools(pools: Sequence[Pool]) -> list[Fact]:
    """Zones and aggregates named in the capacity ranges that do not exist: a typo, like a -w/-c name."""
    facts = []
    for kind, option in ((ZONE, "--zone"), (AGGREGATE, "--aggregate")):
        names = [safe(p.name, 40) for p in pools if p.kind == kind]
        if names:
            head = f"{option}-warning/critical {', '.join(names)}: no such {kind}{'s' if len(names) > 1 else ''}"
            facts.append(Fact(head, terse=f"{count_of(len(names), option + ' name')} matching no {kind}"))
    return facts


def unmatched_pools(reading: Reading, named: Iterable[Pool]) -> tuple[Pool, ...]:
    """Pools named in the ranges that the API database does not have (none when zones are unknown: cannot say)."""
    if reading.known_pools is None:
        return ()
    return tuple(sorted(set(named) - reading.known_pools))


def _several(reports: Sequence[CellReading], head: str, terse: str) -> list[Fact]:
    """Several cells by name, and their reason when they share one (a shared cause is the news)."""
    names = [short_cell(r.cell) for r in reports]
    facts = [Fact(head, names, len(names), terse=terse)]
    reasons = {r.error for r in reports}
    if len(reasons) == 1:
        facts.append(Fact("each", [safe(reasons.pop(), 300)], 1, prose=True, optional=True))
    return facts


def _whole_cells(reading: Reading) -> list[CellReading]:
    """Cells that answered with every service down (readings.CellReading.all_down): one phrase, not a list of hosts."""
    return [r for r in reading.answered if r.all_down]


def _down(reading: Reading, whole: list[CellReading]) -> list[Fact]:
    """Down services outside the whole cells, by binary, the control plane first."""
    facts: list[Fact] = []
    covered = {r.cell.name for r in whole}
    ambiguous = _hosts_in_several_cells(reading.problems)
    by_binary: dict[str, list[Assessed]] = defaultdict(list)
    for s in reading.problems:
        if s.counts_down and s.cell_name not in covered:
            by_binary[s.row.binary].append(s)
    in_whole_cells: dict[str, int] = defaultdict(int)
    for r in whole:
        for binary, tally in r.tallies.items():
            in_whole_cells[binary] += tally.down
    leftovers: list[Fact] = []
    for binary in sorted(reading.tallies, key=lambda b: (binary_rank(b), b or "")):
        tally = reading.tallies[binary]
        outside = tally.down - in_whole_cells[binary]
        if outside <= 0:
            continue  # nothing down, or all of it said by a whole-cell phrase
        name = safe(binary, 40) if binary else "?"
        if binary in reading.removed:  # after the live binaries: a chore, not an outage
            items = [f"{host_of(s, s.row.host in ambiguous)} ({why(s)})" for s in by_binary.get(binary, [])]
            head = f"{name} removed in {reading.removed[binary]}: {count_of(outside, 'leftover row')}"
            leftovers.append(Fact(f"{head} (openstack compute service delete)", items, outside, short_head=head))
            continue
        control_plane = binary_rank(binary) < OTHER_BINARY_RANK
        if tally.down == tally.total and tally.total >= 2:
            facts.append(Fact(f"{name}: all {tally.total} down", count=outside, binary=True, control_plane=control_plane))
            continue
        items = [f"{host_of(s, s.row.host in ambiguous)} ({why(s)})" for s in by_binary.get(binary, [])]
        head = f"{name} {tally.down}/{tally.total} down"
        facts.append(Fact(head, items, outside, binary=True, control_plane=control_plane))
    return facts + leftovers


def _each_whole_cell(whole: list[CellReading]) -> list[Fact]:
    return [_whole_cell(r) for r in whole]


def _whole_cells_as_one(whole: list[CellReading]) -> Fact:
    """Many cells down at once, one count: how many cells, how many services, and their names as room allows."""
    services = sum(r.services for r in whole)
    return Fact(f"{len(whole)} cells all down ({services} services)", [short_cell(r.cell) for r in whole], len(whole))


def _whole_cell(r: CellReading) -> Fact:
    """Every service of a cell down at once: the newest heartbeat's age tells a stale database or a dead
    conductor/message bus (all stopped together) from many broken hosts."""
    head = f"{safe(r.cell.name, 40)}: all {r.services} services down"
    if r.newest_age is None:
        return Fact(head)
    when = f"{duration(r.newest_age)} {'in the future' if r.newest_age < 0 else 'ago'}"
    replica = " (read from a replica)" if r.node is not None and r.node.replica else ""
    return Fact(head, [f"newest heartbeat {when}{replica}"], detail=True)


def _hosts_in_several_cells(services: Iterable[Assessed]) -> set[str]:
    cells_of: dict[str, set[str]] = defaultdict(set)
    for s in services:
        cells_of[s.row.host].add(s.cell_name)
    return {host for host, cells in cells_of.items() if len(cells) > 1}


def _late(reading: Reading) -> list[Fact]:
    count = reading.sum("late")
    if not count:
        return []
    ambiguous = _hosts_in_several_cells(reading.problems)
    late = sorted((s for s in reading.problems if s.standing is Standing.LATE), key=lambda s: -abs(s.verdict.age or 0))
    items = [f"{who(s)} ({safe(s.cell_name, 30) + ', ' if s.row.host in ambiguous else ''}{age(s)})" for s in late]
    return [Fact(f"{count_of(count, 'heartbeat')} late", items, count)]


def _too_old(reading: Reading) -> list[Fact]:
    """Computes older than the control plane accepts: each named with its version, and the release of the
    first one of each version (Nova would refuse to start a conductor, scheduler or API beside them)."""
    if not reading.too_old or reading.floor is None:
        return []
    ambiguous = _hosts_in_several_cells(reading.too_old_named)
    items, named_versions, advised = [], set(), False
    for s in reading.too_old_named:
        version = s.row.version or 0
        release = release_of(version) if version not in named_versions else None
        named_versions.add(version)
        item = f"{host_of(s, s.row.host in ambiguous)} ({version}{', ' + release if release else ''})"
        if s.excluded:  # --exclude hides it from the counts, not from Nova: the first one says what to do
            item += ", excluded" if advised else ", excluded: delete the row or force it down"
            advised = True
        items.append(item)
    head = f"{reading.too_old} {COMPUTE} older than {reading.floor.text}"
    return [Fact(head, items, reading.too_old, terse=f"{reading.too_old} {COMPUTE} too old")]


def _host_clock(reading: Reading) -> list[Fact]:
    """This host's clock is the wrong one (rule/clocks.py): first, since every other fact was judged around it."""
    if reading.host_clock is None:
        return []
    off = reading.host_clock
    return [Fact(f"this host's clock is {duration(round(off))} {ahead_or_behind(off)} every database: judged by theirs")]


def _skew(reading: Reading, limit: float | None) -> list[Fact]:
    if reading.skew is None or limit is None or abs(reading.skew[1]) <= limit:
        return []
    cell, seconds = reading.skew
    return [Fact(f"clock skew: {database_of(cell)} {duration(round(seconds))} {ahead_or_behind(seconds)} this host")]


def _notes(reading: Reading, unmatched_thresholds: Iterable[str]) -> list[Fact]:
    """Facts that change no state but must not go unseen."""
    notes = []
    unmatched = sorted(unmatched_thresholds)
    if unmatched:
        names = ", ".join(safe(name, 40) for name in unmatched)
        head = f"-w/-c {names}: {'no such service' if len(unmatched) == 1 else 'no such services'}"
        notes.append(Fact(head, terse=f"{count_of(len(unmatched), '-w/-c name')} matching no service"))
    if reading.furthest_ahead is not None:  # set exactly when some heartbeat is that far ahead
        s, ahead = reading.furthest_ahead, reading.sum("ahead")
        item = f"{who(s)} (+{duration(-(s.verdict.age or 0.0))})"
        notes.append(
            Fact(
                f"{count_of(ahead, 'heartbeat')} from the future", [item], ahead, terse=f"{count_of(ahead, 'heartbeat')} ahead"
            )
        )
    mixed = mixed_versions(reading)
    if mixed is not None and reading.floor is None:  # e.g. --binary nova-compute: no control plane to judge by
        unknown = f"floor unknown ({_why_no_floor(reading)}; --compute-version-floor)"
        notes.append(Fact(f"versions {mixed[0]} to {mixed[1]}, {unknown}", terse=f"versions {mixed[0]} to {mixed[1]}"))
    elif mixed is not None and not reading.too_old:
        notes.append(
            Fact(f"versions {mixed[0]} to {mixed[1]}: an upgrade in progress", terse=f"versions {mixed[0]} to {mixed[1]}")
        )
    disabled = reading.sum("disabled")
    if disabled:
        notes.append(Fact(f"{disabled} disabled"))
    if reading.excluded_count:
        notes.append(Fact(f"{reading.excluded_count} excluded"))
    if reading.zones_problem is not None:
        notes.append(Fact("zones unknown"))
    return notes


def _why_no_floor(reading: Reading) -> str:
    """No conductor or scheduler with a version was read, or the newest one is older than any release known."""
    newest = reading.newest_control_plane
    if newest is not None:
        return f"control plane at {newest}, before {RELEASES[0].name}"
    return "no conductor or scheduler read"


def mixed_versions(reading: Reading) -> tuple[int, int] | None:
    """The lowest and highest service version read, when they differ (Nova's minimum, so 0 rows count only
    where Nova counts them). A removed binary's leftover rows keep the version they last wrote: not counted."""
    tallies = [t for binary, t in reading.tallies.items() if binary not in reading.removed]
    lows = [t.min_version for t in tallies if t.min_version]
    highs = [t.max_version for t in tallies if t.max_version]
    if not lows or not highs or min(lows) == max(highs):
        return None
    return min(lows), max(highs)


def unmatched_threshold_names(reading: Reading, named: Iterable[str]) -> list[str]:
    """Binaries named in -w/-c that no service has: a typo. In a view narrowed by --host/--binary/--zone/--cell a
    binary may be absent by choice, so there only names that are no Nova binary at all (policy.KNOWN_BINARIES)."""
    unmatched = set(named) - reading.tallies.keys()
    if reading.narrowed:
        unmatched -= KNOWN_BINARIES
    return sorted(unmatched)


def _all_up(reading: Reading, room: int) -> str:
    up = reading.sum("up")
    text = f"{up} of {reading.total} services up: " + ", ".join(
        f"{safe(t.binary, 40)} {t.up}/{t.total}" for t in sorted(reading.tallies.values(), key=binary_order)
    )
    if len(text) > room:
        text = f"{up} of {reading.total} services up in {len(reading.tallies)} binaries"
    return text

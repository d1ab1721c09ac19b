"""The words of the pager line and of the long output, from the run's Reading. Pure: no I/O, no nagiosplugin.

The first line is a fixed order of facts, each with its own words and its count, so that none is
lost in a big outage: (1) what cannot be known (unreachable cells), (2) down services, whole cells
first, then by binary with the control plane first, (3) late heartbeats, (4) notes (disabled,
excluded, zones unknown, -w/-c names that match no service). Within its budget every fact keeps
at least its count; names are shortened ("…", "+N more") before a fact is dropped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial

from .cells import Cell, CellReading
from .policy import KNOWN_BINARIES, PROBLEM_RANK, REMOVED_BINARIES, Assessed, Standing, binary_rank
from .survey import Reading
from .text import duration, safe

#: Characters of the first line after "NOVA_SERVICES CRITICAL - " and before " | ": about 200 in all.
SUMMARY_BUDGET = 175
#: -v lines at most: with the first line and perfdata, the answer stays under Nagios's 8 KiB.
VERBOSE_LIMIT = 30
#: ... and at most this many bytes of them, whatever the length of host names and reasons.
VERBOSE_BYTES = 5500
#: A cell whose services are all down is named as one phrase when it has at least this many.
WHOLE_CELL_MINIMUM = 2
SEPARATOR = "; "


@dataclass
class Fact:
    """One thing the on-call person must read: ``head`` carries the count and always shows; ``items``
    are names, most important first, as many as fit; ``count`` is how many the items stand for."""

    head: str
    items: list[str] = field(default_factory=list)
    count: int = 0
    #: The same head shorter (a cell's uuid cut), used when the full heads leave no room.
    short_head: str | None = None
    #: Down services of one binary: when the heads alone overflow, the last such facts merge into one.
    binary: bool = False
    #: Its one item is a sentence (an unreachable cell's reason): after every fact's first name, whole or cut at a word.
    prose: bool = False
    #: Left out, head and all, when none of its items fits (a reason several cells share: their names say enough).
    optional: bool = False
    #: Its one item is a detail of the head (", newest heartbeat 5m12s ago"): after the reasons, whole or not at all.
    detail: bool = False

    @property
    def joiner(self) -> str:
        return ", " if self.detail else ": "

    def head_for(self, short: bool) -> str:
        return self.short_head if short and self.short_head is not None else self.head


def first_line(
    reading: Reading,
    unmatched_thresholds: Iterable[str] = (),
    budget: int = SUMMARY_BUDGET,
    skew_warning: float | None = None,
) -> str:
    """The status text after "NOVA_SERVICES STATE - ", at most ``budget`` characters."""
    known = [*_down(reading), *_late(reading)]
    skew = _skew(reading, skew_warning)
    facts = [*_unreachable(reading, alone=not known and not skew), *known]
    notes = skew + _notes(reading, unmatched_thresholds)
    if not facts:
        facts = [Fact(_all_up(reading, budget - sum(len(n.head) + len(SEPARATOR) for n in notes)))]
    return fit(facts + notes, budget)


def fit(facts: list[Fact], budget: int) -> str:
    """Every fact's head; then, in fact order, each fact's first name; then more names in fact order
    while room remains. Earlier facts are the root cause, but no later fact loses all its names to them.
    When the heads alone overflow, the last binaries' down counts merge into one ("+N down in K binaries")."""
    groups = [index for index, fact in enumerate(facts) if fact.binary]
    for keep in range(len(groups), -1, -1):
        merged = _merge_binaries(facts, groups[keep:], after_others=keep > 0) if keep < len(groups) else facts
        if len(SEPARATOR.join(fact.head_for(True) for fact in merged if not fact.optional)) <= budget or keep == 0:
            return _fit_names(merged, budget)
    raise AssertionError("unreachable")


def _merge_binaries(facts: list[Fact], merge: list[int], after_others: bool) -> list[Fact]:
    """The binaries at ``merge`` as one fact that keeps their count of down services."""
    down = sum(facts[i].count for i in merge)
    binaries = f"{len(merge)} {'more ' if after_others else ''}binar{'ies' if len(merge) > 1 else 'y'}"
    result = [fact for i, fact in enumerate(facts) if i not in merge]
    result.insert(merge[0], Fact(f"{down} down in {binaries}", count=down))
    return result


def _fit_names(facts: list[Fact], budget: int) -> str:
    lists = [fact.items for fact in facts]
    for short in (False, True):
        heads = [fact.head_for(short) for fact in facts]
        shown = [0] * len(facts)
        cut: list[str | None] = [None] * len(facts)
        optional = [fact.optional for fact in facts]
        joiners = [fact.joiner for fact in facts]
        line = partial(_line, heads, lists, [fact.count for fact in facts], shown, cut, optional, joiners)
        if len(line()) > budget:
            continue
        for index in range(len(facts)):  # a first name each
            if lists[index] and not facts[index].prose and not facts[index].detail:
                shown[index] = 1
                if len(line()) > budget:
                    shown[index] = 0
        for index in range(len(facts)):  # a reason: whole if it fits, else cut at a word
            if lists[index] and facts[index].prose:
                absent = len(SEPARATOR + heads[index]) if optional[index] else 0  # an optional head is not in line() yet
                cut[index] = _cut_at_word(lists[index][0], budget - len(line()) - absent - len(": ")) or None
        for index in range(len(facts)):  # details: whole if they fit
            if lists[index] and facts[index].detail:
                shown[index] = 1
                if len(line()) > budget:
                    shown[index] = 0
        for index in range(len(facts)):  # then as many names as fit, in order
            while not facts[index].prose and not facts[index].detail and shown[index] < len(lists[index]):
                shown[index] += 1
                if len(line()) > budget:
                    shown[index] -= 1
                    break
        for index in range(len(facts)):  # a lone name too long for the room left: cut at a word
            if lists[index] and not shown[index] and cut[index] is None and facts[index].count == 1:
                absent = len(SEPARATOR + heads[index]) if optional[index] else 0
                cut[index] = _cut_at_word(lists[index][0], budget - len(line()) - absent - len(": ")) or None
                if len(line()) > budget:  # never past the budget, whatever the arithmetic above
                    cut[index] = None
        return line()
    return safe(SEPARATOR.join(fact.head_for(True) for fact in facts if not fact.optional), budget)  # heads alone overflow: cut


def _line(
    heads: list[str],
    lists: list[list[str]],
    counts: list[int],
    shown: list[int],
    cut: list[str | None],
    optional: list[bool],
    joiners: list[str],
) -> str:
    """The facts with the first ``shown[i]`` names of each (or the ``cut`` form of the first), "+N more" for the rest;
    an optional fact only with a name."""
    pieces = []
    for head, names, count, first, short, maybe, joiner in zip(heads, lists, counts, shown, cut, optional, joiners):
        names = [short] if short is not None else names[:first]
        if maybe and not names:
            continue
        hidden = count - len(names)
        listing = ", ".join(names) + (f" +{hidden} more" if hidden > 0 else "")
        pieces.append(f"{head}{joiner}{listing}" if names else head)
    return SEPARATOR.join(pieces)


def _cut_at_word(text: str, room: int) -> str:
    """``text`` in at most ``room`` characters, ending with "…" after the last whole word that fits."""
    if len(text) <= room:
        return text
    if room < 12:
        return ""
    head = text[: room - 1]
    if text[room - 1] != " ":  # the last word is not whole: back to the space before it
        space = head.rfind(" ")
        head = head[:space] if space > room // 2 else head
    return head.rstrip(" ,:;(") + "…"


# (1) what cannot be known


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
        facts.append(Fact(head, [safe(report.error, 300)], 1, short_head=short_head, prose=True))
    elif gone:
        facts += _several(gone, f"{len(gone)} of {len(reading.cells)} cells unreachable")
    if len(stale) == 1:
        facts.append(Fact(f"{_database_of(stale[0].cell)} {safe(stale[0].error, 120)}: heartbeats may be stale"))
    elif stale:
        facts += _several(stale, f"{len(stale)} of {len(reading.cells)} cells' databases may be stale")
    return facts


def _several(reports: list, head: str) -> list[Fact]:
    """Several cells by name, and their reason when they share one (a shared cause is the news)."""
    names = [_short_cell(r.cell) for r in reports]
    facts = [Fact(head, names, len(names))]
    reasons = {r.error for r in reports}
    if len(reasons) == 1:
        facts.append(Fact("each", [safe(reasons.pop(), 300)], 1, prose=True, optional=True))
    return facts


def _short_cell(cell: Cell) -> str:
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


# (2) down services


def _down(reading: Reading) -> list[Fact]:
    whole = [
        r
        for r in reading.answered
        if r.services >= WHOLE_CELL_MINIMUM and sum(t.down for t in r.tallies.values()) == r.services
    ]
    facts = [_whole_cell(r) for r in whole]
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
        if binary in REMOVED_BINARIES:  # after the live binaries: a chore, not an outage
            items = [f"{_host(s, ambiguous)} ({why(s)})" for s in by_binary.get(binary, [])]
            head = f"{name} removed in {REMOVED_BINARIES[binary]}: {_count(outside, 'leftover row')}"
            leftovers.append(Fact(f"{head} (openstack compute service delete)", items, outside, short_head=head))
            continue
        if tally.down == tally.total and tally.total >= 2 and not whole:
            facts.append(Fact(f"{name}: all {tally.total} down", count=tally.down, binary=True))
            continue
        items = [f"{_host(s, ambiguous)} ({why(s)})" for s in by_binary.get(binary, [])]
        facts.append(Fact(f"{name} {tally.down}/{tally.total} down", items, outside, binary=True))
    return facts + leftovers


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


def _host(s: Assessed, ambiguous: set[str]) -> str:
    """The host, with its cell when the same name lives in more than one cell; the row id when it has none."""
    row = s.row
    if row.defect is not None:
        return f"{safe(row.host, 60) if row.host else '?'} (services row id={row.id})"
    host = safe(row.host, 60)
    return f"{host}@{safe(s.cell_name, 30)}" if row.host in ambiguous else host


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


# (3) late heartbeats


def _late(reading: Reading) -> list[Fact]:
    count = reading.sum("late")
    if not count:
        return []
    ambiguous = _hosts_in_several_cells(reading.problems)
    late = sorted((s for s in reading.problems if s.standing is Standing.LATE), key=lambda s: -abs(s.verdict.age or 0))
    items = [f"{who(s)} ({safe(s.cell_name, 30) + ', ' if s.row.host in ambiguous else ''}{age(s)})" for s in late]
    return [Fact(f"{_count(count, 'heartbeat')} late", items, count)]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


def age(s: Assessed) -> str:
    value = s.verdict.age or 0.0
    return f"{duration(value)} in the future" if value < 0 else duration(value)


def _skew(reading: Reading, limit: float | None) -> list[Fact]:
    if reading.skew is None or limit is None or abs(reading.skew[1]) <= limit:
        return []
    cell, seconds = reading.skew
    return [Fact(f"clock skew: {_database_of(cell)} {duration(round(seconds))} {_ahead_or_behind(seconds)} this host")]


def _database_of(cell: Cell) -> str:
    return f"{safe(cell.name, 40)}'s database" if cell.uuid else f"database {safe(cell.name, 40)}"


def _ahead_or_behind(seconds: float) -> str:
    return "ahead of" if seconds > 0 else "behind"


# (4) notes


def _notes(reading: Reading, unmatched_thresholds: Iterable[str]) -> list[Fact]:
    """Facts that change no state but must not go unseen."""
    notes = []
    unmatched = sorted(unmatched_thresholds)
    if unmatched:
        names = ", ".join(safe(name, 40) for name in unmatched)
        notes.append(Fact(f"-w/-c {names}: {'no such service' if len(unmatched) == 1 else 'no such services'}"))
    if reading.furthest_ahead is not None:  # set exactly when some heartbeat is that far ahead
        s, ahead = reading.furthest_ahead, reading.sum("ahead")
        item = f"{who(s)} (+{duration(-(s.verdict.age or 0.0))})"
        notes.append(Fact(f"{_count(ahead, 'heartbeat')} from the future", [item], ahead))
    disabled = reading.sum("disabled")
    if disabled:
        notes.append(Fact(f"{disabled} disabled"))
    if reading.excluded:
        notes.append(Fact(f"{len(reading.excluded)} excluded"))
    if reading.zones_problem is not None:
        notes.append(Fact("zones unknown"))
    return notes


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
        f"{safe(t.binary, 40)} {t.up}/{t.total}" for t in sorted(reading.tallies.values(), key=_binary_order)
    )
    if len(text) > room:
        text = f"{up} of {reading.total} services up in {len(reading.tallies)} binaries"
    return text


def _binary_order(tally) -> tuple[int, str]:
    return (binary_rank(tally.binary), tally.binary or "")


# The long output (-v): the same order, one line per fact or service.


def long_output(
    reading: Reading,
    unmatched_thresholds: Iterable[str] = (),
    every_service: bool = False,
    skew_warning: float | None = None,
) -> list[str]:
    lines = [
        f"stale: {cell_name(r.cell)}: its database {safe(r.error, 300)}; its heartbeats may be stale, not judged"
        if r.stale
        else f"unreachable: {cell_name(r.cell)}: {safe(r.error, 300)}"
        for r in reading.unreachable[:VERBOSE_LIMIT]
    ]
    notes = [f"note: -w/-c name {safe(binary, 255)}, which no service read has" for binary in unmatched_thresholds]
    if reading.skew is not None and skew_warning is not None and abs(reading.skew[1]) > skew_warning:
        cell, seconds = reading.skew
        lines.append(
            f"clock skew: the database server of {cell_name(cell)} is {abs(seconds):.3f}s {_ahead_or_behind(seconds)} "
            f"this host (warning above {skew_warning:g}s)"
        )
    if reading.furthest_ahead is not None:
        s = reading.furthest_ahead
        notes.append(
            f"note: {_count(reading.sum('ahead'), 'heartbeat')} more than report_interval in the future, the furthest "
            f"{who(s, short=False)} cell={safe(s.cell_name)} by {duration(-(s.verdict.age or 0.0))}: "
            "the clock of the host that writes it (its conductor) runs ahead"
        )
    notes += _leftover_notes(reading)
    if reading.zones_problem is not None:
        notes.append(
            f"note: availability zones unknown ({safe(reading.zones_problem, 300)}); they need SELECT on "
            "the API database's aggregate_hosts and aggregate_metadata"
        )
    if every_service:  # the list view: every service, the excluded ones marked
        everything = sorted(reading.listed + reading.excluded, key=lambda s: (s.row.binary, s.row.host, s.cell_name))
        excluded = {id(s) for s in reading.excluded}
        return lines + [describe(s, excluded=id(s) in excluded) for s in everything] + notes
    problems = sorted(
        reading.problems,
        key=lambda s: (PROBLEM_RANK[s.standing], binary_rank(s.row.binary), s.row.binary, s.row.host, s.cell_name),
    )
    budget = VERBOSE_BYTES - sum(len(x.encode()) + 1 for x in lines + notes)
    shown = 0
    for s in problems[:VERBOSE_LIMIT]:
        line = describe(s)
        if len(line.encode()) + 1 > budget:
            break
        lines.append(line)
        budget -= len(line.encode()) + 1
        shown += 1
    total_problems = reading.sum("problems")
    if total_problems > shown:
        lines.append(f"... and {total_problems - shown} more problem services (-vv lists every service)")
    if reading.excluded:
        lines.append(f"excluded by --exclude: {len(reading.excluded)} services (-vv lists them)")
    return lines + notes


def _leftover_notes(reading: Reading) -> list[str]:
    """What to do with the rows of a binary Nova removed: the command, with the ids the API takes (uuid since 2.53)."""
    notes = []
    for binary, release in REMOVED_BINARIES.items():
        tally = reading.tallies.get(binary)
        if tally is None or not tally.down:
            continue
        rows = [s.row for s in reading.problems if s.row.binary == binary and s.counts_down]
        ids = " ".join(safe(row.uuid, 40) if row.uuid else str(row.id) for row in rows[:10])
        more = f" (+{tally.down - len(rows[:10])} more)" if tally.down > len(rows[:10]) else ""
        notes.append(
            f"note: {binary} was removed from Nova in {release}: its {_count(tally.down, 'down row')} "
            f"{'is a leftover' if tally.down == 1 else 'are leftovers'}; delete with openstack compute service delete "
            f"{ids}{more}"
        )
    return notes


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

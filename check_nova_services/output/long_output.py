"""The long output (-v, -vv): the first line's order, one line per fact or service, within Nagios's 8 KiB."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import chain

from check_nova_services.output.pager import NO_CAPACITY, Capacity, shortfall_text
from check_nova_services.output.words import ahead_or_behind, cell_name, count_of, describe, who
from check_nova_services.readings import Reading, listed
from check_nova_services.rule.policy import PROBLEM_RANK, binary_rank
from check_nova_services.rule.versions import release_of
from check_nova_services.shared.text import duration, safe

#: -v lines at most: with the first line and perfdata, the answer stays under Nagios's 8 KiB.
VERBOSE_LIMIT = 30


#: ... and at most this many bytes of them, whatever the length of host names and reasons.
VERBOSE_BYTES = 5500


def long_output(
    reading: Reading,
    unmatched_thresholds: Iterable[str] = (),
    skew_warning: float | None = None,
    capacity: Capacity = NO_CAPACITY,
) -> list[str]:
    """-v: the facts, then the problem services worth naming, most important first, within Nagios's 8 KiB."""
    lines, notes = _facts_and_notes(reading, unmatched_thresholds, skew_warning, capacity)
    problems = sorted(
        reading.problems,
        key=lambda s: (PROBLEM_RANK[s.standing], binary_rank(s.row.binary), s.row.binary, s.row.host, s.cell_name),
    )
    budget = VERBOSE_BYTES - sum(len(x.encode()) + 1 for x in lines + notes)
    shown = 0
    for s in problems[:VERBOSE_LIMIT]:
        line = describe(listed(s))
        if len(line.encode()) + 1 > budget:
            break
        lines.append(line)
        budget -= len(line.encode()) + 1
        shown += 1
    total_problems = reading.sum("problems")
    if total_problems > shown:
        lines.append(f"... and {total_problems - shown} more problem services (-vv lists every service)")
    if reading.excluded_count:
        lines.append(f"excluded by --exclude: {reading.excluded_count} services (-vv lists them)")
    return lines + notes


def every_service_output(
    reading: Reading,
    unmatched_thresholds: Iterable[str] = (),
    skew_warning: float | None = None,
    capacity: Capacity = NO_CAPACITY,
) -> Iterator[str]:
    """-vv: the facts, every service (the excluded ones marked) and the notes, a line at a time as they are
    written (plugin/streamed.py): 100,000 services are never held as lines."""
    lines, notes = _facts_and_notes(reading, unmatched_thresholds, skew_warning, capacity)
    return chain(lines, map(describe, reading.every_service()), notes)


#: Hosts named per zone of a cell that could not be read.
UNKNOWN_HOSTS_NAMED = 20


def _unknown_computes(reading: Reading) -> list[str]:
    """-v names the computes of each cell that could not be read, by zone (the first few of each)."""
    lines = []
    for r in reading.unreachable[:VERBOSE_LIMIT]:
        if not r.unknown_hosts or reading.pools is None:
            continue
        by_zone: dict[str, list[str]] = {}
        for host in sorted(r.unknown_hosts):
            by_zone.setdefault(reading.pools.zone_of(host), []).append(host)
        parts = []
        for zone, hosts in sorted(by_zone.items()):
            more = f" +{len(hosts) - UNKNOWN_HOSTS_NAMED} more" if len(hosts) > UNKNOWN_HOSTS_NAMED else ""
            parts.append(
                f"{safe(zone, 40)} ({len(hosts)}): {', '.join(safe(h, 60) for h in hosts[:UNKNOWN_HOSTS_NAMED])}{more}"
            )
        lines.append(f"unknown computes of {cell_name(r.cell)}: {'; '.join(parts)}")
    return lines


def _facts_and_notes(
    reading: Reading, unmatched_thresholds: Iterable[str], skew_warning: float | None, capacity: Capacity
) -> tuple[list[str], list[str]]:
    lines = [
        f"stale: {cell_name(r.cell)}: its database {safe(r.error, 300)}; its heartbeats may be stale, not judged"
        if r.stale
        else f"unreachable: {cell_name(r.cell)}: {safe(r.error, 300)}"
        for r in reading.unreachable[:VERBOSE_LIMIT]
    ]
    lines += _unknown_computes(reading)
    lines += [f"capacity: {shortfall_text(s)}" for s in capacity.shortfalls]
    notes = [f"note: -w/-c name {safe(binary, 255)}, which no service read has" for binary in unmatched_thresholds]
    notes += [
        f"note: capacity range for {pool.kind} {safe(pool.name, 255)}, which does not exist" for pool in capacity.unmatched
    ]
    if reading.pools_problem is not None and any(c.unbounded for c in reading.capacity.values()):
        grants = "optional grants: host_mappings, aggregates"
        notes.append(f"note: capacity partly unknown ({grants}): {safe(reading.pools_problem, 300)}")
    if reading.host_clock is not None:
        lines.append(
            f"clock: this host's clock is {abs(reading.host_clock):.3f}s {ahead_or_behind(reading.host_clock)} every "
            "database server's, and the newest heartbeats agree with theirs: each cell judged by its server's clock "
            "(as --clock db); set this host's time right (NTP)"
        )
    elif reading.skew is not None and skew_warning is not None and abs(reading.skew[1]) > skew_warning:
        cell, seconds = reading.skew
        lines.append(
            f"clock skew: the database server of {cell_name(cell)} is {abs(seconds):.3f}s {ahead_or_behind(seconds)} "
            f"this host (warning above {skew_warning:g}s)"
        )
    if reading.furthest_ahead is not None:
        s = reading.furthest_ahead
        notes.append(
            f"note: {count_of(reading.sum('ahead'), 'heartbeat')} more than report_interval in the future, the furthest "
            f"{who(s, short=False)} cell={safe(s.cell_name)} by {duration(-(s.verdict.age or 0.0))}: "
            "the clock of the host that writes it (its conductor) runs ahead"
        )
    notes = _too_old_lines(reading) + notes + _leftover_notes(reading)
    if reading.zones_problem is not None:
        notes.append(
            f"note: availability zones unknown ({safe(reading.zones_problem, 300)}); they need SELECT on "
            "the API database's aggregate_hosts and aggregate_metadata"
        )
    return lines, notes


def _leftover_notes(reading: Reading) -> list[str]:
    """What to do with the rows of a binary Nova removed: the command, with the ids the API takes (uuid since 2.53)."""
    notes = []
    for binary, release in reading.removed.items():
        tally = reading.tallies.get(binary)
        if tally is None or not tally.down:
            continue
        rows = [s.row for s in reading.problems if s.row.binary == binary and s.counts_down]
        ids = " ".join(safe(row.uuid, 40) if row.uuid else str(row.id) for row in rows[:10])
        more = f" (+{tally.down - len(rows[:10])} more)" if tally.down > len(rows[:10]) else ""
        notes.append(
            f"note: {binary} was removed from Nova in {release}: its {count_of(tally.down, 'down row')} "
            f"{'is a leftover' if tally.down == 1 else 'are leftovers'}; delete with openstack compute service delete "
            f"{ids}{more}"
        )
    return notes


def _too_old_lines(reading: Reading) -> list[str]:
    """Each compute too old for the control plane, with why the floor is what it is and what to do."""
    floor = reading.floor
    if floor is None or not reading.too_old:
        return []
    lines = [
        f"too old: {count_of(reading.too_old, 'nova-compute service')} below {floor.text}, as {floor.why}: a "
        "conductor, scheduler or API of that release refuses to start beside them; upgrade them, or delete the rows "
        "of hosts that are gone (openstack compute service delete)"
    ]
    for s in reading.too_old_named[:10]:
        version = s.row.version or 0
        release = release_of(version)
        lines.append(
            f"too old: {who(s, short=False)} cell={safe(s.cell_name)} version={version}{f' ({release})' if release else ''}"
            + (" excluded by --exclude, still counted by Nova: delete the row or force it down" if s.excluded else "")
        )
    if reading.too_old > min(len(reading.too_old_named), 10):
        lines.append(f"... and {reading.too_old - min(len(reading.too_old_named), 10)} more too old")
    return lines

"""nagiosplugin's third step: the pager line and the long output, from the run's Reading."""

from __future__ import annotations

import nagiosplugin
from nagiosplugin import Critical, Ok, Unknown, Warn

from .cells import Cell
from .policy import PROBLEM_RANK, Assessed, Standing
from .resource import NovaServices
from .survey import Reading
from .text import duration, safe, shorten_list

SUMMARY_BUDGET = 175  # characters of summary: with the "NOVA_SERVICES CRITICAL - " prefix, about 200
#: -v lines at most: with the first line and perfdata, the answer stays under Nagios's 8 KiB.
VERBOSE_LIMIT = 30
#: ... and at most this many bytes of them, whatever the length of host names and reasons.
VERBOSE_BYTES = 5500
SEVERITY = {Ok: 0, Warn: 1, Unknown: 2, Critical: 3}  # a CRITICAL must never hide behind an UNKNOWN


class SeverityResults(nagiosplugin.Results):
    """Worst-state ordering for paging: OK < WARNING < UNKNOWN < CRITICAL."""

    @property
    def most_significant_state(self):
        return max(self.by_state, key=SEVERITY.__getitem__)


class ServicesSummary(nagiosplugin.Summary):
    """The pager line: what is broken, where, and for how long."""

    def __init__(self, verbosity: int = 0, threshold_binaries: frozenset[str] = frozenset()):
        self.verbosity = verbosity
        #: Binaries the operator named in -w/-c: one with no service is likely a typo.
        self.threshold_binaries = threshold_binaries

    def ok(self, results):
        return self.status_text(results)

    def problem(self, results):
        return self.status_text(results)

    def status_text(self, results) -> str:
        resource = _resource(results)
        if resource is None or resource.reading is None:  # probe failed before any metric: the CheckError says why
            return safe("; ".join(str(r) for r in results if r.state != Ok) or "no result", SUMMARY_BUDGET)
        reading = resource.reading
        parts = self._parts(resource, reading, results)
        parts.sort(key=lambda part: -SEVERITY[part[0]])
        pieces = [self._all_up(reading)] if not parts else []
        for index, (_state, head, items, count) in enumerate(parts):
            # room for this part, keeping "; +N more problems" for the parts after it
            reserve = len(f"; +{len(parts) - index - 1} more problems") if index < len(parts) - 1 else 0
            budget = SUMMARY_BUDGET - len("; ".join(pieces)) - (2 if pieces else 0) - reserve
            if pieces and budget < min(len(head), 42):  # not even a shortened head fits
                pieces.append(f"+{len(parts) - index} more problems")
                break
            if len(head) > budget:
                head = head[: budget - 1] + "…"
            listing = _listing(items, budget - len(head) - 2, count)
            pieces.append(f"{head}: {listing}" if listing else head)
        for note in self._notes(resource, reading):
            if len("; ".join([*pieces, note])) <= SUMMARY_BUDGET:
                pieces.append(note)
        return "; ".join(pieces)

    def _parts(self, resource: NovaServices, reading: Reading, results):
        """(state, head, items, how many in all) for each kind of problem."""
        parts = []
        down_count = reading.sum("down")
        if down_count:
            down = sorted(
                (s for s in reading.problems if s.counts_down),
                key=lambda s: (-SEVERITY[_state_of(results, resource, s)], s.row.binary, s.row.host),
            )
            worst = max(
                (results[f"{resource.labels[b]}_down"].state for b, t in reading.tallies.items() if t.down),
                key=SEVERITY.__getitem__,
            )
            head = f"{down_count} of {reading.total} services down"
            parts.append((worst, head, [f"{_who(s)} ({_why(s)})" for s in down], down_count))
        late_count = reading.sum("late")
        if late_count:
            late = sorted((s for s in reading.problems if s.standing is Standing.LATE), key=lambda s: -abs(s.verdict.age or 0))
            parts.append((Warn, "heartbeat late", [f"{_who(s)} ({_age(s)})" for s in late], late_count))
        if reading.unreachable:
            state = results["cells_unreachable"].state
            if len(reading.unreachable) == 1:
                report = reading.unreachable[0]
                head = f"{_cell(report.cell)} unreachable"
                parts.append((state, f"{head}: {safe(report.error, max(40, SUMMARY_BUDGET - len(head) - 2))}", [], 0))
            else:
                head = f"{len(reading.unreachable)} of {len(reading.cells)} cells unreachable"
                names = [_cell(r.cell, named=False) for r in reading.unreachable]
                parts.append((state, head, names, len(names)))
        return parts

    def _notes(self, resource: NovaServices, reading: Reading) -> list[str]:
        """Facts that change no state but must not go unseen."""
        notes = []
        disabled = reading.sum("disabled")
        if disabled:
            notes.append(f"{disabled} disabled")
        if reading.excluded:
            notes.append(f"{len(reading.excluded)} excluded")
        if reading.zones_problem is not None:
            notes.append("zones unknown")
        if not reading.narrowed and not reading.unreachable:
            for binary in sorted(self.threshold_binaries - reading.tallies.keys()):
                notes.append(f"no {safe(binary, 40)} services (named in -w/-c)")
        return notes

    def _all_up(self, reading: Reading) -> str:
        up = reading.sum("up")
        text = f"{up} of {reading.total} services up: " + ", ".join(
            f"{safe(t.binary, 40)} {t.up}/{t.total}" for t in reading.tallies.values()
        )
        if len(text) > SUMMARY_BUDGET - 40:
            text = f"{up} of {reading.total} services up in {len(reading.tallies)} binaries"
        return text

    def verbose(self, results):
        resource = _resource(results)
        if resource is None or resource.reading is None:
            return []
        reading = resource.reading
        lines = [f"unreachable: {_cell(r.cell)}: {safe(r.error, 300)}" for r in reading.unreachable[:VERBOSE_LIMIT]]
        for binary in sorted(self.threshold_binaries - reading.tallies.keys()):
            lines.append(f"note: -w/-c name {safe(binary, 255)}, which has no services here")
        if reading.zones_problem is not None:
            lines.append(
                f"note: availability zones unknown ({safe(reading.zones_problem, 300)}); they need SELECT on "
                "the API database's aggregate_hosts and aggregate_metadata"
            )
        if self.verbosity >= 2:  # the list view: every service, the excluded ones marked
            everything = sorted(reading.listed + reading.excluded, key=lambda s: (s.row.binary, s.row.host, s.cell_name))
            excluded = {id(s) for s in reading.excluded}
            return lines + [describe(s, excluded=id(s) in excluded) for s in everything]
        problems = sorted(reading.problems, key=lambda s: (PROBLEM_RANK[s.standing], s.row.binary, s.row.host, s.cell_name))
        shown = 0
        for s in problems[:VERBOSE_LIMIT]:
            line = describe(s)
            if sum(len(x.encode()) + 1 for x in lines) + len(line.encode()) > VERBOSE_BYTES:
                break
            lines.append(line)
            shown += 1
        total_problems = reading.sum("problems")
        if total_problems > shown:
            lines.append(f"... and {total_problems - shown} more problem services (-vv lists every service)")
        if reading.excluded:
            lines.append(f"excluded by --exclude: {len(reading.excluded)} services (-vv lists them)")
        return lines


def describe(s: Assessed, excluded: bool = False) -> str:
    """One service as a long-output line: everything the on-call person needs to act."""
    row, verdict = s.row, s.verdict
    fields = [
        f"{'excluded, ' if excluded else ''}{s.standing.value}: {_who(s, short=False)}",
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


def _who(s: Assessed, short: bool = True) -> str:
    """binary@host; the pager line shortens long names, the long output keeps all of Nova's 255."""
    binary_limit, host_limit = (40, 60) if short else (255, 255)
    row = s.row
    if row.defect is not None:  # no name to act on: the row id finds it
        binary = safe(row.binary, binary_limit) if row.binary else "?"
        host = safe(row.host, host_limit) if row.host else "?"
        return f"{binary}@{host} (services row id={row.id})"
    return f"{safe(row.binary, binary_limit)}@{safe(row.host, host_limit)}"


def _why(s: Assessed) -> str:
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


def _listing(items: list[str], room: int, count: int) -> str:
    """As many items as fit in ``room``, then "+N more" of ``count`` in all; a first item too long is shortened."""
    if not items or room < 20:
        return ""
    more = f" +{count - 1} more" if count > 1 else ""
    if len(items[0]) + len(more) <= room:
        return shorten_list(items, room, count)
    return items[0][: room - len(more) - 1] + "…" + more


def _age(s: Assessed) -> str:
    age = s.verdict.age or 0.0
    return f"{duration(age)} in the future" if age < 0 else duration(age)


def _cell(cell: Cell, named: bool = True) -> str:
    """A cell as the on-call person needs it: name and uuid, the uuid never cut off."""
    what = ("cell " if cell.uuid else "database ") if named else ""
    text = f"{what}{safe(cell.name, 40)}"
    return f"{text} ({cell.uuid}, disabled)" if cell.disabled else f"{text} ({cell.uuid})" if cell.uuid else text


def _resource(results) -> NovaServices | None:
    for result in results:
        if isinstance(result.resource, NovaServices):
            return result.resource
    return None


def _state_of(results, resource: NovaServices, s: Assessed):
    """The state of the binary's down count: orders the pager line by severity."""
    return results[f"{resource.labels[s.row.binary]}_down"].state

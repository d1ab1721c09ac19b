"""The nagiosplugin objects: a Resource that reads every cell, Contexts that judge, a Summary that speaks."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Union

import nagiosplugin
from nagiosplugin import Critical, Ok, Unknown, Warn
from nagiosplugin.performance import Performance

from . import CHECK_NAME
from .assess import Assessed, Policy, Standing, assess
from .cells import Cell, CellReport, Deployment, read_cells
from .db import DatabaseError, ServiceFilter
from .text import duration, label, safe, shorten_list
from .thresholds import ThresholdTable
from .timestamps import utc_now

SUMMARY_BUDGET = 175  # characters of summary: with the "NOVA_SERVICES CRITICAL - " prefix, about 200
#: -v lines at most: with the first line and perfdata, the answer stays under Nagios's 8 KiB.
VERBOSE_LIMIT = 30
#: ... and at most this many bytes of them, whatever the length of host names and reasons.
VERBOSE_BYTES = 5500
SEVERITY = {Ok: 0, Warn: 1, Unknown: 2, Critical: 3}  # a CRITICAL must never hide behind an UNKNOWN

Clock = Union[str, dt.datetime]  # "local", "db", or a fixed naive-UTC instant


@dataclass
class BinaryStats:
    binary: str
    services: list[Assessed] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.services)

    @property
    def up(self) -> int:
        return sum(1 for s in self.services if s.verdict.up)

    @property
    def down(self) -> int:
        return sum(1 for s in self.services if s.counts_down)

    @property
    def disabled(self) -> int:
        return sum(1 for s in self.services if s.row.disabled)

    @property
    def max_age(self) -> float | None:
        """Oldest heartbeat among the enabled services that are up: how late heartbeats run.

        Measured as Nova measures it, by distance (abs): a heartbeat far in the future warns too."""
        timely = (Standing.UP, Standing.LATE)  # not disabled, by an operator or by Nova itself
        ages = [abs(s.verdict.age) for s in self.services if s.standing in timely and s.verdict.age is not None]
        return round(max(ages), 3) if ages else None


@dataclass(frozen=True)
class Selection:
    """Which services the run is about. Host and binary also narrow each cell's query."""

    hosts: tuple[str, ...] = ()
    binaries: tuple[str, ...] = ()
    zones: tuple[str, ...] = ()
    exclude: tuple[re.Pattern, ...] = ()
    #: --cell, applied when the cells are discovered; here it only says the view is narrowed.
    cells: tuple[str, ...] = ()
    #: The filters as given on the command line, for "no services matched (...)".
    text: str = ""

    @property
    def where(self) -> ServiceFilter:
        return ServiceFilter(hosts=self.hosts, binaries=self.binaries)

    @property
    def narrowed(self) -> bool:
        return bool(self.hosts or self.binaries or self.zones or self.cells)

    def keeps(self, row, zone: str | None) -> bool:
        """Exact matches, as Nova's ?host= and ?binary= are (MySQL's = ignores case and trailing spaces)."""
        if self.hosts and row.host not in self.hosts:
            return False
        if self.binaries and row.binary not in self.binaries:
            return False
        return not self.zones or bool(set(self.zones).intersection((zone or "").split(",")))

    def excludes(self, row) -> bool:
        return any(pattern.search(f"{row.binary}@{row.host}") for pattern in self.exclude)


class NovaServices(nagiosplugin.Resource):
    """Every matching service of every cell, judged by Nova's rule."""

    def __init__(
        self,
        discover: Callable[[float], Deployment],
        selection: Selection,
        policy: Policy,
        clock: Clock,
        deadline: float,
        timeout: float,
    ):
        self.discover = discover
        self.selection = selection
        self.policy = policy
        self.clock = clock
        self.deadline = deadline
        self.timeout = timeout
        self.services: list[Assessed] = []
        self.excluded: list[Assessed] = []
        self.unreachable: list[CellReport] = []
        self.cells: list[Cell] = []
        self.binaries: dict[str, BinaryStats] = {}
        self.binary_of_metric: dict[str, str] = {}
        self.down_metric: dict[str, str] = {}  # binary -> name of its _down metric
        #: Why availability zones could not be read from the API database (they are then not shown).
        self.zones_problem: str | None = None

    @property
    def name(self) -> str:
        return CHECK_NAME

    def probe(self):
        try:
            deployment = self.discover(self.deadline)
        except DatabaseError as exc:
            raise nagiosplugin.CheckError(str(exc)) from None
        self.cells = deployment.cells
        self.zones_problem = deployment.zones_problem
        if self.zones_problem is not None and self.selection.zones:
            raise nagiosplugin.CheckError(f"--zone cannot be applied, availability zones unknown: {self.zones_problem}")
        reports = read_cells(self.cells, self.selection.where, self.deadline, self.clock == "db", self.timeout)
        local_now = utc_now()
        for report in reports:
            if report.error is not None:
                self.unreachable.append(report)
                continue
            now = self._now(report, local_now)
            for row in report.rows:
                zone = deployment.zone_of(row)
                if not self.selection.keeps(row, zone):
                    continue
                assessed = assess(row, report.cell, now, self.policy, zone)
                if self.selection.excludes(row):
                    self.excluded.append(assessed)
                    continue
                self.services.append(assessed)
                self.binaries.setdefault(row.binary, BinaryStats(row.binary)).services.append(assessed)
        if not self.services and not self.unreachable:
            hidden = f"; {len(self.excluded)} excluded" if self.excluded else ""
            raise nagiosplugin.CheckError(f"no services matched{self.selection.text}{hidden}")
        yield from self._metrics()
        yield nagiosplugin.Metric("cells_total", len(self.cells), min=0, context="count")
        yield nagiosplugin.Metric("cells_unreachable", len(self.unreachable), min=0, max=len(self.cells), context="cells")
        if self.selection.exclude:
            yield nagiosplugin.Metric("services_excluded", len(self.excluded), min=0, context="count")

    def _now(self, report: CellReport, local_now: dt.datetime) -> dt.datetime:
        if isinstance(self.clock, dt.datetime):
            return self.clock
        if self.clock == "db" and report.db_now is not None:
            return report.db_now
        return local_now

    def _metrics(self):
        used: set[str] = {"cells", "services"}
        for binary in sorted(self.binaries):
            stats = self.binaries[binary]
            prefix = label(binary)
            while prefix in used:  # two hostile binaries that sanitise alike stay apart
                prefix += "_"
            used.add(prefix)
            self.down_metric[binary] = f"{prefix}_down"
            for suffix, value, context, maximum in (
                ("down", stats.down, "down", stats.total),
                ("max_age", stats.max_age, "age", None),
                ("total", stats.total, "count", None),
                ("disabled", stats.disabled, "count", stats.total),
            ):
                name = f"{prefix}_{suffix}"
                self.binary_of_metric[name] = binary
                uom = "s" if suffix == "max_age" else None
                yield nagiosplugin.Metric(name, value, uom=uom, min=0, max=maximum, context=context)


class DownContext(nagiosplugin.Context):
    """Down count of one binary against that binary's warning and critical ranges."""

    def __init__(self, warning: ThresholdTable, critical: ThresholdTable):
        super().__init__("down")
        self.warning = warning
        self.critical = critical

    def ranges(self, metric, resource):
        stats = resource.binaries[resource.binary_of_metric[metric.name]]
        return (
            self.warning.for_binary(stats.binary, stats.total),
            self.critical.for_binary(stats.binary, stats.total),
        )

    def evaluate(self, metric, resource):
        warning, critical = self.ranges(metric, resource)
        if critical is not None and not critical.match(metric.value):
            return self.result_cls(Critical, critical.violation, metric)
        if warning is not None and not warning.match(metric.value):
            return self.result_cls(Warn, warning.violation, metric)
        return self.result_cls(Ok, None, metric)

    def performance(self, metric, resource):
        warning, critical = self.ranges(metric, resource)
        return Performance(metric.name, metric.value, "", warning, critical, metric.min, metric.max)


class AgeContext(nagiosplugin.Context):
    """Oldest heartbeat of the up services: WARNING past --age-warning, before Nova calls it down."""

    def __init__(self, policy: Policy):
        super().__init__("age")
        self.policy = policy

    def evaluate(self, metric, resource):
        limit = self.policy.age_warning
        if metric.value is not None and limit is not None and metric.value > limit:
            return self.result_cls(Warn, f"heartbeat older than {limit:g}s", metric)
        return self.result_cls(Ok, None, metric)

    def performance(self, metric, resource):
        # No service of the binary is up: the age is undetermined, a plain "U" (no unit) by the guidelines.
        value, uom = ("U", "") if metric.value is None else (metric.value, "s")
        return Performance(metric.name, value, uom, _num(self.policy.age_warning), "", 0, _num(self.policy.down_time))


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


class CountContext(nagiosplugin.Context):
    """A plain count with perfdata and no thresholds."""

    def performance(self, metric, resource):
        return Performance(metric.name, metric.value, "", "", "", metric.min, metric.max)


class CellsContext(CountContext):
    """An unreachable cell means the check cannot know: UNKNOWN, or CRITICAL if asked."""

    def __init__(self, unreachable_state=Unknown):
        super().__init__("cells")
        self.unreachable_state = unreachable_state

    def evaluate(self, metric, resource):
        if metric.value:
            return self.result_cls(self.unreachable_state, "cell unreachable", metric)
        return self.result_cls(Ok, None, metric)


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
        if resource is None:  # probe failed before any metric: the CheckError says why
            return safe("; ".join(str(r) for r in results if r.state != Ok) or "no result", SUMMARY_BUDGET)
        parts = self._parts(resource, results)
        parts.sort(key=lambda part: -SEVERITY[part[0]])
        pieces = [self._all_up(resource)] if not parts else []
        for index, (_state, head, items) in enumerate(parts):
            # room for this part, keeping "; +N more problems" for the parts after it
            reserve = len(f"; +{len(parts) - index - 1} more problems") if index < len(parts) - 1 else 0
            budget = SUMMARY_BUDGET - len("; ".join(pieces)) - (2 if pieces else 0) - reserve
            if pieces and budget < min(len(head), 42):  # not even a shortened head fits
                pieces.append(f"+{len(parts) - index} more problems")
                break
            if len(head) > budget:
                head = head[: budget - 1] + "…"
            listing = _listing(items, budget - len(head) - 2)
            pieces.append(f"{head}: {listing}" if listing else head)
        for note in self._notes(resource):
            if len("; ".join([*pieces, note])) <= SUMMARY_BUDGET:
                pieces.append(note)
        return "; ".join(pieces)

    def _parts(self, resource: NovaServices, results):
        """(state, head, items) for each kind of problem."""
        parts = []
        down = sorted(
            (s for s in resource.services if s.counts_down),
            key=lambda s: (-SEVERITY[_state_of(results, resource, s)], s.row.binary, s.row.host),
        )
        if down:
            worst = max((_state_of(results, resource, s) for s in down), key=SEVERITY.__getitem__)
            head = f"{len(down)} of {len(resource.services)} services down"
            parts.append((worst, head, [f"{_who(s)} ({_why(s)})" for s in down]))
        late = [s for s in resource.services if s.standing is Standing.LATE]
        if late:
            late.sort(key=lambda s: -abs(s.verdict.age or 0))
            parts.append((Warn, "heartbeat late", [f"{_who(s)} ({_age(s)})" for s in late]))
        if resource.unreachable:
            state = results["cells_unreachable"].state
            if len(resource.unreachable) == 1:
                report = resource.unreachable[0]
                head = f"{_cell(report.cell)} unreachable"
                parts.append((state, f"{head}: {safe(report.error, max(40, SUMMARY_BUDGET - len(head) - 2))}", []))
            else:
                head = f"{len(resource.unreachable)} of {len(resource.cells)} cells unreachable"
                parts.append((state, head, [_cell(r.cell, named=False) for r in resource.unreachable]))
        return parts

    def _notes(self, resource: NovaServices) -> list[str]:
        """Facts that change no state but must not go unseen."""
        notes = []
        disabled = sum(b.disabled for b in resource.binaries.values())
        if disabled:
            notes.append(f"{disabled} disabled")
        if resource.excluded:
            notes.append(f"{len(resource.excluded)} excluded")
        if resource.zones_problem is not None:
            notes.append("zones unknown")
        if not resource.selection.narrowed and not resource.unreachable:
            for binary in sorted(self.threshold_binaries - resource.binaries.keys()):
                notes.append(f"no {safe(binary, 40)} services (named in -w/-c)")
        return notes

    def _all_up(self, resource: NovaServices) -> str:
        stats = [resource.binaries[b] for b in sorted(resource.binaries)]
        up = sum(b.up for b in stats)
        text = f"{up} of {len(resource.services)} services up: " + ", ".join(
            f"{safe(b.binary, 40)} {b.up}/{b.total}" for b in stats
        )
        if len(text) > SUMMARY_BUDGET - 40:
            text = f"{up} of {len(resource.services)} services up in {len(stats)} binaries"
        return text

    def verbose(self, results):
        resource = _resource(results)
        if resource is None:
            return []
        lines = [f"unreachable: {_cell(r.cell)}: {safe(r.error, 300)}" for r in resource.unreachable[:VERBOSE_LIMIT]]
        for binary in sorted(self.threshold_binaries - resource.binaries.keys()):
            lines.append(f"note: -w/-c name {safe(binary, 255)}, which has no services here")
        if resource.zones_problem is not None:
            lines.append(
                f"note: availability zones unknown ({safe(resource.zones_problem, 300)}); they need SELECT on "
                "the API database's aggregate_hosts and aggregate_metadata"
            )
        if self.verbosity >= 2:  # the list view: every service, the excluded ones marked
            shown = sorted(resource.services + resource.excluded, key=lambda s: (s.row.binary, s.row.host, s.cell.name))
            return lines + [describe(s, excluded=s in resource.excluded) for s in shown]
        problems = sorted(
            (s for s in resource.services if s.standing is not Standing.UP),
            key=lambda s: (_PROBLEM_ORDER[s.standing], s.row.binary, s.row.host, s.cell.name),
        )
        shown = 0
        for s in problems[:VERBOSE_LIMIT]:
            line = describe(s)
            if sum(len(x.encode()) + 1 for x in lines) + len(line.encode()) > VERBOSE_BYTES:
                break
            lines.append(line)
            shown += 1
        if len(problems) > shown:
            lines.append(f"... and {len(problems) - shown} more problem services (-vv lists every service)")
        if resource.excluded:
            lines.append(f"excluded by --exclude: {len(resource.excluded)} services (-vv lists them)")
        return lines


#: -v lists the services that count first; the rest of a big outage is summed up in one line.
_PROBLEM_ORDER = {
    Standing.DOWN: 0,
    Standing.AUTO_DISABLED: 0,
    Standing.UNREADABLE: 0,
    Standing.LATE: 1,
    Standing.DISABLED_DOWN: 2,
    Standing.DISABLED: 3,
    Standing.UP: 4,
}


def describe(s: Assessed, excluded: bool = False) -> str:
    """One service as a long-output line: everything the on-call person needs to act."""
    row, verdict = s.row, s.verdict
    fields = [
        f"{'excluded, ' if excluded else ''}{s.standing.value}: {_who(s, short=False)}",
        f"cell={safe(s.cell.name)}",
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


def _listing(items: list[str], room: int) -> str:
    """As many items as fit in ``room``, then "+N more"; a first item too long for it is shortened."""
    if not items or room < 20:
        return ""
    more = f" +{len(items) - 1} more" if len(items) > 1 else ""
    if len(items[0]) + len(more) <= room:
        return shorten_list(items, room)
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
    return results[resource.down_metric[s.row.binary]].state


def build_check(
    resource: NovaServices,
    warning: ThresholdTable,
    critical: ThresholdTable,
    policy: Policy,
    unreachable_state=Unknown,
    verbosity: int = 0,
) -> nagiosplugin.Check:
    summary = ServicesSummary(verbosity, warning.named_binaries | critical.named_binaries)
    check = nagiosplugin.Check(
        resource,
        DownContext(warning, critical),
        AgeContext(policy),
        CountContext("count"),
        CellsContext(unreachable_state),
        summary,
        SeverityResults(),
        name=CHECK_NAME,
    )
    return check

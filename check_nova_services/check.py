"""The nagiosplugin objects: a Resource that reads every cell, Contexts that judge, a Summary that speaks."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import nagiosplugin
from nagiosplugin import Critical, Ok, Unknown, Warn
from nagiosplugin.performance import Performance

from .assess import Assessed, Policy, Standing, assess
from .cells import Cell, CellReport, Deployment, read_cells
from .db import DatabaseError, ServiceFilter
from .text import duration, label, safe, shorten_list
from .thresholds import ThresholdTable

CHECK_NAME = "NOVA_SERVICES"
SUMMARY_BUDGET = 175  # characters of summary: with the "NOVA_SERVICES CRITICAL - " prefix, about 200
#: -v lines at most: with the first line and perfdata, the answer stays under Nagios's 8 KiB.
VERBOSE_LIMIT = 30
SEVERITY = {Ok: 0, Warn: 1, Unknown: 2, Critical: 3}  # a CRITICAL must never hide behind an UNKNOWN

Clock = str | dt.datetime  # "local", "db", or a fixed naive-UTC instant


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
        """Oldest heartbeat among the considered services that are up: how late heartbeats run."""
        ages = [abs(s.verdict.age) for s in self.services if s.considered and s.verdict.up and s.verdict.age is not None]
        return round(max(ages), 3) if ages else None


class NovaServices(nagiosplugin.Resource):
    """Every matching service of every cell, judged by Nova's rule."""

    def __init__(
        self,
        discover: Callable[[float], Deployment],
        where: ServiceFilter,
        policy: Policy,
        clock: Clock,
        deadline: float,
        zones: tuple[str, ...] = (),
        exclude: list[re.Pattern] | None = None,
        filters_text: str = "",
    ):
        self.discover = discover
        self.where = where
        self.policy = policy
        self.clock = clock
        self.deadline = deadline
        self.zones = set(zones)
        self.exclude = exclude or []
        self.filters_text = filters_text
        self.services: list[Assessed] = []
        self.unreachable: list[CellReport] = []
        self.cells: list[Cell] = []
        self.by_metric: dict[str, BinaryStats] = {}
        self.down_metric: dict[str, str] = {}  # binary -> name of its _down metric

    @property
    def name(self) -> str:
        return CHECK_NAME

    def probe(self):
        try:
            deployment = self.discover(self.deadline)
        except DatabaseError as exc:
            raise nagiosplugin.CheckError(str(exc)) from None
        self.cells = deployment.cells
        reports = read_cells(self.cells, self.where, self.deadline, with_db_clock=self.clock == "db")
        local_now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        by_binary: dict[str, BinaryStats] = {}
        for report in reports:
            if report.error is not None:
                self.unreachable.append(report)
                continue
            now = self._now(report, local_now)
            for row in report.rows:
                zone = deployment.zone_of(row)
                if self.zones and not self.zones.intersection((zone or "").split(",")):
                    continue
                if any(pattern.search(f"{row.binary}@{row.host}") for pattern in self.exclude):
                    continue
                assessed = assess(row, report.cell, now, self.policy, zone)
                self.services.append(assessed)
                by_binary.setdefault(row.binary, BinaryStats(row.binary)).services.append(assessed)
        if not self.services and not self.unreachable:
            raise nagiosplugin.CheckError(f"no services matched{self.filters_text}")
        yield from self._metrics(by_binary)
        yield nagiosplugin.Metric("cells_total", len(self.cells), min=0, context="count")
        yield nagiosplugin.Metric("cells_unreachable", len(self.unreachable), min=0, max=len(self.cells), context="cells")

    def _now(self, report: CellReport, local_now: dt.datetime) -> dt.datetime:
        if isinstance(self.clock, dt.datetime):
            return self.clock
        if self.clock == "db" and report.db_now is not None:
            return report.db_now
        return local_now

    def _metrics(self, by_binary: dict[str, BinaryStats]):
        used: set[str] = {"cells"}
        for binary in sorted(by_binary):
            stats = by_binary[binary]
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
                self.by_metric[name] = stats
                uom = "s" if suffix == "max_age" else None
                yield nagiosplugin.Metric(name, value, uom=uom, min=0, max=maximum, context=context)


class DownContext(nagiosplugin.Context):
    """Down count of one binary against that binary's warning and critical ranges."""

    def __init__(self, warning: ThresholdTable, critical: ThresholdTable):
        super().__init__("down")
        self.warning = warning
        self.critical = critical

    def ranges(self, metric, resource):
        stats = resource.by_metric[metric.name]
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

    def ok(self, results):
        return self.status_text(results)

    def problem(self, results):
        return self.status_text(results)

    def status_text(self, results) -> str:
        resource = _resource(results)
        if resource is None:  # probe failed before any metric: the CheckError says why
            return "; ".join(str(r) for r in results if r.state != Ok) or "no result"
        parts = self._parts(resource, results)
        if not parts:
            return self._all_up(resource)
        parts.sort(key=lambda part: -SEVERITY[part[0]])
        text, budget = [], SUMMARY_BUDGET
        for _state, head, items in parts:
            piece = head + (": " + shorten_list(items, max(20, budget - len(head) - 2)) if items else "")
            text.append(piece)
            budget -= len(piece) + 2
        return "; ".join(text)

    def _parts(self, resource: NovaServices, results):
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
            parts.append((Warn, "heartbeat late", [f"{_who(s)} ({duration(s.verdict.age or 0)})" for s in late]))
        if resource.unreachable:
            state = results["cells_unreachable"].state
            if len(resource.unreachable) == 1:
                report = resource.unreachable[0]
                what = "cell" if report.cell.uuid else "database"
                head = f"{what} {safe(report.cell.label)} unreachable: {safe(report.error, 120)}"
                parts.append((state, head, []))
            else:
                head = f"{len(resource.unreachable)} of {len(resource.cells)} cells unreachable"
                parts.append((state, head, [safe(r.cell.label) for r in resource.unreachable]))
        return parts

    def _all_up(self, resource: NovaServices) -> str:
        stats = _binaries(resource)
        per_binary = ", ".join(f"{safe(b.binary, 40)} {b.up}/{b.total}" for b in stats)
        up = sum(b.up for b in stats)
        text = f"{up} of {len(resource.services)} services up: {per_binary}"
        disabled = sum(b.disabled for b in stats)
        if disabled:
            text += f"; {disabled} disabled"
        if len(text) > SUMMARY_BUDGET:
            text = f"{up} of {len(resource.services)} services up in {len(stats)} binaries" + (
                f"; {disabled} disabled" if disabled else ""
            )
        return text

    def verbose(self, results):
        resource = _resource(results)
        if resource is None:
            return []
        lines = []
        for report in resource.unreachable:
            what = "cell" if report.cell.uuid else "database"
            lines.append(f"unreachable: {what} {safe(report.cell.label)}: {safe(report.error, 300)}")
        if getattr(self, "verbosity", 1) >= 2:  # the list view: every service
            shown = sorted(resource.services, key=lambda s: (s.row.binary, s.row.host, s.cell.name))
            return lines + [describe(s) for s in shown]
        problems = sorted(
            (s for s in resource.services if s.standing is not Standing.UP),
            key=lambda s: (_PROBLEM_ORDER[s.standing], s.row.binary, s.row.host, s.cell.name),
        )
        lines += [describe(s) for s in problems[:VERBOSE_LIMIT]]
        if len(problems) > VERBOSE_LIMIT:
            lines.append(f"... and {len(problems) - VERBOSE_LIMIT} more problem services (-vv lists every service)")
        return lines


#: -v lists the services that count first; the rest of a big outage is summed up in one line.
_PROBLEM_ORDER = {
    Standing.DOWN: 0,
    Standing.AUTO_DISABLED: 0,
    Standing.LATE: 1,
    Standing.DISABLED_DOWN: 2,
    Standing.DISABLED: 3,
    Standing.UP: 4,
}


def describe(s: Assessed) -> str:
    """One service as a long-output line: everything the on-call person needs to act."""
    row, verdict = s.row, s.verdict
    fields = [
        f"{s.standing.value}: {_who(s, short=False)}",
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
    if verdict.age is None:
        return "none"
    when = "in the future" if verdict.age < 0 else "ago"
    stamp = getattr(s.row, verdict.source or "created_at")
    return f"{duration(verdict.age)} {when} ({verdict.source} {stamp:%Y-%m-%d %H:%M:%S})"


def _who(s: Assessed, short: bool = True) -> str:
    """binary@host; the pager line shortens long names, the long output keeps all of Nova's 255."""
    binary_limit, host_limit = (40, 60) if short else (255, 255)
    return f"{safe(s.row.binary, binary_limit)}@{safe(s.row.host, host_limit)}"


def _why(s: Assessed) -> str:
    row, verdict = s.row, s.verdict
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


def _resource(results) -> NovaServices | None:
    for result in results:
        if isinstance(result.resource, NovaServices):
            return result.resource
    return None


def _binaries(resource: NovaServices) -> list[BinaryStats]:
    unique = {id(stats): stats for stats in resource.by_metric.values()}
    return sorted(unique.values(), key=lambda b: b.binary)


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
    summary = ServicesSummary()
    summary.verbosity = verbosity
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


def deadline_after(seconds: float) -> float:
    return time.monotonic() + seconds

"""nagiosplugin's first step: read every cell, yield Metrics, keep one immutable Reading for the Summary."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import nagiosplugin

from . import CHECK_NAME
from .cells import Cell, CellReading, Clock, Deployment, ReadPlan, read_cell, read_cells
from .deadline import Deadline
from .errors import ReadError
from .policy import Assessed, BinaryTally, Policy
from .selection import Selection
from .text import label


@dataclass(frozen=True)
class Reading:
    """Everything one run learnt, for the Contexts and the Summary: counts, not rows."""

    cells: tuple[Cell, ...]
    unreachable: tuple[CellReading, ...]
    #: Per binary, sorted by name.
    tallies: dict[str, BinaryTally]
    #: Problem services of every cell, most important first (bounded: PROBLEM_LIMIT per cell).
    problems: tuple[Assessed, ...]
    #: Every service (the list view, -vv), and those left out by --exclude.
    listed: tuple[Assessed, ...] = ()
    excluded: tuple[Assessed, ...] = ()
    zones_problem: str | None = None
    #: binary -> perfdata label prefix.
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(t.total for t in self.tallies.values())

    def sum(self, attribute: str) -> int:
        return sum(getattr(t, attribute) for t in self.tallies.values())


class NovaServices(nagiosplugin.Resource):
    """Every matching service of every cell, judged by Nova's rule."""

    def __init__(
        self,
        discover: Callable[[Deadline], Deployment],
        selection: Selection,
        policy: Policy,
        clock: Clock,
        deadline: Deadline,
        list_every_service: bool = False,
    ):
        self.discover = discover
        self.selection = selection
        self.policy = policy
        self.clock = clock
        self.deadline = deadline
        self.list_every_service = list_every_service
        #: Set by probe(): the one result the Summary reads.
        self.reading: Reading | None = None

    @property
    def name(self) -> str:
        return CHECK_NAME

    def probe(self):
        try:
            deployment = self.discover(self.deadline)
        except ReadError as exc:
            raise nagiosplugin.CheckError(str(exc)) from None
        if deployment.zones_problem is not None and self.selection.zones:
            raise nagiosplugin.CheckError(f"--zone cannot be applied, availability zones unknown: {deployment.zones_problem}")
        plan = ReadPlan(
            where=self.selection.where,
            policy=self.policy,
            clock=self.clock,
            in_database=not (self.selection.needs_rows or self.list_every_service),
            keep_all=self.list_every_service,
            keeps=self.selection.keeps,
            excludes=self.selection.excludes,
        )
        readings = read_cells(
            deployment.cells,
            lambda cell: read_cell(cell, plan, deployment.zone_of, self.deadline),
            self.deadline,
        )
        self.reading = reading = _combine(deployment, readings)
        if not reading.total and not reading.unreachable:
            hidden = f"; {len(reading.excluded)} excluded" if reading.excluded else ""
            raise nagiosplugin.CheckError(f"no services matched{self.selection.text}{hidden}")
        for binary, tally in reading.tallies.items():
            prefix = reading.labels[binary]
            yield nagiosplugin.Metric(f"{prefix}_down", tally.down, min=0, max=tally.total, context="down")
            if tally.max_age is not None:  # undetermined: left out, as graphing backends drop "U"
                yield nagiosplugin.Metric(f"{prefix}_max_age", round(tally.max_age, 3), uom="s", min=0, context="count")
            yield nagiosplugin.Metric(f"{prefix}_late", tally.late, min=0, max=tally.total, context="late")
            yield nagiosplugin.Metric(f"{prefix}_total", tally.total, min=0, context="count")
            yield nagiosplugin.Metric(f"{prefix}_disabled", tally.disabled, min=0, max=tally.total, context="count")
        yield nagiosplugin.Metric("cells_total", len(reading.cells), min=0, context="count")
        yield nagiosplugin.Metric("cells_unreachable", len(reading.unreachable), min=0, max=len(reading.cells), context="cells")
        if self.selection.exclude:
            yield nagiosplugin.Metric("services_excluded", len(reading.excluded), min=0, context="count")

    def binary_of(self, metric_name: str) -> BinaryTally:
        assert self.reading is not None
        suffix = next(x for x in ("_down", "_late", "_max_age", "_total", "_disabled") if metric_name.endswith(x))
        prefix = metric_name[: -len(suffix)]
        binary = next(b for b, p in self.reading.labels.items() if p == prefix)
        return self.reading.tallies[binary]


def _combine(deployment: Deployment, readings: list[CellReading]) -> Reading:
    tallies: dict[str, BinaryTally] = {}
    for reading in readings:
        for binary, tally in reading.tallies.items():
            tallies[binary] = tallies[binary].plus(tally) if binary in tallies else tally
    answered = [r for r in readings if r.error is None]
    problems = sorted((a for r in answered for a in r.problems), key=lambda a: (a.problem_key, a.cell_name))
    return Reading(
        cells=tuple(deployment.cells),
        unreachable=tuple(r for r in readings if r.error is not None),
        tallies=dict(sorted(tallies.items())),
        problems=tuple(problems),  # each cell handed over at most PROBLEM_LIMIT
        listed=tuple(a for r in answered for a in r.listed),
        excluded=tuple(a for r in answered for a in r.excluded),
        zones_problem=deployment.zones_problem,
        labels=_labels(tallies),
    )


def _labels(binaries) -> dict[str, str]:
    """binary -> perfdata label prefix, from the binary's name alone (text.label), so that a graph keeps
    its binary from run to run whatever rows come and go. ``cells`` and ``services`` prefix the check's
    own metrics: a binary of either name is labelled as one whose name had to be changed."""
    own = ("cells", "services")
    labels = {binary: label(binary, own) for binary in binaries}
    seen: set[str] = set()
    twice: set[str] = set()
    for prefix in labels.values():
        (twice if prefix in seen else seen).add(prefix)
    # Two changed names whose first digest digits collide (one chance in 4 billion): all 40 digits.
    return {b: label(b, own, digits=40) if p in twice else p for b, p in labels.items()}

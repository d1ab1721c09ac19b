"""A whole deployment surveyed: every cell read within the deadline, combined into one immutable Reading.

No nagiosplugin here: resource.py turns the Reading into Metrics, summary.py into words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .cells import Cell, CellReading, Clock, Deployment, ReadPlan, read_cell
from .deadline import Deadline
from .errors import NothingToJudge
from .fanout import DEFAULT_LIMITS, Limits, read_cells
from .policy import Assessed, BinaryTally, Policy
from .selection import Selection
from .timestamps import utc_now


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
    #: The cells that answered, each with its own counts (a whole cell down is one fact, not 62 hosts).
    answered: tuple[CellReading, ...] = ()
    #: The cell whose database clock is furthest from this host's, and by how much (seconds, + ahead).
    skew: tuple[Cell, float] | None = None
    #: The service whose heartbeat lies furthest in the future beyond report_interval (its writer's clock runs ahead).
    furthest_ahead: Assessed | None = None
    #: --host, --binary, --zone or --cell narrowed the view: a binary may be absent from it by choice.
    narrowed: bool = False

    @property
    def total(self) -> int:
        return sum(t.total for t in self.tallies.values())

    def sum(self, attribute: str) -> int:
        return sum(getattr(t, attribute) for t in self.tallies.values())


def survey(
    discover: Callable[[Deadline], Deployment],
    selection: Selection,
    policy: Policy,
    clock: Clock,
    deadline: Deadline,
    list_every_service: bool = False,
    allow_empty: bool = False,
    limits: Limits = DEFAULT_LIMITS,
) -> Reading:
    """Find the cells, read them all at once, combine. ReadError when the cells cannot even be found,
    NothingToJudge when nothing matched (unless ``allow_empty``: an empty list is a list)."""
    deployment = discover(deadline)
    if deployment.zones_problem is not None and selection.zones:
        raise NothingToJudge(f"--zone cannot be applied, availability zones unknown: {deployment.zones_problem}")
    plan = ReadPlan(
        where=selection.where,
        policy=policy,
        # One instant for the whole run on this host's clock: every cell is judged as of the same moment.
        clock=utc_now() if clock == "local" else clock,
        in_database=not (selection.needs_rows or list_every_service),
        keep_all=list_every_service,
        keeps=selection.keeps,
        excludes=selection.excludes,
    )
    readings = read_cells(
        deployment.cells, lambda cell, link: read_cell(cell, link, plan, deployment.zone_of), deadline, limits
    )
    reading = combine(deployment, readings, narrowed=selection.narrowed)
    if not reading.total and not reading.unreachable and not allow_empty:
        hidden = f"; {len(reading.excluded)} excluded" if reading.excluded else ""
        raise NothingToJudge(f"no services matched{selection.text}{hidden}")
    return reading


def combine(deployment: Deployment, readings: list[CellReading], narrowed: bool = False) -> Reading:
    tallies: dict[str, BinaryTally] = {}
    for reading in readings:
        for binary, tally in reading.tallies.items():
            tallies[binary] = tallies[binary].plus(tally) if binary in tallies else tally
    answered = [r for r in readings if r.error is None]
    problems = sorted((a for r in answered for a in r.problems), key=lambda a: (a.problem_key, a.cell_name))
    skews = [(r.cell, r.skew) for r in answered if r.skew is not None]
    ahead = [r.furthest_ahead for r in answered if r.furthest_ahead is not None]
    return Reading(
        cells=tuple(deployment.cells),
        unreachable=tuple(r for r in readings if r.error is not None),
        tallies=dict(sorted(tallies.items())),
        problems=tuple(problems),  # each cell handed over at most PROBLEM_LIMIT
        listed=tuple(a for r in answered for a in r.listed),
        excluded=tuple(a for r in answered for a in r.excluded),
        zones_problem=deployment.zones_problem,
        answered=tuple(answered),
        skew=max(skews, key=lambda pair: abs(pair[1])) if skews else None,
        furthest_ahead=min(ahead, key=lambda a: a.verdict.age or 0.0) if ahead else None,
        narrowed=narrowed,
    )

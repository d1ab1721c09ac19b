"""From Nova's verdict to what the check alarms on: the plugin's policy, kept apart from Nova's rule.

Pure: no database, no threads, no nagiosplugin.  The database applies the same policy to whole
tables in SQL (``sources/counts.py``); :class:`TallyBuilder` is its Python form, for the list view and filters
that SQL cannot apply, and the reference the SQL form is tested against.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from check_nova_services.rule.heartbeat import ServiceRow, Verdict, judge
from check_nova_services.rule.versions import (
    COMPUTE,
    Floor,
    VersionCounts,
    below,
    counts_for_minimum,
    lowest,
    merge,
    minimum_across_cells,
    minimum_binary,
)

#: Problem services each cell hands over, most important first: what the first line and -v can show.
PROBLEM_LIMIT = 100
#: nova-compute services of lowest version each cell hands over, to name the ones too old.
OLDEST_COMPUTES = 10


class Standing(enum.Enum):
    """How one service counts for the check."""

    UP = "up"
    LATE = "up, heartbeat late"  # up for Nova, but older than --age-warning
    DOWN = "down"
    UNREADABLE = "down, cannot be judged"  # nothing proves it up: an unreadable heartbeat, no host
    AUTO_DISABLED = "disabled by Nova (AUTO)"  # a failure, not maintenance
    DISABLED = "disabled"  # operator maintenance: reported, not alarmed
    DISABLED_DOWN = "disabled, down"


#: Standings counted in ``<binary>_down``: down and enabled, disabled by Nova itself, or unjudgeable.
COUNTED_DOWN = frozenset({Standing.DOWN, Standing.AUTO_DISABLED, Standing.UNREADABLE})

#: The order problems are kept and listed in: what counts first, then late, then maintenance.
PROBLEM_RANK = {
    Standing.DOWN: 0,
    Standing.AUTO_DISABLED: 0,
    Standing.UNREADABLE: 0,
    Standing.LATE: 1,
    Standing.DISABLED_DOWN: 2,
    Standing.DISABLED: 3,
    Standing.UP: 4,
}


#: Binaries Nova removed that wrote services rows, and the release that removed them (Nova's release notes).
#: A row of one is a leftover nobody deleted: down forever, it needs ``openstack compute service delete``,
#: not a page -- on a cloud that runs that release or a later one (removed_binaries). Down, such a row is a
#: WARNING, never the thresholds' CRITICAL: on an older cloud the binary was deprecated long before.
REMOVED_BINARIES = {
    "nova-cert": "Pike",
    "nova-cells": "Train",
    "nova-consoleauth": "Train",
    "nova-console": "Ussuri",
    "nova-network": "Ussuri",
}
#: The first service version of each of those releases: one above the release before it (SERVICE_VERSION of
#: nova 15.1.5 Ocata 16, 19.0.0 Stein 37, 20.0.0 Train 40).
_FIRST_VERSION = {"Pike": 17, "Train": 38, "Ussuri": 41}


def removed_binaries(newest_control_plane: int | None) -> dict[str, str]:
    """The binaries whose rows are leftovers on a cloud whose newest conductor or scheduler runs this version:
    those removed in its release or before. Unknown (no control plane read, e.g. --binary): all of them."""
    return {
        binary: release
        for binary, release in REMOVED_BINARIES.items()
        if newest_control_plane is None or newest_control_plane >= _FIRST_VERSION[release]
    }


#: Every binary that writes services rows today (the API's rows are read and hidden, as Nova's API hides them).
NOVA_BINARIES = frozenset({"nova-compute", "nova-conductor", "nova-scheduler", "nova-osapi_compute", "nova-metadata"})

#: A -w/-c name outside this set is a typo in any view, even one narrowed by --host or --cell.
KNOWN_BINARIES = NOVA_BINARIES | REMOVED_BINARIES.keys()


#: Control plane first: a dead conductor explains the computes that stop reporting after it.
BINARY_RANK = {"nova-conductor": 0, "nova-scheduler": 1, "nova-compute": 3}
#: Any other binary: between the control plane and the computes.
OTHER_BINARY_RANK = 2


def binary_rank(binary: str) -> int:
    return BINARY_RANK.get(binary, OTHER_BINARY_RANK)


@dataclass(frozen=True)
class Policy:
    down_time: float
    age_warning: float | None = None
    count_disabled: bool = False
    #: A readable heartbeat further in the future than this (report_interval) means its writer's clock runs ahead.
    ahead_after: float | None = None
    #: The oldest nova-compute version accepted (--compute-version-floor); None: the control plane's own.
    version_floor: Floor | None = None

    def ahead(self, verdict: Verdict) -> bool:
        """Nova still counts such a heartbeat (abs()), but a clock is wrong: noted, never alarmed."""
        return self.ahead_after is not None and verdict.problem is None and (verdict.age or 0.0) < -self.ahead_after

    def operator_disabled(self, row: ServiceRow) -> bool:
        """Disabled by an operator and, by policy, not alarmed (unless --count-disabled)."""
        return row.disabled and not row.auto_disabled and not self.count_disabled


@dataclass(frozen=True)
class Assessed:
    row: ServiceRow
    cell_name: str
    verdict: Verdict
    standing: Standing
    zone: str | None = None
    #: Left out of the counts by --exclude: Nova still counts it for its minimum version (versions.py).
    excluded: bool = False

    @property
    def counts_down(self) -> bool:
        return self.standing in COUNTED_DOWN

    @property
    def problem_key(self) -> tuple[int, int, int]:
        """The order the SQL form keeps problem rows in (sources/counts.py): standing, binary, row id."""
        return (PROBLEM_RANK[self.standing], binary_rank(self.row.binary), self.row.id)


def assess(row: ServiceRow, cell_name: str, now: dt.datetime, policy: Policy, zone: str | None = None) -> Assessed:
    verdict = judge(row, now, policy.down_time)
    operator_disabled = policy.operator_disabled(row)
    if verdict.problem is not None:
        standing = Standing.UNREADABLE
    elif row.auto_disabled:
        standing = Standing.AUTO_DISABLED
    elif not verdict.up:
        standing = Standing.DISABLED_DOWN if operator_disabled else Standing.DOWN
    elif operator_disabled:
        standing = Standing.DISABLED
    elif policy.age_warning is not None and abs(verdict.age or 0.0) > policy.age_warning:
        standing = Standing.LATE
    else:
        standing = Standing.UP
    return Assessed(row, cell_name, verdict, standing, zone)


@dataclass(frozen=True)
class BinaryTally:
    """The counts of one binary: what perfdata, thresholds and the first line need, whatever the size."""

    binary: str
    total: int = 0
    up: int = 0
    down: int = 0
    late: int = 0
    disabled: int = 0
    #: Services whose heartbeat lies further in the future than Policy.ahead_after.
    ahead: int = 0
    #: Services whose standing is not UP (down, late, disabled...): what -v could list.
    problems: int = 0
    #: Oldest heartbeat among the watched services (all but operator-disabled, down ones included),
    #: by distance as Nova measures it; None when no watched service has a heartbeat.
    max_age: float | None = None
    #: (version, services) of the rows Nova's minimum looks at (versions.counts_for_minimum).
    versions: VersionCounts = ()
    #: Nova's minimum version: a cell's MIN(version); across cells, versions.minimum_across_cells.
    min_version: int | None = None

    @property
    def max_version(self) -> int | None:
        return self.versions[-1][0] if self.versions else None

    def plus(self, other: BinaryTally) -> BinaryTally:
        """Two parts of one cell's table (across cells, combine applies Nova's own minimum)."""
        ages = [age for age in (self.max_age, other.max_age) if age is not None]
        minimums = [v for v in (self.min_version, other.min_version) if v is not None]
        return replace(
            self,
            total=self.total + other.total,
            up=self.up + other.up,
            down=self.down + other.down,
            late=self.late + other.late,
            disabled=self.disabled + other.disabled,
            ahead=self.ahead + other.ahead,
            problems=self.problems + other.problems,
            max_age=max(ages) if ages else None,
            versions=merge(self.versions, other.versions),
            min_version=min(minimums) if minimums else None,
        )


def oldest_first(a: Assessed) -> tuple[int, int]:
    """The order the oldest computes are kept in, by the row path and the SQL alike: version, then row id."""
    return (a.row.version or 0, a.row.id)


def watched(a: Assessed, policy: Policy) -> bool:
    """Feeds max_age: every service the check watches, down ones included, with a readable heartbeat."""
    return a.verdict.problem is None and a.verdict.age is not None and not policy.operator_disabled(a.row)


class _Running:
    """One binary's counts while its rows come in: plain numbers, made one BinaryTally at the end (a new
    frozen tally per row cost more than judging the row)."""

    __slots__ = ("total", "up", "down", "late", "disabled", "ahead", "problems", "max_age", "versions")

    def __init__(self) -> None:
        self.total = self.up = self.down = self.late = self.disabled = self.ahead = self.problems = 0
        self.max_age: float | None = None
        self.versions: dict[int, int] = {}

    def tally(self, binary: str) -> BinaryTally:
        versions = tuple(sorted(self.versions.items()))
        return BinaryTally(
            binary,
            total=self.total,
            up=self.up,
            down=self.down,
            late=self.late,
            disabled=self.disabled,
            ahead=self.ahead,
            problems=self.problems,
            max_age=self.max_age,
            versions=versions,
            min_version=versions[0][0] if versions else None,
        )


@dataclass
class TallyBuilder:
    """Counts assessed services one at a time, keeping only the problems that can be shown."""

    policy: Policy
    problem_limit: int = PROBLEM_LIMIT
    problems: list[Assessed] = field(default_factory=list)
    #: The service whose heartbeat lies furthest in the future beyond Policy.ahead_after, if any.
    furthest_ahead: Assessed | None = None
    #: now - the newest readable heartbeat added (negative in the future); None while there is none.
    newest_age: float | None = None
    #: The nova-compute services of lowest version (at most OLDEST_COMPUTES): the ones a too-old verdict names.
    oldest_computes: list[Assessed] = field(default_factory=list)
    #: Per Nova binary (versions.VERSIONED), version -> services Nova's minimum looks at, excluded ones included.
    seen_versions: dict[str, dict[int, int]] = field(default_factory=dict)
    _running: dict[str, _Running] = field(default_factory=dict)

    @property
    def tallies(self) -> dict[str, BinaryTally]:
        """Per binary, what was added so far."""
        return {binary: running.tally(binary) for binary, running in self._running.items()}

    def add(self, a: Assessed) -> None:
        row, verdict = a.row, a.verdict
        t = self._running.get(row.binary)
        if t is None:
            t = self._running[row.binary] = _Running()
        problem = a.standing is not Standing.UP
        t.total += 1
        t.up += verdict.up
        t.down += a.counts_down
        t.late += a.standing is Standing.LATE
        t.disabled += row.disabled
        t.ahead += self.policy.ahead(verdict)
        t.problems += problem
        if verdict.age is not None and watched(a, self.policy):
            age = round(abs(verdict.age), 6)
            t.max_age = age if t.max_age is None else max(t.max_age, age)
        if row.version is not None and counts_for_minimum(row):
            t.versions[row.version] = t.versions.get(row.version, 0) + 1
        self.add_version(a)
        if verdict.problem is None and verdict.age is not None:
            age_now = round(verdict.age, 6)
            self.newest_age = age_now if self.newest_age is None else min(self.newest_age, age_now)
        if self.policy.ahead(verdict) and (
            self.furthest_ahead is None or (verdict.age or 0.0) < (self.furthest_ahead.verdict.age or 0.0)
        ):
            self.furthest_ahead = a
        if problem:
            self.problems.append(a)
            if len(self.problems) > 2 * self.problem_limit:  # trim now and then: memory stays bounded
                self._trim()

    def add_version(self, a: Assessed) -> None:
        """What Nova's minimum counts of a service, also of one left out by --exclude: Nova still counts it."""
        binary = minimum_binary(a.row)
        if binary is None or not counts_for_minimum(a.row) or a.row.version is None:
            return
        versions = self.seen_versions.setdefault(binary, {})
        versions[a.row.version] = versions.get(a.row.version, 0) + 1
        if binary == COMPUTE:
            self.oldest_computes.append(a)
            if len(self.oldest_computes) > 2 * OLDEST_COMPUTES:
                self._trim_oldest()

    @property
    def nova_versions(self) -> dict[str, VersionCounts]:
        return {binary: tuple(sorted(counts.items())) for binary, counts in sorted(self.seen_versions.items())}

    def _trim_oldest(self) -> None:
        self.oldest_computes.sort(key=oldest_first)
        del self.oldest_computes[OLDEST_COMPUTES:]

    def kept_oldest_computes(self) -> list[Assessed]:
        self._trim_oldest()
        return list(self.oldest_computes)

    def _trim(self) -> None:
        self.problems.sort(key=lambda a: a.problem_key)
        del self.problems[self.problem_limit :]

    def kept_problems(self) -> list[Assessed]:
        self._trim()
        return list(self.problems)


def too_old_computes(
    cells: Sequence[tuple[VersionCounts | None, Sequence[Assessed]]], floor: Floor | None
) -> tuple[int, tuple[Assessed, ...]]:
    """Nova's raise_if_old_compute over the cells that answered, each as its nova-compute versions as Nova's minimum
    counts them (None: it has none) and its oldest computes: too old when Nova's minimum across the cells is neither
    0 nor unknown and below the floor; then every compute below it in the cells that minimum looks at (a cell whose
    own minimum is 0 is left out), the oldest named first."""
    minimum = minimum_across_cells(lowest(versions) for versions, _ in cells if versions is not None)
    if floor is None or not minimum or minimum >= floor.version:
        return 0, ()
    looked_at = [(versions, oldest) for versions, oldest in cells if versions is not None and lowest(versions)]
    count = sum(below(versions, floor.version) for versions, _ in looked_at)
    named = sorted(
        (a for _, oldest in looked_at for a in oldest if (a.row.version or 0) < floor.version),
        key=lambda a: (a.row.version or 0, a.cell_name, a.row.host),
    )
    return count, tuple(named)

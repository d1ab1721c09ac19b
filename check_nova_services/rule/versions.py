"""Service versions as Nova counts them, and the computes too old for the control plane. Pure.

Nova's minimum (``nova/db/main/api.py`` ``service_get_minimum_version``, ``nova/objects/service.py``
``get_minimum_version_all_cells``): in each cell, ``MIN(version)`` per binary over the rows with
``deleted = 0`` and ``forced_down = false`` (a NULL forced_down is not false: left out; disabled rows counted),
``binary IN (...)`` compared by the database (MySQL's collations ignore case and trailing spaces: 'Nova-Compute '
is a nova-compute there, not on SQLite), the NULL versions skipped by MIN; across cells, the
smallest cell minimum that is not 0 or NULL (a cell whose minimum is 0 is left out). Its conductors,
schedulers and API refuse to start when that minimum for ``nova-compute`` is not 0 and is below the alias
of their release's ``OLDEST_SUPPORTED_SERVICE_VERSION`` (``nova/utils.py`` ``raise_if_old_compute``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from check_nova_services.rule.heartbeat import ServiceRow
from check_nova_services.rule.releases import RELEASES, SERVICE_VERSION_ALIASES, Release

COMPUTE = "nova-compute"
#: The binaries whose newest version tells which release the control plane runs.
CONTROL_PLANE = ("nova-conductor", "nova-scheduler")
#: The binaries whose minimum Nova asks for and the check reads as Nova does (the compute floor, the control plane).
VERSIONED = (COMPUTE, *CONTROL_PLANE)

#: (version, services) of one binary, sorted by version: rows that count for Nova's minimum, NULL left out.
VersionCounts = tuple[tuple[int, int], ...]


def counts_for_minimum(row: ServiceRow) -> bool:
    """A row Nova's minimum looks at: ``forced_down = false`` (neither forced down nor NULL; deleted rows are
    never read), with a version."""
    return not row.forced_down and not row.forced_down_unset and row.version is not None


def minimum_binary(row: ServiceRow) -> str | None:
    """The Nova binary whose minimum Nova counts this row in: the one the database compared its binary equal to,
    else its own binary when it is one of VERSIONED; None for any other."""
    if row.counted_as is not None:
        return row.counted_as
    return row.binary if row.binary in VERSIONED else None


def lowest(histogram: VersionCounts) -> int | None:
    """A cell's MIN(version) from its histogram; None when it has no version."""
    return histogram[0][0] if histogram else None


def merge(*histograms: VersionCounts) -> VersionCounts:
    totals: dict[int, int] = {}
    for histogram in histograms:
        for version, services in histogram:
            totals[version] = totals.get(version, 0) + services
    return tuple(sorted(totals.items()))


def minimum_across_cells(cell_minimums: Iterable[int | None]) -> int | None:
    """get_minimum_version_all_cells over each cell's minimum: 0 and NULL cells are left out; 0 when every
    cell that has versions has 0 (Nova's "no computes yet"), None when no cell has any version."""
    given = [v for v in cell_minimums if v is not None]
    kept = [v for v in given if v]
    if kept:
        return min(kept)
    return 0 if given else None


@cache  # a few versions, asked once per service by --list
def release_of(version: int) -> str | None:
    """The release whose computes run ``version``: the newest alias at or below it ("Antelope-Caracal" when
    several releases share that alias); None below Nova's oldest alias."""
    below = [value for value in SERVICE_VERSION_ALIASES.values() if value <= version]
    if not below:
        return None
    names = [name for name, value in SERVICE_VERSION_ALIASES.items() if value == max(below)]
    return names[0] if len(names) == 1 else f"{names[0]}-{names[-1]}"


def running_release(newest_control_plane: int) -> Release | None:
    """The release a conductor or scheduler of this version runs: the newest whose own version is at or
    below it; of two releases with the same version, the older (its floor is the lower: no false alarm)."""
    candidates = [r for r in RELEASES if r.service_version <= newest_control_plane]
    if not candidates:
        return None
    top = max(r.service_version for r in candidates)
    return next(r for r in candidates if r.service_version == top)


@dataclass(frozen=True)
class Floor:
    """The oldest compute version the control plane accepts, and where that number comes from."""

    version: int
    #: The oldest supported release it is the alias of, when there is one ("Gazpacho").
    release: str | None
    #: Why this floor: "the newest conductor or scheduler runs 74, Hibiscus", or the option that set it.
    why: str

    @property
    def text(self) -> str:
        return f"{self.release} ({self.version})" if self.release else f"version {self.version}"


def parse_floor(text: str) -> Floor:
    """``--compute-version-floor``: a release name (any case) or a service version number; ValueError else."""
    cleaned = text.strip()
    for name, value in SERVICE_VERSION_ALIASES.items():
        if cleaned.lower() == name.lower():
            return Floor(value, name, f"set by --compute-version-floor {name}")
    if cleaned.isdigit() and 0 < int(cleaned) < 10**6:
        version = int(cleaned)
        exact = [name for name, value in SERVICE_VERSION_ALIASES.items() if value == version]
        return Floor(version, exact[0] if len(exact) == 1 else None, f"set by --compute-version-floor {version}")
    raise ValueError(text)


def floor_for(newest_control_plane: int | None) -> Floor | None:
    """The floor of the release the newest conductor or scheduler runs; None when none reports a version
    or it is older than any release the table knows."""
    if newest_control_plane is None:
        return None
    release = running_release(newest_control_plane)
    if release is None:
        return None
    newest = RELEASES[-1]
    runs = release.name if release is not newest or newest_control_plane <= newest.service_version else f"{newest.name}+"
    return Floor(
        SERVICE_VERSION_ALIASES[release.oldest_supported],
        release.oldest_supported,
        f"the newest conductor or scheduler runs {newest_control_plane}, {runs}",
    )


def naming_bound(given: Floor | None) -> int:
    """Computes below this are fetched by name in each cell: the floor given, or the highest floor of any
    release the table knows (the control plane's own is known only once every cell is read)."""
    if given is not None:
        return given.version
    return max(SERVICE_VERSION_ALIASES[r.oldest_supported] for r in RELEASES)


def below(histogram: VersionCounts, floor: int) -> int:
    """Services of a cell's histogram older than the floor."""
    return sum(services for version, services in histogram if version < floor)

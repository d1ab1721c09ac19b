"""Which services a run is about: filters from the command line, pure (no I/O)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from check_nova_services.rule.heartbeat import ServiceRow
from check_nova_services.rule.patterns import portable_regexp
from check_nova_services.rule.versions import COMPUTE


@dataclass(frozen=True)
class ZoneHosts:
    """--zone as the host sets it stands for, known from the API database before any cell is read, so that the
    cells' own databases can count a zone (Nova's set_availability_zones, as Deployment.zone_of applies it):
    a service whose topic is not ``compute`` is in the internal zone; a compute is in the zones of its host's
    aggregates, or in the default zone when they give it none."""

    #: Computes on these hosts are in a wanted zone (their aggregates say so).
    hosts: frozenset[str] = frozenset()
    #: The default zone is wanted: computes on hosts outside these (every host an aggregate gives a zone) are in it.
    default_outside: frozenset[str] | None = None
    #: The internal zone is wanted: every service that is not a compute is in it.
    internal: bool = False

    @classmethod
    def of(
        cls, zones: tuple[str, ...], zones_by_host: Mapping[str, AbstractSet[str]], default_zone: str, internal_zone: str
    ) -> ZoneHosts:
        wanted = set(zones)
        zoned = frozenset(host for host, names in zones_by_host.items() if names)
        return cls(
            hosts=frozenset(host for host, names in zones_by_host.items() if names & wanted),
            default_outside=zoned if default_zone in wanted else None,
            internal=internal_zone in wanted,
        )

    @property
    def size(self) -> int:
        """Hosts the SQL form names."""
        return len(self.hosts) + len(self.default_outside or ())

    def within(self, hosts: frozenset[str]) -> ZoneHosts:
        """The same choice for rows whose host is one of ``hosts`` (a cell's computes): the sets cut down to them."""
        outside = None if self.default_outside is None else self.default_outside & hosts
        return ZoneHosts(self.hosts & hosts, outside, self.internal)

    def keeps(self, row: ServiceRow) -> bool:
        """The same choice made row by row: the reference the SQL form is tested against."""
        if row.topic != COMPUTE_TOPIC:
            return self.internal
        if row.host in self.hosts:
            return True
        return self.default_outside is not None and row.host not in self.default_outside


#: Nova's CONF.compute_topic: the services Nova gives aggregate zones (the others are "internal").
COMPUTE_TOPIC = "compute"


@dataclass(frozen=True)
class ServiceFilter:
    """Filters pushed into the WHERE clause, so a big cloud ships only what is asked for."""

    hosts: tuple[str, ...] = ()
    binaries: tuple[str, ...] = ()
    #: --zone, as host sets (None: every zone).
    zones: ZoneHosts | None = None


@dataclass(frozen=True)
class Selection:
    """Which services the run is about. Host and binary also narrow each cell's query."""

    hosts: tuple[str, ...] = ()
    binaries: tuple[str, ...] = ()
    zones: tuple[str, ...] = ()
    exclude: tuple[re.Pattern[str], ...] = ()
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

    @property
    def computes_narrowed(self) -> bool:
        """Some computes are out of view by choice (--binary keeps all of them or none)."""
        return bool(self.hosts or self.zones or self.cells)

    @property
    def exclude_in_database(self) -> tuple[str, ...]:
        """--exclude's patterns when the database can apply every one as Python's re does (patterns.portable_regexp);
        () when one cannot be written so (then every row is read and the patterns are applied here)."""
        texts = tuple(pattern.pattern for pattern in self.exclude)
        return texts if all(portable_regexp(text) is not None for text in texts) else ()

    @property
    def needs_rows(self) -> bool:
        """An --exclude pattern the database cannot apply as Python does; zones are host sets it applies (ZoneHosts)."""
        return bool(self.exclude) and not self.exclude_in_database

    def keeps(self, row: ServiceRow, zone: str | None) -> bool:
        """Exact matches, as Nova's ?host= and ?binary= are (MySQL's = ignores case and trailing spaces)."""
        if self.hosts and row.host not in self.hosts:
            return False
        if self.binaries and row.binary not in self.binaries:
            return False
        return not self.zones or bool(set(self.zones).intersection((zone or "").split(",")))

    def keeps_compute(self, host: str, zone: str) -> bool:
        """A nova-compute on ``host`` in ``zone`` is in the view, and not left out by --exclude (a compute the run
        could not read, known only from host_mappings)."""
        if self.binaries and COMPUTE not in self.binaries:
            return False
        if self.hosts and host not in self.hosts:
            return False
        if self.zones and not set(self.zones).intersection(zone.split(",")):
            return False
        return not any(pattern.search(f"{COMPUTE}@{host}") for pattern in self.exclude)

    def excludes(self, row: ServiceRow) -> bool:
        return any(pattern.search(f"{row.binary}@{row.host}") for pattern in self.exclude)

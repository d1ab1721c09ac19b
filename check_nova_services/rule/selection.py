"""Which services a run is about: filters from the command line, pure (no I/O)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from check_nova_services.rule.heartbeat import ServiceRow


@dataclass(frozen=True)
class ServiceFilter:
    """Filters pushed into the WHERE clause, so a big cloud ships only what is asked for."""

    hosts: tuple[str, ...] = ()
    binaries: tuple[str, ...] = ()


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

    @property
    def needs_rows(self) -> bool:
        """Zones and --exclude are applied in Python: SQL cannot (zones live in another database)."""
        return bool(self.zones or self.exclude)

    def keeps(self, row: ServiceRow, zone: str | None) -> bool:
        """Exact matches, as Nova's ?host= and ?binary= are (MySQL's = ignores case and trailing spaces)."""
        if self.hosts and row.host not in self.hosts:
            return False
        if self.binaries and row.binary not in self.binaries:
            return False
        return not self.zones or bool(set(self.zones).intersection((zone or "").split(",")))

    def excludes(self, row: ServiceRow) -> bool:
        return any(pattern.search(f"{row.binary}@{row.host}") for pattern in self.exclude)

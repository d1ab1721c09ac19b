"""The cells one run covers: one database given directly, or every cell mapped in the API database, with Nova's URL
templates formatted and zones read."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from sqlalchemy.engine import URL

from check_nova_services.readings import Cell, Deployment
from check_nova_services.shared.deadline import Deadline
from check_nova_services.shared.errors import ConfigError, ReadError
from check_nova_services.sources.api_database import read_api_database
from check_nova_services.sources.urls import format_db_url, parse_db_url, show_url, with_api_credentials


def show(cell: Cell) -> str:
    """A cell's URL as the log shows it: without its password, or "no URL" for a cell discovery could give none."""
    return "no URL" if cell.url is None else show_url(cell.url)


@dataclass(frozen=True)
class CellSource:
    """Where the cells come from: one database given directly, or every cell mapped in the API database."""

    db_url: URL | None = field(repr=False)
    api_url: URL | None = field(repr=False)
    #: Read every cell with the API database's user and password (a SELECT-only monitoring user).
    own_credentials: bool = False
    only: tuple[str, ...] = ()
    default_zone: str = "nova"
    internal_zone: str = "internal"
    #: The host aggregates named by --aggregate-warning/--aggregate-critical: their hosts are read.
    aggregates: tuple[str, ...] = ()

    def deployment(self, deadline: Deadline) -> Deployment:
        if self.api_url is None:
            assert self.db_url is not None
            return Deployment([Cell(name=database_name(self.db_url), uuid=None, url=self.db_url)])
        return discover(
            self.api_url,
            self.db_url,
            deadline,
            own_credentials=self.own_credentials,
            only=self.only,
            default_zone=self.default_zone,
            internal_zone=self.internal_zone,
            aggregates=self.aggregates,
        )


#: A field of Nova's cell URL templates ({username}, {hostname1}, ...).
_TEMPLATE_FIELD = re.compile(r"\{(scheme|username|password|hostname|port|path|query|fragment)\d*\}")


def database_name(url: URL) -> str:
    """What to call a single database in output: its name, or an SQLite file's stem."""
    name = url.database or "nova"
    return os.path.splitext(os.path.basename(name))[0] if url.get_backend_name() == "sqlite" else name


def discover(
    api_url: URL,
    base_url: URL | None,
    deadline: Deadline,
    own_credentials: bool = False,
    only: tuple[str, ...] = (),
    default_zone: str = "nova",
    internal_zone: str = "internal",
    aggregates: tuple[str, ...] = (),
) -> Deployment:
    """Cells listed in the API database (filtered by name or uuid), with their URLs formatted."""
    try:
        api = read_api_database(api_url, deadline, aggregates)
    except ReadError as exc:
        raise ReadError(f"API database unreachable: {exc}") from None
    base = None if base_url is None else base_url.render_as_string(hide_password=False)
    cells = []
    for mapping in api.mappings:
        name = mapping.name or mapping.uuid
        if only and name not in only and mapping.uuid not in only:
            continue
        text = format_db_url(mapping.database_connection, base)
        if base is None and _TEMPLATE_FIELD.search(text):
            # Nova formats it from its own [database]/connection: without one, it is no URL at all.
            # (The line names the cell already: the reason does not repeat it.)
            problem = "its database_connection is a template ({...} fields) formatted from [database]/connection or --db-url"
            cells.append(Cell(name, mapping.uuid, None, mapping.disabled, problem=problem))
            continue
        try:
            url = parse_db_url(text, f"cell {name}'s database_connection")
        except ConfigError as exc:
            cells.append(Cell(name, mapping.uuid, None, mapping.disabled, problem=str(exc)))
            continue
        if own_credentials:
            url = with_api_credentials(url, api_url)
        cells.append(Cell(name, mapping.uuid, url, mapping.disabled))
    if only:
        known = {c.name for c in cells} | {c.uuid for c in cells}
        missing = [name for name in only if name not in known]
        if missing:
            names = ", ".join(m.name or m.uuid for m in api.mappings)
            raise ReadError(f"no cell {', '.join(missing)} in the API database (cells: {names})")
    return Deployment(
        cells,
        api.zones,
        default_zone,
        internal_zone,
        zones_problem=api.zones_problem,
        known_zones=api.zone_names,
        mapped_hosts=api.mapped_hosts,
        aggregate_hosts=api.aggregate_hosts or {},
        unread_aggregates=aggregates if api.aggregate_hosts is None else (),
        pools_problem=api.pools_problem,
    )

"""``--format openmetrics`` and ``--textfile``: the check's Reading and state as Prometheus metrics.

The Prometheus text exposition format (version 0.0.4, which node_exporter's textfile collector and ``promtool check
metrics`` read) that is OpenMetrics 1.0 too: gauges only, ending with OpenMetrics' ``# EOF`` (a comment to a
text-format parser); Prometheus reads it with either parser (tests/test_prometheus_live.py). Written here,
not by prometheus_client: a few dozen lines of text are no reason for a dependency. The metric names are a contract
(README "Prometheus"); each binary's are rule/metrics.py's table, the same numbers as the perfdata.
Pure: the Reading in, text out; and the one file write, atomic.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet

from check_nova_services.output.listing import listed_services
from check_nova_services.readings import ListedService, Reading
from check_nova_services.rule.capacity import AGGREGATE, ZONE, Pool, PoolCount
from check_nova_services.rule.metrics import BINARY_METRICS
from check_nova_services.shared.text import safe

#: Lone surrogates cannot be written as UTF-8, which Prometheus requires of a label value: the replacement character,
#: as a name that is not UTF-8 is read from the database.
_SURROGATES = re.compile("[\ud800-\udfff]")
#: What a label value cannot hold as it is: the three characters the format escapes, and lone surrogates.
_TO_ESCAPE = re.compile('[\\\\"\n\ud800-\udfff]')


def label_value(text: str | None) -> str:
    """A label value as the exposition format writes it: backslash, double quote and line feed escaped, any other
    character as it is (in UTF-8); a missing value is empty, which Prometheus reads as no label."""
    if text is None:
        return ""
    if not _TO_ESCAPE.search(text):  # nearly every name: as it is
        return text
    return _SURROGATES.sub("\ufffd", text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(pairs: Iterable[tuple[str, str | None]]) -> str:
    return "{" + ",".join(f'{name}="{label_value(value)}"' for name, value in pairs) + "}"


def _number(value: float) -> str:
    """An int as an int, a float as Python's shortest exact form (what the perfdata prints)."""
    return str(int(value)) if isinstance(value, (bool, int)) else repr(float(value))


def _family(name: str, meaning: str) -> str:
    help_text = meaning.replace("\\", "\\\\").replace("\n", "\\n")
    return f"# HELP {name} {help_text}\n# TYPE {name} gauge\n"


def _single(name: str, meaning: str, value: float) -> str:
    return f"{_family(name, meaning)}{name} {_number(value)}\n"


def _run_families(success: bool, state: int, made_at: float) -> Iterator[str]:
    yield _single(
        "nova_services_scrape_success",
        "1 when every cell was read; 0 when a cell or the whole reading failed (nova_cell_unreachable_info and "
        "nova_services_scrape_error_info say why)",
        int(success),
    )
    yield _single(
        "nova_services_check_state",
        "The state the check gives for the same reading: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN",
        state,
    )
    yield _single("nova_services_scrape_timestamp_seconds", "When this reading was made, Unix time", round(made_at, 3))


def exposition(
    reading: Reading, state: int, made_at: float, excluding: bool = False, named_pools: AbstractSet[Pool] = frozenset()
) -> Iterator[str]:
    """The whole exposition of one reading and the state the check gave it, in pieces to write as they come (one
    line per service: a list of 100,000 services is never held whole)."""
    yield from _run_families(not reading.unreachable, state, made_at)
    yield from _per_binary(reading)
    yield _single("nova_cells", "Cells in the run, reachable or not (1 without an API database)", len(reading.cells))
    yield _single(
        "nova_cells_unreachable", "Cells that could not be read, or whose database may be stale", len(reading.unreachable)
    )
    if reading.unreachable:
        yield _family("nova_cell_unreachable_info", "A cell that could not be read, and why (always 1)")
        for cell in reading.unreachable:
            pairs = (("cell", cell.cell.name), ("cell_uuid", cell.cell.uuid), ("reason", safe(cell.error, 300)))
            yield f"nova_cell_unreachable_info{_labels(pairs)} 1\n"
    if excluding:
        yield _single("nova_services_excluded", "Services left out by --exclude", reading.excluded_count)
    if reading.floor is not None:  # known only where computes and a control plane report versions
        yield _single(
            "nova_compute_version_floor",
            "The oldest nova-compute service version the control plane accepts",
            reading.floor.version,
        )
        yield _single("nova_services_too_old", "nova-compute services older than the control plane accepts", reading.too_old)
    if reading.skew is not None:  # whole seconds, as the perfdata's clock_skew
        yield _single(
            "nova_database_clock_skew_seconds",
            "The database server clock furthest from this host's, + ahead, - behind",
            int(round(reading.skew[1])),
        )
    yield from _capacity(reading.capacity_with(named_pools))
    yield from _per_service(reading)
    yield "# EOF\n"


def failure_exposition(reason: str, made_at: float) -> Iterator[str]:
    """Nothing could be read (or the run could not start): say so, so that no alert rests on an older file."""
    yield from _run_families(False, 3, made_at)
    yield _family("nova_services_scrape_error_info", "Why nothing could be read (always 1)")
    yield f"nova_services_scrape_error_info{_labels([('reason', reason)])} 1\n"
    yield "# EOF\n"


def _per_binary(reading: Reading) -> Iterator[str]:
    """One family per row of rule/metrics.py's table, one sample per binary; an undetermined value left out."""
    for metric in BINARY_METRICS:
        samples = [(binary, metric.value(tally)) for binary, tally in reading.tallies.items()]
        known = [(binary, value) for binary, value in samples if value is not None]
        if known:
            yield _family(metric.metric, metric.meaning)
            yield "".join(f"{metric.metric}{_labels([('binary', binary)])} {_number(value)}\n" for binary, value in known)


#: Per kind of pool: its label, and the families of its usable, all and unknown computes.
_POOL_FAMILIES = {
    ZONE: ("zone", "nova_zone_usable_computes", "nova_zone_computes", "nova_zone_unknown_computes"),
    AGGREGATE: ("aggregate", "nova_aggregate_usable_computes", "nova_aggregate_computes", "nova_aggregate_unknown_computes"),
}


def _capacity(capacity: Mapping[Pool, PoolCount]) -> Iterator[str]:
    """The perfdata's az_<zone>_usable, _total and _unknown (aggregate_<name>_ alike) as families labelled by zone or
    aggregate; unknown left out where it is any number (host_mappings unreadable), as in the perfdata."""
    for kind, (name, usable, total, unknown) in _POOL_FAMILIES.items():
        pools = [(pool, count) for pool, count in capacity.items() if pool.kind == kind]
        if not pools:
            continue
        meaning = "an availability zone" if kind == ZONE else "a host aggregate named in a range"
        yield _family(usable, f"Usable computes (nova-compute up and enabled) of {meaning}")
        yield "".join(f"{usable}{_labels([(name, p.name)])} {c.usable}\n" for p, c in pools)
        yield _family(total, f"Computes of {meaning}, the unknown ones included")
        yield "".join(f"{total}{_labels([(name, p.name)])} {c.total}\n" for p, c in pools)
        known = [(p, c) for p, c in pools if not c.unbounded]
        if known:
            yield _family(unknown, f"Computes of {meaning} in cells that could not be read (host_mappings)")
            yield "".join(f"{unknown}{_labels([(name, p.name)])} {c.unknown}\n" for p, c in known)


def _per_service(reading: Reading) -> Iterator[str]:
    """Each listed service's series (not those --exclude left out), one family after the other: the list is walked
    once per family, as the table of --list walks it twice, never held."""
    families: tuple[tuple[str, str, Callable[[ListedService], float | None]], ...] = (
        ("nova_service_up", "1 when Nova's rule counts the service up, 0 when down", lambda s: int(s.up)),
        ("nova_service_disabled", "1 when the service is disabled (operator or AUTO)", lambda s: int(s.disabled)),
        (
            "nova_service_heartbeat_age_seconds",
            "Now minus the heartbeat Nova's rule judged, negative in the future; absent without a readable heartbeat",
            lambda s: None if s.age is None or s.heartbeat is None else round(s.age, 3),
        ),
    )
    if not reading.listed:
        return
    for name, meaning, value_of in families:
        yield _family(name, meaning)
        for labels, service in _service_labels(listed_services(reading)):
            value = value_of(service)
            if value is not None:
                yield f"{name}{labels} {_number(value)}\n"


def _service_labels(services: Iterator[ListedService]) -> Iterator[tuple[str, ListedService]]:
    """Each service's label set (binary, host, cell, zone). Two rows whose labels would be the same series (two host
    names that are not UTF-8 and read alike, rows without a host) would make Prometheus refuse the whole exposition:
    a repeat gets the row's ``service_id`` too. Repeats are neighbours: the services come in list order (binary,
    host, cell). The values that repeat (binary, cell, zone) are escaped once per run."""
    group: tuple[str, str, str] | None = None
    seen: set[str | None] = set()
    escaped: dict[str | None, str] = {}

    def once(value: str | None) -> str:
        text = escaped.get(value)
        if text is None:
            text = escaped[value] = label_value(value)
        return text

    for service in services:
        if service.order != group:
            group, seen = service.order, set()
        labels = (
            f'{{binary="{once(service.binary)}",host="{label_value(service.host)}",cell="{once(service.cell)}",'
            f'zone="{once(service.zone)}"'
        )
        if service.zone in seen:
            labels += f',service_id="{service.id}"'
        seen.add(service.zone)
        yield labels + "}", service


def write_textfile(path: str, chunks: Iterable[str]) -> None:
    """The exposition into ``path`` for node_exporter's textfile collector, atomically: written to a temporary file in
    the same directory (a dot file not ending in .prom, which the collector skips), then renamed over ``path``; on
    any failure the temporary file is removed and ``path`` keeps what it had. Readable by all (0644): the collector
    runs as another user."""
    import tempfile  # here: on Python 3.9 it loads threading (shutil -> bz2), which the words never load

    directory, name = os.path.split(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(descriptor, "wb") as out:
            for chunk in chunks:
                out.write(chunk.encode("utf-8"))
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise

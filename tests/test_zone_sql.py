"""--zone counted where the rows are (issue 29): zones are host sets known from the API database
(rule.selection.ZoneHosts), applied by each cell's own database (services_table.in_zones). Over random
aggregates, topics and host spellings, the SQL form, ZoneHosts.keeps and Nova's own zone rule as the plugin
applied it row by row before (Deployment.zone_of, then Selection.keeps) keep exactly the same rows, on the real
MariaDB (whose = ignores case and trailing spaces: the form must not) and on SQLite."""

from __future__ import annotations

from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from check_nova_services.demo.writer import service, write_api_database, write_cell
from check_nova_services.readings import Deployment
from check_nova_services.rule.selection import Selection, ServiceFilter, ZoneHosts
from check_nova_services.shared.deadline import Deadline
from check_nova_services.sources import counts
from check_nova_services.sources.api_database import _zone_hosts_grouped, read_api_database
from check_nova_services.sources.counts import TallyQuery
from check_nova_services.sources.rows import read_services
from tests.conftest import CELL_PROPERTY, NOW, one_cell_on_each_backend

#: Hosts of the rows: spellings MariaDB's collation takes for one another, an empty and a NULL host.
ROW_HOSTS = ["cmp1", "CMP1", "cmp1 ", "cmp2", "cmp3", "ctl1", "", None]
#: Hosts the aggregates name.
AGGREGATE_HOSTS = ["cmp1", "CMP1", "cmp2", "cmp4", "ctl1"]
#: Topics: Nova gives aggregate zones to topic 'compute' exactly, the rest are internal.
TOPICS = ["compute", "compute", "Compute", "compute ", "conductor", "scheduler", None]
ZONES = ["az1", "az2", "nova"]

rows_strategy = st.lists(
    st.tuples(st.sampled_from(ROW_HOSTS), st.sampled_from(TOPICS)),
    min_size=1,
    max_size=10,
    # the table's unique (host, topic, deleted) compares as the collation does: one row per spelling family
    unique_by=lambda pair: pair[0].lower().rstrip() if pair[0] else pair[0],
)


def written(url, drawn: list[tuple[str | None, str | None]]) -> None:
    rows = []
    for index, (host, topic) in enumerate(drawn):
        row = service(host or "placeholder", f"nova-b{index}", NOW, age=2.0, topic=topic)
        row["host"] = host
        rows.append(row)
    write_cell(url, rows)


def kept_by_sql(url, zones: ZoneHosts) -> list[int]:
    rows, _ = read_services(url, ServiceFilter(zones=zones), Deadline.after(10))
    return sorted(r.id for r in rows)


def kept_by_nova_rule(url, deployment: Deployment, wanted: tuple[str, ...]) -> tuple[list[int], list[int]]:
    """Every row, then the zone rule in Python: as Deployment.zone_of + Selection.keeps, and as ZoneHosts.keeps."""
    rows, _ = read_services(url, ServiceFilter(), Deadline.after(10))
    selection = Selection(zones=wanted)
    assert deployment.zones_by_host is not None
    zones = ZoneHosts.of(wanted, deployment.zones_by_host, deployment.default_zone, deployment.internal_zone)
    by_zone_of = sorted(r.id for r in rows if selection.keeps(r, deployment.zone_of(r)))
    by_hosts = sorted(r.id for r in rows if zones.keeps(r))
    return by_zone_of, by_hosts


@pytest.fixture(scope="module")
def databases(mariadb, tmp_path_factory):
    return one_cell_on_each_backend(mariadb, tmp_path_factory, "zone_sql")


@pytest.mark.parametrize("backend", ["mariadb", "sqlite"])
@CELL_PROPERTY
@given(
    drawn=rows_strategy,
    zones_by_host=st.dictionaries(st.sampled_from(AGGREGATE_HOSTS), st.sets(st.sampled_from(ZONES), max_size=2)),
    wanted=st.lists(st.sampled_from([*ZONES, "internal", "no-such-zone"]), min_size=1, max_size=3, unique=True),
)
def test_sql_zone_filter_keeps_what_novas_zone_rule_keeps(databases, backend, drawn, zones_by_host, wanted):
    url = databases[backend]
    written(url, drawn)
    deployment = Deployment([], zones_by_host, "nova", "internal")
    by_zone_of, by_hosts = kept_by_nova_rule(url, deployment, tuple(wanted))
    zones = ZoneHosts.of(tuple(wanted), zones_by_host, "nova", "internal")
    assert (kept_by_sql(url, zones), by_hosts) == (by_zone_of, by_zone_of)


def test_the_forms_agree_on_a_known_table(databases):
    """Fixed rows and aggregates, so that the comparison above cannot pass on empty sets."""
    url = databases["mariadb"]
    drawn = [("cmp1", "compute"), ("CMP2", "compute"), ("cmp3", "compute"), ("ctl1", "conductor"), (None, "compute")]
    written(url, drawn)
    zones_by_host = {"cmp1": {"az1"}, "cmp2": {"az1"}, "cmp3": set()}
    expected = {("az1",): [1], ("nova",): [2, 3, 5], ("internal",): [4], ("az1", "internal"): [1, 4], ("az2",): []}
    for wanted, ids in expected.items():
        zones = ZoneHosts.of(wanted, zones_by_host, "nova", "internal")
        assert (kept_by_sql(url, zones), kept_by_nova_rule(url, Deployment([], zones_by_host), wanted)) == (ids, (ids, ids))


@pytest.mark.parametrize("backend", ["mariadb", "sqlite"])
def test_the_zone_map_is_read_whole_however_the_host_names_look(mariadb, tmp_path, backend):
    """MariaDB sends each zone aggregate's hosts as one GROUP_CONCAT text; a host name holding its separator (a line
    break) is seen by the count of names and the map read row by row instead; SQLite reads rows. Either way, every
    host has every zone of its aggregates, shared between hosts alike."""
    api = mariadb.create_database("zone_map") if backend == "mariadb" else f"sqlite:///{tmp_path}/api.sqlite"
    zones = {"az1": ["h1", "h2", "h3 "], "az2": ["h2"], "az3": ["H1"]}
    write_api_database(api, [], zones)
    expected = {"h1": {"az1"}, "h2": {"az1", "az2"}, "h3 ": {"az1"}, "H1": {"az3"}}
    read = read_api_database(make_url(str(api)) if backend == "sqlite" else api, Deadline.after(10))
    assert read.zones == expected
    assert read.zones is not None and read.zones["h1"] is read.zones["h3 "]
    one_text_each = [("az1", ["h1", "h2", "h3 "]), ("az2", ["h2"]), ("az3", ["H1"])]
    assert grouped(api, backend) == (one_text_each if backend == "mariadb" else None)
    write_api_database(api, [], {**zones, "az4": ["a\nb", "h1"]})
    read = read_api_database(make_url(str(api)) if backend == "sqlite" else api, Deadline.after(10))
    assert read.zones == {**expected, "h1": {"az1", "az4"}, "a\nb": {"az4"}}
    assert grouped(api, backend) is None


def grouped(api, backend: str):
    """What the grouped read gave (None: the rows were read); SQLite always reads the rows."""
    if backend == "sqlite":
        return None
    engine = create_engine(api)
    try:
        with engine.connect() as conn:
            pairs = _zone_hosts_grouped(conn)
    finally:
        engine.dispose()
    return None if pairs is None else sorted((zone, sorted(hosts)) for zone, hosts in pairs)


@pytest.mark.parametrize("backend", ["mariadb", "sqlite"])
def test_every_zone_is_read_compared_exactly(mariadb, tmp_path, backend):
    """Every aggregated host's zones are read (capacity is per zone, every run), each zone name as stored: AZ1 is not
    az1 (MariaDB's = would take one for the other); every zone an aggregate names, one without hosts too."""
    api = mariadb.create_database("zone_every") if backend == "mariadb" else make_url(f"sqlite:///{tmp_path}/api.sqlite")
    write_api_database(api, [], {"az1": ["h1", "h2"], "other": ["h3"], "az2": ["h2", "h4"], "empty": []})
    engine = create_engine(api)  # a zone named AZ1 (the writer's aggregate names, agg-<zone>, would collide on MariaDB)
    with engine.begin() as conn:
        conn.execute(text("UPDATE aggregate_metadata SET value = 'AZ1' WHERE value = 'other'"))
    engine.dispose()
    read = read_api_database(api, Deadline.after(10))
    assert read.zones == {"h1": {"az1"}, "h2": {"az1", "az2"}, "h3": {"AZ1"}, "h4": {"az2"}}
    assert read.zone_names == {"az1", "AZ1", "az2", "empty"}
    assert read.zones_problem is None


def counted(url, zones: ZoneHosts, narrow_from: int):
    """The database's counts and problem rows with ``zones``, its host sets cut to the cell's computes from
    ``narrow_from`` hosts on (counts.NARROW_FROM)."""
    query = TallyQuery(ServiceFilter(zones=zones), 60, None, False, 100, NOW, 10)
    with mock.patch.object(counts, "NARROW_FROM", narrow_from):
        result = counts.read_counts(url, query, Deadline.after(10))
    return result.tallies, [r.id for r in result.problem_rows]


@pytest.mark.parametrize("backend", ["mariadb", "sqlite"])
@CELL_PROPERTY
@given(
    drawn=rows_strategy,
    zones_by_host=st.dictionaries(st.sampled_from(AGGREGATE_HOSTS), st.sets(st.sampled_from(ZONES), max_size=2)),
    wanted=st.lists(st.sampled_from([*ZONES, "internal"]), min_size=1, max_size=3, unique=True),
)
def test_a_zone_set_cut_to_the_cells_computes_counts_the_same(databases, backend, drawn, zones_by_host, wanted):
    """A large zone set (the default zone's complement: every aggregated host) is cut down to the hosts of the cell's
    computes before it is sent (ZoneHosts.within): the same rows are counted, on every spelling of a host."""
    url = databases[backend]
    written(url, drawn)
    zones = ZoneHosts.of(tuple(wanted), zones_by_host, "nova", "internal")
    assert counted(url, zones, narrow_from=0) == counted(url, zones, narrow_from=10**9)


def test_a_cut_zone_set_holds_only_the_cells_computes(databases):
    url = databases["mariadb"]
    written(url, [("cmp1", "compute"), ("CMP2", "compute"), ("ctl1", "conductor"), (None, "compute")])
    zones = ZoneHosts.of(("nova",), {"cmp1": {"az1"}, "cmp2": {"az1"}, "ctl1": {"az1"}, "cmp9": {"az2"}}, "nova", "internal")
    assert zones.within(frozenset({"cmp1", "CMP2"})) == ZoneHosts(frozenset(), frozenset({"cmp1"}), False)
    tallies, _ = counted(url, zones, narrow_from=0)
    assert {b: t.total for b, t in tallies.items()} == {"nova-b1": 1, "nova-b3": 1}  # CMP2 and the NULL host

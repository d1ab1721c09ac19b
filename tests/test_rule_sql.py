"""The rule and the policy exist twice: in Python (heartbeat.judge, policy.assess, for single rows and the
row path) and in SQL (counts.read_counts, for whole tables and the list view).  Over rows at every boundary,
both must give the same counts, the same max_age, the same problem rows and the same listed services, on the
real MariaDB and on SQLite."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from check_nova_services.demo.writer import service, write_cell
from check_nova_services.readings import listed
from check_nova_services.rule.capacity import usable_compute
from check_nova_services.rule.heartbeat import judge
from check_nova_services.rule.policy import Policy, Standing, TallyBuilder, assess
from check_nova_services.rule.selection import Selection, ServiceFilter
from check_nova_services.shared.deadline import Deadline
from check_nova_services.sources.counts import Listing, TallyQuery, read_counts
from check_nova_services.sources.rows import read_services
from tests.conftest import CELL_PROPERTY, CLOCK, NOW, one_cell_on_each_backend
from tests.harness.factories import reading_of, row
from tests.harness.faults import run_in_process

DOWN_TIME = 60
AGE_WARNING = 35
US = 1e-6
#: Heartbeat ages (seconds before "now"; negative: in the future) at and around every edge of the rule.
EDGES = [0.0, 1.0, -1.0, 5.0, 3600.0, -3600.0, 86400.0 * 400]
REPORT_INTERVAL = 10
for edge in (DOWN_TIME, AGE_WARNING, REPORT_INTERVAL):
    EDGES += [edge, edge - US, edge + US, -edge, -edge - US, -edge + US, edge - 0.5, edge + 0.5, edge + 1, edge - 1]

ages = st.one_of(st.none(), st.sampled_from(EDGES))
rows_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "age": ages,
            "created_age": st.one_of(st.none(), st.sampled_from(EDGES)),
            # NULL too: not forced for the rule, not false for Nova's minimum version
            "forced_down": st.sampled_from([False, True, None]),
            "disabled": st.booleans(),
            "disabled_reason": st.sampled_from([None, "AUTO: libvirt lost", "auto: lower case", "maintenance"]),
            # and spellings MySQL's collation compares equal to nova-compute (SQLite does not): Nova's minimum counts them
            "binary": st.sampled_from(
                [
                    "nova-compute",
                    "nova-conductor",
                    "nova-scheduler",
                    "nova-novncproxy",
                    "Nova-Compute ",
                    "NOVA-CONDUCTOR",
                    "",
                    None,
                ]
            ),
            "version": st.sampled_from([74, 72, 57, 0, -1, None]),
            # a NUL first (SQLite's length() stops there) and trailing spaces (MySQL's = ignores them): no defect
            # and a line break: the separator of the computes' hosts in the aggregate's text (read as rows instead)
            "host": st.sampled_from(["named", "named", "named", "nul", "spaced", "lined", "", None]),
            "deleted": st.sampled_from([0, 0, 0, 0, 3]),
        }
    ),
    min_size=1,
    max_size=12,
)


def as_rows(drawn: list[dict]) -> list[dict]:
    rows = []
    for index, d in enumerate(drawn):
        row = service(
            f"h{index}",
            d["binary"] or "nova-compute",
            NOW,
            age=d["age"],
            created_age=d["created_age"] if d["created_age"] is not None else 0.0,
            disabled=d["disabled"],
            disabled_reason=d["disabled_reason"],
            forced_down=d["forced_down"],
            deleted=d["deleted"],
            version=d["version"],
        )
        row["binary"] = d["binary"]
        row["host"] = {
            "named": f"h{index}",
            "nul": f"\x00h{index}",
            "spaced": f"h{index}  ",
            "lined": f"h{index}\nx",
            "": "",
            None: None,
        }[d["host"]]
        if d["host"] == "" and any(r["host"] == "" for r in rows):
            row["host"] = None  # the unique (host, binary/topic, deleted) constraints allow one ''
        if d["created_age"] is None:
            row["created_at"] = None
        rows.append(row)
    return rows


def python_form(url, query: TallyQuery, now: dt.datetime):
    rows, _ = read_services(url, query.where, Deadline.after(10))
    policy = Policy(query.down_time, query.age_warning, query.count_disabled, query.ahead_after)
    builder = TallyBuilder(policy, query.problem_limit)
    listing = []
    computes: tuple[list[str], list[str]] = ([], [])
    for service_row in rows:
        assessed = assess(service_row, "cell", now, policy)
        builder.add(assessed)
        listing.append(listed(assessed))
        usable = usable_compute(service_row, assessed.verdict.up)
        if usable is not None:
            computes[not usable].append(service_row.host)
    furthest = builder.furthest_ahead
    problems = [a.row.id for a in builder.kept_problems()]
    listing.sort(key=lambda s: s.id)
    capacity = (sorted(computes[0]), sorted(computes[1]))
    return builder.tallies, problems, furthest and abs(furthest.verdict.age or 0), builder.nova_versions, listing, capacity


def sql_form(url, query: TallyQuery):
    """The counts, the list view's rows as the database judges them (counts.Listing), in id order, and the usable
    and other computes' hosts (capacity)."""
    counts = read_counts(url, dataclasses.replace(query, computes=True), Deadline.after(10), Listing("cell"))
    furthest = counts.furthest_ahead
    distance = None
    if furthest is not None:
        verdict = judge(furthest, counts.now, query.down_time)
        distance = abs(verdict.age or 0)
    assert counts.listed is not None
    listing = sorted(counts.listed, key=lambda s: s.id)
    assert counts.computes is not None
    capacity = (sorted(counts.computes[0]), sorted(counts.computes[1]))
    return counts.tallies, [row.id for row in counts.problem_rows], distance, counts.nova_versions, listing, capacity


@pytest.fixture(scope="module")
def databases(mariadb, tmp_path_factory):
    return one_cell_on_each_backend(mariadb, tmp_path_factory, "rule_sql")


@pytest.mark.parametrize("backend", ["mariadb", "sqlite"])
@CELL_PROPERTY
@given(
    drawn=rows_strategy,
    shift=st.sampled_from([0.0, US, 0.5, 0.999999]),
    age_warning=st.sampled_from([None, AGE_WARNING]),
    count_disabled=st.booleans(),
    limit=st.sampled_from([2, 100]),
    ahead_after=st.sampled_from([None, REPORT_INTERVAL]),
)
def test_sql_and_python_forms_agree(databases, backend, drawn, shift, age_warning, count_disabled, limit, ahead_after):
    url = databases[backend]
    write_cell(url, as_rows(drawn))
    now = NOW + dt.timedelta(seconds=shift)
    query = TallyQuery(ServiceFilter(), DOWN_TIME, age_warning, count_disabled, limit, now, ahead_after)
    assert sql_form(url, query) == python_form(url, query, now)


def test_the_forms_agree_on_a_known_table(databases):
    """A fixed table with a row on each side of each edge, so that the comparison above cannot pass empty."""
    url = databases["mariadb"]
    write_cell(
        url,
        [
            service("a", "nova-compute", NOW, age=60.0),
            service("b", "nova-compute", NOW, age=61.0),
            service("c", "nova-compute", NOW, age=-61.0),
            service("d", "nova-compute", NOW, age=40.0),
            service("e", "nova-conductor", NOW, age=3.0, forced_down=True),
            service("f", "nova-compute", NOW, age=3.0, disabled=True, disabled_reason="AUTO: x"),
            service("g", "nova-compute", NOW, age=900.0, disabled=True, disabled_reason="maintenance"),
        ],
    )
    query = TallyQuery(ServiceFilter(), DOWN_TIME, AGE_WARNING, False, 100, NOW, REPORT_INTERVAL)
    tallies, problems, furthest, versions, listing, capacity = sql_form(url, query)
    assert (tallies, problems, furthest, versions, listing, capacity) == python_form(url, query, NOW)
    # the list view's standings, a to g, as the database judged them
    assert [(s.host, s.standing, s.up) for s in listing] == [
        ("a", "up, heartbeat late", True),
        ("b", "down", False),
        ("c", "down", False),
        ("d", "up, heartbeat late", True),
        ("e", "down", False),
        ("f", "disabled by Nova (AUTO)", True),
        ("g", "disabled, down", False),
    ]
    compute = tallies["nova-compute"]
    assert (compute.total, compute.up, compute.down, compute.late, compute.disabled, compute.problems) == (6, 3, 3, 2, 2, 6)
    assert (compute.ahead, furthest) == (1, 61.0)  # c, 61 s ahead: down by Nova's abs(), and its writer's clock is noted
    assert compute.max_age == 61.0  # b and c, by distance; g (maintenance) is not watched
    assert problems == [5, 2, 3, 6, 1, 4, 7]  # conductor e first among the down, then b c f; late a d; disabled g
    assert capacity == (["a", "d"], ["b", "c", "f", "g"])  # usable: up and enabled (f is up, but AUTO-disabled)
    write_cell(url, [service("a", "nova-compute", NOW, age=-10.0), service("b", "nova-compute", NOW, age=-11.0)])
    tallies, problems, furthest, versions, listing, capacity = sql_form(url, query)
    assert (tallies["nova-compute"].ahead, furthest) == (1, 11.0)  # exactly report_interval ahead is not
    assert (tallies, problems, furthest, versions, listing, capacity) == python_form(url, query, NOW)


@pytest.mark.parametrize(("backend", "computes"), [("mariadb", ((57, 1), (74, 1))), ("sqlite", ((74, 1),))])
def test_the_forms_agree_on_novas_minimum_at_its_edges(databases, backend, computes):
    """A NULL forced_down is out of Nova's minimum; 'Nova-Compute ' is in nova-compute's on MariaDB (collation),
    not on SQLite: so that the generated comparison above cannot pass with both forms wrong alike."""
    url = databases[backend]
    write_cell(
        url,
        [
            service("a", "nova-compute", NOW, version=74),
            service("b", "nova-compute", NOW, version=52, forced_down=None),  # type: ignore[arg-type]
            service("c", "Nova-Compute ", NOW, version=57, topic="compute"),
            service("d", "nova-compute", NOW, version=50, forced_down=True),
        ],
    )
    query = TallyQuery(ServiceFilter(), DOWN_TIME, AGE_WARNING, False, 100, NOW, REPORT_INTERVAL)
    tallies, problems, furthest, versions, listing, capacity = sql_form(url, query)
    assert (tallies, problems, furthest, versions, listing, capacity) == python_form(url, query, NOW)
    assert versions == {"nova-compute": computes}
    assert (tallies["nova-compute"].versions, tallies["Nova-Compute "].versions) == (((74, 1),), ((57, 1),))


def test_the_database_count_does_not_call_a_heartbeat_exactly_at_the_age_warning_late(tmp_path):
    """Catches the old AgeContext ``metric.value > limit`` -> ``>=``, where that comparison
    lives now: the database's count (db._RuleSql late window ``beat < early`` -> ``<=``, ``beat > tardy`` ->
    ``>=``) and LateContext (``metric.value > 0`` -> ``>= 0``)."""
    url = f"sqlite:///{tmp_path}/cell.sqlite"
    write_cell(
        url,
        [
            service("cmp1", "nova-compute", NOW, age=35.0),
            service("cmp2", "nova-compute", NOW, age=5.0),
        ],
    )
    run = run_in_process("--db-url", url, CLOCK)
    assert run.status == "NOVA_SERVICES OK - 2 of 2 services up: nova-compute 2/2"
    assert run.perfdata["nova-compute_late"] == "0;0;;0;2"
    assert (run.code, run.stderr) == (0, "")
    later = run_in_process("--db-url", url, "--clock=2026-11-26T12:00:00.000001")
    assert later.status == "NOVA_SERVICES WARNING - 1 heartbeat late: nova-compute@cmp1 (35s)"
    assert later.code == 1


def test_a_clock_with_an_offset_judges_as_its_utc_instant(tmp_path):
    """The same mutant seen by the on-call person: a 5 s old heartbeat read at 14:00+02:00 is up, not 2h down."""
    url = f"sqlite:///{tmp_path}/cell.sqlite"
    write_cell(url, [service("cmp1", "nova-compute", NOW, age=5.0)])
    run = run_in_process("--db-url", url, "--clock", "2026-11-26T14:00:00+02:00")
    assert (run.status, run.code) == ("NOVA_SERVICES OK - 1 of 1 services up: nova-compute 1/1", 0)


def test_rows_judged_in_python_are_judged_at_the_fixed_clock(tmp_path):
    """Catches read_cell's ``now or (clock.now ...)`` -> ``and``: --exclude reads rows and
    judges them in Python, at the --clock instant like the database's count, not at this host's time."""
    url = f"sqlite:///{tmp_path}/nova.sqlite"
    write_cell(url, [service("cmp1", "nova-compute", NOW, age=5.0), service("cmp2", "nova-compute", NOW, age=95.0)])
    run = run_in_process("--db-url", url, CLOCK, "--exclude", "cmp9")
    assert (run.status, run.code) == ("NOVA_SERVICES WARNING - nova-compute 1/2 down: cmp2 (95s)", 1)


def test_a_row_left_out_by_a_filter_does_not_end_the_cell():
    """Catches judge_rows' ``continue`` -> ``break`` after a row the filters leave out."""
    rows = [row("cmp1", age=95.0), row("cmp2", age=95.0), row("cmp3")]
    reading = reading_of({"cell1": rows}, selection=Selection(hosts=("cmp2", "cmp3")))
    assert [(s.row.host, s.standing) for s in reading.problems] == [("cmp2", Standing.DOWN)]
    assert reading.total == 2


@pytest.mark.parametrize("backend", ["mariadb", "sqlite"])
def test_a_compute_host_holding_the_separator_is_read_as_a_row(databases, backend):
    """The computes' hosts come joined by line breaks with the aggregate (MariaDB): a host holding one is seen by the
    count and the length, and the hosts are read as rows instead: the same capacity, never a host split in two."""
    url = databases[backend]
    write_cell(url, [service("a\nb", "nova-compute", NOW), service("c", "nova-compute", NOW, age=300.0)])
    query = TallyQuery(ServiceFilter(), DOWN_TIME, AGE_WARNING, False, 100, NOW, REPORT_INTERVAL)
    *_, capacity = sql_form(url, query)
    assert capacity == (["a\nb"], ["c"])
    assert sql_form(url, query) == python_form(url, query, NOW)

"""Clock skew (issue 13): this host's clock against each database server's, measured every run; and
heartbeats from the future, which mean the clock of whoever writes them runs ahead.

The check's clock is shifted with faketime (no sleeping for minutes); the database server keeps the real time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import subprocess
import sys
import uuid as uuidlib

import pytest

from check_nova_services.demo.writer import service, write_cell
from check_nova_services.plugin.check import build_check
from check_nova_services.rule.thresholds import DEFAULT_CRITICAL, DEFAULT_WARNING, ThresholdTable
from check_nova_services.settings import Judgement
from check_nova_services.shared.timestamps import utc_now
from tests.conftest import CLOCK, NOW, MariaDB, clean_env, run_check
from tests.harness.factories import POLICY, reading_of, row


def shifted(offset: str, *args: str) -> subprocess.CompletedProcess:
    """The plugin with this host's clock moved by ``offset`` (faketime syntax: +2m, -2m, +10)."""
    command = ["faketime", "-f", offset, sys.executable, "-m", "check_nova_services", *args]
    return subprocess.run(command, capture_output=True, text=True, env=clean_env(), timeout=60)


@pytest.fixture(scope="module")
def fresh_cell(mariadb):
    """Three services that heartbeat now, by the real clock (the check judges with --clock db)."""

    url = mariadb.create_database("skew_cell")
    now = utc_now()
    write_cell(url, [service(f"cmp{n}", "nova-compute", now, age=2.0) for n in (1, 2, 3)])
    return url.render_as_string(hide_password=False)


def split(stdout: str) -> tuple[str, dict[str, str]]:
    status, _, perf = stdout.strip().partition(" | ")
    pairs = (item.split("=", 1) for item in perf.split())
    return status, {name.strip("'"): value for name, value in pairs}


@pytest.mark.parametrize(
    ("offset", "words", "skew"),
    [("-2m", "2m00s ahead of", 120), ("+2m", "2m00s behind", -120)],
)
def test_a_database_clock_off_either_way_warns_and_says_which(fresh_cell, offset, words, skew):
    run = shifted(offset, "--db-url", fresh_cell, "--clock", "db")
    status, perf = split(run.stdout)
    assert (
        status
        == f"NOVA_SERVICES WARNING - 3 of 3 services up: nova-compute 3/3; clock skew: database skew_cell {words} this host"
    )
    assert (run.returncode, run.stderr) == (1, "")
    assert perf["clock_skew"] == f"{skew}s;-25:25"


def test_the_long_output_gives_the_measure(fresh_cell):
    run = shifted("+2m", "--db-url", fresh_cell, "--clock", "db", "-v")
    lines = run.stdout.splitlines()
    assert lines[1].startswith("clock skew: the database server of database skew_cell is 12")
    assert lines[1].endswith("s behind this host (warning above 25s)")


def test_a_small_skew_is_measured_not_alarmed_and_the_limit_follows_nova(fresh_cell):
    run = shifted("+10", "--db-url", fresh_cell, "--clock", "db")
    status, perf = split(run.stdout)
    assert (status, run.returncode) == ("NOVA_SERVICES OK - 3 of 3 services up: nova-compute 3/3", 0)
    assert perf["clock_skew"] == "-10s;-25:25"
    # service_down_time 120, report_interval 20: a healthy heartbeat reads late from (120 - 20) / 2 = 50 s of skew
    wider = shifted("+40", "--db-url", fresh_cell, "--clock", "db", "--service-down-time", "120", "--report-interval", "20")
    assert split(wider.stdout)[1]["clock_skew"] == "-40s;-50:50"
    assert wider.returncode == 0


def test_skew_warning_zero_turns_it_off(fresh_cell):
    run = shifted("+2m", "--db-url", fresh_cell, "--clock", "db", "--skew-warning", "0")
    status, perf = split(run.stdout)
    assert (status, run.returncode) == ("NOVA_SERVICES OK - 3 of 3 services up: nova-compute 3/3", 0)
    assert perf["clock_skew"] == "-120s"


@pytest.fixture
def heartbeating(mariadb, request):
    """A cell whose services heartbeat now by the real clock, written just before the check runs; and a
    conductor dead for 5 minutes. Function-scoped: the module's other tests take time, heartbeats age."""

    def make(name: str = "host_clock_cell") -> str:
        url = mariadb.create_database(name)
        now = utc_now()
        rows = [service(f"cmp{n}", "nova-compute", now, age=2.0) for n in (1, 2, 3)]
        rows += [service("ctl1", "nova-conductor", now, age=1.0), service("ctl2", "nova-conductor", now, age=300.0)]
        write_cell(url, rows)
        return url.render_as_string(hide_password=False)

    return make


@pytest.mark.parametrize(("offset", "words", "skew"), [("+2m", "2m00s ahead of", "-120s"), ("-2m", "2m00s behind", "120s")])
def test_this_hosts_wrong_clock_is_said_first_and_the_databases_clock_judges(heartbeating, offset, words, skew):
    """Issue 28: with this host's clock 2 minutes off and the database's right, every heartbeat read by this
    host's clock is 2 minutes old (or ahead): all down, a false page. The heartbeats side with the database,
    so this host is the wrong one: said first, and the services judged by the database's clock. The
    conductor that is really down stays down."""
    url = heartbeating()
    run = shifted(offset, "--db-url", url)
    status, perf = split(run.stdout)
    expected = (
        f"NOVA_SERVICES CRITICAL - this host's clock is {words} every database: judged by theirs; "
        "nova-conductor 1/2 down: ctl2 "
    )
    assert re.fullmatch(re.escape(expected) + r"\(5m0\ds\)", status), status  # 5 minutes by the database's clock
    assert (run.returncode, run.stderr, perf["clock_skew"], perf["nova-compute_down"]) == (
        2,
        "",
        f"{skew};-25:25",
        "0;0;1.5;0;3",
    )


def test_this_hosts_wrong_clock_warns_even_with_the_skew_warning_off(mariadb):
    url = mariadb.create_database("host_clock_all_up")
    write_cell(url, [service(f"cmp{n}", "nova-compute", utc_now(), age=2.0) for n in (1, 2)])
    run = shifted("+2m", "--db-url", url.render_as_string(hide_password=False), "--skew-warning", "0", "-v")
    assert run.stdout.splitlines()[:2] == [
        "NOVA_SERVICES WARNING - this host's clock is 2m00s ahead of every database: judged by theirs; "
        "2 of 2 services up: nova-compute 2/2",
        run.stdout.splitlines()[1],
    ]
    assert re.fullmatch(
        r"clock: this host's clock is 1[12]\d\.\d{3}s ahead of every database server's, and the newest heartbeats agree "
        r"with theirs: each cell judged by its server's clock \(as --clock db\); set this host's time right \(NTP\)",
        run.stdout.splitlines()[1],
    ), run.stdout
    assert (run.returncode, run.stderr) == (1, "")


def test_a_fixed_clock_is_never_second_guessed(heartbeating):
    """--clock with an instant replays an incident: the operator chose "now", the check does not move it, even
    when every heartbeat then reads 2 minutes old and the database's clock disagrees with that instant."""
    url = heartbeating()
    instant = (utc_now() + dt.timedelta(minutes=2)).isoformat(timespec="seconds")
    run = run_check("--db-url", url, "--clock", instant)
    assert re.fullmatch(
        r"NOVA_SERVICES CRITICAL - host_clock_cell: all 5 services down, newest heartbeat 2m0\ds ago", run.status
    )
    assert run.code == 2


@pytest.mark.slow
def test_one_database_off_while_another_agrees_with_this_host_keeps_this_hosts_clock(mariadb):
    """Issue 28: only one database server disagrees with this host (a second private server, started under
    faketime 2 minutes behind): that server's clock is the odd one, this host's judges as before, and the
    skew names that database. With the check's clock 2 minutes behind too, this host agrees with the late server
    only: not every database disagrees, so nothing is second-guessed either."""
    from check_nova_services.demo.writer import write_api_database

    late = MariaDB(clock_offset="-120")
    try:
        api = mariadb.create_database("host_clock_api")
        here = mariadb.create_database("host_clock_cell1")
        there = late.create_database("host_clock_cell2")
        now = utc_now()
        for url, prefix in ((here, "a"), (there, "b")):
            write_cell(url, [service(f"{prefix}-cmp{n}", "nova-compute", now, age=2.0) for n in (1, 2)])
        cells = [
            (str(uuidlib.UUID(int=n)), f"cell{n}", u.render_as_string(hide_password=False)) for n, u in ((1, here), (2, there))
        ]
        write_api_database(api, cells)
        run = run_check("--api-db-url", api.render_as_string(hide_password=False))
        assert (run.code, run.status, run.stderr) == (
            1,
            "NOVA_SERVICES WARNING - 4 of 4 services up: nova-compute 4/4; clock skew: cell2's database 2m00s behind this host",
            "",
        )
        shifted_run = shifted("-2m", "--api-db-url", api.render_as_string(hide_password=False))
        # The heartbeats, written by the real clock, lie 2 minutes ahead of this host's: down, as Nova's abs() says.
        status = shifted_run.stdout.split(" | ")[0]
        assert (shifted_run.returncode, "this host's clock" in status) == (2, False), status
        assert "; clock skew: cell1's database 2m00s ahead of this host; 4 heartbeats from the future" in status
    finally:
        late.stop()


def test_sqlite_has_no_server_clock_to_compare(tmp_path):

    path = tmp_path / "nova.sqlite"
    write_cell(f"sqlite:///{path}", [service("cmp1", "nova-compute", NOW, age=2.0)])
    run = run_check("--db-url", f"sqlite:///{path}", CLOCK)
    assert run.code == 0 and "clock_skew" not in run.stdout


@pytest.mark.parametrize("extra", [("-v",), ("-vv",)])  # counted by the database, and row by row
def test_heartbeats_from_the_future_name_the_host_while_nova_counts_them_up(cell_db, extra):
    url = cell_db(
        [
            service("cmp1", "nova-compute", NOW, age=2.0),
            service("cmp2", "nova-compute", NOW, age=-30.0),  # 30 s ahead: more than report_interval, Nova says up
            service("cmp3", "nova-compute", NOW, age=-12.0),
            service("cmp4", "nova-compute", NOW, age=-9.0),  # within report_interval: a normal race, no note
        ]
    )
    run = run_check("--db-url", url, CLOCK, *extra)
    assert run.status == (
        "NOVA_SERVICES OK - 4 of 4 services up: nova-compute 4/4; 2 heartbeats from the future: nova-compute@cmp2 (+30s) "
        "+1 more"
    )
    assert run.code == 0
    note = [line for line in run.lines if line.startswith("note: ")]
    assert note == [
        "note: 2 heartbeats more than report_interval in the future, the furthest nova-compute@cmp2 "
        f"cell={url.rsplit('/', 1)[1]} by 30s: the clock of the host that writes it (its conductor) runs ahead"
    ]


def skew_check(skew: float, limit: float | None):
    """The plugin's Check over one healthy cell whose database clock is ``skew`` seconds off this host's."""
    reading = reading_of({"cell1": [row("cmp1", age=5.0)]})
    reading = dataclasses.replace(reading, skew=(reading.cells[0], skew))
    warning = ThresholdTable([], DEFAULT_WARNING, "--warning")
    critical = ThresholdTable([], DEFAULT_CRITICAL, "--critical")
    plugin = build_check(Judgement(warning, critical, POLICY, skew_warning=limit, verbosity=1), lambda: reading)
    plugin()
    skew_perfdata = [item for item in plugin.perfdata if item.startswith("clock_skew=")]
    return plugin.exitcode, plugin.summary_str, list(plugin.verbose_str), skew_perfdata


def test_a_clock_skew_warns_beyond_its_limit_either_way_and_never_when_off():
    """Catches SkewContext ``limit is not None and abs(value) > limit`` -> ``or`` / ``is`` / ``>=`` and its
    perfdata's ``limit is None`` -> ``is not``."""
    assert skew_check(25.0, 25.0) == (0, "1 of 1 services up: nova-compute 1/1", [], ["clock_skew=25s;-25:25"])
    assert skew_check(-26.0, 25.0) == (
        1,
        "1 of 1 services up: nova-compute 1/1; clock skew: cell1's database 26s behind this host",
        [
            "clock skew: the database server of cell cell1 (00000001-4b1e-4c0d-9a2f-6d1c0c5e0001) is 26.000s "
            "behind this host (warning above 25s)"
        ],
        ["clock_skew=-26s;-25:25"],
    )
    assert skew_check(100.0, None) == (0, "1 of 1 services up: nova-compute 1/1", [], ["clock_skew=100s"])


@pytest.mark.parametrize(
    ("cells", "offset"),
    [
        ([(-120.0, 122.0)], 120.0),  # one server, 2 minutes behind this host; its newest heartbeat fresh by it
        ([(120.0, -118.0), (119.5, -117.0)], -119.5),  # every server ahead: this host behind, by at least 119.5 s
        ([(-120.0, 122.0), (None, 400.0)], 120.0),  # SQLite has no server clock: it neither votes nor vetoes
        ([(-120.0, 122.0), (-120.0, None)], 120.0),  # a cell without heartbeats does not veto
        ([(-120.0, 2.0)], None),  # the heartbeats side with this host: the server's clock is the wrong one
        ([(-120.0, 122.0), (0.5, 3.0)], None),  # another server agrees with this host
        ([(-120.0, 122.0), (30.0, -28.0)], None),  # servers off on both sides: nobody can tell
        ([(-25.0, 27.0)], None),  # within the limit (25 s): measured, not second-guessed
        ([(-120.0, None)], None),  # no heartbeat anywhere: nothing tells
        ([(None, 200.0)], None),  # nothing measured
        ([], None),
    ],
)
def test_whose_clock_is_wrong(cells, offset):
    from check_nova_services.rule.clocks import host_clock_offset

    assert host_clock_offset(cells, 25.0) == offset


def test_this_hosts_wrong_clock_warns_whatever_the_skew_limit():
    """The host-clock fact comes first, replaces the skew fact it explains, and is WARNING even with the skew
    warning off; no perfdata of its own (clock_skew has the measure)."""
    reading = reading_of({"cell1": [row("cmp1", age=5.0)]})
    reading = dataclasses.replace(reading, skew=(reading.cells[0], -120.0), host_clock=120.0)
    warning = ThresholdTable([], DEFAULT_WARNING, "--warning")
    critical = ThresholdTable([], DEFAULT_CRITICAL, "--critical")
    for limit in (25.0, None):
        plugin = build_check(Judgement(warning, critical, POLICY, skew_warning=limit), lambda: reading)
        plugin()
        assert (plugin.exitcode, plugin.summary_str) == (
            1,
            "this host's clock is 2m00s ahead of every database: judged by theirs; 1 of 1 services up: nova-compute 1/1",
        )
        assert not [item for item in plugin.perfdata if item.startswith("host_clock")]

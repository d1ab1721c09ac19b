"""Clock skew (issue 13): this host's clock against each database server's, measured every run; and
heartbeats from the future, which mean the clock of whoever writes them runs ahead.

The check's clock is shifted with faketime (no sleeping for minutes); the database server keeps the real time.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys

import pytest

from check_nova_services.demo.writer import service, write_cell
from check_nova_services.plugin.check import build_check
from check_nova_services.rule.thresholds import DEFAULT_CRITICAL, DEFAULT_WARNING, ThresholdTable
from check_nova_services.settings import Judgement
from check_nova_services.shared.timestamps import utc_now
from tests.conftest import CLOCK, NOW, clean_env, run_check
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
    return status, dict(item.strip("'").split("=", 1) for item in perf.split())


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


def test_the_skew_is_why_services_look_down_on_the_local_clock(fresh_cell):
    """With this host's clock 2 minutes behind, every heartbeat looks 2 minutes in the future: Nova's
    abs() calls them down, and the skew fact says why."""
    run = shifted("-2m", "--db-url", fresh_cell)
    status, _ = split(run.stdout)
    assert re.fullmatch(
        re.escape(
            "NOVA_SERVICES CRITICAL - skew_cell: all 3 services down; clock skew: database skew_cell 2m00s ahead of "
            "this host; 3 heartbeats from the future: nova-compute@cmp"
        )
        + r"\d \(\+11\ds\) \+2 more",
        status,
    ), status


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

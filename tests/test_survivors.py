"""One test per mutant that survived the fast suite, each at the boundary the mutant moves: first the
eight of issue 15, then the non-equivalent survivors that ``tests/mutate.py`` found in the rule, the
policy, the thresholds and contexts, the settings, the selection and the cells code.

Each test names the mutant it kills; each was checked by applying that mutant (by hand in a scratch copy
for the eight, with ``tests/mutate.py --only MODULE:N --tests tests/test_survivors.py`` for the others):
it fails on the mutant and passes on the code as it is. Rows in memory go through the plugin's own row
path and nagiosplugin Check (tests/factories.py); settings through ``build_settings``; the database path,
the URL handling and cell discovery through the plugin's ``main()`` in this process or its functions,
over SQLite files or a closed port, which is as fast.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
import threading
import time

import pytest
from sqlalchemy.engine import make_url

from check_nova_services.cli.options import build_parser
from check_nova_services.demo.writer import service, write_api_database, write_cell
from check_nova_services.output.long_output import long_output
from check_nova_services.plugin.check import build_check
from check_nova_services.readings import Cell, Deployment, combine
from check_nova_services.rule.policy import PROBLEM_LIMIT, Policy, Standing, TallyBuilder, assess
from check_nova_services.rule.selection import Selection, ServiceFilter
from check_nova_services.rule.thresholds import DEFAULT_CRITICAL, DEFAULT_WARNING, ThresholdTable
from check_nova_services.settings import Judgement, build_settings
from check_nova_services.shared.deadline import Deadline
from check_nova_services.shared.errors import ConfigError, ReadError
from check_nova_services.sources.cells import CellSource, ReadPlan, database_name, discover, judge_rows, read_cell
from check_nova_services.sources.fanout import read_cells
from check_nova_services.sources.urls import (
    add_password,
    format_db_url,
    option_file,
    parse_db_url,
    show_url,
    with_api_credentials,
)
from tests.conftest import CLOCK, NOW, free_port
from tests.factories import NOW as FACTORY_NOW
from tests.factories import POLICY, check, controllers, reading_of, row
from tests.faults_helpers import run_in_process


def settings_of(*argv: str):
    """The settings of a run, as cli.run decides them (no environment, no nova.conf: a URL is given)."""
    args = build_parser().parse_args(["--db-url", "sqlite:///unused.sqlite", *argv])
    return build_settings(args, Deadline.after(10), environ={})


# 1. policy.assess: LATE is abs(age) > age_warning


def test_a_heartbeat_exactly_at_the_age_warning_is_not_late():
    """Kills policy.assess ``abs(age) > policy.age_warning`` -> ``>=`` (issue mutant 1, assess.py)."""
    assert POLICY.age_warning == 35
    run = check({"cell1": controllers("ctl1") + [row("cmp1", age=35.0), row("cmp2", age=5.0)]}, verbosity=1)
    assert run.line == "NOVA_SERVICES OK - 4 of 4 services up: nova-conductor 1/1, nova-scheduler 1/1, nova-compute 2/2"
    assert (run.code, run.long, run.perfdata["nova-compute_late"]) == (0, [], "0;0;;0;2")
    late = check({"cell1": controllers("ctl1") + [row("cmp1", age=35.000001), row("cmp2", age=5.0)]})
    assert late.line == "NOVA_SERVICES WARNING - 1 heartbeat late: nova-compute@cmp1 (35s)"
    assert late.code == 1


# 2. the age warning in the database's count (the SQL form of the policy) and in LateContext


def test_the_database_count_does_not_call_a_heartbeat_exactly_at_the_age_warning_late(tmp_path):
    """Kills the old AgeContext ``metric.value > limit`` -> ``>=`` (issue mutant 2), where that comparison
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


# 3. --clock with an offset is converted to UTC


def test_a_clock_with_an_offset_is_converted_to_naive_utc():
    """Kills dropping the offset conversion of --clock (issue mutant 3, parse_clock; now timestamps.parse_timestamp
    ``moment -= sign * offset`` removed, or its sign flipped)."""
    assert settings_of("--clock", "2026-11-26T14:00:00+02:00").clock == dt.datetime(2026, 11, 26, 12, 0, 0)
    assert settings_of("--clock", "2026-11-26T08:30:00-03:30").clock == dt.datetime(2026, 11, 26, 12, 0, 0)
    assert settings_of("--clock", "2026-11-26T12:00:00Z").clock == dt.datetime(2026, 11, 26, 12, 0, 0)


def test_a_clock_with_an_offset_judges_as_its_utc_instant(tmp_path):
    """The same mutant seen by the on-call person: a 5 s old heartbeat read at 14:00+02:00 is up, not 2h down."""
    url = f"sqlite:///{tmp_path}/cell.sqlite"
    write_cell(url, [service("cmp1", "nova-compute", NOW, age=5.0)])
    run = run_in_process("--db-url", url, "--clock", "2026-11-26T14:00:00+02:00")
    assert (run.status, run.code) == ("NOVA_SERVICES OK - 1 of 1 services up: nova-compute 1/1", 0)


# 4. Deployment.zone_of decides "compute" by topic


def test_a_compute_row_without_the_compute_topic_is_in_the_internal_zone():
    """Kills Deployment.zone_of deciding by ``binary`` instead of ``topic`` (issue mutant 4): Nova's
    set_availability_zones gives aggregate zones to topic 'compute' only, so a nova-compute row whose topic
    is NULL is 'internal' and --zone az1 leaves it out."""
    deployment = Deployment([], zones_by_host={"cmp1": {"az1"}, "cmp2": {"az1"}})
    with_topic = row("cmp1", age=5.0)
    without_topic = dataclasses.replace(row("cmp2", age=5.0), topic=None)
    assert [deployment.zone_of(r) for r in (with_topic, without_topic)] == ["az1", "internal"]
    selection = Selection(zones=("az1",))
    plan = ReadPlan(selection.where, POLICY, FACTORY_NOW, in_database=False, keep_all=True, keeps=selection.keeps)
    cell = Cell("cell1", "11111111-1111-4111-8111-111111111111", None)
    reading = judge_rows(cell, [with_topic, without_topic], plan, deployment.zone_of, FACTORY_NOW)
    lines = long_output(combine(Deployment([cell]), [reading], narrowed=True), every_service=True)
    assert lines == [
        "up: nova-compute@cmp1 cell=cell1 zone=az1 status=enabled state=up heartbeat=5s ago "
        "(last_seen_up 2026-11-26 14:59:55) forced_down=no disabled_reason=-"
    ]


# 5. the default age warning from the effective down time


def test_the_default_age_warning_comes_from_the_effective_down_time():
    """Kills build_settings computing the default --age-warning from the configured service_down_time
    instead of the effective one (issue mutant 5): 10 and 10 make Nova use 25 s, so the warning is at 17.5 s."""
    settings = settings_of("--service-down-time", "10", "--report-interval", "10")
    assert (settings.service_down_time, settings.report_interval) == (10, 10)
    assert (settings.policy.down_time, settings.policy.age_warning) == (25, 17.5)
    run = check({"cell1": [row("cmp1", age=15.0)]}, policy=Policy(down_time=25, age_warning=settings.policy.age_warning))
    assert (run.line, run.code) == ("NOVA_SERVICES OK - 1 of 1 services up: nova-compute 1/1", 0)


# 6. --cell narrows the view


def test_a_threshold_typo_is_not_pointed_out_when_cell_narrowed_the_view():
    """Kills Selection.narrowed leaving out ``cells`` (issue mutant 6): under --cell a binary named in -w/-c
    may well live in another cell, so the "no such service" note is left out, as under --host."""
    cells = {"cell1": [row("cmp1", age=5.0)]}
    narrowed = check(cells, warning=("nova-conductor=0",), selection=Selection(cells=("cell1",)))
    assert (narrowed.line, narrowed.code) == ("NOVA_SERVICES OK - 1 of 1 services up: nova-compute 1/1", 0)
    whole = check(cells, warning=("nova-conductor=0",))
    assert whole.line == "NOVA_SERVICES OK - 1 of 1 services up: nova-compute 1/1; -w/-c nova-conductor: no such service"


# 7. disabled cells are read


def test_a_disabled_cell_is_still_read(tmp_path):
    """Kills cells.discover skipping disabled cell mappings (issue mutant 7): a disabled cell takes no new
    instances, but its services are Nova's services all the same (Nova's API lists them)."""
    cells = []
    for name, host, age in (("cell1", "cmp1", 5.0), ("cell2", "cmp2", 95.0)):
        url = f"sqlite:///{tmp_path}/{name}.sqlite"
        write_cell(url, [service(host, "nova-compute", NOW, age=age)])
        cells.append((f"{name[-1] * 8}-0000-4000-8000-00000000000{name[-1]}", name, url))
    api = f"sqlite:///{tmp_path}/api.sqlite"
    write_api_database(api, cells, disabled=("cell2",))
    run = run_in_process("--api-db-url", api, CLOCK, "-v")
    assert run.lines[:2] == [
        "NOVA_SERVICES WARNING - nova-compute 1/2 down: cmp2 (95s)",
        "down: nova-compute@cmp2 cell=cell2 zone=nova status=enabled state=down heartbeat=95s ago "
        "(last_seen_up 2026-11-26 11:58:25) forced_down=no disabled_reason=-",
    ]
    assert (run.perfdata["cells_total"], run.code) == ("2;;;0", 1)


# 8. mysql:// is read with PyMySQL


def test_a_mysql_url_is_read_with_pymysql():
    """Kills parse_db_url's ``mysql://`` -> ``mysql+pymysql://`` rewrite removed (issue mutant 8): nova.conf
    files often say mysql://, and without the rewrite SQLAlchemy wants MySQLdb (No module named 'MySQLdb')."""
    run = run_in_process("--db-url", f"mysql://nova:pw@127.0.0.1:{free_port()}/nova", CLOCK)
    assert run.status == (
        "NOVA_SERVICES UNKNOWN - database nova unreachable: "
        "Can't connect to MySQL server on '127.0.0.1' ([Errno 111] Connection refused) (error 2003)"
    )
    assert (run.code, run.stderr) == (3, "")


# --- survivors of tests/mutate.py (a run over the core modules), each killed here ------------------------


def problems(n: int, binary: str = "nova-compute", age: float = 95.0, prefix: str = "h") -> list:
    """``n`` assessed services of one binary, down (95 s) by default, with increasing row ids."""
    return [assess(row(f"{prefix}{i:04d}", binary, age=age), "cell1", FACTORY_NOW, POLICY) for i in range(n)]


def test_a_cell_hands_over_its_first_100_problems_most_important_first():
    """Kills policy PROBLEM_LIMIT = 100 -> 101 (mutate.py policy:1): each cell hands over at most 100
    problem services, the first 100 in problem order, whatever the order they were read in."""
    services = problems(150)
    builder = TallyBuilder(POLICY)
    for a in reversed(services):
        builder.add(a)
    assert builder.kept_problems() == services[:100]
    assert builder.tallies["nova-compute"].down == 150


def test_a_cell_never_holds_more_than_twice_the_problems_it_hands_over():
    """Kills removing TallyBuilder.add's ``self._trim()`` and ``2 * problem_limit`` -> ``3 *`` (mutate.py
    policy:73, policy:74): memory is bounded by what can be shown, not by the size of the outage."""
    builder = TallyBuilder(POLICY)
    most = 0
    for a in problems(1000):
        builder.add(a)
        most = max(most, len(builder.problems))
    assert most == 2 * PROBLEM_LIMIT
    assert len(builder.kept_problems()) == PROBLEM_LIMIT


def test_the_cut_keeps_a_dead_conductor_before_dead_schedulers():
    """Kills binary_rank's nova-conductor 0 -> 1 (mutate.py policy:9): under the cut of 100 problems, a dead
    conductor read after 100 dead schedulers is kept (it explains them), not dropped by row id."""
    builder = TallyBuilder(POLICY)
    for a in problems(100, "nova-scheduler") + problems(1, "nova-conductor", prefix="ctl"):
        builder.add(a)
    kept = builder.kept_problems()
    assert [a.row.binary for a in kept[:2]] == ["nova-conductor", "nova-scheduler"]
    assert len(kept) == 100


def test_the_cut_keeps_an_unjudgeable_service_before_late_ones():
    """Kills PROBLEM_RANK's UNREADABLE 0 -> 1 (mutate.py policy:4): a service that cannot be judged counts as
    down, so under the cut it ranks with the down ones, before 100 late heartbeats read before it."""
    late = problems(100, age=40.0)
    unreadable = dataclasses.replace(
        row("zero", age=None), last_seen_up=None, unreadable=(("last_seen_up", "0000-00-00 00:00:00"),)
    )  # read after the late ones: a higher row id
    builder = TallyBuilder(POLICY)
    for a in [*late, assess(unreadable, "cell1", FACTORY_NOW, POLICY)]:
        builder.add(a)
    kept = builder.kept_problems()
    assert (kept[0].row.host, kept[0].standing, kept[1].standing) == ("zero", Standing.UNREADABLE, Standing.LATE)


def test_a_heartbeat_of_this_very_instant_is_never_late():
    """Kills policy.assess ``abs(verdict.age or 0.0)`` -> ``or 1.0`` (mutate.py policy:30): with an age
    warning under a second, a heartbeat written exactly now (age 0) is up, not late."""
    run = check({"cell1": [row("cmp1", age=0.0)]}, policy=Policy(down_time=60, age_warning=0.5))
    assert (run.line, run.code) == ("NOVA_SERVICES OK - 1 of 1 services up: nova-compute 1/1", 0)


def test_the_furthest_heartbeat_from_the_future_is_the_one_named():
    """Kills in Policy.ahead ``age < -ahead_after`` -> ``<=`` (policy:17) and in TallyBuilder's furthest_ahead
    ``<`` -> ``<=`` (policy:64) and each ``age or 0.0`` -> ``age and 0.0`` (policy:65, policy:67): exactly
    report_interval ahead is not ahead; the furthest is named, the first met of a tie (as the SQL form's
    ORDER BY heartbeat DESC, id)."""
    policy = Policy(down_time=60, age_warning=None, ahead_after=10)
    ages = {"cmpA": -30.0, "cmpB": -50.0, "cmpC": -50.0, "cmpD": -20.0, "cmpE": -10.0, "cmpF": -5.0}
    run = check({"cell1": [row(host, age=age) for host, age in ages.items()]}, policy=policy, verbosity=1)
    assert run.line == (
        "NOVA_SERVICES OK - 6 of 6 services up: nova-compute 6/6; "
        "4 heartbeats from the future: nova-compute@cmpB (+50s) +3 more"
    )
    assert run.long == [
        "note: 4 heartbeats more than report_interval in the future, the furthest nova-compute@cmpB cell=cell1 "
        "by 50s: the clock of the host that writes it (its conductor) runs ahead"
    ]
    assert run.code == 0


def test_a_threshold_of_only_a_double_dash_needs_a_range():
    """Kills ThresholdTable's ``not isinstance(spec, str) or spec.strip() == "--"`` -> ``and`` (mutate.py
    thresholds:22): "-w --" (a string since Python 3.13, an empty list before) is one clear message."""
    for spec in ("--", " -- ", []):
        with pytest.raises(ConfigError) as raised:
            ThresholdTable([spec], DEFAULT_WARNING, "--warning")
        assert str(raised.value) == "--warning needs a range (expected [@][START:][END], e.g. 0, 2, 10%, @1:5, 3:)"


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
    """Kills SkewContext ``limit is not None and abs(value) > limit`` -> ``or`` / ``is`` / ``>=`` and its
    perfdata's ``limit is None`` -> ``is not`` (mutate.py contexts:19 to contexts:22)."""
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


def test_settings_keep_their_secrets_out_of_their_repr():
    """Kills Settings.secrets ``field(repr=False)`` -> ``repr=True`` (mutate.py settings:1): a Settings
    printed in a debugger, a log line or a traceback must not carry the password."""
    settings = settings_of("--db-url", "mysql+pymysql://nova:Repr-Secret-1@db.example.org/nova")
    assert settings.secrets == ("Repr-Secret-1",)
    assert "Repr-Secret-1" not in repr(settings)


def test_the_debug_lines_name_the_api_database_and_the_template_base():
    """Kills removing Settings.debug_lines' API database line (mutate.py settings:6): -vvv says which API
    database the cells came from, and which URL the cell templates are formatted from."""
    settings = settings_of("--api-db-url", "sqlite:///api.sqlite")
    assert settings.debug_lines() == [
        "config files read: none",
        "service_down_time 60s (configured 60, report_interval 10); age warning 35.0; skew warning 25.0; clock local",
        "API database sqlite:///api.sqlite; cell template base sqlite:///unused.sqlite",
    ]


def test_no_database_to_check_names_the_config_dir_that_was_searched(tmp_path, monkeypatch):
    """Kills ``where = "--config-dir" if any(kind == "dir" ...)`` -> ``!=`` (mutate.py settings:15)."""
    monkeypatch.setenv("HOME", str(tmp_path))
    empty = tmp_path / "nova.conf.d"
    empty.mkdir()
    args = build_parser().parse_args(["--config-dir", str(empty)])
    with pytest.raises(ConfigError) as raised:
        build_settings(args, Deadline.after(10), environ={})
    assert str(raised.value) == (
        "no database to check: give --db-url, --api-db-url, NOVA_SERVICES_DB_URL or --config-file "
        "(no nova.conf in ~/.nova, ~, /etc/nova or /etc, no *.conf in --config-dir)"
    )


def test_the_zones_default_to_novas_names(tmp_path):
    """Kills ``conf.internal_service_availability_zone or "internal"`` -> ``and`` (mutate.py settings:25):
    without the option in nova.conf, the control plane's zone is Nova's default, internal."""
    source = settings_of().source
    assert (source.default_zone, source.internal_zone) == ("nova", "internal")
    conf = tmp_path / "nova.conf"
    conf.write_text("[DEFAULT]\ninternal_service_availability_zone = ops\ndefault_availability_zone = az0\n")
    source = settings_of("--config-file", str(conf)).source
    assert (source.default_zone, source.internal_zone) == ("az0", "ops")


def test_a_given_skew_warning_is_used_and_zero_turns_it_off():
    """Kills default_skew_warning's ``return given or None`` -> ``given and None`` (mutate.py settings:36)."""
    assert [settings_of(*given).judgement.skew_warning for given in ((), ("--skew-warning", "5"), ("--skew-warning", "0"))] == [
        25.0,
        5.0,
        None,
    ]


def test_filters_up_to_120_characters_are_quoted_longer_ones_counted():
    """Kills ``len(" ".join(filters)) > 120`` -> ``>=`` and 120 -> 121 (mutate.py settings:40, settings:41):
    "no services matched (...)" quotes the filters up to 120 characters, and counts them beyond."""
    at_limit = settings_of("--host", "a" * 52, "--host", "b" * 53).selection.text
    assert at_limit == f" (--host {'a' * 52} --host {'b' * 53})"
    assert len(at_limit) == len(" ()") + 120
    assert settings_of("--host", "a" * 52, "--host", "b" * 54).selection.text == " (2 --host)"


def test_a_binary_filter_keeps_exact_matches_only():
    """Kills Selection.keeps' binary test ``return False`` -> ``return True`` (mutate.py selection:8): --binary
    is an exact match in Python too, as Nova's ?binary= is (the SQL filter is exact as well)."""
    selection = Selection(binaries=("nova-compute",))
    rows = [row("cmp1"), row("cmp2", "Nova-Compute"), row("cmp3", "nova-compute "), row("ctl1", "nova-conductor")]
    assert [r.host for r in rows if selection.keeps(r, None)] == ["cmp1"]


def test_cells_and_cell_sources_keep_their_urls_out_of_their_repr():
    """Kills ``field(repr=False)`` -> ``repr=True`` on Cell.url, CellSource.db_url and CellSource.api_url
    (mutate.py cells:2, cells:41, cells:42): SQLAlchemy's repr hides the password but not a query option
    that carries one."""
    url = make_url("mysql+pymysql://nova@db.example.org/nova?password=Query-Secret-2")
    things = [Cell("cell1", None, url), CellSource(url, None), CellSource(None, url)]
    assert [repr(thing).count("Query-Secret-2") for thing in things] == [0, 0, 0]


def sqlite_cell(tmp_path, name: str = "cell1") -> Cell:
    path = tmp_path / f"{name}.sqlite"
    write_cell(f"sqlite:///{path}", [service("cmp1", "nova-compute", NOW, age=5.0)])
    return Cell(name, None, make_url(f"sqlite:///{path}"))


class UsableLink:
    """A connection that is never used: the read under test fails before it would be."""

    answered = False

    def usable(self) -> bool:
        return True

    def close(self) -> None:
        pass


def test_a_cell_that_cannot_be_tried_says_why():
    """Kills read_cells' ``cell.problem or "no database URL"`` -> ``and`` (mutate.py cells:29): a cell whose
    URL template did not format is reported with that reason, not a generic one."""
    cells = [Cell("cell1", None, None, problem="cell cell1's database_connection is not a database URL")]
    [reading] = read_cells(cells, lambda cell, link: pytest.fail("a cell without a URL is not read"), Deadline.after(5))
    assert reading.error == "cell cell1's database_connection is not a database URL"


def test_an_unexpected_failure_of_a_cell_is_one_line_without_its_password():
    """Kills ``str(cell.url.password or "")`` -> ``and`` in read_cells (mutate.py cells:30): whatever a driver
    raises, the cell's password is masked in the reason."""
    cell = Cell("cell1", None, make_url("mysql+pymysql://nova:Cell-Secret-3@db.example.org/nova"))

    def read(cell, link):
        raise RuntimeError("handshake with nova:Cell-Secret-3@db.example.org\nfailed")

    [reading] = read_cells([cell], read, Deadline.after(5), connect=lambda url, deadline: UsableLink())
    assert reading.error == "RuntimeError: handshake with nova:***@db.example.org failed"


def test_a_cell_that_never_answers_is_abandoned_on_a_daemon_thread():
    """Kills ``daemon=True`` -> ``False`` in read_cells (mutate.py cells:31): a cell stuck in a socket read
    must not keep the process alive past its timeout."""
    release = threading.Event()

    def read(cell, link):
        release.wait(30)
        raise AssertionError("released")

    cell = Cell("stuck", None, make_url("sqlite:///stuck.sqlite"))
    before = set(threading.enumerate())
    try:
        [reading] = read_cells(
            [cell], read, Deadline(at=time.monotonic() + 0.2, seconds=1), connect=lambda url, deadline: UsableLink()
        )
        stuck = [thread for thread in threading.enumerate() if thread not in before and thread.is_alive()]
        assert reading.error == "no answer within the 1s timeout"
        assert [thread.daemon for thread in stuck] == [True]
    finally:
        release.set()


def test_a_cell_read_says_what_it_found_at_vvv(tmp_path, caplog):
    """Kills ``outcome.error is None`` -> ``is not`` in read_cells' debug lines (mutate.py cells:36) and the
    time arithmetic of read_cell and judge_rows (mutate.py cells:12, cells:21, cells:23)."""
    cell = sqlite_cell(tmp_path)
    plan = ReadPlan(ServiceFilter(), POLICY, NOW)
    rows_plan = dataclasses.replace(plan, in_database=False)
    with caplog.at_level(logging.DEBUG, logger="nagiosplugin.check_nova_services"):
        counted, listed = read_cells(
            [cell, dataclasses.replace(cell, name="cell2")],
            lambda c, link: read_cell(c, link, plan if c.name == "cell1" else rows_plan, lambda row: None),
            Deadline.after(5),
        )
    assert (counted.error, counted.services, listed.error, listed.services) == (None, 1, None, 1)
    assert 0 < counted.seconds < 5 and 0 < listed.seconds < 5
    assert judge_rows(cell, [], rows_plan, lambda row: None, NOW).seconds == 0.0
    lines = [re.sub(r"in [0-9.]+s", "in Ns", record.getMessage()) for record in caplog.records]
    assert lines == [f"cell {name}: 1 services in Ns from {cell.url}" for name in ("cell1", "cell2")]


def test_a_cell_url_template_is_formatted_with_the_real_password(tmp_path):
    """Kills discover's ``render_as_string(hide_password=False)`` -> ``True`` (mutate.py cells:52): Nova's
    templates ({password}) are formatted from [database]/connection with its password, not with "***"."""
    api = f"sqlite:///{tmp_path}/api.sqlite"
    template = "{scheme}://{username}:{password}@{hostname}:{port}/nova_cell1"
    write_api_database(api, [("11111111-1111-4111-8111-111111111111", "cell1", template)])
    base = make_url("mysql+pymysql://nova:Tmpl-Secret%2F4@db.example.org:3306/nova")
    [cell] = discover(make_url(api), base, Deadline.after(5)).cells
    assert (cell.url.username, cell.url.password, cell.url.host, cell.url.database) == (
        "nova",
        "Tmpl-Secret/4",
        "db.example.org",
        "nova_cell1",
    )


def test_a_cell_whose_url_cannot_be_read_does_not_hide_the_cells_after_it(tmp_path):
    """Kills discover's ``continue`` -> ``break`` after a cell URL that cannot be read (mutate.py cells:59)."""
    api = f"sqlite:///{tmp_path}/api.sqlite"
    write_api_database(
        api,
        [
            ("11111111-1111-4111-8111-111111111111", "cell1", "not a url"),
            ("22222222-2222-4222-8222-222222222222", "cell2", f"sqlite:///{tmp_path}/cell2.sqlite"),
        ],
    )
    cells = discover(make_url(api), None, Deadline.after(5)).cells
    assert [(c.name, c.problem) for c in cells] == [
        ("cell1", "cell cell1's database_connection is not a database URL (expected e.g. mysql+pymysql://user@host/nova)"),
        ("cell2", None),
    ]


def test_a_missing_cell_is_named_with_the_cells_there_are(tmp_path):
    """Kills ``m.name or m.uuid`` -> ``and`` in discover's "no cell" message (mutate.py cells:62): the cells
    are listed by name, an unnamed one by its uuid."""
    api = f"sqlite:///{tmp_path}/api.sqlite"
    unnamed = "22222222-2222-4222-8222-222222222222"
    write_api_database(
        api,
        [
            ("11111111-1111-4111-8111-111111111111", "cell1", f"sqlite:///{tmp_path}/cell1.sqlite"),
            (unnamed, None, f"sqlite:///{tmp_path}/cell2.sqlite"),
        ],
    )
    with pytest.raises(ReadError) as raised:
        discover(make_url(api), None, Deadline.after(5), only=("cell9",))
    assert str(raised.value) == f"no cell cell9 in the API database (cells: cell1, {unnamed})"


# --- urls.py: the survivors that change what the check reads or says ------------------------------------

AMBIGUOUS = (
    "--db-url: cannot tell the password from the host; percent-encode @ / ? # in the user name and password (%40 %2F %3F %23)"
)


@pytest.mark.parametrize(
    "text",
    [
        "mysql+pymysql://nova:Pa?ss@db.example.org/nova",
        "mysql+pymysql://nova:3306?x@db.example.org:3306/nova",
        "mysql+pymysql://nova:pw@db.example.org:99999/nova",
    ],
    ids=["raw ? in the password", "the part before a raw ? reads as host and port", "port out of range"],
)
def test_a_url_that_urllib_reads_otherwise_is_refused(text):
    """Kills _same_userinfo's ``== "sqlite"`` -> ``!=``, ``"://" not in`` -> ``in``, its ``and`` -> ``or``
    and its ``except ValueError: return False`` -> ``True`` (mutate.py urls:17, urls:19, urls:23, urls:21):
    where SQLAlchemy and urllib (Nova's templates) disagree on the user-info, the URL is refused."""
    with pytest.raises(ConfigError) as raised:
        parse_db_url(text, "--db-url")
    assert str(raised.value) == AMBIGUOUS


def test_an_sqlite_path_may_hold_at_signs():
    """Kills _userinfo_is_ambiguous' ``not sep or scheme...startswith("sqlite")`` -> ``and`` (mutate.py
    urls:8): an SQLite URL has no user-info, so '@' in its path is no ambiguity."""
    assert parse_db_url("sqlite:////srv/a@b/c@d.sqlite", "--db-url").database == "/srv/a@b/c@d.sqlite"


def test_an_unsupported_backend_is_named_in_40_characters():
    """Kills _printable's ``[:40]`` -> ``[:41]`` (mutate.py urls:33)."""
    with pytest.raises(ConfigError) as raised:
        parse_db_url("a" * 45 + "://nova@db.example.org/nova", "--db-url")
    assert str(raised.value) == (
        f"--db-url: {'a' * 40} is not supported; Nova's databases are read from MySQL/MariaDB (mysql+pymysql://) "
        "or SQLite (sqlite:///)"
    )


def test_the_environments_password_fills_only_a_named_user_without_one():
    """Kills add_password's ``password and url.username and url.password is None`` -> ``or`` (mutate.py
    urls:34): NOVA_SERVICES_DB_PASSWORD never replaces a URL's own password, nor gives one to no user."""
    urls = ["mysql+pymysql://nova:own@db/nova", "mysql+pymysql://db/nova", "mysql+pymysql://nova@db/nova"]
    assert [add_password(make_url(text), "from-env").password for text in urls] == ["own", None, "from-env"]


def test_an_option_file_is_read_as_mysql_and_pymysql_read_it(tmp_path):
    """Kills option_file's ``allow_no_value=True`` -> ``False`` and ``strict=False`` -> ``True``, and _unquote's
    ``len(value) >= 2`` -> ``>`` / ``>= 3`` (mutate.py urls:41, urls:42, urls:47, urls:49): options without a
    value (skip-ssl), an option given twice (the last wins) and an empty quoted value."""
    cnf = tmp_path / "monitor.cnf"
    cnf.write_text('[client]\nuser = nova\nskip-ssl\npassword = ""\nuser = monitor\nssl_ca = "/etc/ca.pem"\n')
    assert option_file(make_url(f"mysql+pymysql://db.example.org/nova?read_default_file={cnf}")) == {
        "user": "monitor",
        "skip-ssl": "",
        "password": "",
        "ssl-ca": "/etc/ca.pem",
    }


def test_a_multi_host_template_keeps_a_colon_in_the_password():
    """Kills _netloc_parts' ``userpass.split(":", 1)`` -> ``split(":", 2)`` (mutate.py urls:79): Nova's
    {password1} is everything after the first ':' of the first host's user-info."""
    base = "mysql+pymysql://nova:pa:ss@db1:3306,nova:pa:ss@db2:3307/nova"
    assert format_db_url("{scheme}://{username2}:{password2}@{hostname2}:{port2}/x", base) == (
        "mysql+pymysql://nova:pa:ss@db2:3307/x"
    )


# --- cells.py: the survivors of a second run over cells, settings and urls --------------------------------


def test_rows_judged_in_python_are_judged_at_the_fixed_clock(tmp_path):
    """Kills read_cell's ``now or (clock.now ...)`` -> ``and`` (mutate.py cells:15): --exclude reads rows and
    judges them in Python, at the --clock instant like the database's count, not at this host's time."""
    url = f"sqlite:///{tmp_path}/nova.sqlite"
    write_cell(url, [service("cmp1", "nova-compute", NOW, age=5.0), service("cmp2", "nova-compute", NOW, age=95.0)])
    run = run_in_process("--db-url", url, CLOCK, "--exclude", "cmp9")
    assert (run.status, run.code) == ("NOVA_SERVICES WARNING - nova-compute 1/2 down: cmp2 (95s)", 1)


def test_a_row_left_out_by_a_filter_does_not_end_the_cell():
    """Kills judge_rows' ``continue`` -> ``break`` after a row the filters leave out (mutate.py cells:17)."""
    rows = [row("cmp1", age=95.0), row("cmp2", age=95.0), row("cmp3")]
    reading = reading_of({"cell1": rows}, selection=Selection(hosts=("cmp2", "cmp3")))
    assert [(s.row.host, s.standing) for s in reading.problems] == [("cmp2", Standing.DOWN)]
    assert reading.total == 2


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("sqlite:////var/lib/demo/cell7.sqlite", "cell7"),
        ("sqlite:///relative/cell.v2.sqlite", "cell.v2"),
        ("mysql+pymysql://nova@db.example.org/nova_cell1", "nova_cell1"),
        ("mysql+pymysql://nova@db.example.org", "nova"),
    ],
)
def test_a_single_database_is_called_by_its_name_or_its_files_stem(url, name):
    """Kills database_name's ``url.database or "nova"`` -> ``and``, ``[0]`` -> ``[1]`` and ``== "sqlite"`` ->
    ``!=`` (mutate.py cells:46, cells:47, cells:48)."""
    assert database_name(make_url(url)) == name


def test_a_single_database_without_a_name_is_called_nova_on_the_pager_line():
    run = run_in_process("--db-url", f"mysql+pymysql://nova:pw@127.0.0.1:{free_port()}", CLOCK)
    assert run.status.startswith("NOVA_SERVICES UNKNOWN - database nova unreachable: Can't connect to MySQL server")


def test_cell_picks_cells_by_name_or_uuid_wherever_they_are_in_the_api_database(tmp_path):
    """Kills discover's ``name not in only`` -> ``in``, ``mapping.uuid not in only`` -> ``in`` and the
    ``continue`` -> ``break`` after a cell left out (mutate.py cells:55, cells:56, cells:57)."""
    api = f"sqlite:///{tmp_path}/api.sqlite"
    uuids = [f"{i}{i}{i}{i}{i}{i}{i}{i}-{i}{i}{i}{i}-4{i}{i}{i}-8{i}{i}{i}-{i * 12}" for i in "123"]
    write_api_database(api, [(uuid, f"cell{i}", f"sqlite:///{tmp_path}/cell{i}.sqlite") for i, uuid in zip("123", uuids)])
    for only, wanted in [(("cell2",), ["cell2"]), ((uuids[2],), ["cell3"]), (("cell3", uuids[0]), ["cell1", "cell3"])]:
        assert [c.name for c in discover(make_url(api), None, Deadline.after(5), only=only).cells] == wanted


# --- urls.py: the survivors of the second run, on the pure functions that build what the check reads ----


def test_a_plugin_option_is_dropped_and_every_other_option_kept():
    """Kills ``"plugin" in url.query`` -> ``not in`` (mutate.py urls:6): a URL never makes the check load code."""
    assert dict(parse_db_url("mysql://nova@db/nova?plugin=evil&charset=utf8", "--db-url").query) == {"charset": "utf8"}
    assert dict(parse_db_url("mysql://nova@db/nova?charset=utf8", "--db-url").query) == {"charset": "utf8"}


def test_every_option_that_carries_a_password_is_masked_when_a_url_is_shown():
    """Kills is_secret_option's ``in`` -> ``not in`` (twice) and ``or`` -> ``and`` (mutate.py urls:36 to urls:38)."""
    url = make_url("mysql+pymysql://u:s1@db/nova?PASSWORD=s2&passwd=s3&ssl_key_password=s4&charset=utf8")
    assert show_url(url) == "mysql+pymysql://u:***@db/nova?PASSWORD=***&charset=utf8&passwd=***&ssl_key_password=***"


def test_an_option_file_is_read_from_the_client_group_unless_another_is_named(tmp_path):
    """Kills option_file's ``isinstance(group, str) and group`` -> ``or`` (mutate.py urls:44)."""
    path = tmp_path / "my.cnf"
    path.write_text("[client]\nuser = from_client\n[nagios]\nuser = from_nagios\n")
    base = f"mysql+pymysql://db/nova?read_default_file={path}"
    assert option_file(make_url(base)) == {"user": "from_client"}
    assert option_file(make_url(base + "&read_default_group=nagios")) == {"user": "from_nagios"}


def test_a_cell_is_read_with_the_api_databases_user_password_and_tls(tmp_path):
    """Kills with_api_credentials' ``api.username or ...`` -> ``and``, ``password is None`` -> ``is not``,
    ``_first_text(...) or ...`` -> ``and``, ``key not in _CREDENTIAL_OPTIONS`` -> ``in``, both query.update()
    removed, and _first_text's ``and`` -> ``or`` (twice) and ``value[0]`` -> ``value[1]`` (mutate.py urls:57 to
    urls:65): the cell's own server and options, the API side's user, password and TLS settings."""
    cell = make_url("mysql+pymysql://nova:cellpw@cell1-db:3307/nova_cell1?charset=utf8&password=x&user=nova")
    api = make_url("mysql+pymysql://monitor:apipw@api-db/nova_api?ssl_ca=/etc/ca.pem&unix_socket=/run/api.sock")
    read = with_api_credentials(cell, api)
    assert (read.username, read.password, read.host, read.port, read.database) == (
        "monitor",
        "apipw",
        "cell1-db",
        3307,
        "nova_cell1",
    )
    assert dict(read.query) == {"charset": "utf8", "ssl_ca": "/etc/ca.pem"}
    in_query = make_url("mysql+pymysql://monitor@api-db/nova_api?password=first&password=second")
    assert with_api_credentials(cell, in_query).password == "first"
    assert with_api_credentials(cell, make_url("mysql+pymysql://monitor@api-db/nova_api?passwd=pw2")).password == "pw2"
    path = tmp_path / "my.cnf"
    path.write_text("[client]\nuser = filed\npassword = filedpw\nssl-cert = /etc/cert.pem\nhost = api-db\n")
    from_file = with_api_credentials(cell, make_url(f"mysql+pymysql://api-db/nova_api?read_default_file={path}"))
    assert (from_file.username, from_file.password, dict(from_file.query)) == (
        "filed",
        "filedpw",
        {"charset": "utf8", "ssl_cert": "/etc/cert.pem"},
    )


def test_a_multi_host_template_splits_each_host_at_its_first_at_sign():
    """Kills _netloc_parts' ``split("@", 1)`` -> ``split("@", 2)`` (mutate.py urls:69), as Nova splits it."""
    base = "mysql+pymysql://u1:p1@h1:3306,u2:p2@x@h2:3307/nova"
    assert format_db_url("{username2}:{password2}@{hostname2}:{port2}", base) == "u2:p2@x@h2:3307"
    # ... and at its first ':' (_netloc_parts' split(":", 1), mutate.py urls:77): the rest is the port
    assert format_db_url("{hostname1}|{port1}", "mysql+pymysql://u1@h1:3307:9,u2@h2/nova") == "h1|3307:9"


# --- contexts.py and selection.py: survivors of the in-process run that only the subprocess tests killed ---


def test_the_perfdata_of_a_run_item_by_item():
    """Kills CountContext's ``metric.uom or ""`` -> ``and`` (mutate.py contexts:14): a count has no unit, not
    "None"; checked in process as well as through the CLI."""
    run = check({"cell1": controllers("ctl")[:1] + [row("cmp1"), row("cmp2"), row("x", age=100)]})
    assert run.perfdata == {
        "nova-compute_disabled": "0;;;0;3",
        "nova-compute_down": "1;0;1.5;0;3",
        "nova-compute_late": "0;0;;0;3",
        "nova-compute_max_age": "100.0s;;;0",
        "nova-compute_total": "3;;;0",
        "nova-conductor_disabled": "0;;;0;1",
        "nova-conductor_down": "0;0;0;0;1",
        "nova-conductor_late": "0;0;;0;1",
        "nova-conductor_max_age": "5.0s;;;0",
        "nova-conductor_total": "1;;;0",
        "cells_total": "1;;;0",
        "cells_unreachable": "0;;;0;1",
    }


def test_zones_or_exclusions_alone_need_the_rows_and_any_exclusion_excludes():
    """Kills Selection.needs_rows' ``zones or exclude`` -> ``and`` and excludes' ``any`` -> ``all``
    (mutate.py selection:2, selection:12): either one is applied in Python, and each --exclude counts."""
    exclude = (re.compile("^nova-compute@cmp1$"), re.compile("@cmp2$"))
    assert (Selection().needs_rows, Selection(zones=("az1",)).needs_rows, Selection(exclude=exclude).needs_rows) == (
        False,
        True,
        True,
    )
    assert [Selection(exclude=exclude).excludes(row(h)) for h in ("cmp1", "cmp2", "cmp3")] == [True, True, False]


def test_a_raw_at_sign_ending_the_user_name_is_refused():
    """Kills _userinfo_is_ambiguous' ``not sep`` -> ``sep``, ``count("@") > 1`` -> ``> 2`` and its ``return
    True`` -> ``False`` (mutate.py urls:7, urls:13, urls:14), found by running parse_db_url and each mutant
    side by side on generated URLs: SQLAlchemy and urllib would both read the user "nova@"."""
    with pytest.raises(ConfigError) as raised:
        parse_db_url("mysql+pymysql://nova@@db/nova", "--db-url")
    assert str(raised.value) == AMBIGUOUS


def test_an_sqlite_url_is_not_compared_with_urllibs_reading():
    """Kills _same_userinfo's ``== "sqlite" or`` -> ``and`` (mutate.py urls:18): an SQLite URL has no user or
    host to confuse, and urllib refuses what SQLAlchemy reads there (brackets after the //)."""
    assert parse_db_url("sqlite://[x]/nova.sqlite", "--db-url").database == "nova.sqlite"


# --- settings.py: survivors of the in-process run that only the configuration tests killed -------------


def test_a_filter_that_matches_nothing_is_unknown(tmp_path):
    """Kills Settings.survey's ``allow_empty=False`` default -> ``True`` (mutate.py settings:3): the check
    cannot call "no services" OK; only the list view shows an empty list."""
    url = f"sqlite:///{tmp_path}/nova.sqlite"
    write_cell(url, [service("cmp1", "nova-compute", NOW)])
    run = run_in_process("--db-url", url, CLOCK, "--host", "cmp9")
    assert (run.status, run.code) == ("NOVA_SERVICES UNKNOWN - no services matched (--host cmp9)", 3)


def test_nova_conf_is_read_only_when_no_url_is_given_or_a_config_option_is(tmp_path, monkeypatch):
    """Kills build_settings' ``use_defaults=bool(sources) or not given`` -> ``and`` and with its ``not``
    removed (mutate.py settings:9, settings:10): without a URL the default nova.conf is where the database
    is; with one and no --config-* option, nova.conf is not read (it need not even be readable)."""
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".nova").mkdir()
    (tmp_path / ".nova/nova.conf").write_text(
        "[database]\nconnection = sqlite:///from-nova-conf.sqlite\n[DEFAULT]\nservice_down_time = 120\n"
    )
    found = build_settings(build_parser().parse_args([]), Deadline.after(10), environ={})
    assert (found.source.db_url.database, found.policy.down_time) == ("from-nova-conf.sqlite", 120)
    given = settings_of()
    assert (given.source.db_url.database, given.policy.down_time) == ("unused.sqlite", 60)


def test_no_database_to_check_names_nova_conf_d_without_a_config_dir(tmp_path, monkeypatch):
    """Kills ``any(kind == "dir" ...)`` -> ``all`` (mutate.py settings:14): with no --config-* option at all,
    the default nova.conf.d is the directory that was searched."""
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(ConfigError) as raised:
        build_settings(build_parser().parse_args([]), Deadline.after(10), environ={})
    assert str(raised.value).endswith("(no nova.conf in ~/.nova, ~, /etc/nova or /etc, no *.conf in nova.conf.d)")


def test_cell_credentials_api_reads_the_cells_as_the_api_databases_user():
    """Kills ``own_credentials=args.cell_credentials == "api"`` -> ``!=`` (mutate.py settings:23)."""
    api = ("--api-db-url", "sqlite:///api.sqlite")
    assert settings_of(*api).source.own_credentials is False
    assert settings_of(*api, "--cell-credentials", "api").source.own_credentials is True

"""One test per mutant that survived the fast suite (issue 15), each at the boundary the mutant moves.

Each test names the mutant it kills; each was checked by applying that mutant by hand: it fails on the
mutant and passes on the code as it is. Rows in memory go through the plugin's own row path and
nagiosplugin Check (tests/factories.py); settings through ``build_settings``; the database path, the
URL handling and cell discovery through the plugin's ``main()`` in this process over SQLite files or a
closed port, which is as fast.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from check_nova_services.cells import Cell, Deployment, ReadPlan, judge_rows
from check_nova_services.cli import build_parser
from check_nova_services.deadline import Deadline
from check_nova_services.demo import service, write_api_database, write_cell
from check_nova_services.pager import long_output
from check_nova_services.policy import Policy
from check_nova_services.selection import Selection
from check_nova_services.settings import build_settings
from check_nova_services.survey import combine
from tests.conftest import CLOCK, NOW, free_port
from tests.factories import NOW as FACTORY_NOW
from tests.factories import POLICY, check, controllers, row
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

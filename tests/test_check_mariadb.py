"""The plugin end to end against a real MariaDB: exact status line, perfdata and exit code."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

from check_nova_services.demo.writer import service
from tests.conftest import CLOCK, NOW, run_check

PERF_CONTROLLERS = (
    "'nova-conductor_disabled'=0;;;0;2 'nova-conductor_down'=0;0;0;0;2 "
    "'nova-conductor_late'=0;0;;0;2 'nova-conductor_max_age'=4.0s;;;0 'nova-conductor_total'=2;;;0 "
    "'nova-conductor_version_max'=74 'nova-conductor_version_min'=74 "
    "'nova-scheduler_disabled'=0;;;0;2 'nova-scheduler_down'=0;0;0;0;2 "
    "'nova-scheduler_late'=0;0;;0;2 'nova-scheduler_max_age'=6.0s;;;0 'nova-scheduler_total'=2;;;0 "
    "'nova-scheduler_version_max'=74 'nova-scheduler_version_min'=74"
)


def controllers(conductor_age: float = 3.0) -> list[dict]:
    return [
        service("ctl1", "nova-conductor", NOW, age=conductor_age),
        service("ctl2", "nova-conductor", NOW, age=4.0),
        service("ctl1", "nova-scheduler", NOW, age=5.0),
        service("ctl2", "nova-scheduler", NOW, age=6.0),
        service("ctl1", "nova-osapi_compute", NOW, age=None, topic=None),
        service("ctl1", "nova-metadata", NOW, age=None, topic=None),
    ]


def computes(*ages: float | None, **overrides) -> list[dict]:
    return [service(f"cmp{n}", "nova-compute", NOW, age=age, **overrides) for n, age in enumerate(ages, start=1)]


def test_all_up_is_ok(cell_db):
    url = cell_db(controllers() + computes(7.0, 8.0, 9.0))
    run = run_check("--db-url", url, CLOCK)
    assert run.stdout == (
        "NOVA_SERVICES OK - 7 of 7 services up: nova-conductor 2/2, nova-scheduler 2/2, nova-compute 3/3 | "
        "'nova-compute_disabled'=0;;;0;3 'nova-compute_down'=0;0;1.5;0;3 "
        "'nova-compute_late'=0;0;;0;3 'nova-compute_max_age'=9.0s;;;0 'nova-compute_total'=3;;;0 "
        "'nova-compute_version_max'=74 'nova-compute_version_min'=74 "
        f"{PERF_CONTROLLERS} cells_total=1;;;0 cells_unreachable=0;;;0;1 clock_skew=0s;-25:25 services_too_old=0;0;;0\n"
    )
    assert (run.code, run.stderr) == (0, "")


def test_one_compute_down_is_warning_and_named(cell_db):
    url = cell_db(controllers() + computes(7.0, 95.0, 9.0))
    run = run_check("--db-url", url, CLOCK)
    assert run.status == "NOVA_SERVICES WARNING - nova-compute 1/3 down: cmp2 (95s)"
    assert run.perfdata["nova-compute_down"] == "1;0;1.5;0;3"
    assert run.perfdata["nova-compute_max_age"] == "95.0s;;;0"  # the down one: max_age is the oldest watched heartbeat
    assert (run.code, run.stderr) == (1, "")


def test_conductor_down_is_critical_first(cell_db):
    url = cell_db(controllers(conductor_age=61.0) + computes(7.0, 300.0, 9.0))
    run = run_check("--db-url", url, CLOCK)
    assert run.status == "NOVA_SERVICES CRITICAL - nova-conductor 1/2 down: ctl1 (61s); nova-compute 1/3 down: cmp2 (5m00s)"
    assert run.perfdata["nova-conductor_down"] == "1;0;0;0;2"
    assert run.code == 2


def test_every_kind_of_down_is_told_apart(cell_db):
    rows = controllers() + [
        service("cmp1", "nova-compute", NOW, age=4.0, forced_down=True),
        service("cmp2", "nova-compute", NOW, age=None, created_age=600.0),
        service("cmp3", "nova-compute", NOW, age=-120.0),
        service("cmp4", "nova-compute", NOW, age=5.0, disabled=True, disabled_reason="AUTO: Connection to libvirt lost: 1"),
        service("cmp5", "nova-compute", NOW, age=400.0, updated_age=1.0),  # admin touched it: still down
        service("cmp6", "nova-compute", NOW, age=86400.0 * 3, disabled=True, disabled_reason="RAM swap"),
        service("cmp7", "nova-compute", NOW, age=8.0),
        service("cmp8", "nova-compute", NOW, age=900.0) | {"deleted": 8},  # soft-deleted: ignored
    ]
    run = run_check("--db-url", cell_db(rows, name="every_kind"), CLOCK, "-v", "-w", "nova-compute=10")
    assert run.lines[0] == (
        "NOVA_SERVICES CRITICAL - nova-compute 5/7 down: cmp1 (forced down), cmp2 (never reported, created 10m00s ago) "
        "+3 more; 1 heartbeat from the future: nova-compute@cmp3 (+2m00s); 2 disabled"
    )
    assert [line.replace("every_kind_0", "{c}") for line in run.lines[1:7]] == [
        "down: nova-compute@cmp1 cell={c} status=enabled state=down heartbeat=4s ago (last_seen_up 2026-11-26 11:59:56) "
        "forced_down=yes disabled_reason=-",
        "down: nova-compute@cmp2 cell={c} status=enabled state=down heartbeat=10m00s ago (created_at 2026-11-26 11:50:00) "
        "forced_down=no disabled_reason=-",
        "down: nova-compute@cmp3 cell={c} status=enabled state=down heartbeat=2m00s in the future "
        "(last_seen_up 2026-11-26 12:02:00) forced_down=no disabled_reason=-",
        "disabled by Nova (AUTO): nova-compute@cmp4 cell={c} status=disabled state=up heartbeat=5s ago "
        "(last_seen_up 2026-11-26 11:59:55) forced_down=no disabled_reason=AUTO: Connection to libvirt lost: 1",
        "down: nova-compute@cmp5 cell={c} status=enabled state=down heartbeat=6m40s ago (last_seen_up 2026-11-26 11:53:20) "
        "forced_down=no disabled_reason=-",
        "disabled, down: nova-compute@cmp6 cell={c} status=disabled state=down heartbeat=3d00h ago "
        "(last_seen_up 2026-11-23 12:00:00) forced_down=no disabled_reason=RAM swap",
    ]
    assert run.perfdata["nova-compute_down"] == "5;10;3.5;0;7"
    assert run.perfdata["nova-compute_disabled"] == "2;;;0;7"
    assert run.perfdata["nova-compute_total"] == "7;;;0"
    assert run.code == 2


def test_db_clock_is_immune_to_a_wrong_local_clock(cell_db):
    """--clock db takes MariaDB's UTC_TIMESTAMP(); --clock local trusts this host, here an hour ahead."""
    real_now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    url = cell_db(
        [
            service("cmp1", "nova-compute", real_now, age=5.0),
            service("cmp2", "nova-compute", real_now, age=10.0),
            service("cmp3", "nova-compute", real_now, age=7200.0),
        ],
        name="skewed",
    )

    def skewed(clock: str) -> subprocess.CompletedProcess:
        command = ["faketime", "-f", "+1h", sys.executable, "-m", "check_nova_services", "--db-url", url]
        return subprocess.run([*command, "--clock", clock, "--age-warning", "0"], capture_output=True, text=True)

    by_db = skewed("db")
    # judged by the database's clock; this host's, an hour ahead, is named as the skew
    assert by_db.stdout.split(" | ")[0] == (
        "NOVA_SERVICES WARNING - nova-compute 1/3 down: cmp3 (2h00m); clock skew: database skewed_0 1h00m behind this host"
    )
    assert (by_db.returncode, by_db.stderr) == (1, "")
    by_local = skewed("local")
    # by this host's clock every service would read down, but the heartbeats side with the database: this host's
    # clock is the wrong one, said first, and the database's judges (issue 28; before, "all 3 services down")
    assert by_local.stdout.split(" | ")[0] == (
        "NOVA_SERVICES WARNING - this host's clock is 1h00m ahead of every database: judged by theirs; "
        "nova-compute 1/3 down: cmp3 (2h00m)"
    )
    assert by_local.returncode == 1


def test_a_fixed_clock_at_the_calendars_edge_is_a_bad_argument_not_an_unreachable_database(cell_db):
    """The rule's bounds (now ± service down time or --age-warning, now + report_interval) must exist: an instant too
    near year 1 or 9999 is refused as --clock, the nearest one they fit around is judged (was "database nova
    unreachable: OverflowError" once a cell was read)."""
    url = cell_db(computes(5.0), name="calendar")
    end = run_check("--db-url", url, "--clock", "9999-12-31T23:59:59")
    assert (end.stdout, end.stderr, end.code) == (
        "NOVA_SERVICES UNKNOWN - --clock '9999-12-31T23:59:59': the rule's bounds, 60s either side of it, fall off the "
        "calendar; give a time from 0001-01-01T00:01:00 to 9999-12-31T23:58:59\n",
        "",
        3,
    )
    last = run_check("--db-url", url, "--clock", "9999-12-31T23:58:59")
    assert (last.status, last.code) == ("NOVA_SERVICES CRITICAL - nova-compute 1/1 down: cmp1 (2912113d11h)", 2)
    # the widest bound counts: --age-warning 100.5 reaches 101 s
    start = run_check("--db-url", url, "--clock", "0001-01-01T00:01:40", "--age-warning", "100.5")
    assert (start.status, start.code) == (
        "NOVA_SERVICES UNKNOWN - --clock '0001-01-01T00:01:40': the rule's bounds, 101s either side of it, fall off the "
        "calendar; give a time from 0001-01-01T00:01:41 to 9999-12-31T23:58:18",
        3,
    )
    first = run_check("--db-url", url, "--clock", "0001-01-01T00:01:41", "--age-warning", "100.5")
    assert first.code == 2
    assert first.status.startswith("NOVA_SERVICES CRITICAL - nova-compute 1/1 down: cmp1 (heartbeat 739945d")
    offset = run_check("--db-url", url, "--clock", "9999-12-31T23:00:00-01:00")
    assert (offset.stdout, offset.code) == (
        "NOVA_SERVICES UNKNOWN - --clock '9999-12-31T23:00:00-01:00': in UTC it falls outside the years 1 to 9999\n",
        3,
    )


def test_host_and_binary_filters_match_exactly_as_nova_does(cell_db):
    # MariaDB's = ignores case and trailing spaces; Nova's ?host= and ?binary= compare exactly.
    url = cell_db(controllers() + computes(5.0, 6.0))
    assert run_check("--db-url", url, CLOCK, "--host", "cmp1").status == (
        "NOVA_SERVICES OK - 1 of 1 services up: nova-compute 1/1"
    )
    for args in (("--host", "CMP1"), ("--host", "cmp1  "), ("--binary", "NOVA-compute")):
        run = run_check("--db-url", url, CLOCK, *args)
        assert (run.stdout, run.code) == (f"NOVA_SERVICES UNKNOWN - no services matched ({args[0]} {args[1]})\n", 3)


def test_a_zero_date_or_a_nameless_row_spoils_only_itself(cell_db, mariadb):
    """MariaDB keeps '0000-00-00 00:00:00' under a permissive sql_mode; NULL hosts exist in old dumps."""
    url = cell_db(computes(7.0, 8.0, 9.0, 10.0))
    database = url.rsplit("/", 1)[1]
    mariadb.execute(
        "SET SESSION sql_mode = ''",
        "ALTER TABLE services MODIFY host VARCHAR(255) NULL",
        "UPDATE services SET last_seen_up = '0000-00-00 00:00:00' WHERE host = 'cmp2'",
        "UPDATE services SET host = NULL WHERE host = 'cmp3'",
        database=database,
    )
    run = run_check("--db-url", url, CLOCK, "-v")
    assert run.lines[:3] == [
        "NOVA_SERVICES WARNING - nova-compute 2/4 down: cmp2 (last_seen_up unreadable), ? (services row id=3) (host NULL)",
        "down, cannot be judged: nova-compute@? (services row id=3) cell="
        f"{database} status=enabled state=down heartbeat=none (host NULL) forced_down=no disabled_reason=-",
        f"down, cannot be judged: nova-compute@cmp2 cell={database} status=enabled state=down "
        "heartbeat=unreadable (last_seen_up '0000-00-00 00:00:00') forced_down=no disabled_reason=-",
    ]
    assert run.perfdata["nova-compute_down"] == "2;0;2;0;4"
    assert run.perfdata["nova-compute_max_age"] == "10.0s;;;0"
    assert run.perfdata["cells_unreachable"] == "0;;;0;1"
    assert (run.code, run.stderr) == (1, "")

"""Command-line discipline: bad input is one UNKNOWN line with exit 3; options do what --help says.

These run the real plugin against SQLite files (fast and deterministic) or no database at all.
"""

from __future__ import annotations

import pytest

from check_nova_services import __version__
from check_nova_services.demo.writer import service, write_api_database, write_cell
from tests.conftest import CLOCK, NOW, run_check
from tests.harness.faults import run_in_process


@pytest.fixture
def sqlite_cell(tmp_path):
    counter = iter(range(100))

    def make(rows, legacy=False):
        path = tmp_path / f"cell{next(counter)}.sqlite"
        write_cell(f"sqlite:///{path}", rows, legacy=legacy)
        return f"sqlite:///{path}"

    return make


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["-w"], "argument -w/--warning: expected one argument"),
        # what is expected, not argparse's "invalid positive number of seconds value" (issue 28)
        (["-t", "abc"], "argument -t/--timeout: expected a number of seconds above 0, at most 31536000, not 'abc'"),
        (["-t", "0"], "argument -t/--timeout: expected a number of seconds above 0, at most 31536000, not '0'"),
        (["-t", "nan"], "argument -t/--timeout: expected a number of seconds above 0, at most 31536000, not 'nan'"),
        (
            ["--service-down-time", "-5"],
            "argument --service-down-time: expected a whole number of seconds from 0 to 31536000, not '-5'",
        ),
        (
            ["--report-interval", "1" * 13],
            "argument --report-interval: expected a whole number of seconds from 0 to 31536000, not '1111111111111'",
        ),
        (["--age-warning", "soon"], "argument --age-warning: expected a number of seconds from 0 to 31536000, not 'soon'"),
        (["--parallel", "0"], "argument --parallel: expected a number of connections from 1 to 1000, not '0'"),
        (["--unreachable-cell-state", "ok"], "argument --unreachable-cell-state: expected unknown or critical, not 'ok'"),
        # a switch given a value: not argparse's "ignored explicit argument '3'"
        (["--verbose=3"], "argument -v/--verbose: takes no value, not '3': give -v, -vv or -vvv"),
        (["--count-disabled=yes"], "argument --count-disabled: takes no value, not 'yes'"),
        (
            ["--db-url", "sqlite:///x.sqlite", "-w", "abc"],
            "--warning 'abc': not a valid range (expected [@][START:][END], e.g. 0, 2, 10%, @1:5, 3:)",
        ),
        (
            ["--db-url", "sqlite:///x.sqlite", "--clock", "yesterday"],
            "--clock 'yesterday': expected local, db or a UTC timestamp like 2026-11-26T15:00:00",
        ),
        (["--db-url", "not a url"], "--db-url is not a database URL (expected e.g. mysql+pymysql://user@host/nova)"),
        (
            ["--config-file", "/nonexistent/nova.conf"],
            "cannot read config file /nonexistent/nova.conf: No such file or directory",
        ),
        (
            ["--db-url", "sqlite:///x.sqlite", "--zone", "az1"],
            "--cell and --zone need the API database (--api-db-url or [api_database]/connection)",
        ),
        (
            [],
            "no database to check: give --db-url, --api-db-url, NOVA_SERVICES_DB_URL or --config-file "
            "(no nova.conf in ~/.nova, ~, /etc/nova or /etc, no *.conf in nova.conf.d)",
        ),
    ],
)
def test_bad_input_is_one_unknown_line(args, line):
    run = run_check(*args)
    assert (run.stdout, run.stderr, run.code) == (f"NOVA_SERVICES UNKNOWN - {line}\n", "", 3)


def test_help_and_version_exit_unknown_on_stdout():
    help_run = run_check("--help")
    assert help_run.lines[0].startswith("usage: check_nova_services ")
    assert "--age-warning SECONDS" in help_run.stdout
    assert (help_run.code, help_run.stderr) == (3, "")
    version = run_check("-V")
    assert (version.stdout, version.code) == (f"check_nova_services {__version__}\n", 3)


def test_config_file_errors_are_named(tmp_path):
    conf = tmp_path / "nova.conf"
    conf.write_text("[DEFAULT]\nservice_down_time = soon\n[database]\nconnection = sqlite:///x\n")
    run = run_check("--config-file", str(conf))
    assert run.stdout == f"NOVA_SERVICES UNKNOWN - [DEFAULT] service_down_time in {conf} is not an integer: 'soon'\n"
    conf.write_text("[DEFAULT]\nreport_interval = 5\n")
    run = run_check("--config-file", str(conf))
    assert run.stdout == f"NOVA_SERVICES UNKNOWN - no database to check: {conf} has no [database]/connection\n"
    conf.write_text("no section header\n")
    run = run_check("--config-file", str(conf))
    assert run.stdout.startswith(f"NOVA_SERVICES UNKNOWN - cannot parse config file {conf}: File contains no section")
    assert run.code == 3


def test_missing_sqlite_file_is_not_created(tmp_path):
    path = tmp_path / "typo.sqlite"
    run = run_check("--db-url", f"sqlite:///{path}")
    assert run.status == f"NOVA_SERVICES UNKNOWN - database typo unreachable: no SQLite database file {path}"
    assert run.code == 3
    assert not path.exists()


def test_later_config_files_override_earlier_ones(tmp_path, sqlite_cell):
    url = sqlite_cell([service("c1", "nova-compute", NOW, age=20.0), service("c2", "nova-compute", NOW, age=26.0)])
    base, override = tmp_path / "nova.conf", tmp_path / "override.conf"
    base.write_text(f"[DEFAULT]\nservice_down_time = 60\n[database]\nconnection = {url}\n")
    # service_down_time <= report_interval: Nova uses int(2.5 * report_interval) = 25
    override.write_text("[DEFAULT]\nservice_down_time = 10\nreport_interval = 10\n")
    run = run_check("--config-file", str(base), "--config-file", str(override), CLOCK, "--age-warning", "0")
    assert run.status == "NOVA_SERVICES WARNING - nova-compute 1/2 down: c2 (26s)"
    assert run.perfdata["nova-compute_max_age"] == "26.0s;;;0"  # the down one too: the oldest watched heartbeat
    flags = run_check("--config-file", str(base), CLOCK, "--service-down-time", "25", "--age-warning", "0")
    assert flags.status == "NOVA_SERVICES WARNING - nova-compute 1/2 down: c2 (26s)"
    default = run_check("--config-file", str(base), CLOCK, "--age-warning", "0")
    assert default.status == "NOVA_SERVICES OK - 2 of 2 services up: nova-compute 2/2"


def test_boundary_to_the_microsecond_through_the_whole_plugin(sqlite_cell):
    url = sqlite_cell(
        [
            service("c1", "nova-compute", NOW, age=60.0),
            service("c2", "nova-compute", NOW, age=60.001),
            service("c3", "nova-compute", NOW, age=-60.0),
        ]
    )
    run = run_check("--db-url", url, CLOCK, "--age-warning", "0", "-w", "5")
    # 60 s old and 60 s in the future are up (inclusive, absolute); 60.001 s is down, and -w 5 keeps it OK.
    # c3's heartbeat, a report_interval (10 s) and more ahead, gets the note of issue 13
    assert run.status == (
        "NOVA_SERVICES OK - nova-compute 1/3 down: c2 (60s); 1 heartbeat from the future: nova-compute@c3 (+60s)"
    )
    assert run.perfdata["nova-compute_down"] == "1;5;1.5;0;3"
    assert run.perfdata["nova-compute_max_age"] == "60.001s;;;0"
    assert run.code == 0


def test_late_heartbeat_warns_before_nova_calls_it_down(sqlite_cell):
    url = sqlite_cell([service("c1", "nova-compute", NOW, age=45.0), service("c2", "nova-compute", NOW, age=5.0)])
    run = run_check("--db-url", url, CLOCK)
    assert run.status == "NOVA_SERVICES WARNING - 1 heartbeat late: nova-compute@c1 (45s)"
    assert run.perfdata["nova-compute_max_age"] == "45.0s;;;0"
    assert run.perfdata["nova-compute_late"] == "1;0;;0;2"
    assert run.code == 1
    quiet = run_check("--db-url", url, CLOCK, "--age-warning", "0")
    assert (quiet.status, quiet.code) == ("NOVA_SERVICES OK - 2 of 2 services up: nova-compute 2/2", 0)
    early = run_check("--db-url", url, CLOCK, "--age-warning", "50")
    assert early.code == 0


def test_disabled_services_are_reported_not_alarmed_unless_asked(sqlite_cell):
    url = sqlite_cell(
        [
            service("c1", "nova-compute", NOW, age=5.0),
            service("c2", "nova-compute", NOW, age=900.0, disabled=True, disabled_reason="kernel upgrade"),
            service("c3", "nova-compute", NOW, age=5.0),
        ]
    )
    run = run_check("--db-url", url, CLOCK, "-v")
    assert run.lines[0] == "NOVA_SERVICES OK - 2 of 3 services up: nova-compute 2/3; 1 disabled"
    assert run.lines[1].startswith("disabled, down: nova-compute@c2 cell=cell0 status=disabled state=down ")
    assert run.code == 0
    counted = run_check("--db-url", url, CLOCK, "--count-disabled")
    assert counted.status == "NOVA_SERVICES WARNING - nova-compute 1/3 down: c2 (15m00s); 1 disabled"
    assert counted.code == 1


def test_percentage_thresholds_scale_with_the_binary(sqlite_cell):
    rows = [service(f"c{n}", "nova-compute", NOW, age=500.0 if n <= 2 else 5.0) for n in range(1, 9)]
    url = sqlite_cell(rows)
    run = run_check("--db-url", url, CLOCK, "-w", "nova-compute=10%", "-c", "nova-compute=25%")
    assert run.status == "NOVA_SERVICES WARNING - nova-compute 2/8 down: c1 (8m20s), c2 (8m20s)"
    assert run.perfdata["nova-compute_down"] == "2;0.8;2;0;8"
    assert run.code == 1
    run = run_check("--db-url", url, CLOCK, "-c", "nova-compute=20%")
    assert (run.perfdata["nova-compute_down"], run.code) == ("2;0;1.6;0;8", 2)


def test_pre_liberty_schema_uses_updated_at(sqlite_cell):
    url = sqlite_cell(
        [
            service("c1", "nova-compute", NOW, age=500.0, updated_age=20.0),
            service("c2", "nova-compute", NOW, age=5.0, updated_age=90.0),
        ],
        legacy=True,
    )
    run = run_check("--db-url", url, CLOCK, "-v")
    assert run.lines[0] == "NOVA_SERVICES WARNING - nova-compute 1/2 down: c2 (90s)"
    assert run.lines[1] == (
        "down: nova-compute@c2 cell=cell0 status=enabled state=down heartbeat=90s ago "
        "(updated_at 2026-11-26 11:58:30) forced_down=no disabled_reason=-"
    )


def test_filters_are_pushed_into_the_query(sqlite_cell):
    url = sqlite_cell(
        [
            service("c1", "nova-compute", NOW, age=500.0),
            service("c2", "nova-compute", NOW, age=5.0),
            service("ctl", "nova-conductor", NOW, age=5.0),
        ]
    )
    run = run_check("--db-url", url, CLOCK, "--host", "c2", "--host", "ctl")
    assert run.status == "NOVA_SERVICES OK - 2 of 2 services up: nova-conductor 1/1, nova-compute 1/1"
    none = run_check("--db-url", url, CLOCK, "--binary", "nova-scheduler")
    assert (none.stdout, none.code) == ("NOVA_SERVICES UNKNOWN - no services matched (--binary nova-scheduler)\n", 3)


def test_undetermined_age_is_left_out_and_long_names_survive_in_long_output(sqlite_cell):
    long_host = "compute-" + "x" * 80 + ".example.com"
    url = sqlite_cell(
        [
            service("ctl1", "nova-scheduler", NOW, age=300.0),
            service(long_host, "nova-compute", NOW, age=5.0, forced_down=True),
            # the only consoleauth is in maintenance: no watched heartbeat, so no max_age item (not "U")
            service("ctl1", "nova-consoleauth", NOW, age=9.0, disabled=True, disabled_reason="maintenance"),
        ]
    )
    run = run_check("--db-url", url, CLOCK, "-v")
    assert run.lines[-1] == (
        "| 'nova-compute_disabled'=0;;;0;1 'nova-compute_down'=1;0;0.5;0;1 'nova-compute_late'=0;0;;0;1 "
        # the only compute is forced down: Nova's minimum leaves it out, so no version items for it
        "'nova-compute_max_age'=5.0s;;;0 'nova-compute_total'=1;;;0 'nova-consoleauth_disabled'=1;;;0;1 "
        "'nova-consoleauth_down'=0;0;;0;1 'nova-consoleauth_late'=0;0;;0;1 'nova-consoleauth_total'=1;;;0 "
        "'nova-consoleauth_version_max'=74 'nova-consoleauth_version_min'=74 "
        "'nova-scheduler_disabled'=0;;;0;1 'nova-scheduler_down'=1;0;0;0;1 'nova-scheduler_late'=0;0;;0;1 "
        "'nova-scheduler_max_age'=300.0s;;;0 'nova-scheduler_total'=1;;;0 'nova-scheduler_version_max'=74 "
        "'nova-scheduler_version_min'=74 cells_total=1;;;0 cells_unreachable=0;;;0;1 services_too_old=0;0;;0"
    )
    assert run.lines[0] == (
        "NOVA_SERVICES CRITICAL - nova-scheduler 1/1 down: ctl1 (5m00s); "
        "nova-compute 1/1 down: compute-" + "x" * 51 + "… (forced down); 1 disabled"
    )
    # -v: the control plane first, then the computes, each host whole
    assert run.lines[1].startswith("down: nova-scheduler@ctl1 cell=")
    assert run.lines[2].startswith(f"down: nova-compute@{long_host} cell=")


def test_exclude_leaves_out_matching_services(sqlite_cell):
    url = sqlite_cell(
        [
            service("cmp-old-1", "nova-compute", NOW, age=90 * 86400.0),
            service("cmp-old-2", "nova-compute", NOW, age=90 * 86400.0),
            service("cmp1", "nova-compute", NOW, age=5.0),
            service("ctl1", "nova-conductor", NOW, age=5.0),
        ]
    )
    run = run_check("--db-url", url, CLOCK, "--exclude", "@cmp-old-[0-9]+$")
    assert (run.status, run.code) == (
        "NOVA_SERVICES OK - 2 of 2 services up: nova-conductor 1/1, nova-compute 1/1; 2 excluded",
        0,
    )
    assert run.perfdata["services_excluded"] == "2;;;0"
    listed = run_check("--db-url", url, CLOCK, "--exclude", "@cmp-old-[0-9]+$", "-vv")
    assert [line.split(" cell=")[0] for line in listed.lines[1:5]] == [
        "excluded, down: nova-compute@cmp-old-1",
        "excluded, down: nova-compute@cmp-old-2",
        "up: nova-compute@cmp1",
        "up: nova-conductor@ctl1",
    ]
    everything = run_check("--db-url", url, CLOCK, "--exclude", "^nova-", "--exclude", "x")
    assert everything.stdout == "NOVA_SERVICES UNKNOWN - no services matched (--exclude ^nova- --exclude x); 4 excluded\n"
    bad = run_check("--db-url", url, "--exclude", "(")
    assert bad.stdout == (
        "NOVA_SERVICES UNKNOWN - --exclude '(': not a regular expression (missing ), unterminated subpattern at position 0)\n"
    )


def test_default_age_warning_sits_between_report_interval_and_down_time(sqlite_cell):
    # report_interval 40: a healthy service's heartbeat is up to 40 s old; Nova says down after 60 s.
    url = sqlite_cell([service("c1", "nova-compute", NOW, age=38.0), service("c2", "nova-compute", NOW, age=5.0)])
    run = run_check("--db-url", url, CLOCK, "--report-interval", "40", "--service-down-time", "60")
    assert (run.status, run.code) == ("NOVA_SERVICES OK - 2 of 2 services up: nova-compute 2/2", 0)
    assert (run.perfdata["nova-compute_max_age"], run.perfdata["nova-compute_late"]) == ("38.0s;;;0", "0;0;;0;2")
    on_the_limit = run_check(
        "--db-url", sqlite_cell([service("c1", "nova-compute", NOW, age=50.0)]), CLOCK, "--report-interval", "40"
    )
    assert (on_the_limit.status, on_the_limit.code) == ("NOVA_SERVICES OK - 1 of 1 services up: nova-compute 1/1", 0)
    url = sqlite_cell([service("c1", "nova-compute", NOW, age=51.0)])
    late = run_check("--db-url", url, CLOCK, "--report-interval", "40", "--service-down-time", "60")
    assert (late.status, late.code) == ("NOVA_SERVICES WARNING - 1 heartbeat late: nova-compute@c1 (51s)", 1)


def test_multi_cell_demo_is_checked_through_its_api_database(tmp_path):
    import subprocess
    import sys

    demo = subprocess.run(
        [sys.executable, "-m", "check_nova_services.demo", "--db-url", f"sqlite:///{tmp_path}/demo.sqlite", "--cells", "2"],
        capture_output=True,
        text=True,
    )
    api = f"sqlite:///{tmp_path}/demo-api.sqlite"
    assert demo.stdout == f"wrote an API database and 3 cells; check them all with: check_nova_services --api-db-url {api}\n"
    run = run_check("--api-db-url", api)
    # the demo's heartbeats are relative to when it ran: the ages may have grown by a second
    assert run.status.replace("5m13s", "5m12s").replace("10m01s", "10m00s") == (
        "NOVA_SERVICES WARNING - nova-compute 4/36 down: cmp007 (5m12s), cmp013 (forced down), "
        "cmp029 (AUTO: Connection to libvirt lost: 1), cmp034 (never reported, created 10m00s ago); 2 disabled"
    )
    assert (run.perfdata["cells_total"], run.perfdata["nova-conductor_total"], run.code) == ("3;;;0", "4;;;0", 1)
    zone = run_check("--api-db-url", api, "--zone", "az2", "--binary", "nova-compute", "--cell", "cell2")
    assert zone.perfdata["nova-compute_total"] == "9;;;0"


def test_passwords_in_odd_places_stay_hidden():
    typo = run_check("--db-urll", "mysql+pymysql://nova:Sup3r@Secret@127.0.0.1:1/nova")
    assert (
        typo.stdout == "NOVA_SERVICES UNKNOWN - unrecognized arguments: --db-urll mysql+pymysql://nova:***@127.0.0.1:1/nova\n"
    )
    at_sign = run_check("--db-url", "mysql+pymysql://nova:Sup3r@Secret@127.0.0.1:1/nova")
    assert at_sign.stdout == (
        "NOVA_SERVICES UNKNOWN - --db-url: cannot tell the password from the host; "
        "percent-encode @ / ? # in the user name and password (%40 %2F %3F %23)\n"
    )
    passwd = run_check("--db-url", "mysql+pymysql://nova@127.0.0.1:1/nova?passwd=Sup3rSecretPW", "-vvv")
    assert "Sup3r" not in passwd.stdout and "passwd=***" in passwd.stdout
    assert {typo.code, at_sign.code, passwd.code} == {3}


def test_many_filters_are_counted_not_listed(sqlite_cell):
    url = sqlite_cell([service("c1", "nova-compute", NOW, age=5.0)])
    hosts = [arg for n in range(12) for arg in ("--host", f"compute-node-{n:03d}.region-one.cloud.example.com")]
    run = run_check("--db-url", url, CLOCK, *hosts, "--exclude", "x")
    assert run.stdout == "NOVA_SERVICES UNKNOWN - no services matched (12 --host, 1 --exclude)\n"


def test_a_heartbeat_of_an_auto_disabled_service_does_not_warn_as_late(sqlite_cell):
    auto = "AUTO: Connection to libvirt lost: 1"
    url = sqlite_cell(
        [
            service("c1", "nova-compute", NOW, age=50.0, disabled=True, disabled_reason=auto),
            service("c2", "nova-compute", NOW, age=3.0),
            service("c3", "nova-compute", NOW, age=3.0),
        ]
    )
    run = run_check("--db-url", url, CLOCK, "-w", "nova-compute=1")
    assert run.status == f"NOVA_SERVICES OK - nova-compute 1/3 down: c1 ({auto}); 1 disabled"
    # Nova's own AUTO-disable is watched (it feeds max_age) but is a down service, not a late one
    assert (run.perfdata["nova-compute_max_age"], run.perfdata["nova-compute_late"], run.code) == ("50.0s;;;0", "0;0;;0;3", 0)


def test_a_big_outage_stays_within_the_line_and_nagios_limits(tmp_path):

    long = ".rack01.az1.region-one.openstack.internal.example.com"
    reason = "maintenance window for the storage network migration, ticket OPS-123456, ask the storage team first"
    cells = []
    for n in range(1, 4):
        rows = [service(f"compute-{n}{i:03d}{long}", "nova-compute", NOW, age=400.0) for i in range(40)]
        rows += [service(f"late-{n}{i:03d}{long}", "nova-compute", NOW, age=50.0) for i in range(3)]
        rows += [
            service(f"ops-{n}{i:03d}{long}", "nova-compute", NOW, age=900.0, disabled=True, disabled_reason=reason)
            for i in range(5)
        ]
        rows.append(service(f"conductor-{n}{long}", "nova-conductor", NOW, age=200.0))
        path = tmp_path / f"cell{n}.sqlite"
        write_cell(f"sqlite:///{path}", rows)
        cells.append((f"{n:08d}-0000-0000-0000-000000000000", f"cell{n}-with-a-rather-long-name", f"sqlite:///{path}"))
    for n in range(4, 7):  # unreachable: no such file
        cells.append((f"{n:08d}-0000-0000-0000-000000000000", f"cell{n}-gone", f"sqlite:///{tmp_path}/none{n}.sqlite"))
    api = f"sqlite:///{tmp_path}/api.sqlite"
    write_api_database(api, cells)
    plain = run_check("--api-db-url", api, CLOCK, "-c", "nova-compte=0")
    status = plain.status
    # every fact keeps its count; host names of 60 characters do not fit beside them, a cell name does
    assert status == (
        "NOVA_SERVICES CRITICAL - 3 of 6 cells unreachable: cell4-gone +2 more; nova-conductor: all 3 down; "
        "nova-compute 120/144 down; 9 heartbeats late; -w/-c nova-compte: no such service; 15 disabled"
    )
    assert len(status) <= len("NOVA_SERVICES CRITICAL - ") + 175, status
    assert plain.lines[0].count(" | ") == 1 and plain.code == 2
    verbose = run_check("--api-db-url", api, CLOCK, "-v")
    assert len(verbose.stdout.encode()) < 8192, len(verbose.stdout.encode())
    assert verbose.lines[-1].startswith("| 'nova-compute_disabled'=15;;;0;144 ")
    assert verbose.lines[-2].startswith("... and ") and verbose.lines[-2].endswith(
        " more problem services (-vv lists every service)"
    )


def test_a_threshold_for_a_binary_with_no_services_is_pointed_out(sqlite_cell):
    url = sqlite_cell([service("c1", "nova-compute", NOW, age=5.0)])
    typo = run_check("--db-url", url, CLOCK, "-c", "nova-compte=0", "-v")
    assert typo.lines[:2] == [
        "NOVA_SERVICES OK - 1 of 1 services up: nova-compute 1/1; -w/-c nova-compte: no such service",
        "note: -w/-c name nova-compte, which no service read has",
    ]
    narrowed = run_check("--db-url", url, CLOCK, "-c", "nova-conductor=0", "--binary", "nova-compute")
    assert narrowed.status == "NOVA_SERVICES OK - 1 of 1 services up: nova-compute 1/1"


def test_a_filter_that_matches_nothing_is_unknown(tmp_path):
    """Catches Settings.survey's ``allow_empty=False`` default -> ``True``: the check
    cannot call "no services" OK; only the list view shows an empty list."""
    url = f"sqlite:///{tmp_path}/nova.sqlite"
    write_cell(url, [service("cmp1", "nova-compute", NOW)])
    run = run_in_process("--db-url", url, CLOCK, "--host", "cmp9")
    assert (run.status, run.code) == ("NOVA_SERVICES UNKNOWN - no services matched (--host cmp9)", 3)


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("(a+)+$", "a repeat of varying length inside a repeat without bound"),
        ("@(cmp[0-9]{1,3})*x", "a repeat of varying length inside a repeat without bound"),
        ("^(cmp|cmpa)+$", "an alternation inside a repeat without bound"),
    ],
)
def test_an_exclude_pattern_that_can_backtrack_for_ever_is_refused_before_any_row(sqlite_cell, pattern, reason):
    """Issue 29: `re` holds the interpreter while it backtracks, so no timeout can stop a runaway pattern on one
    unlucky host name (this one takes minutes on `(a+)+$`): refused up front, UNKNOWN, in well under -t."""
    url = sqlite_cell([service("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", "nova-compute", NOW, age=2.0)])
    run = run_check("--db-url", url, CLOCK, "-t", "2", "--exclude", pattern, timeout=20)
    shown = pattern.replace("|", "¦")  # the status line never carries a |
    assert (run.code, run.stdout, run.stderr) == (
        3,
        f"NOVA_SERVICES UNKNOWN - --exclude {shown!r}: {reason} can backtrack for minutes on one host name, past any "
        "timeout; write it without (e.g. '@cmp-old-[0-9]+$')\n",
        "",
    )


@pytest.mark.parametrize("pattern", ["@cmp-old-[0-9]+$", "^nova-compute@(cmp1|cmp2)$", ".*old.*", "(ab{2})+", "(x|y)*z"])
def test_everyday_exclude_patterns_are_not_refused(sqlite_cell, pattern):
    url = sqlite_cell([service("ctl1", "nova-conductor", NOW, age=2.0)])
    run = run_check("--db-url", url, CLOCK, "--exclude", pattern)
    assert (run.code, run.status) == (0, "NOVA_SERVICES OK - 1 of 1 services up: nova-conductor 1/1")

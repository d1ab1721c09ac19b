"""--format openmetrics and --textfile: the check's reading and state as Prometheus metrics, the same numbers as its
perfdata, text that promtool accepts whatever the host names, a textfile replaced atomically or not at all; and the
shipped alert rules, by promtool test rules. These run the real plugin against SQLite files; the real Prometheus and
node_exporter against a real MariaDB are tests/test_prometheus_live.py's."""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from check_nova_services.demo.writer import service, write_api_database, write_cell
from check_nova_services.rule.metrics import BINARY_METRICS
from tests.conftest import CLOCK, NOW, clean_env, run_check

REPO = Path(__file__).resolve().parent.parent
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
#: The one line that changes from run to run.
TIMESTAMP = re.compile(r"^nova_services_scrape_timestamp_seconds \d+(\.\d+)?$", re.MULTILINE)
SAMPLE = re.compile(r"^(?P<series>[a-z_]+(?:\{.*\})?) (?P<value>\S+)$")


def need_promtool() -> None:
    if not Path(PROMTOOL).exists():
        pytest.skip(f"not installed: {PROMTOOL} (bash tests/run installs prometheus)")


def promtool_check_metrics(text: str) -> subprocess.CompletedProcess:
    return subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)


def samples(text: str) -> dict[str, float]:
    """series -> value, from an exposition (label values may hold escaped quotes: the value is the last field)."""
    out = {}
    for line in text.split("\n"):
        if line and not line.startswith("#"):
            match = SAMPLE.match(line)
            assert match, line
            out[match["series"]] = float(match["value"])
    return out


def without_timestamp(text: str) -> str:
    assert len(TIMESTAMP.findall(text)) == 1, text
    return TIMESTAMP.sub("nova_services_scrape_timestamp_seconds T", text)


@pytest.fixture
def deployment(tmp_path):
    """An API database with two cells: cell1 with a conductor and three computes (one down, one disabled, zones from
    an aggregate), cell2 whose database file is missing."""
    cell1 = f"sqlite:///{tmp_path}/cell1.sqlite"
    write_cell(
        cell1,
        [
            service("ctl1", "nova-conductor", NOW, age=3.0),
            service("cmp1", "nova-compute", NOW, age=7.0),
            service("cmp2", "nova-compute", NOW, age=95.0),
            service("cmp3", "nova-compute", NOW, age=8.0, disabled=True, disabled_reason="maintenance"),
        ],
    )
    api = f"sqlite:///{tmp_path}/api.sqlite"
    write_api_database(
        api,
        [
            ("00000000-0000-0000-0000-000000000001", "cell1", cell1),
            ("00000000-0000-0000-0000-000000000002", "cell2", f"sqlite:///{tmp_path}/gone.sqlite"),
        ],
        zones={"az1": ["cmp1", "cmp2"]},
    )
    return api


EXPECTED = """\
# HELP nova_services_scrape_success 1 when every cell was read; 0 when a cell or the whole reading failed \
(nova_cell_unreachable_info and nova_services_scrape_error_info say why)
# TYPE nova_services_scrape_success gauge
nova_services_scrape_success 0
# HELP nova_services_check_state The state the check gives for the same reading: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN
# TYPE nova_services_check_state gauge
nova_services_check_state 3
# HELP nova_services_scrape_timestamp_seconds When this reading was made, Unix time
# TYPE nova_services_scrape_timestamp_seconds gauge
nova_services_scrape_timestamp_seconds T
# HELP nova_services_down Services counted down: down and enabled, disabled by Nova itself (AUTO), or that cannot be judged
# TYPE nova_services_down gauge
nova_services_down{binary="nova-compute"} 1
nova_services_down{binary="nova-conductor"} 0
# HELP nova_services_oldest_heartbeat_age_seconds Age of the oldest heartbeat among the watched services (all but the \
operator-disabled, down ones included)
# TYPE nova_services_oldest_heartbeat_age_seconds gauge
nova_services_oldest_heartbeat_age_seconds{binary="nova-compute"} 95.0
nova_services_oldest_heartbeat_age_seconds{binary="nova-conductor"} 3.0
# HELP nova_services_late Services Nova still counts up whose heartbeat is older than --age-warning
# TYPE nova_services_late gauge
nova_services_late{binary="nova-compute"} 0
nova_services_late{binary="nova-conductor"} 0
# HELP nova_services Services of the binary (matching the filters)
# TYPE nova_services gauge
nova_services{binary="nova-compute"} 3
nova_services{binary="nova-conductor"} 1
# HELP nova_services_disabled Disabled services (operator or AUTO)
# TYPE nova_services_disabled gauge
nova_services_disabled{binary="nova-compute"} 1
nova_services_disabled{binary="nova-conductor"} 0
# HELP nova_services_min_version Nova's minimum service version of the binary, as its control plane computes it
# TYPE nova_services_min_version gauge
nova_services_min_version{binary="nova-compute"} 74
nova_services_min_version{binary="nova-conductor"} 74
# HELP nova_services_max_version Highest service version of the binary
# TYPE nova_services_max_version gauge
nova_services_max_version{binary="nova-compute"} 74
nova_services_max_version{binary="nova-conductor"} 74
# HELP nova_cells Cells in the run, reachable or not (1 without an API database)
# TYPE nova_cells gauge
nova_cells 2
# HELP nova_cells_unreachable Cells that could not be read, or whose database may be stale
# TYPE nova_cells_unreachable gauge
nova_cells_unreachable 1
# HELP nova_cell_unreachable_info A cell that could not be read, and why (always 1)
# TYPE nova_cell_unreachable_info gauge
nova_cell_unreachable_info{cell="cell2",cell_uuid="00000000-0000-0000-0000-000000000002",\
reason="no SQLite database file {tmp}/gone.sqlite"} 1
# HELP nova_compute_version_floor The oldest nova-compute service version the control plane accepts
# TYPE nova_compute_version_floor gauge
nova_compute_version_floor 72
# HELP nova_services_too_old nova-compute services older than the control plane accepts
# TYPE nova_services_too_old gauge
nova_services_too_old 0
# HELP nova_zone_usable_computes Usable computes (nova-compute up and enabled) of an availability zone
# TYPE nova_zone_usable_computes gauge
nova_zone_usable_computes{zone="az1"} 1
nova_zone_usable_computes{zone="nova"} 0
# HELP nova_zone_computes Computes of an availability zone, the unknown ones included
# TYPE nova_zone_computes gauge
nova_zone_computes{zone="az1"} 2
nova_zone_computes{zone="nova"} 1
# HELP nova_zone_unknown_computes Computes of an availability zone in cells that could not be read (host_mappings)
# TYPE nova_zone_unknown_computes gauge
nova_zone_unknown_computes{zone="az1"} 0
nova_zone_unknown_computes{zone="nova"} 0
# HELP nova_service_up 1 when Nova's rule counts the service up, 0 when down
# TYPE nova_service_up gauge
nova_service_up{binary="nova-compute",host="cmp1",cell="cell1",zone="az1"} 1
nova_service_up{binary="nova-compute",host="cmp2",cell="cell1",zone="az1"} 0
nova_service_up{binary="nova-compute",host="cmp3",cell="cell1",zone="nova"} 1
nova_service_up{binary="nova-conductor",host="ctl1",cell="cell1",zone="internal"} 1
# HELP nova_service_disabled 1 when the service is disabled (operator or AUTO)
# TYPE nova_service_disabled gauge
nova_service_disabled{binary="nova-compute",host="cmp1",cell="cell1",zone="az1"} 0
nova_service_disabled{binary="nova-compute",host="cmp2",cell="cell1",zone="az1"} 0
nova_service_disabled{binary="nova-compute",host="cmp3",cell="cell1",zone="nova"} 1
nova_service_disabled{binary="nova-conductor",host="ctl1",cell="cell1",zone="internal"} 0
# HELP nova_service_heartbeat_age_seconds Now minus the heartbeat Nova's rule judged, negative in the future; absent \
without a readable heartbeat
# TYPE nova_service_heartbeat_age_seconds gauge
nova_service_heartbeat_age_seconds{binary="nova-compute",host="cmp1",cell="cell1",zone="az1"} 7.0
nova_service_heartbeat_age_seconds{binary="nova-compute",host="cmp2",cell="cell1",zone="az1"} 95.0
nova_service_heartbeat_age_seconds{binary="nova-compute",host="cmp3",cell="cell1",zone="nova"} 8.0
nova_service_heartbeat_age_seconds{binary="nova-conductor",host="ctl1",cell="cell1",zone="internal"} 3.0
# EOF
"""


def test_the_metrics_are_the_checks_reading_and_state(deployment, tmp_path):
    """Every cell, zone and service of the check's reading, its exit status, and an unreachable cell with its reason."""
    run = run_check("--api-db-url", deployment, CLOCK, "--format", "openmetrics")
    assert without_timestamp(run.stdout) == EXPECTED.replace("{tmp}", str(tmp_path))
    check = run_check("--api-db-url", deployment, CLOCK)
    assert check.status.startswith("NOVA_SERVICES UNKNOWN - cell cell2 (00000000…) unreachable: no SQLite database file")
    assert (run.code, run.stderr, check.code) == (3, "", 3)


def test_each_binarys_numbers_are_the_perfdatas(deployment):
    """One table (rule/metrics.py) for both: every perfdata item of a binary is its metric, value for value."""
    metrics = samples(run_check("--api-db-url", deployment, CLOCK, "--format", "openmetrics").stdout)
    perfdata = run_check("--api-db-url", deployment, CLOCK).perfdata
    compared = 0
    for binary in ("nova-compute", "nova-conductor"):
        for row in BINARY_METRICS:
            value = perfdata[binary + row.suffix].split(";")[0].rstrip("s")
            assert metrics[f'{row.metric}{{binary="{binary}"}}'] == float(value), (binary, row.suffix)
            compared += 1
    assert compared == 14
    assert (metrics["nova_cells"], metrics["nova_cells_unreachable"]) == (2, 1)
    assert (perfdata["cells_total"], perfdata["cells_unreachable"]) == ("2;;;0", "1;;;0;2")


def test_promtool_accepts_the_exposition(deployment):
    need_promtool()
    run = run_check("--api-db-url", deployment, CLOCK, "--format", "openmetrics")
    check = promtool_check_metrics(run.stdout)
    assert (check.returncode, check.stdout, check.stderr) == (0, "", "")


def test_hostile_host_names_cannot_break_the_exposition(tmp_path):
    """Quotes, backslashes, line breaks, a carriage return, U+2028, bytes that are not UTF-8; two hosts whose bytes
    read alike (one series each: the second gets its row id) -- promtool reads it all, one series per service."""
    need_promtool()
    path = tmp_path / "hostile.sqlite"
    hosts = ['q"uote', "back\\slash", "new\nline", "carriage\rreturn", "para\u2028graph", "pipe|x=1"]
    write_cell(f"sqlite:///{path}", [service(host, "nova-compute", NOW, age=5.0) for host in hosts + ["b1", "b2"]])
    with sqlite3.connect(path) as conn:  # two hosts of bytes that are not UTF-8, both read as "bad\ufffd"
        conn.execute("UPDATE services SET host = CAST(? AS TEXT) WHERE host = 'b1'", (b"bad\xff",))
        conn.execute("UPDATE services SET host = CAST(? AS TEXT) WHERE host = 'b2'", (b"bad\xfe",))
    # The second "bad\ufffd" in the database's byte order (\xfe before \xff) gets its row id.
    # As bytes: text mode would read the carriage return as a line end.
    run = subprocess.run(
        [sys.executable, "-m", "check_nova_services", "--db-url", f"sqlite:///{path}", CLOCK, "--format", "openmetrics"],
        capture_output=True,
        env=clean_env(),
        timeout=60,
    )
    stdout = run.stdout.decode("utf-8")  # strict: the exposition is UTF-8
    up = [line for line in stdout.split("\n") if line.startswith("nova_service_up{")]  # \r and U+2028 end no line
    assert up == [
        'nova_service_up{binary="nova-compute",host="back\\\\slash",cell="hostile",zone=""} 1',
        'nova_service_up{binary="nova-compute",host="bad\ufffd",cell="hostile",zone=""} 1',
        'nova_service_up{binary="nova-compute",host="bad\ufffd",cell="hostile",zone="",service_id="7"} 1',
        'nova_service_up{binary="nova-compute",host="carriage\rreturn",cell="hostile",zone=""} 1',
        'nova_service_up{binary="nova-compute",host="new\\nline",cell="hostile",zone=""} 1',
        'nova_service_up{binary="nova-compute",host="para\u2028graph",cell="hostile",zone=""} 1',
        'nova_service_up{binary="nova-compute",host="pipe|x=1",cell="hostile",zone=""} 1',
        'nova_service_up{binary="nova-compute",host="q\\"uote",cell="hostile",zone=""} 1',
    ]
    check = subprocess.run([PROMTOOL, "check", "metrics"], input=run.stdout, capture_output=True, timeout=60)
    assert (check.returncode, check.stdout, check.stderr, run.returncode, run.stderr) == (0, b"", b"", 0, b"")


def test_a_reading_that_fails_is_an_exposition_that_says_why(tmp_path):
    """Nothing read at all (here the API database; a config file, the timeout alike), not one cell of several."""
    missing = tmp_path / "typo.sqlite"
    run = run_check("--api-db-url", f"sqlite:///{missing}", CLOCK, "--format", "openmetrics")
    assert without_timestamp(run.stdout) == (
        "# HELP nova_services_scrape_success 1 when every cell was read; 0 when a cell or the whole reading failed "
        "(nova_cell_unreachable_info and nova_services_scrape_error_info say why)\n"
        "# TYPE nova_services_scrape_success gauge\n"
        "nova_services_scrape_success 0\n"
        "# HELP nova_services_check_state The state the check gives for the same reading: 0 OK, 1 WARNING, 2 CRITICAL, "
        "3 UNKNOWN\n"
        "# TYPE nova_services_check_state gauge\n"
        "nova_services_check_state 3\n"
        "# HELP nova_services_scrape_timestamp_seconds When this reading was made, Unix time\n"
        "# TYPE nova_services_scrape_timestamp_seconds gauge\n"
        "nova_services_scrape_timestamp_seconds T\n"
        "# HELP nova_services_scrape_error_info Why nothing could be read (always 1)\n"
        "# TYPE nova_services_scrape_error_info gauge\n"
        f'nova_services_scrape_error_info{{reason="API database unreachable: no SQLite database file {missing}"}} 1\n'
        "# EOF\n"
    )
    assert (run.code, run.stderr) == (3, "")


def test_the_reason_of_a_failure_holds_no_password():
    run = run_check(
        "--api-db-url", "mysql+pymysql://nova:s3cret-pass@127.0.0.1:1/nova_api", "-t", "2", "--format", "openmetrics"
    )
    assert "s3cret" not in run.stdout
    assert samples(run.stdout)["nova_services_scrape_success"] == 0
    assert run.stdout.split("\n")[-3:] == [
        "nova_services_scrape_error_info{reason=\"API database unreachable: Can't connect to MySQL server on '127.0.0.1' "
        '([Errno 111] Connection refused) (error 2003)"} 1',
        "# EOF",
        "",
    ]
    assert (run.code, run.stderr) == (3, "")


def test_the_textfile_is_written_whole_and_stdout_stays_quiet(deployment, tmp_path):
    directory = tmp_path / "textfiles"
    directory.mkdir()
    target = directory / "nova_services.prom"
    run = run_check("--api-db-url", deployment, CLOCK, "--textfile", str(target))
    assert (run.stdout, run.stderr, run.code) == ("", "", 3)  # the check's state: a cell is unreachable
    assert without_timestamp(target.read_text(encoding="utf-8")) == EXPECTED.replace("{tmp}", str(tmp_path))
    assert target.stat().st_mode & 0o777 == 0o644  # node_exporter reads it as another user
    assert sorted(p.name for p in directory.iterdir()) == ["nova_services.prom"]


def test_a_failed_reading_replaces_the_textfile_and_is_the_checks_line(tmp_path):
    """An older file must not stand for now: it becomes scrape_success 0; stdout is the check's UNKNOWN line."""
    target = tmp_path / "nova_services.prom"
    target.write_text("nova_services_scrape_success 1\n")
    missing = tmp_path / "typo.sqlite"
    run = run_check("--api-db-url", f"sqlite:///{missing}", CLOCK, "--textfile", str(target))
    assert run.stdout == f"NOVA_SERVICES UNKNOWN - API database unreachable: no SQLite database file {missing}\n"
    assert (run.stderr, run.code) == ("", 3)
    assert samples(target.read_text())["nova_services_scrape_success"] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nova_services.prom"]


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        ("missing/nova_services.prom", "No such file or directory"),
        ("a-file/nova_services.prom", "Not a directory"),
        ("a-directory", "Is a directory"),  # the temporary file is written, the rename fails: it is removed
    ],
)
def test_a_textfile_that_cannot_be_written_is_one_unknown_line_and_no_stray_file(tmp_path, where, reason):
    cell = tmp_path / "cell.sqlite"
    write_cell(f"sqlite:///{cell}", [service("cmp1", "nova-compute", NOW, age=5.0)])
    (tmp_path / "a-file").write_text("")
    (tmp_path / "a-directory").mkdir()
    before = sorted(p.name for p in tmp_path.rglob("*"))
    run = run_check("--db-url", f"sqlite:///{cell}", CLOCK, "--textfile", str(tmp_path / where))
    assert run.stdout == f"NOVA_SERVICES UNKNOWN - cannot write the textfile {tmp_path / where}: {reason}\n"
    assert (run.stderr, run.code) == ("", 3)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["--list", "--format", "openmetrics"],
            "--format openmetrics gives the check's metrics, not the list: give it without --list",
        ),
        (["--list", "--textfile", "x.prom"], "--textfile gives the check's metrics, not the list: give it without --list"),
        (["--textfile", ""], "argument --textfile: expected the path of a file, not ''"),
        (["--format", "prometheus"], "argument --format: expected text or json or openmetrics, not 'prometheus'"),
    ],
)
def test_bad_metrics_options_are_one_unknown_line(args, line):
    run = run_check("--db-url", "sqlite:///x.sqlite", *args)
    assert (run.stdout, run.stderr, run.code) == (f"NOVA_SERVICES UNKNOWN - {line}\n", "", 3)


def test_the_shipped_rules_pass_promtools_checks_and_unit_tests():
    need_promtool()
    rules = REPO / "prometheus" / "nova-services.rules.yml"
    check = subprocess.run([PROMTOOL, "check", "rules", str(rules)], capture_output=True, text=True, timeout=60)
    assert (check.returncode, check.stdout) == (0, f"Checking {rules}\n  SUCCESS: 13 rules found\n\n")
    tests = REPO / "tests" / "prometheus"
    unit = subprocess.run(
        [PROMTOOL, "test", "rules", "nova-services.rules.test.yml"], cwd=tests, capture_output=True, text=True, timeout=60
    )
    assert (unit.returncode, unit.stdout) == (0, "Unit Testing:  nova-services.rules.test.yml\n  SUCCESS\n\n"), unit.stdout


def test_the_readme_names_every_metric_the_plugin_writes_and_each_binarys_from_the_table():
    """The contract: README's Prometheus table lists every family the writer has, the per-binary ones by their row."""
    section = (REPO / "README.md").read_text(encoding="utf-8").split("\n### Prometheus\n", 1)[1].split("\n### ", 1)[0]
    listed = {
        name
        for line in section.splitlines()
        if line.startswith("| `")
        for name in re.findall(r"`(nova_\w+)`", line.split(" | ")[0])
    }
    written = set(re.findall(r"^# TYPE (\w+) gauge$", EXPECTED, re.MULTILINE))
    only_sometimes = {
        "nova_services_scrape_error_info",
        "nova_services_excluded",
        "nova_database_clock_skew_seconds",
        "nova_aggregate_usable_computes",
        "nova_aggregate_computes",
        "nova_aggregate_unknown_computes",
    }
    assert listed == written | only_sometimes
    source = (REPO / "check_nova_services" / "output" / "openmetrics.py").read_text(encoding="utf-8")
    assert all(f'"{name}"' in source for name in only_sometimes)
    rows = {line.split(" | ")[0]: line for line in section.splitlines() if line.startswith("| `nova_services")}
    for row in BINARY_METRICS:
        line = next(text for first, text in rows.items() if f"`{row.metric}`" in first)
        assert f"`<binary>{row.suffix}`" in line, row.metric


def test_the_timeout_ends_a_metrics_run_as_it_ends_the_check(tmp_path, monkeypatch):
    """nagiosplugin's hard bound (SIGALRM) over a survey that never ends: the check's UNKNOWN line, and the textfile
    says so with the same words. In process, the survey replaced by one that hangs."""
    import time

    from check_nova_services.cli import run as run_module
    from tests.harness.faults import run_in_process

    monkeypatch.setattr(run_module, "survey_of", lambda *args, **kwargs: time.sleep(30))
    target = tmp_path / "nova_services.prom"
    started = time.monotonic()
    run = run_in_process("--db-url", f"sqlite:///{tmp_path}/x.sqlite", "-t", "1", "--textfile", str(target))
    assert time.monotonic() - started < 5
    reason = "timed out after 1s: no complete answer from the database(s)"
    assert (run.stdout, run.stderr, run.code) == (f"NOVA_SERVICES UNKNOWN - {reason}\n", "", 3)
    assert f'nova_services_scrape_error_info{{reason="{reason}"}} 1\n' in target.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nova_services.prom"]

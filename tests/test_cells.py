"""Every cell in one run, against real MariaDB databases: discovery, templates, zones, unreachable cells."""

from __future__ import annotations

import dataclasses
import re
import socket
import threading
import time
import uuid as uuidlib

import pytest
from sqlalchemy.engine import make_url

from check_nova_services import readings
from check_nova_services.demo.writer import CELL0_UUID, service, write_api_database, write_cell
from check_nova_services.output.long_output import every_service_output
from check_nova_services.readings import Cell, combine
from check_nova_services.rule.policy import Policy
from check_nova_services.rule.selection import Selection
from check_nova_services.shared.deadline import Deadline
from check_nova_services.shared.errors import ReadError
from check_nova_services.sources.cells import ReadPlan, judge_rows
from check_nova_services.sources.discovery import CellSource, database_name, discover
from check_nova_services.sources.urls import (
    with_api_credentials,
)
from tests.conftest import CLOCK, NOW, free_port, run_check
from tests.harness.factories import NOW as FACTORY_NOW
from tests.harness.factories import POLICY, check, row
from tests.harness.faults import run_in_process

CELL1_UUID = "11111111-1111-1111-1111-111111111111"
CELL2_UUID = "22222222-2222-2222-2222-222222222222"
NOVA_PASSWORD = "n0va-Secret/pass"  # has a '/' so it must travel percent-encoded inside URLs


@pytest.fixture(scope="module")
def nova_user(mariadb):
    """Nova's own database user, with a password (templates format {password} from it)."""
    mariadb.execute(
        "DROP USER IF EXISTS 'nova'@'%'",
        f"CREATE USER 'nova'@'%' IDENTIFIED BY '{NOVA_PASSWORD}'",
        "GRANT ALL ON *.* TO 'nova'@'%'",
    )
    return "nova"


@pytest.fixture
def hanging_server():
    """Accepts TCP connections and never says a word: a wedged database server."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


class Deployment:
    """An API database and three cells on the test server, as a multi-cell Nova keeps them."""

    def __init__(self, mariadb, prefix: str):
        self.mariadb = mariadb
        self.prefix = prefix
        port = mariadb.admin.port
        self.base = f"mysql+pymysql://nova:{NOVA_PASSWORD.replace('/', '%2F')}@127.0.0.1:{port}/{prefix}_cell1"
        self.api = mariadb.create_database(f"{prefix}_api").render_as_string(hide_password=False)
        for name in ("cell0", "cell1", "cell2"):
            mariadb.create_database(f"{prefix}_{name}")
        self.cells = [
            (CELL0_UUID, "cell0", self.base.replace("_cell1", "_cell0")),
            (CELL1_UUID, "cell1", self.base),
            # A template, formatted from [database]/connection like Nova's format_db_url.
            (CELL2_UUID, "cell2", "{scheme}://{username}:{password}@{hostname}:{port}/" + f"{prefix}_cell2"),
        ]
        self.zones = {"az1": ["cmp1", "cmp2"], "az2": ["cmp2"]}
        write_cell(
            self.base.replace("_cell1", "_cell0"),
            [
                service("ctl1", "nova-conductor", NOW, age=3.0),
                service("ctl1", "nova-scheduler", NOW, age=4.0),
                service("ctl1", "nova-osapi_compute", NOW, age=None, topic=None),
            ],
        )
        write_cell(
            self.base,
            [
                service("cell1-cond", "nova-conductor", NOW, age=5.0),
                service("cmp1", "nova-compute", NOW, age=6.0),
                service("cmp2", "nova-compute", NOW, age=7.0),
            ],
        )
        write_cell(
            self.base.replace("_cell1", "_cell2"),
            [
                service("cell2-cond", "nova-conductor", NOW, age=8.0),
                service("cmp1", "nova-compute", NOW, age=9.0),  # the same host name as in cell1: another service
                service("cmp3", "nova-compute", NOW, age=10.0),
            ],
        )
        self.write_api()

    def write_api(self, extra: list[tuple[str, str, str]] = (), disabled: tuple[str, ...] = ()) -> None:
        write_api_database(self.api, self.cells + list(extra), self.zones, disabled)

    def args(self, *more: str) -> list[str]:
        return ["--api-db-url", self.api, "--db-url", self.base, CLOCK, *more]


@pytest.fixture
def deployment(mariadb, nova_user, request):
    return Deployment(mariadb, request.node.name.replace("test_", "")[:24])


PERF_CELLS_OK = (
    "'nova-compute_disabled'=0;;;0;4 'nova-compute_down'=0;0;2;0;4 'nova-compute_late'=0;0;;0;4 "
    "'nova-compute_max_age'=10.0s;;;0 "
    "'nova-compute_total'=4;;;0 'nova-compute_version_max'=74 'nova-compute_version_min'=74 "
    "'nova-conductor_disabled'=0;;;0;3 'nova-conductor_down'=0;0;0;0;3 "
    "'nova-conductor_late'=0;0;;0;3 'nova-conductor_max_age'=8.0s;;;0 'nova-conductor_total'=3;;;0 "
    "'nova-conductor_version_max'=74 'nova-conductor_version_min'=74 "
    "'nova-scheduler_disabled'=0;;;0;1 "
    "'nova-scheduler_down'=0;0;0;0;1 'nova-scheduler_late'=0;0;;0;1 'nova-scheduler_max_age'=4.0s;;;0 "
    "'nova-scheduler_total'=1;;;0 'nova-scheduler_version_max'=74 'nova-scheduler_version_min'=74 "
)


def test_every_cell_is_read_including_cell0_and_template_urls(deployment):
    run = run_check(*deployment.args("-vv"))
    assert run.lines[0] == "NOVA_SERVICES OK - 8 of 8 services up: nova-conductor 3/3, nova-scheduler 1/1, nova-compute 4/4"
    assert run.lines[1:9] == [
        "up: nova-compute@cmp1 cell=cell1 zone=az1 status=enabled state=up heartbeat=6s ago "
        "(last_seen_up 2026-11-26 11:59:54) forced_down=no disabled_reason=-",
        "up: nova-compute@cmp1 cell=cell2 zone=az1 status=enabled state=up heartbeat=9s ago "
        "(last_seen_up 2026-11-26 11:59:51) forced_down=no disabled_reason=-",
        "up: nova-compute@cmp2 cell=cell1 zone=az1,az2 status=enabled state=up heartbeat=7s ago "
        "(last_seen_up 2026-11-26 11:59:53) forced_down=no disabled_reason=-",
        "up: nova-compute@cmp3 cell=cell2 zone=nova status=enabled state=up heartbeat=10s ago "
        "(last_seen_up 2026-11-26 11:59:50) forced_down=no disabled_reason=-",
        "up: nova-conductor@cell1-cond cell=cell1 zone=internal status=enabled state=up heartbeat=5s ago "
        "(last_seen_up 2026-11-26 11:59:55) forced_down=no disabled_reason=-",
        "up: nova-conductor@cell2-cond cell=cell2 zone=internal status=enabled state=up heartbeat=8s ago "
        "(last_seen_up 2026-11-26 11:59:52) forced_down=no disabled_reason=-",
        "up: nova-conductor@ctl1 cell=cell0 zone=internal status=enabled state=up heartbeat=3s ago "
        "(last_seen_up 2026-11-26 11:59:57) forced_down=no disabled_reason=-",
        "up: nova-scheduler@ctl1 cell=cell0 zone=internal status=enabled state=up heartbeat=4s ago "
        "(last_seen_up 2026-11-26 11:59:56) forced_down=no disabled_reason=-",
    ]
    # Each zone's usable computes: cmp1 (in both cells) and cmp2 in az1, cmp2 also in az2, cmp3 in the default zone.
    zones = (
        "az_az1_total=3;;;0 az_az1_unknown=0;;;0;3 az_az1_usable=3;;;0;3 az_az2_total=1;;;0 az_az2_unknown=0;;;0;1 "
        "az_az2_usable=1;;;0;1 az_nova_total=1;;;0 az_nova_unknown=0;;;0;1 az_nova_usable=1;;;0;1 "
    )
    assert run.lines[9] == (
        f"| {PERF_CELLS_OK}{zones}cells_total=3;;;0 cells_unreachable=0;;;0;3 clock_skew=0s;-25:25 services_too_old=0;0;;0"
    )
    assert (run.code, run.stderr) == (0, "")


def test_nova_conf_gives_the_same_answer(deployment, tmp_path):
    conf = tmp_path / "nova.conf"
    conf.write_text(
        "[DEFAULT]\nservice_down_time = 60\nreport_interval = 10\ndefault_availability_zone = zone-default\n"
        f"[database]\nconnection = {deployment.base}\n[api_database]\nconnection = {deployment.api}\n"
    )
    conf.chmod(0o600)
    run = run_check("--config-file", str(conf), CLOCK, "--zone", "zone-default", "-vv")
    assert run.lines[0] == "NOVA_SERVICES OK - 1 of 1 services up: nova-compute 1/1"
    assert run.lines[1].startswith("up: nova-compute@cmp3 cell=cell2 zone=zone-default ")
    assert run.code == 0


def test_zone_and_cell_filters(deployment):
    by_zone = run_check(*deployment.args("--zone", "az2"))
    assert by_zone.status == "NOVA_SERVICES OK - 1 of 1 services up: nova-compute 1/1"
    by_cell = run_check(*deployment.args("--cell", "cell2", "--cell", CELL1_UUID))
    assert by_cell.status == "NOVA_SERVICES OK - 6 of 6 services up: nova-conductor 2/2, nova-compute 4/4"
    assert by_cell.perfdata["cells_total"] == "2;;;0"
    unknown = run_check(*deployment.args("--cell", "cell9"))
    assert unknown.stdout == "NOVA_SERVICES UNKNOWN - no cell cell9 in the API database (cells: cell0, cell1, cell2)\n"
    assert unknown.code == 3


def test_no_service_matches_names_the_filters(deployment):
    run = run_check(*deployment.args("--zone", "az1", "--binary", "nova-scheduler"))
    assert run.stdout == "NOVA_SERVICES UNKNOWN - no services matched (--zone az1 --binary nova-scheduler)\n"
    assert run.code == 3


def test_unreachable_cells_are_named_and_the_rest_reported(deployment, mariadb, hanging_server):
    refused, hanging, denied = (str(uuidlib.UUID(int=n)) for n in (3, 4, 5))
    dead_port = free_port()
    deployment.write_api(
        extra=[
            (refused, "cell3", f"mysql+pymysql://nova:x@127.0.0.1:{dead_port}/nova"),
            (hanging, "cell4", f"mysql+pymysql://nova:x@127.0.0.1:{hanging_server}/nova"),
            (denied, "cell5", f"mysql+pymysql://nova:WrongSecret-77@127.0.0.1:{mariadb.admin.port}/nova"),
        ]
    )
    started = time.monotonic()
    run = run_check(*deployment.args("-t", "4", "-v"))
    elapsed = time.monotonic() - started
    # the first line names the cells; -v gives each one's uuid and error
    assert run.lines[0] == "NOVA_SERVICES UNKNOWN - 3 of 6 cells unreachable: cell3, cell4, cell5"
    assert run.lines[1] == (
        f"unreachable: cell cell3 ({refused}): Can't connect to MySQL server on '127.0.0.1' "
        "([Errno 111] Connection refused) (error 2003)"
    )
    assert run.lines[2].startswith(f"unreachable: cell cell4 ({hanging}): ")
    assert run.lines[3] == (
        f"unreachable: cell cell5 ({denied}): Access denied for user 'nova'@'localhost' (using password: YES) (error 1045): "
        "wrong user or password, or REQUIRE SSL (no TLS here)"
    )
    assert run.perfdata["cells_total"] == "6;;;0"
    assert run.perfdata["cells_unreachable"] == "3;;;0;6"
    assert run.perfdata["nova-compute_total"] == "4;;;0"  # the reachable cells, in full
    assert "WrongSecret" not in run.stdout and NOVA_PASSWORD not in run.stdout
    assert (run.code, run.stderr) == (3, "")
    assert elapsed < 5, elapsed

    critical = run_check(*deployment.args("-t", "4", "--unreachable-cell-state", "critical"))
    assert critical.code == 2
    assert critical.status.startswith("NOVA_SERVICES CRITICAL - 3 of 6 cells unreachable: cell3")


def test_a_critical_service_outranks_an_unreachable_cell(deployment):
    write_cell(deployment.base.replace("_cell1", "_cell0"), [service("ctl1", "nova-conductor", NOW, age=75.0)])
    deployment.write_api(extra=[(str(uuidlib.UUID(int=3)), "cell3", f"mysql+pymysql://nova:x@127.0.0.1:{free_port()}/x")])
    run = run_check(*deployment.args())
    assert run.status == (
        # what cannot be known comes first; beside a down service its uuid is shortened (-v has it whole)
        "NOVA_SERVICES CRITICAL - cell cell3 (00000000…) unreachable: Can't connect to MySQL server on "
        "'127.0.0.1' ([Errno 111] Connection refused) (error 2003); nova-conductor 1/3 down: ctl1 (75s)"
    )
    assert run.code == 2


def test_whole_cells_down_are_one_count_beside_the_control_plane(deployment, mariadb):
    """Issue 28, on the real server: four more cells, each with every service down (its conductor and two
    computes, for 5 minutes), and cell1's conductor down too. The four whole cells are one count with their
    names; the conductor keeps its place and its count; nothing is cut."""
    extra = []
    for n in range(3, 7):
        name = f"{deployment.prefix}_cell{n}"
        mariadb.create_database(name)
        url = deployment.base.replace(f"{deployment.prefix}_cell1", name)
        write_cell(url, [service(f"cell{n}-{host}", binary, NOW, age=300.0) for host, binary in CELL_OF_THREE])
        extra.append((str(uuidlib.UUID(int=n)), f"cell{n}", url))
    deployment.write_api(extra=extra)
    write_cell(
        deployment.base,
        [
            service("cell1-cond", "nova-conductor", NOW, age=75.0),
            service("cmp1", "nova-compute", NOW, age=6.0),
            service("cmp2", "nova-compute", NOW, age=7.0),
        ],
    )
    run = run_check(*deployment.args())
    assert (run.code, run.status) == (
        2,
        "NOVA_SERVICES CRITICAL - 4 cells all down (12 services): cell3, cell4, cell5, cell6; "
        "nova-conductor 5/7 down: cell1-cond (75s)",
    )
    assert run.perfdata["nova-compute_down"] == "8;0;6;0;12"  # critical above half of 12
    assert run.stderr == ""


CELL_OF_THREE = (("cond", "nova-conductor"), ("cmp1", "nova-compute"), ("cmp2", "nova-compute"))


def test_memcache_servicegroup_driver_is_refused(deployment, tmp_path):
    conf = tmp_path / "nova.conf"
    conf.write_text(f"[DEFAULT]\nservicegroup_driver = mc\n[api_database]\nconnection = {deployment.api}\n")
    run = run_check("--config-file", str(conf))
    assert run.stdout == (
        "NOVA_SERVICES UNKNOWN - servicegroup_driver = mc: heartbeats live in memcached, "
        "the database cannot tell which services are up\n"
    )
    assert run.code == 3


def test_api_database_unreachable_is_unknown():
    run = run_check("--api-db-url", f"mysql+pymysql://monitor:S3cret@127.0.0.1:{free_port()}/nova_api")
    assert run.stdout == (
        "NOVA_SERVICES UNKNOWN - API database unreachable: Can't connect to MySQL server on '127.0.0.1' "
        "([Errno 111] Connection refused) (error 2003)\n"
    )
    assert run.code == 3


def test_select_only_user_reads_every_cell_with_api_credentials(deployment, mariadb):
    p = deployment.prefix
    mariadb.execute(
        "DROP USER IF EXISTS 'monitor'@'%'",
        "CREATE USER 'monitor'@'%' IDENTIFIED BY 'm0nitor'",
        f"GRANT SELECT ON `{p}_api`.`cell_mappings` TO 'monitor'@'%'",
        f"GRANT SELECT ON `{p}_api`.`aggregate_hosts` TO 'monitor'@'%'",
        f"GRANT SELECT ON `{p}_api`.`aggregate_metadata` TO 'monitor'@'%'",
        *(f"GRANT SELECT ON `{p}_{c}`.`services` TO 'monitor'@'%'" for c in ("cell0", "cell1", "cell2")),
    )
    # cell1's mapping carries credentials that no longer work: only the monitoring user's can succeed.
    deployment.cells[1] = (CELL1_UUID, "cell1", deployment.base.replace(NOVA_PASSWORD.replace("/", "%2F"), "stale"))
    deployment.write_api()
    api = f"mysql+pymysql://monitor:m0nitor@127.0.0.1:{mariadb.admin.port}/{p}_api"
    mapping = run_check("--api-db-url", api, "--db-url", deployment.base, CLOCK)
    assert mapping.status.startswith(
        "NOVA_SERVICES UNKNOWN - cell cell1 (11111111-1111-1111-1111-111111111111) "
        "unreachable: Access denied for user 'nova'@'localhost'"
    )
    run = run_check("--api-db-url", api, "--db-url", deployment.base, "--cell-credentials", "api", CLOCK)
    assert run.status == "NOVA_SERVICES OK - 8 of 8 services up: nova-conductor 3/3, nova-scheduler 1/1, nova-compute 4/4"
    assert run.code == 0


def test_debug_output_shows_each_cell_without_passwords(deployment):
    run = run_check(*deployment.args("-vvv"))
    debug = [line for line in run.lines if line.startswith(("cell ", "API database", "service_down_time"))]
    port = deployment.mariadb.admin.port
    assert debug[0] == (
        "service_down_time 60s (configured 60, report_interval 10); age warning 35.0; skew warning 25.0; "
        "clock 2026-11-26 12:00:00"
    )
    assert debug[1] == (
        f"API database mysql+pymysql://root@127.0.0.1:{port}/{deployment.prefix}_api; "
        f"cell template base mysql+pymysql://nova:***@127.0.0.1:{port}/{deployment.prefix}_cell1"
    )
    assert [line.split(": ")[0] for line in debug[2:]] == [
        f"cell cell0 ({CELL0_UUID})",
        f"cell cell1 ({CELL1_UUID})",
        f"cell cell2 ({CELL2_UUID})",
    ]
    assert re.search(
        rf" from mysql\+pymysql://nova:\*\*\*@127\.0\.0\.1:{port}/{deployment.prefix}_cell2, "
        r"server clock [+-]0\.0\d\ds from this host's, no Galera, no replication seen$",
        debug[4],
    ), debug[4]
    assert NOVA_PASSWORD not in run.stdout and NOVA_PASSWORD.replace("/", "%2F") not in run.stdout
    assert (run.code, run.stderr) == (0, "")


def test_api_credentials_from_an_option_file_reach_every_cell(deployment, mariadb, tmp_path):
    """--cell-credentials api with no user in the URL: the option file's user, never the mapping's."""
    p = deployment.prefix
    mariadb.execute(
        "DROP USER IF EXISTS 'optmon'@'%'",
        "CREATE USER 'optmon'@'%' IDENTIFIED BY 'Opt-m0n'",
        *(
            f"GRANT SELECT ON `{p}_api`.`{t}` TO 'optmon'@'%'"
            for t in ("cell_mappings", "aggregate_hosts", "aggregate_metadata")
        ),
        *(f"GRANT SELECT ON `{p}_{c}`.`services` TO 'optmon'@'%'" for c in ("cell0", "cell1", "cell2")),
    )
    # every mapping carries credentials that do not work: only the option file's can succeed
    stale = NOVA_PASSWORD.replace("/", "%2F")
    deployment.cells = [(u, n, url.replace(stale, "stale").replace("{password}", "stale")) for u, n, url in deployment.cells]
    deployment.write_api()
    option_file = tmp_path / "monitor.cnf"
    option_file.write_text("[client]\nuser=optmon\npassword=Opt-m0n\n")
    option_file.chmod(0o600)
    api = f"mysql+pymysql://127.0.0.1:{mariadb.admin.port}/{p}_api?read_default_file={option_file}"
    run = run_check("--api-db-url", api, "--db-url", deployment.base, "--cell-credentials", "api", CLOCK)
    assert run.status == "NOVA_SERVICES OK - 8 of 8 services up: nova-conductor 3/3, nova-scheduler 1/1, nova-compute 4/4"
    assert (run.code, run.stderr) == (0, "")
    assert "Opt-m0n" not in run.stdout


def test_a_compute_row_without_the_compute_topic_is_in_the_internal_zone():
    """Catches Deployment.zone_of deciding by ``binary`` instead of ``topic``: Nova's
    set_availability_zones gives aggregate zones to topic 'compute' only, so a nova-compute row whose topic
    is NULL is 'internal' and --zone az1 leaves it out."""
    deployment = readings.Deployment([], zones_by_host={"cmp1": {"az1"}, "cmp2": {"az1"}})
    with_topic = row("cmp1", age=5.0)
    without_topic = dataclasses.replace(row("cmp2", age=5.0), topic=None)
    assert [deployment.zone_of(r) for r in (with_topic, without_topic)] == ["az1", "internal"]
    selection = Selection(zones=("az1",))
    plan = ReadPlan(selection.where, POLICY, FACTORY_NOW, in_database=False, keep_all=True, selection=selection)
    cell = Cell("cell1", "11111111-1111-4111-8111-111111111111", None)
    reading = judge_rows(cell, [with_topic, without_topic], plan, deployment.zone_names, FACTORY_NOW)
    lines = list(every_service_output(combine(readings.Deployment([cell]), [reading], narrowed=True)))
    assert lines == [
        "up: nova-compute@cmp1 cell=cell1 zone=az1 status=enabled state=up heartbeat=5s ago "
        "(last_seen_up 2026-11-26 14:59:55) forced_down=no disabled_reason=-"
    ]


def test_a_disabled_cell_is_still_read(tmp_path):
    """Catches discovery.discover skipping disabled cell mappings: a disabled cell takes no new
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


def test_the_furthest_heartbeat_from_the_future_is_the_one_named():
    """Catches in Policy.ahead ``age < -ahead_after`` -> ``<=`` (policy:17) and in TallyBuilder's furthest_ahead
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


def test_cells_and_cell_sources_keep_their_urls_out_of_their_repr():
    """Catches ``field(repr=False)`` -> ``repr=True`` on Cell.url, CellSource.db_url and CellSource.api_url:
    SQLAlchemy's repr hides the password but not a query option
    that carries one."""
    url = make_url("mysql+pymysql://nova@db.example.org/nova?password=Query-Secret-2")
    things = [Cell("cell1", None, url), CellSource(url, None), CellSource(None, url)]
    assert [repr(thing).count("Query-Secret-2") for thing in things] == [0, 0, 0]


def test_a_cell_whose_url_cannot_be_read_does_not_hide_the_cells_after_it(tmp_path):
    """Catches discover's ``continue`` -> ``break`` after a cell URL that cannot be read, and after a template
    that has no [database]/connection to be formatted from."""
    api = f"sqlite:///{tmp_path}/api.sqlite"
    write_api_database(
        api,
        [
            ("11111111-1111-4111-8111-111111111111", "cell1", "not a url"),
            ("22222222-2222-4222-8222-222222222222", "cell2", "{scheme}://{username}:{password}@{hostname}/nova_cell2"),
            ("33333333-3333-4333-8333-333333333333", "cell3", f"sqlite:///{tmp_path}/cell3.sqlite"),
        ],
    )
    cells = discover(make_url(api), None, Deadline.after(5)).cells
    assert [(c.name, c.problem) for c in cells] == [
        ("cell1", "cell cell1's database_connection is not a database URL (expected e.g. mysql+pymysql://user@host/nova)"),
        (
            "cell2",
            "its database_connection is a template ({...} fields) formatted from [database]/connection or --db-url",
        ),
        ("cell3", None),
    ]
    assert str(cells[2].url) == f"sqlite:///{tmp_path}/cell3.sqlite"


def test_a_missing_cell_is_named_with_the_cells_there_are(tmp_path):
    """Catches ``m.name or m.uuid`` -> ``and`` in discover's "no cell" message: the cells
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
    """Catches database_name's ``url.database or "nova"`` -> ``and``, ``[0]`` -> ``[1]`` and ``== "sqlite"`` ->
    ``!=``."""
    assert database_name(make_url(url)) == name


def test_a_single_database_without_a_name_is_called_nova_on_the_pager_line():
    run = run_in_process("--db-url", f"mysql+pymysql://nova:pw@127.0.0.1:{free_port()}", CLOCK)
    assert run.status.startswith("NOVA_SERVICES UNKNOWN - database nova unreachable: Can't connect to MySQL server")


def test_cell_picks_cells_by_name_or_uuid_wherever_they_are_in_the_api_database(tmp_path):
    """Catches discover's ``name not in only`` -> ``in``, ``mapping.uuid not in only`` -> ``in`` and the
    ``continue`` -> ``break`` after a cell left out."""
    api = f"sqlite:///{tmp_path}/api.sqlite"
    uuids = [f"{i}{i}{i}{i}{i}{i}{i}{i}-{i}{i}{i}{i}-4{i}{i}{i}-8{i}{i}{i}-{i * 12}" for i in "123"]
    write_api_database(api, [(uuid, f"cell{i}", f"sqlite:///{tmp_path}/cell{i}.sqlite") for i, uuid in zip("123", uuids)])
    for only, wanted in [(("cell2",), ["cell2"]), ((uuids[2],), ["cell3"]), (("cell3", uuids[0]), ["cell1", "cell3"])]:
        assert [c.name for c in discover(make_url(api), None, Deadline.after(5), only=only).cells] == wanted


def test_a_cell_is_read_with_the_api_databases_user_password_and_tls(tmp_path):
    """Catches with_api_credentials' ``api.username or ...`` -> ``and``, ``password is None`` -> ``is not``,
    ``_first_text(...) or ...`` -> ``and``, ``key not in _CREDENTIAL_OPTIONS`` -> ``in``, both query.update()
    removed, and _first_text's ``and`` -> ``or`` (twice) and ``value[0]`` -> ``value[1]``: the cell's own server and
    options, the API side's user, password and TLS settings."""
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

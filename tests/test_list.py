"""--list on real MariaDB cells: the table and the JSON for every state, across cells, with filters
and an unreachable cell; exit codes 0 (complete), 1 (partial), 3 (none)."""

from __future__ import annotations

import json

import pytest

from check_nova_services.demo.writer import service, write_api_database, write_cell
from check_nova_services.output.listing import json_chunks, service_records
from check_nova_services.readings import Cell, Deployment, combine
from check_nova_services.rule.selection import ServiceFilter
from check_nova_services.sources.cells import ReadPlan, judge_rows
from tests.conftest import CLOCK, NOW, free_port, run_check
from tests.harness import factories

CELL1 = "11111111-aaaa-4bbb-8ccc-000000000001"
CELL2 = "22222222-aaaa-4bbb-8ccc-000000000002"
DEAD = "33333333-aaaa-4bbb-8ccc-000000000003"


@pytest.fixture(scope="module")
def cloud(mariadb):
    """Two cells with a service in every state, zones from aggregates, and a third cell nobody answers for."""
    cell1 = mariadb.create_database("list_cell1")
    cell2 = mariadb.create_database("list_cell2")
    write_cell(
        cell1,
        [
            service("ctl1", "nova-conductor", NOW, age=3.0),
            service("ctl1", "nova-scheduler", NOW, age=40.0),  # up, but late
            service("cmp1", "nova-compute", NOW, age=312.0),  # down
            service("cmp2", "nova-compute", NOW, age=4.0, forced_down=True),
            service("cmp3", "nova-compute", NOW, age=6.0, disabled=True, disabled_reason="AUTO: Connection to libvirt lost: 1"),
        ],
    )
    write_cell(
        cell2,
        [
            service("ctl2", "nova-conductor", NOW, age=-20.0),  # a heartbeat from the future: Nova's abs() says up
            service("cmp1", "nova-compute", NOW, age=2.0),  # the same host name as in cell1
            service("cmp4", "nova-compute", NOW, age=2 * 86400.0, disabled=True, disabled_reason="RAM | swap\nnow", version=57),
            service("cmp5", "nova-compute", NOW, age=None, created_age=600.0),  # never reported
        ],
    )
    api = mariadb.create_database("list_api")
    dead = f"mysql+pymysql://root@127.0.0.1:{free_port()}/list_cell3"
    write_api_database(
        api,
        [
            (CELL1, "cell1", cell1.render_as_string(hide_password=False)),
            (CELL2, "cell2", cell2.render_as_string(hide_password=False)),
            (DEAD, "cell3", dead),
        ],
        zones={"az1": ["cmp1", "cmp2"], "az2": ["cmp4"]},
    )
    return api.render_as_string(hide_password=False)


HEADER = (
    "Binary          Host  Zone      Status    State  Updated_At           Cell   Age     Forced down  Version        "
    "Disabled reason"
)
TABLE = [
    HEADER,
    "nova-compute    cmp1  az1       enabled   down   2026-11-26 11:54:48  cell1  5m12s   no           74 (Hibiscus)  -",
    "nova-compute    cmp1  az1       enabled   up     2026-11-26 11:59:58  cell2  2s      no           74 (Hibiscus)  -",
    "nova-compute    cmp2  az1       enabled   down   2026-11-26 11:59:56  cell1  4s      yes          74 (Hibiscus)  -",
    "nova-compute    cmp3  nova      disabled  up     2026-11-26 11:59:54  cell1  6s      no           74 (Hibiscus)  "
    "AUTO: Connection to libvirt lost: 1",
    "nova-compute    cmp4  az2       disabled  down   2026-11-24 12:00:00  cell2  2d00h   no           57 (Xena)      "
    "RAM ¦ swap\\x0anow",
    "nova-compute    cmp5  nova      enabled   down   2026-11-26 11:50:00  cell2  10m00s  no           74 (Hibiscus)  -",
    "nova-conductor  ctl1  internal  enabled   up     2026-11-26 11:59:57  cell1  3s      no           74 (Hibiscus)  -",
    "nova-conductor  ctl2  internal  enabled   up     2026-11-26 12:00:20  cell2  -20s    no           74 (Hibiscus)  -",
    "nova-scheduler  ctl1  internal  enabled   up     2026-11-26 11:59:20  cell1  40s     no           74 (Hibiscus)  -",
]


def test_table_of_every_state_across_cells_and_the_unreachable_cell_on_stderr(cloud):
    run = run_check("--api-db-url", cloud, CLOCK, "--list", "-t", "5")
    assert run.lines == TABLE
    assert run.stderr.startswith(f"check_nova_services: cell cell3 ({DEAD}) unreachable: Can't connect to MySQL server")
    assert len(run.stderr.splitlines()) == 1
    assert run.code == 1  # a partial list


def test_the_same_filters_as_the_check(cloud):
    run = run_check("--api-db-url", cloud, CLOCK, "--list", "--cell", "cell1", "--binary", "nova-compute", "--zone", "az1")
    assert (run.code, run.stderr) == (0, "")
    assert run.lines == [
        "Binary        Host  Zone  Status   State  Updated_At           Cell   Age    Forced down  Version        "
        "Disabled reason",
        "nova-compute  cmp1  az1   enabled  down   2026-11-26 11:54:48  cell1  5m12s  no           74 (Hibiscus)  -",
        "nova-compute  cmp2  az1   enabled  down   2026-11-26 11:59:56  cell1  4s     yes          74 (Hibiscus)  -",
    ]
    excluded = run_check("--api-db-url", cloud, CLOCK, "--list", "--cell", "cell2", "--exclude", "@cmp[45]$", "--host", "cmp1")
    assert (excluded.code, excluded.stderr) == (0, "")
    assert excluded.lines == [
        "Binary        Host  Zone  Status   State  Updated_At           Cell   Age  Forced down  Version        "
        "Disabled reason",
        "nova-compute  cmp1  az1   enabled  up     2026-11-26 11:59:58  cell2  2s   no           74 (Hibiscus)  -",
    ]


def test_json_for_scripts(cloud):
    run = run_check("--api-db-url", cloud, CLOCK, "--list", "--format", "json", "-t", "5")
    assert (run.code, run.stderr) == (1, "")
    document = json.loads(run.stdout)
    assert list(document) == ["services", "errors"]
    assert [(s["binary"], s["host"], s["cell"], s["state"], s["status"], s["zone"]) for s in document["services"]] == [
        ("nova-compute", "cmp1", "cell1", "down", "enabled", "az1"),
        ("nova-compute", "cmp1", "cell2", "up", "enabled", "az1"),
        ("nova-compute", "cmp2", "cell1", "down", "enabled", "az1"),
        ("nova-compute", "cmp3", "cell1", "up", "disabled", "nova"),
        ("nova-compute", "cmp4", "cell2", "down", "disabled", "az2"),
        ("nova-compute", "cmp5", "cell2", "down", "enabled", "nova"),
        ("nova-conductor", "ctl1", "cell1", "up", "enabled", "internal"),
        ("nova-conductor", "ctl2", "cell2", "up", "enabled", "internal"),
        ("nova-scheduler", "ctl1", "cell1", "up", "enabled", "internal"),
    ]
    cmp4 = document["services"][4]
    assert {k: v for k, v in cmp4.items() if k not in ("id", "uuid")} == {
        "binary": "nova-compute",
        "host": "cmp4",
        "zone": "az2",
        "cell": "cell2",
        "cell_uuid": CELL2,
        "status": "disabled",
        "state": "down",
        "forced_down": False,
        "disabled_reason": "RAM | swap\nnow",  # JSON carries the text as stored: jq can handle it
        "heartbeat": "2026-11-24T12:00:00.000000Z",
        "heartbeat_source": "last_seen_up",
        "age_seconds": 172800.0,
        "version": 57,
        "release": "Xena",
    }
    assert isinstance(cmp4["id"], int) and isinstance(cmp4["uuid"], str)
    never = document["services"][5]
    assert (never["heartbeat"], never["heartbeat_source"], never["age_seconds"]) == (
        "2026-11-26T11:50:00.000000Z",
        "created_at",
        600.0,
    )
    assert document["services"][1]["forced_down"] is False and document["services"][2]["forced_down"] is True
    [error] = document["errors"]
    assert (error["cell"], error["cell_uuid"]) == ("cell3", DEAD)
    assert error["error"].startswith("Can't connect to MySQL server on '127.0.0.1'")


def test_exit_codes(cloud, tmp_path):
    complete = run_check("--api-db-url", cloud, CLOCK, "--list", "--cell", "cell1", "--cell", "cell2", "--format", "json")
    assert (complete.code, json.loads(complete.stdout)["errors"]) == (0, [])
    nothing = run_check("--db-url", f"sqlite:///{tmp_path}/missing.sqlite", "--list")
    assert (nothing.code, nothing.stdout.splitlines(), nothing.stderr) == (
        3,
        [
            HEADER.split("  Zone")[0].split()[0]
            + "  Host  Zone  Status  State  Updated_At  Cell  Age  Forced down  Version  Disabled reason"
        ],
        f"check_nova_services: database missing unreachable: no SQLite database file {tmp_path}/missing.sqlite\n",
    )
    unusable = run_check("--api-db-url", cloud, "--list", "--format", "json", "--cell", "nosuch")
    assert unusable.code == 3
    assert json.loads(unusable.stdout)["errors"][0]["error"].startswith("no cell nosuch in the API database")
    bad = run_check("--api-db-url", cloud, "--list", "--format", "yaml")
    assert (bad.code, bad.stdout) == (
        3,
        "NOVA_SERVICES UNKNOWN - argument --format: expected text or json or openmetrics, not 'yaml'\n",
    )


@pytest.mark.parametrize(
    ("extra", "head", "codes"),
    [
        (["--list"], b"Binary       ", (-13,)),
        (["--list", "--format", "json"], b'{"services": [', (-13,)),
        (["-vv"], b"NOVA_SERVICES", (-13, 0)),
    ],
)
def test_a_reader_that_goes_away_ends_the_run_quietly(tmp_path, extra, head, codes):
    """Issue 29: `--list | head`, `-vv | less` then `q`: no traceback. The list ends as a Unix tool does, by
    SIGPIPE; the check ends by SIGPIPE too, or with its state when its output was already handed over."""
    import subprocess
    import sys

    from tests.conftest import clean_env

    url = f"sqlite:///{tmp_path / 'big.sqlite'}"
    write_cell(url, [service(f"cmp{n:05d}", "nova-compute", NOW, age=2.0) for n in range(3000)])  # > a pipe's 64 KiB
    command = [sys.executable, "-m", "check_nova_services", "--db-url", url, CLOCK, *extra]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env())
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.read(100)
    proc.stdout.close()
    stderr = proc.stderr.read()
    code = proc.wait(60)
    assert (first[: len(head)], stderr) == (head, b"")
    assert code in codes, code


def test_each_json_object_is_the_text_pythons_json_writes_of_its_record():
    """json_chunks writes each object without a dict (issue 29): the text must be json.dumps' of the record, for
    values that need escaping, none, negative ages, odd versions, every state."""
    rows = [
        factories.row('cmp\u202e"1\\', age=5.0, version=0),
        factories.row("cmp2", age=-120.5, version=None),
        factories.row("cmp3", age=None, reason='RAM | "swap"\n\tnow'),
        factories.row("cmp4", "nova-conductor", age=3600.25, forced_down=True, version=66),
        factories.row("", "nova-compute", age=5.0),
        factories.row("ctl1", "nova-scheduler", age=1e-6, version=1),
    ]
    plan = ReadPlan(ServiceFilter(), factories.POLICY, factories.NOW, in_database=False, keep_all=True)
    cell = Cell("cell \u00e9", "00000000-0000-4000-8000-000000000001", None)
    deployment = Deployment([cell], {"cmp2": {"az\u00e9"}})
    reading = combine(deployment, [judge_rows(cell, rows, plan, deployment.zone_names, factories.NOW)])
    records = list(service_records(reading))
    assert len(records) == len(rows) and {r["state"] for r in records} == {"up", "down"}
    objects = [json.dumps(record, ensure_ascii=False) for record in records]
    expected = '{"services": [\n  ' + ",\n  ".join(objects) + '\n], "errors": []}\n'
    assert "".join(json_chunks(reading)) == expected

"""Capacity per availability zone and host aggregate (issue 30), on a real MariaDB: usable computes counted where the
rows are, the computes of a cell that cannot be read from host_mappings, ranges judged without a false page or a
false OK."""

from __future__ import annotations

import pytest

from check_nova_services.demo.writer import CELL0_UUID, service, write_api_database, write_cell
from tests.conftest import CLOCK, NOW, free_port, run_check

CELL1_UUID = "c1c1c1c1-0000-4000-8000-000000000001"
CELL2_UUID = "c2c2c2c2-0000-4000-8000-000000000002"
#: A zone whose name is no perfdata label: made safe as a binary's name is (shared/text.label).
ODD_ZONE = "az 3/ü"


class Cloud:
    """Two cells and cell0; zones az1 (hosts in both cells; g1 also in the aggregate "gpu", which is no zone), az2
    (nothing usable: operator-disabled, forced down, AUTO-disabled), the default zone and an oddly named one."""

    def __init__(self, mariadb, prefix: str):
        self.mariadb = mariadb
        self.prefix = prefix
        port = mariadb.admin.port
        self.urls = {name: mariadb.create_database(f"{prefix}_{name}") for name in ("api", "cell0", "cell1", "cell2")}
        self.text = {name: url.render_as_string(hide_password=False) for name, url in self.urls.items()}
        write_cell(
            self.urls["cell0"], [service("ctl1", "nova-conductor", NOW, age=3.0), service("ctl1", "nova-scheduler", NOW)]
        )
        write_cell(
            self.urls["cell1"],
            [
                service("cell1-cond", "nova-conductor", NOW, age=4.0),
                service("a1", "nova-compute", NOW, age=5.0),
                service("a2", "nova-compute", NOW, age=300.0),
                service("g1", "nova-compute", NOW, age=6.0),
                service("b1", "nova-compute", NOW, age=7.0, disabled=True, disabled_reason="maintenance"),
            ],
        )
        write_cell(
            self.urls["cell2"],
            [
                service("cell2-cond", "nova-conductor", NOW, age=4.0),
                service("a3", "nova-compute", NOW, age=8.0),
                service("b2", "nova-compute", NOW, age=9.0, forced_down=True),
                service("b3", "nova-compute", NOW, age=10.0, disabled=True, disabled_reason="AUTO: Failed 10 times"),
                service("n1", "nova-compute", NOW, age=11.0),
                service("z1", "nova-compute", NOW, age=12.0),
            ],
        )
        self.port = port
        self.write_api()

    def write_api(self, cell2_url: str | None = None, cell2_also: tuple[str, ...] = ()) -> None:
        cells = [
            (CELL0_UUID, "cell0", self.text["cell0"]),
            (CELL1_UUID, "cell1", self.text["cell1"]),
            (CELL2_UUID, "cell2", cell2_url or self.text["cell2"]),
        ]
        write_api_database(
            self.urls["api"],
            cells,
            zones={"az1": ["a1", "a2", "g1", "a3"], "az2": ["b1", "b2", "b3"], ODD_ZONE: ["z1"], "empty": []},
            host_mappings={CELL1_UUID: ["a1", "a2", "g1", "b1"], CELL2_UUID: ["a3", "b2", "b3", "n1", "z1", *cell2_also]},
            aggregates={"gpu": ["g1", "a3"], "idle": []},
        )

    def cell2_unreachable(self, *also: str) -> None:
        self.write_api(f"mysql+pymysql://root@127.0.0.1:{free_port()}/{self.prefix}_cell2", also)

    def args(self, *more: str) -> list[str]:
        return ["--api-db-url", self.text["api"], CLOCK, *more]


@pytest.fixture
def cloud(mariadb, request):
    return Cloud(mariadb, "cap_" + request.node.name.replace("test_", "")[:20].replace("[", "_").replace("]", ""))


DOWN = "nova-compute 3/9 down: a2 (5m00s), b2 (forced down), b3 (AUTO: Failed 10 times)"


def zone_perfdata(run) -> list[str]:
    """The perfdata items of zones and aggregates, in order."""
    perfdata = run.stdout.split("|", 1)[1].split("\n", 1)[0]
    return [item for item in _items(perfdata) if item.startswith(("az_", "'az_", "aggregate_"))]


def _items(perfdata: str) -> list[str]:
    """Perfdata items, a quoted label with spaces kept whole."""
    items, quoted, current = [], False, ""
    for char in perfdata.strip():
        if char == "'":
            quoted = not quoted
        if char == " " and not quoted:
            items.append(current)
            current = ""
            continue
        current += char
    return [*items, current] if current else items


def test_every_zone_is_perfdata_usable_total_and_unknown(cloud):
    """Usable = up and enabled: a2 (down), b1 (operator-disabled), b2 (forced down), b3 (AUTO-disabled) are not; a host
    in a zone and an aggregate counts in both, a compute outside every zone in the default one; a zone whose name is
    no label gets a safe one."""
    run = run_check(*cloud.args())
    assert run.status == f"NOVA_SERVICES WARNING - {DOWN}; 2 disabled"
    assert zone_perfdata(run) == [
        "az_az1_total=4;;;0",
        "az_az1_unknown=0;;;0;4",
        "az_az1_usable=3;;;0;4",
        "az_az2_total=3;;;0",
        "az_az2_unknown=0;;;0;3",
        "az_az2_usable=0;;;0;3",
        "az_az_3___385680e3_total=1;;;0",
        "az_az_3___385680e3_unknown=0;;;0;1",
        "az_az_3___385680e3_usable=1;;;0;1",
        "az_nova_total=1;;;0",
        "az_nova_unknown=0;;;0;1",
        "az_nova_usable=1;;;0;1",
    ]
    assert (run.code, run.stderr) == (1, "")


def test_zone_ranges_a_count_or_a_share_the_worst_first(cloud):
    """--zone-critical az2=1: (none usable) is CRITICAL, said after the down computes; a plain --zone-warning 75%: is
    every zone's, a share of its computes (az1: 3 of 4 meets it); the ranges are the usable item's warn and crit."""
    run = run_check(*cloud.args("--zone-critical", "az2=1:", "--zone-warning", "75%:"))
    assert run.status == f"NOVA_SERVICES CRITICAL - {DOWN}; az2: 0 of 3 computes usable (needs 1); 2 disabled"
    narrowed = run_check(*cloud.args("--zone-critical", "az2=1:", "--zone", "az2"))
    assert narrowed.status == (
        "NOVA_SERVICES CRITICAL - cell2: all 2 services down, newest heartbeat 9s ago; "
        "az2: 0 of 3 computes usable (needs 1); 2 disabled"
    )
    assert zone_perfdata(narrowed) == ["az_az2_total=3;;;0", "az_az2_unknown=0;;;0;3", "az_az2_usable=0;;1:;0;3"]
    assert [item for item in zone_perfdata(run) if "_usable" in item] == [
        "az_az1_usable=3;3:;;0;4",
        "az_az2_usable=0;2.25:;1:;0;3",
        "az_az_3___385680e3_usable=1;0.75:;;0;1",
        "az_nova_usable=1;0.75:;;0;1",
    ]
    assert (run.code, run.stderr) == (2, "")


def test_aggregates_named_are_counted_and_a_name_that_is_nothing_is_said(cloud):
    """--aggregate-critical gpu=3: (g1 and a3, both usable: 2) is CRITICAL; an aggregate with no host, named, is 0 of
    0; a zone or an aggregate that does not exist is said like a -w/-c typo."""
    run = run_check(*cloud.args("--aggregate-critical", "gpu=3:", "--zone", "az1"))
    assert run.status == (
        "NOVA_SERVICES CRITICAL - nova-compute 1/4 down: a2 (5m00s); aggregate gpu: 2 of 2 computes usable (needs 3)"
    )
    assert [item for item in zone_perfdata(run) if item.startswith("aggregate_")] == [
        "aggregate_gpu_total=2;;;0",
        "aggregate_gpu_unknown=0;;;0;2",
        "aggregate_gpu_usable=2;;3:;0;2",
    ]
    assert (run.code, run.stderr) == (2, "")
    named = ("--aggregate-warning", "idle=1:", "--zone-warning", "az9=1:", "--aggregate-warning", "gpux=1:")
    run = run_check(*cloud.args("-w", "nova-compute=5", "--binary", "nova-compute", *named))
    assert run.status == (
        "NOVA_SERVICES WARNING - nova-compute 3/9 down; aggregate idle: 0 of 0 computes usable (needs 1); 2 disabled; "
        "--zone-warning/critical az9: no such zone; 1 --aggregate name matching no aggregate"
    )
    assert [item for item in zone_perfdata(run) if item.startswith("aggregate_")] == [
        "aggregate_idle_total=0;;;0",
        "aggregate_idle_unknown=0;;;0;0",
        "aggregate_idle_usable=0;1:;;0;0",
    ]
    assert (run.code, run.stderr) == (1, "")


#: What cell2, unreachable, holds, as host_mappings places it.
CELL2_COMPUTES = "5 computes (az 3/ü 1, az1 1, az2 2, nova 1)"


def test_a_cell_that_cannot_be_read_holds_unknown_computes(cloud):
    """cell2 dark: its computes, as host_mappings places them, are unknown. az1=2: holds with the usable ones alone
    (OK); az2=3: fails even if every unknown one were usable (CRITICAL); nova=1: depends on them (UNKNOWN, never OK)."""
    cloud.cell2_unreachable()
    run = run_check(*cloud.args("--zone-critical", "az1=2:,az2=3:,nova=1:"))
    assert run.status == (
        f"NOVA_SERVICES CRITICAL - cell cell2 (c2c2c2c2…) unreachable; {CELL2_COMPUTES}; nova-compute 1/4 down; "
        "az2 0/3 usable (needs 3); nova 0/1 usable (needs 1); 1 disabled"
    )
    assert zone_perfdata(run) == [
        "az_az1_total=4;;;0",
        "az_az1_unknown=1;;;0;4",
        "az_az1_usable=2;;2:;0;4",
        "az_az2_total=3;;;0",
        "az_az2_unknown=2;;;0;3",
        "az_az2_usable=0;;3:;0;3",
        "az_az_3___385680e3_total=1;;;0",
        "az_az_3___385680e3_unknown=1;;;0;1",
        "az_az_3___385680e3_usable=0;;;0;1",
        "az_nova_total=1;;;0",
        "az_nova_unknown=1;;;0;1",
        "az_nova_usable=0;;1:;0;1",
    ]
    assert (run.code, run.stderr) == (2, "")
    verbose = run_check(*cloud.args("--zone-critical", "az1=2:,az2=3:,nova=1:", "-v"))
    assert verbose.lines[2:5] == [
        "unknown computes of cell cell2 (c2c2c2c2-0000-4000-8000-000000000002): az 3/ü (1): z1; az1 (1): a3; "
        "az2 (2): b2, b3; nova (1): n1",
        "capacity: az2: 0 of 3 computes usable, 2 unknown (needs 3)",
        "capacity: nova: 0 of 1 computes usable, 1 unknown (needs 1)",
    ]


def test_a_breach_that_depends_on_unknown_computes_is_unknown(cloud):
    """nova=1: with its one compute in the dark cell: UNKNOWN, never OK, the zone said on the first line."""
    cloud.cell2_unreachable()
    run = run_check(*cloud.args("--zone-warning", "nova=1:", "--zone", "nova"))
    assert run.status == (
        "NOVA_SERVICES UNKNOWN - cell cell2 (c2c2c2c2…) unreachable: Can't connect to MySQL server on '127.0.0.1' "
        "([Errno 111]…; 1 compute (nova 1); nova: 0 of 1 computes usable, 1 unknown (needs 1)"
    )
    assert zone_perfdata(run) == ["az_nova_total=1;;;0", "az_nova_unknown=1;;;0;1", "az_nova_usable=0;1:;;0;1"]
    assert (run.code, run.stderr) == (3, "")


def test_the_row_path_counts_capacity_as_the_database_does(cloud):
    """An --exclude pattern only Python can apply (\\d is Unicode there) reads rows: the same zones' counts."""
    counted = run_check(*cloud.args("--exclude", "@nothing$"))
    judged = run_check(*cloud.args("--exclude", "@nothing\\d$"))
    assert zone_perfdata(judged) == zone_perfdata(counted)
    assert len(zone_perfdata(counted)) == 12


@pytest.mark.parametrize(
    "args, line",
    [
        (
            ("--db-url", "sqlite:////nonexistent.sqlite", "--zone-warning", "2:"),
            "--zone-warning and --zone-critical need the API database (--api-db-url or [api_database]/connection): "
            "zones and aggregates live there",
        ),
        (("--aggregate-warning", "2:"), "--aggregate-warning needs AGGREGATE=RANGE: an aggregate's name before '='"),
        (
            ("--binary", "nova-conductor", "--zone-critical", "1:"),
            "--zone-warning and --zone-critical count nova-compute: --binary leaves it out",
        ),
        (
            ("--zone-warning", "az1=x"),
            "--zone-warning 'az1=x': not a valid range (expected [@][START:][END], e.g. 0, 2, 10%, @1:5, 3:)",
        ),
        (("--zone-critical", "=3:"), "--zone-critical '=3:': missing zone name before '='"),
    ],
)
def test_a_range_that_cannot_be_judged_is_one_unknown_line(cloud, args, line):
    run = run_check(*(args if args[0] == "--db-url" else cloud.args(*args)))
    assert (run.stdout, run.code, run.stderr) == (f"NOVA_SERVICES UNKNOWN - {line}\n", 3, "")


def test_a_mapped_host_holding_a_line_break_is_one_compute(cloud):
    """host_mappings comes as one text per cell, its names joined by line breaks: a name holding one is seen by the
    count and the length, and the names are read as rows instead (one compute, never two)."""
    cloud.cell2_unreachable("odd\nname")
    run = run_check(*cloud.args("--zone", "nova", "-v"))
    assert run.status.endswith("; 2 computes (nova 2)")
    assert run.lines[2] == ("unknown computes of cell cell2 (c2c2c2c2-0000-4000-8000-000000000002): nova (2): n1, odd\\x0aname")

"""Upgrade readiness: service versions as Nova counts them, and computes too old for the control plane named.

In process over rows in memory (the plugin's own row path and Check), then on the test MariaDB through the
plugin process, where the database counts and the row path must agree. Nova's own answer on random versions is
compared in tests/test_nova_agreement.py.
"""

from __future__ import annotations

import dataclasses

import pytest

from check_nova_services.demo.writer import service, write_api_database, write_cell
from check_nova_services.rule.releases import RELEASES, SERVICE_VERSION_ALIASES
from check_nova_services.rule.versions import (
    Floor,
    floor_for,
    minimum_across_cells,
    parse_floor,
    release_of,
    running_release,
)
from tests.conftest import CLOCK, NOW, run_check
from tests.harness.factories import POLICY, check, row


def control(version: int = 74, host: str = "ctl1") -> list:
    return [row(host, "nova-conductor", version=version), row(host, "nova-scheduler", version=version)]


# --- the rule, pure ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minimums", "expected"),
    [
        ([57, 74], 57),
        ([0, 74], 74),  # a cell whose minimum is 0 is left out, as get_minimum_version_all_cells does
        ([None, 72], 72),
        ([0, 0], 0),  # Nova's "no computes yet"
        ([None, None], None),  # no version at all: nothing to say
        ([], None),
        ([-1, 74], -1),  # Nova drops only 0 and NULL
    ],
)
def test_the_minimum_across_cells_is_novas(minimums, expected):
    assert minimum_across_cells(minimums) == expected


@pytest.mark.parametrize(
    ("version", "release"),
    [(57, "Xena"), (58, "Xena"), (66, "Antelope-Caracal"), (72, "Gazpacho"), (74, "Hibiscus"), (99, "Hibiscus"), (51, None)],
)
def test_a_version_is_named_by_the_release_of_its_alias(version, release):
    assert release_of(version) == release


@pytest.mark.parametrize(
    ("newest", "release", "floor"),
    [
        (74, "Hibiscus", Floor(72, "Gazpacho", "the newest conductor or scheduler runs 74, Hibiscus")),
        (73, "Gazpacho", Floor(68, "Epoxy", "the newest conductor or scheduler runs 73, Gazpacho")),
        # Antelope and Bobcat both write 66: the older one's floor, so that no compute is called too old wrongly
        (66, "Antelope", Floor(61, "Yoga", "the newest conductor or scheduler runs 66, Antelope")),
        (80, "Hibiscus", Floor(72, "Gazpacho", "the newest conductor or scheduler runs 80, Hibiscus+")),
    ],
)
def test_the_floor_is_the_oldest_release_the_newest_control_plane_supports(newest, release, floor):
    assert running_release(newest).name == release
    assert floor_for(newest) == floor


def test_no_floor_below_the_oldest_release_known_or_without_a_version():
    assert floor_for(55) is None
    assert floor_for(None) is None


def test_the_release_table_is_ordered_and_every_floor_has_an_alias():
    assert [r.major for r in RELEASES] == list(range(23, 35))
    assert all(r.oldest_supported in SERVICE_VERSION_ALIASES for r in RELEASES)
    assert [r.service_version for r in RELEASES] == sorted(r.service_version for r in RELEASES)


@pytest.mark.parametrize(
    ("text", "floor"),
    [
        ("Gazpacho", Floor(72, "Gazpacho", "set by --compute-version-floor Gazpacho")),
        ("xena", Floor(57, "Xena", "set by --compute-version-floor Xena")),
        ("70", Floor(70, "Flamingo", "set by --compute-version-floor 70")),
        ("66", Floor(66, None, "set by --compute-version-floor 66")),  # three releases share 66
    ],
)
def test_a_floor_is_given_by_release_or_number(text, floor):
    assert parse_floor(text) == floor


@pytest.mark.parametrize("text", ["", "Zzz", "-3", "7.5", "0"])
def test_a_floor_that_is_neither_is_refused(text):
    with pytest.raises(ValueError):
        parse_floor(text)


# --- the check, in process ------------------------------------------------------------------------------


def test_computes_older_than_the_floor_are_named_with_their_version_and_release():
    cells = {
        "cell1": [*control(), row("old1", version=57), row("old2", version=57), row("new1", version=74)],
        "cell2": [row("mid1", version=70), row("new2", version=72)],
    }
    run = check(cells)
    assert (run.code, run.status) == (
        1,
        "3 nova-compute older than Gazpacho (72): old1 (57, Xena), old2 (57), mid1 (70, Flamingo)",
    )
    assert (run.perfdata["nova-compute_version_min"], run.perfdata["nova-compute_version_max"]) == ("57", "74")
    assert run.perfdata["services_too_old"] == "3;0;;0"


def test_too_old_can_be_critical():
    run = check({"cell1": [*control(), row("old1", version=57)]}, too_old_critical=True)
    assert (run.code, run.status) == (2, "1 nova-compute older than Gazpacho (72): old1 (57, Xena)")
    assert run.perfdata["services_too_old"] == "1;;0;0"


def test_an_upgrade_in_progress_within_the_window_is_a_note_not_an_alarm():
    run = check({"cell1": [*control(), row("cmp1", version=72), row("cmp2", version=74)]})
    assert (run.code, run.status) == (
        0,
        "4 of 4 services up: nova-conductor 1/1, nova-scheduler 1/1, nova-compute 2/2; versions 72 to 74: an upgrade "
        "in progress",
    )


def test_a_view_without_a_conductor_or_scheduler_says_the_floor_is_unknown():
    """--binary nova-compute (or --host) leaves the control plane out: no verdict, and no claim that all is well."""
    run = check({"cell1": [row("cmp1", version=57), row("cmp2", version=74)]})
    assert (run.code, run.status) == (
        0,
        "2 of 2 services up: nova-compute 2/2; versions 57 to 74, floor unknown (no conductor or scheduler read; "
        "--compute-version-floor)",
    )
    assert "services_too_old" not in run.perfdata


def test_forced_down_and_version_0_computes_are_left_out_as_nova_leaves_them_out():
    cells = {
        "cell1": [*control(), row("fenced", version=57, forced_down=True), row("cmp1", version=74)],
        # a cell whose minimum is 0: Nova's minimum does not look at it, so neither does the verdict
        "cell2": [row("zero", version=0), row("old", version=57)],
    }
    run = check(cells, warning=("nova-compute=5",))
    assert run.perfdata["nova-compute_version_min"] == "74"
    assert run.perfdata["services_too_old"] == "0;0;;0"
    assert "older than" not in run.status


def test_the_floor_given_wins_over_the_control_planes():
    policy = dataclasses.replace(POLICY, version_floor=parse_floor("Epoxy"))
    run = check({"cell1": [*control(), row("cmp1", version=70), row("cmp2", version=66)]}, policy=policy)
    assert (run.code, run.status) == (1, "1 nova-compute older than Epoxy (68): cmp2 (66, Antelope-Caracal)")


def test_the_long_output_says_why_and_what_to_do():
    run = check({"cell1": [*control(), row("old1", version=57)]}, verbosity=1)
    assert run.long[:2] == [
        "too old: 1 nova-compute service below Gazpacho (72), as the newest conductor or scheduler runs 74, Hibiscus: "
        "a conductor, scheduler or API of that release refuses to start beside them; upgrade them, or delete the rows "
        "of hosts that are gone (openstack compute service delete)",
        "too old: nova-compute@old1 cell=cell1 version=57 (Xena)",
    ]


def test_rows_without_a_version_give_no_version_perfdata():
    run = check({"cell1": [row("ctl1", "nova-conductor"), row("cmp1")]})
    assert not [name for name in run.perfdata if "version" in name or "too_old" in name]


# --- on MariaDB: the database counts, the row path, an old schema ----------------------------------------


@pytest.fixture(scope="module")
def versions_cell(mariadb):
    url = mariadb.create_database("versions_cell")
    write_cell(
        url,
        [
            service("ctl1", "nova-conductor", NOW, age=3.0),
            service("ctl1", "nova-scheduler", NOW, age=3.0),
            service("old1", "nova-compute", NOW, age=4.0, version=57),
            service("old2", "nova-compute", NOW, age=4.0, version=61, disabled=True, disabled_reason="maintenance"),
            service("fenced", "nova-compute", NOW, age=4.0, version=52, forced_down=True),
            service("gone", "nova-compute", NOW, age=4.0, version=52, deleted=1),
            service("nover", "nova-compute", NOW, age=4.0, version=None),
            service("cmp1", "nova-compute", NOW, age=4.0, version=72),
        ],
    )
    return url.render_as_string(hide_password=False)


FIRST_LINE = (
    "NOVA_SERVICES WARNING - nova-compute 1/5 down: fenced (forced down); 2 nova-compute older than Gazpacho (72): "
    "old1 (57, Xena), old2 (61, Yoga); 1 disabled"
)


@pytest.mark.parametrize("verbosity", [[], ["-vv"]])
def test_the_database_counts_and_the_row_path_name_the_same_old_computes(versions_cell, verbosity):
    run = run_check("--db-url", versions_cell, CLOCK, *verbosity)
    assert run.code == 1
    assert run.lines[0].partition(" | ")[0] == FIRST_LINE
    perf = run.stdout.partition("|")[2]
    assert "'nova-compute_version_max'=72 'nova-compute_version_min'=57 " in perf
    assert "services_too_old=2;0;;0" in perf


def test_the_list_shows_each_version_and_its_release(versions_cell):
    run = run_check("--db-url", versions_cell, CLOCK, "--list", "--host", "old1", "--host", "nover")
    assert [line.split("  no  ")[-1].split() for line in run.lines[1:]] == [["-", "-"], ["57", "(Xena)", "-"]]


def test_an_old_schema_without_a_version_column_gives_no_version_perfdata(mariadb):
    url = mariadb.create_database("versions_legacy")
    write_cell(url, [service("ctl1", "nova-conductor", NOW, age=3.0), service("cmp1", "nova-compute", NOW)], legacy=True)
    run = run_check("--db-url", url.render_as_string(hide_password=False), CLOCK)
    assert run.code == 0
    assert "version" not in run.stdout and "too_old" not in run.stdout


@pytest.fixture(scope="module")
def old_cell_cloud(mariadb):
    """cell0 upgraded (its conductor and scheduler at 74), cell1 not at all: its conductor and computes at 57."""
    cell0 = mariadb.create_database("versions_cell0")
    cell1 = mariadb.create_database("versions_cell1")
    write_cell(cell0, [service("ctl", "nova-conductor", NOW, age=3.0), service("ctl", "nova-scheduler", NOW, age=3.0)])
    write_cell(
        cell1,
        [
            service("cond1", "nova-conductor", NOW, age=3.0, version=57),
            service("c1", "nova-compute", NOW, age=4.0, version=57),
            service("c2", "nova-compute", NOW, age=4.0, version=57),
        ],
    )
    api = mariadb.create_database("versions_api")
    write_api_database(
        api,
        [
            ("00000000-0000-0000-0000-000000000000", "cell0", cell0.render_as_string(hide_password=False)),
            ("00000000-0000-0000-0000-000000000001", "cell1", cell1.render_as_string(hide_password=False)),
        ],
    )
    return api.render_as_string(hide_password=False)


@pytest.mark.parametrize("verbosity", [[], ["-vv"]])
def test_a_cell_not_upgraded_at_all_names_its_computes_too(old_cell_cloud, verbosity):
    """All of cell1 at one version: the database counts still fetch its oldest computes by name."""
    run = run_check("--api-db-url", old_cell_cloud, CLOCK, *verbosity)
    assert (run.code, run.lines[0].partition(" | ")[0]) == (
        1,
        "NOVA_SERVICES WARNING - 2 nova-compute older than Gazpacho (72): c1 (57, Xena), c2 (57)",
    )

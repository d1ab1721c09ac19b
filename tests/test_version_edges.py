"""Nova's minimum version at its edges, on the real MariaDB (and SQLite where it differs): rows left out by
--exclude, a NULL forced_down, a binary Nova's SQL compares equal to nova-compute, a negative version, a control
plane older than the releases known. Each first line as Nova would have it (issue 28)."""

from __future__ import annotations

import pytest

from check_nova_services.demo.writer import service, write_cell
from tests.conftest import CLOCK, NOW, run_check

#: Both paths: the database counts (default) and the rows judged in Python (-vv).
PATHS = pytest.mark.parametrize("verbosity", [[], ["-vv"]], ids=["counted", "rows"])


def control(version: int = 74) -> list[dict]:
    return [
        service("ctl1", "nova-conductor", NOW, age=3.0, version=version),
        service("ctl1", "nova-scheduler", NOW, age=3.0, version=version),
    ]


def first(run) -> str:
    return run.lines[0].partition(" | ")[0]


# --- --exclude: out of the counts, never out of Nova's minimum ----------------------------------------------


@pytest.fixture(scope="module")
def decommissioned(mariadb):
    """A decommissioned host's leftover row (down for a month, Xena's 57) beside an upgraded cloud."""
    url = mariadb.create_database("edges_excluded")
    write_cell(
        url,
        [
            *control(),
            service("cmp1", "nova-compute", NOW, age=4.0, version=74),
            service("cmp-old", "nova-compute", NOW, age=86400.0 * 30, version=57),
        ],
    )
    return url.render_as_string(hide_password=False)


@PATHS
def test_an_excluded_compute_still_blocks_the_upgrade_and_is_named_so(decommissioned, verbosity):
    """The README's advice for a leftover row (--exclude) hid what nova-status upgrade check fails on."""
    run = run_check("--db-url", decommissioned, CLOCK, "--exclude", "cmp-old", *verbosity)
    assert (run.code, first(run)) == (
        1,
        "NOVA_SERVICES WARNING - 1 nova-compute older than Gazpacho (72): cmp-old (57, Xena), excluded: delete the row "
        "or force it down; 1 excluded",
    )
    assert (run.perfdata["services_too_old"], run.perfdata["services_excluded"]) == ("1;0;;0", "1;;;0")
    # Nova's minimum, not the minimum of what is left after --exclude; the down count leaves it out
    assert (run.perfdata["nova-compute_version_min"], run.perfdata["nova-compute_down"]) == ("57", "0;0;0.5;0;1")
    long = run_check("--db-url", decommissioned, CLOCK, "--exclude", "cmp-old", "-v")
    assert long.lines[3] == (
        "too old: nova-compute@cmp-old cell=edges_excluded version=57 (Xena) excluded by --exclude, still counted by "
        "Nova: delete the row or force it down"
    )


def test_an_excluded_compute_forced_down_is_out_of_novas_minimum_too(mariadb):
    """The advice works: forced down, the row leaves Nova's minimum, and the check is OK again."""
    url = mariadb.create_database("edges_excluded_forced")
    write_cell(
        url,
        [
            *control(),
            service("cmp1", "nova-compute", NOW, age=4.0, version=74),
            service("cmp-old", "nova-compute", NOW, age=86400.0 * 30, version=57, forced_down=True),
        ],
    )
    run = run_check("--db-url", url.render_as_string(hide_password=False), CLOCK, "--exclude", "cmp-old")
    assert (run.code, first(run)) == (
        0,
        "NOVA_SERVICES OK - 3 of 3 services up: nova-conductor 1/1, nova-scheduler 1/1, nova-compute 1/1; 1 excluded",
    )
    assert run.perfdata["services_too_old"] == "0;0;;0"


# --- forced_down NULL: not forced for the rule, not false for Nova's minimum --------------------------------


@pytest.fixture(scope="module")
def null_forced(mariadb):
    url = mariadb.create_database("edges_null_forced")
    write_cell(
        url,
        [
            *control(),
            service("cmp1", "nova-compute", NOW, age=4.0, version=74),
            service("cmp-null", "nova-compute", NOW, age=4.0, version=57, forced_down=None),  # type: ignore[arg-type]
        ],
    )
    return url.render_as_string(hide_password=False)


@PATHS
def test_a_null_forced_down_is_left_out_of_the_minimum_as_novas_sql_leaves_it(null_forced, verbosity):
    """service_get_minimum_version filters ``forced_down == false()``: NULL = false is not true. The row is
    judged as Nova judges it (``if member.get('forced_down')``: not forced), up here."""
    run = run_check("--db-url", null_forced, CLOCK, *verbosity)
    assert (run.code, first(run)) == (
        0,
        "NOVA_SERVICES OK - 4 of 4 services up: nova-conductor 1/1, nova-scheduler 1/1, nova-compute 2/2",
    )
    assert (run.perfdata["nova-compute_version_min"], run.perfdata["services_too_old"]) == ("74", "0;0;;0")


# --- binaries as Nova's SQL compares them --------------------------------------------------------------------

ODD_COMPUTE = [
    *control(),
    service("cmp1", "nova-compute", NOW, age=4.0, version=74),
    service("cmp-odd", "Nova-Compute ", NOW, age=4.0, version=57, topic="compute"),
]


@PATHS
def test_a_binary_mariadbs_collation_calls_nova_compute_is_a_compute_for_the_minimum(mariadb, verbosity):
    """Nova's ``binary IN ('nova-compute')`` under utf8mb4_general_ci (case and trailing spaces ignored) counts
    'Nova-Compute ' at 57: nova-status fails. It stays a binary of its own in the counts."""
    url = mariadb.create_database("edges_collation")
    write_cell(url, ODD_COMPUTE)
    run = run_check("--db-url", url.render_as_string(hide_password=False), CLOCK, *verbosity)
    assert (run.code, first(run)) == (1, "NOVA_SERVICES WARNING - 1 nova-compute older than Gazpacho (72): cmp-odd (57, Xena)")
    assert (run.perfdata["nova-compute_version_min"], run.perfdata["nova-compute_total"]) == ("57", "1;;;0")
    assert run.perfdata["services_too_old"] == "1;0;;0"


@PATHS
def test_on_sqlite_the_same_binary_is_no_compute_as_on_novas_sqlite(tmp_path, verbosity):
    url = f"sqlite:///{tmp_path}/cell.sqlite"
    write_cell(url, ODD_COMPUTE)
    run = run_check("--db-url", url, CLOCK, *verbosity)
    assert (run.code, run.perfdata["nova-compute_version_min"], run.perfdata["services_too_old"]) == (0, "74", "0;0;;0")
    assert first(run).endswith("; versions 57 to 74: an upgrade in progress")


# --- a negative version -------------------------------------------------------------------------------------


@PATHS
def test_a_negative_version_is_too_old_as_for_nova_never_critical(mariadb, verbosity):
    """-1 is no version Nova writes, but its minimum keeps it (only 0 and NULL are dropped) and raise_if_old_compute
    stops: WARNING as any compute too old, not the CRITICAL of a 0-to-infinity range on the version metric."""
    url = mariadb.create_database("edges_negative")
    write_cell(
        url,
        [
            *control(),
            service("cmp1", "nova-compute", NOW, age=4.0, version=74),
            service("cmp-neg", "nova-compute", NOW, version=-1),
        ],
    )
    run = run_check("--db-url", url.render_as_string(hide_password=False), CLOCK, *verbosity)
    assert (run.code, first(run)) == (1, "NOVA_SERVICES WARNING - 1 nova-compute older than Gazpacho (72): cmp-neg (-1)")
    assert (run.perfdata["nova-compute_version_min"], run.perfdata["nova-compute_version_max"]) == ("-1", "74")


# --- the floor note -----------------------------------------------------------------------------------------


def test_a_control_plane_older_than_the_releases_known_is_not_called_unread(mariadb):
    """A Victoria control plane (55) is read: the floor is unknown because the table starts at Wallaby."""
    url = mariadb.create_database("edges_victoria")
    write_cell(
        url,
        [
            *control(55),
            service("cmp1", "nova-compute", NOW, age=4.0, version=52),
            service("cmp2", "nova-compute", NOW, version=55),
        ],
    )
    run = run_check("--db-url", url.render_as_string(hide_password=False), CLOCK)
    assert (run.code, first(run)) == (
        0,
        "NOVA_SERVICES OK - 4 of 4 services up: nova-conductor 1/1, nova-scheduler 1/1, nova-compute 2/2; versions 52 to "
        "55, floor unknown (control plane at 55, before Wallaby; --compute-version-floor)",
    )

"""The table of each binary's perfdata items (rule/metrics.py) and what reads it: the Resource prints its rows
under the binaries' labels with the unit, min and max they say; a row is left out when undetermined exactly where
the tally may not know it; the README's perfdata table lists exactly its rows, with their min, max, unit and gaps.
The exact values in every situation are the other tests' (test_pager*, test_check_*, test_cli, test_graphite); the
graphs' coverage is test_graphite's."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from check_nova_services.rule.metrics import BINARY_METRICS, BinaryMetric
from check_nova_services.rule.policy import BinaryTally
from tests.harness.factories import check, computes, row

README = Path(__file__).resolve().parent.parent / "README.md"

#: The README's min;max column, as (minimum, the tally's field that is the maximum).
MIN_MAX = {"0; services of the binary": (0, "total"), "0; —": (0, None), "0": (0, None), "—": (None, None)}
#: A row of the README's perfdata table that lists a binary's items: labels, value, warn;crit, min;max.
README_ROW = re.compile(r"^\| ((?:`<binary>_\w+`(?:, )?)+) \| (.+) \| (.+) \| (.+) \|$", re.MULTILINE)


def readme_items(text: str) -> dict[str, tuple[str, str]]:
    """``<binary>_down`` -> (what its value is, its min;max), from the README's perfdata table."""
    return {
        item: (value, min_max)
        for labels, value, _, min_max in README_ROW.findall(text)
        for item in re.findall(r"`(<binary>_\w+)`", labels)
    }


def readme_differences(text: str, table: tuple[BinaryMetric, ...]) -> list[str]:
    """Where the README's perfdata table does not say what the table does (an empty list: it agrees)."""
    listed = readme_items(text)
    wanted = {"<binary>" + metric.suffix: metric for metric in table}
    out = [f"{item}: not in the README" for item in wanted.keys() - listed.keys()]
    out += [f"{item}: in the README, not in the table" for item in listed.keys() - wanted.keys()]
    for item in sorted(wanted.keys() & listed.keys()):
        metric, (value, min_max) = wanted[item], listed[item]
        if MIN_MAX.get(min_max) != (metric.minimum, metric.maximum):
            out.append(f"{item}: min;max {min_max!r}")
        if ("left out" in value) != metric.may_be_undetermined:
            out.append(f"{item}: says it is left out when undetermined: {'left out' in value}")
        if ("seconds" in value) != (metric.uom == "s"):
            out.append(f"{item}: says seconds: {'seconds' in value}")
    return sorted(out)


def test_the_readmes_perfdata_table_lists_each_binarys_items_as_the_table_has_them():
    assert readme_differences(README.read_text(encoding="utf-8"), BINARY_METRICS) == []


def test_a_row_added_to_the_table_and_not_to_the_readme_is_caught():
    text = README.read_text(encoding="utf-8")
    ahead = BinaryMetric("_ahead", "ahead", "count", "nova_services_ahead", "Heartbeats ahead", maximum="total")
    assert readme_differences(text, (*BINARY_METRICS, ahead)) == ["<binary>_ahead: not in the README"]
    late = next(metric for metric in BINARY_METRICS if metric.suffix == "_late")
    changed = tuple(dataclasses.replace(m, maximum=None, uom="s") if m is late else m for m in BINARY_METRICS)
    assert readme_differences(text, changed) == [
        "<binary>_late: min;max '0; services of the binary'",
        "<binary>_late: says seconds: False",
    ]


def test_a_row_is_left_out_when_undetermined_exactly_where_the_tally_may_not_know_it():
    """A tally that knows nothing (no heartbeat, no version column) against one that knows everything."""
    unknown = BinaryTally("nova-compute", total=2)
    known = BinaryTally("nova-compute", total=2, max_age=1.23456, versions=((66, 2),), min_version=66)
    assert [m.suffix for m in BINARY_METRICS if m.value(unknown) is None] == ["_max_age", "_version_min", "_version_max"]
    assert [m.suffix for m in BINARY_METRICS if m.may_be_undetermined] == ["_max_age", "_version_min", "_version_max"]
    assert [m.value(known) for m in BINARY_METRICS] == [0, 1.235, 0, 2, 0, 66, 66]  # an age to the millisecond
    assert [m.bound(known) for m in BINARY_METRICS] == [2, None, 2, None, 2, None, None]


def test_each_binary_prints_the_tables_rows_as_they_say():
    """Every row under each binary's label, with the row's unit, min and max; an undetermined one left out, not U: a
    binary of operator-disabled services only has no watched heartbeat, a row without a version no version. A removed
    binary's down count is judged as a leftover (WARNING above 0), not by the thresholds."""
    outcome = check(
        {"cell1": [*computes("cmp", 2, version=66), row("ctl1", "nova-network"), row("ctl1", "nova-scheduler", disabled=True)]}
    )
    assert (
        outcome.line
        == "NOVA_SERVICES OK - 4 of 4 services up: nova-scheduler 1/1, nova-network 1/1, nova-compute 2/2; 1 disabled"
    )
    assert outcome.perfdata == {
        "nova-compute_down": "0;0;1;0;2",
        "nova-compute_max_age": "5.0s;;;0",
        "nova-compute_late": "0;0;;0;2",
        "nova-compute_total": "2;;;0",
        "nova-compute_disabled": "0;;;0;2",
        "nova-compute_version_min": "66",
        "nova-compute_version_max": "66",
        "nova-network_down": "0;0;;0;1",
        "nova-network_max_age": "5.0s;;;0",
        "nova-network_late": "0;0;;0;1",
        "nova-network_total": "1;;;0",
        "nova-network_disabled": "0;;;0;1",
        "nova-scheduler_down": "0;0;0;0;1",
        "nova-scheduler_late": "0;0;;0;1",
        "nova-scheduler_total": "1;;;0",
        "nova-scheduler_disabled": "1;;;0;1",
        "cells_total": "1;;;0",
        "cells_unreachable": "0;;;0;1",
    }

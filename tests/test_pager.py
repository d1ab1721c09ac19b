"""The pager line in big and mixed outages (issue 12), in process: exact lines, exit codes and -v order.

Rows are built in memory (tests/factories.py) and go through the plugin's own row path, Contexts and
Summary; the database paths that produce the same Reading are tested against real servers elsewhere.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from check_nova_services.output.fit import SUMMARY_BUDGET, Fact, fit
from check_nova_services.output.pager import first_line
from check_nova_services.plugin.check import build_check
from check_nova_services.readings import Deployment, combine
from check_nova_services.rule.policy import Policy
from check_nova_services.rule.selection import Selection
from check_nova_services.rule.thresholds import DEFAULT_CRITICAL, DEFAULT_WARNING, ThresholdTable
from check_nova_services.settings import Judgement
from tests.harness.factories import POLICY, check, computes, controllers, reading_of, row

REFUSED = "Can't connect to MySQL server on '127.0.0.1' ([Errno 111] Connection refused) (error 2003)"
TIMEOUT = "no answer within the 10s timeout"


def big_mixed_outage() -> dict[str, list]:
    """Five cells that answer: computes down in three, a conductor and a scheduler down in one, late heartbeats,
    an AUTO-disabled host and two in maintenance."""
    cells = {f"cell{i}": controllers(f"c{i}ctl") + computes(f"c{i}cmp", 3) for i in range(1, 6)}
    cells["cell1"] += [row("cmp1-a", age=119), row("cmp1-b", age=300), row("cmp1-c", forced_down=True)]
    cells["cell2"] += [row("n004", age=45), row("n005", age=40)]
    cells["cell3"] += [row("cmp3-x", age=90, reason="AUTO: Connection to libvirt lost: 1")]
    cells["cell3"] += [row("m1", disabled=True), row("m2", age=900, disabled=True)]
    cells["cell4"] += [row("c4ctl9", "nova-conductor", age=200), row("c4sch", "nova-scheduler", age=200), row("x", age=70)]
    return cells


def test_every_kind_of_problem_keeps_its_words_and_count():
    """7 down, 4 of 9 cells unreachable, 2 late, a -c typo, 3 disabled: not one category is dropped."""
    run = check(big_mixed_outage(), {f"cell{i}": TIMEOUT for i in range(6, 10)}, critical=("nova-compte=0",))
    assert run.code == 2
    assert run.line == (
        "NOVA_SERVICES CRITICAL - 4 of 9 cells unreachable; nova-conductor 1/6 down; nova-scheduler 1/6 down; "
        "nova-compute 5/24 down; 2 heartbeats late; -w/-c nova-compte: no such service; 3 disabled"
    )


def test_long_output_follows_the_same_order():
    run = check(big_mixed_outage(), {f"cell{i}": TIMEOUT for i in range(6, 8)}, critical=("nova-compte=0",), verbosity=1)
    kinds = [line.split(":")[0] for line in run.long]
    assert kinds == [
        "unreachable",
        "unreachable",
        "down",  # nova-conductor first: the root cause
        "down",  # nova-scheduler
        "down",
        "down",
        "down",
        "disabled by Nova (AUTO)",
        "down",
        "up, heartbeat late",
        "up, heartbeat late",
        "disabled, down",
        "disabled",
        "note",
    ]
    assert run.long[2].startswith("down: nova-conductor@c4ctl9 cell=cell4 ")
    assert run.long[3].startswith("down: nova-scheduler@c4sch cell=cell4 ")
    assert run.long[-1] == "note: -w/-c name nova-compte, which no service read has"


def test_an_unreachable_cell_shares_the_line_with_the_down_services():
    """--cell cell1 --cell cellrefused: the refused cell is named with a shortened reason and uuid, and the
    5 down computes keep their count and names."""
    cells = {"cell1": controllers("ctl1") + computes("cmp", 10) + computes("dead", 5, age=300)}
    run = check(cells, {"cellrefused": REFUSED})
    assert run.code == 3
    assert run.line == (
        "NOVA_SERVICES UNKNOWN - cell cellrefused (00000002…) unreachable: Can't connect to MySQL server on "
        "'127.0.0.1' ([Errno 111] Connection refused)…; nova-compute 5/15 down: dead00000 (5m00s) +4 more"
    )
    alone = check({}, {"cellrefused": REFUSED})
    assert (
        alone.line == f"NOVA_SERVICES UNKNOWN - cell cellrefused (00000001-4b1e-4c0d-9a2f-6d1c0c5e0001) unreachable: {REFUSED}"
    )


def test_dead_conductors_come_before_the_computes_that_stop_after_them():
    cells = {
        "cell1": [row("ctl1", "nova-conductor", age=130), row("ctl2", "nova-conductor", age=128)]
        + [row("ctl3", "nova-conductor")]
        + [row(h, "nova-scheduler") for h in ("ctl1", "ctl2")]
        + computes("cmp1-", 20000, age=119)
        + computes("cmp2-", 10)
    }
    run = check(cells)
    assert run.line == (
        "NOVA_SERVICES CRITICAL - nova-conductor 2/3 down: ctl1 (2m10s), ctl2 (2m08s); nova-compute 20000/20010 down: "
        "cmp1-00000 (119s), cmp1-00001 (119s), cmp1-00002 (119s), cmp1-00003 (119s) +19996 more"
    )


def test_a_whole_binary_down_is_one_phrase():
    cells = {"cell1": [row(h, "nova-conductor", age=300) for h in ("ctl1", "ctl2")] + computes("cmp", 10)}
    assert check(cells).line == "NOVA_SERVICES CRITICAL - nova-conductor: all 2 down"
    twenty_thousand = {"cell1": controllers("ctl1") + computes("cmp", 20000, age=119)}
    assert check(twenty_thousand).line == "NOVA_SERVICES CRITICAL - nova-compute: all 20000 down"


def test_a_whole_binary_down_stays_one_phrase_beside_a_whole_cell():
    """Issue 23's multi-cell demo: cell0 (its two conductors and schedulers) all down, and the conductor of
    every other cell down too. Every conductor is down: `nova-conductor: all 5 down`, not `5/5 down: ...`."""
    cells = {"cell0": [row(h, b, age=600) for h in ("ctl1", "ctl2") for b in ("nova-conductor", "nova-scheduler")]}
    for i in (1, 2, 3):
        cells[f"cell{i}"] = [row(f"cell{i}-conductor", "nova-conductor", age=600)] + computes(f"c{i}-", 4)
    run = check(cells)
    assert run.code == 2
    assert run.line == (
        "NOVA_SERVICES CRITICAL - cell0: all 4 services down, newest heartbeat 10m00s ago; nova-conductor: all 5 down"
    )


def test_merged_binaries_count_only_what_no_whole_cell_said():
    """Found by review: when the counts overflow and the last binaries merge, a whole binary down counts only its
    services outside the whole cell's phrase (3 computes of 8; 5 are cell2's), as every other binary does."""
    cells = {"cell0": controllers("ctl1")}
    cells["cell2"] = [row(f"c2-{n}", age=600) for n in range(5)] + [row("c2-cond", "nova-conductor", age=600)]
    cells["cell1"] = [row(f"c1-{n}", age=600) for n in range(3)] + [row("c1-cond", "nova-conductor")]
    for i in range(3):
        binary = f"nova-custom-binary-with-a-long-name-{i:02d}"
        cells["cell1"] += [row(f"h{i}a", binary, age=600), row(f"h{i}b", binary)]
    assert check(cells).line == (
        "NOVA_SERVICES CRITICAL - cell2: all 6 services down; nova-custom-binary-with-a-long-name-00 1/2 down: h0a "
        "(10m00s); nova-custom-binary-with-a-long-name-01 1/2 down; 4 down in 2 more binaries"
    )


def test_a_whole_cell_down_is_one_phrase_not_62_hosts():
    cells = {
        "cell1": controllers("c1ctl", age=200) + computes("c1-", 60, age=200),
        "cell2": controllers("c2ctl") + computes("c2-", 60) + [row("slow1", age=50)],
        "cell3": controllers("c3ctl", age=100) + computes("c3-", 3, age=100),
    }
    run = check(cells, {"cell4": TIMEOUT})
    assert run.code == 2
    assert run.line == (
        "NOVA_SERVICES CRITICAL - cell cell4 (00000004…) unreachable: no answer within the 10s timeout; "
        "cell1: all 62 services down; cell3: all 5 services down; 1 heartbeat late: nova-compute@slow1 (50s)"
    )


def test_a_threshold_typo_shows_on_the_first_line_in_any_state():
    cells = {"cell1": controllers("ctl1", "ctl2") + computes("cmp", 16) + computes("dead", 3, age=100)}
    run = check(cells, warning=("5",), critical=("nova-compte=0",))
    assert run.code == 0
    assert run.line == (
        "NOVA_SERVICES OK - nova-compute 3/19 down: dead00000 (100s), dead00001 (100s), dead00002 (100s); "
        "-w/-c nova-compte: no such service"
    )
    healthy = check({"cell1": computes("cmp", 3)}, critical=("nova-compte=0", "nova-shed=0"))
    assert (
        healthy.line
        == "NOVA_SERVICES OK - 3 of 3 services up: nova-compute 3/3; -w/-c nova-compte, nova-shed: no such services"
    )


def test_late_heartbeats_are_counted_and_disabled_stays_on_the_line():
    late = [row(f"n{i:03d}", age=36 + i) for i in range(7)]
    cells = {"cell1": controllers("ctl1", "ctl2") + computes("n", 10) + late + [row("m1", disabled=True)]}
    cells["cell1"] += [row("m2", disabled=True)] + computes("d", 2, age=100)
    run = check(cells)
    assert run.code == 1
    assert run.line == (
        "NOVA_SERVICES WARNING - nova-compute 2/21 down: d00000 (100s), d00001 (100s); 7 heartbeats late: "
        "nova-compute@n006 (42s), nova-compute@n005 (41s), nova-compute@n004 (40s) +4 more; 2 disabled"
    )
    one = check({"cell1": computes("cmp", 2) + [row("n1", age=40)]})
    assert one.line == "NOVA_SERVICES WARNING - 1 heartbeat late: nova-compute@n1 (40s)"


def test_a_host_in_two_cells_carries_its_cell():
    cells = {
        "cell1": computes("cmp", 3) + [row("cmp7", age=100)],
        "cell2": computes("cmp", 3) + [row("cmp7", age=200)],
    }
    assert check(cells).line == "NOVA_SERVICES WARNING - nova-compute 2/8 down: cmp7@cell1 (100s), cmp7@cell2 (3m20s)"


def test_all_up_names_the_control_plane_first():
    cells = {"cell1": controllers("ctl1", "ctl2") + computes("cmp", 5) + [row("c1", "nova-consoleauth")]}
    assert check(cells).line == (
        "NOVA_SERVICES OK - 10 of 10 services up: nova-conductor 2/2, nova-scheduler 2/2, nova-consoleauth 1/1, "
        "nova-compute 5/5"
    )


@st.composite
def outages(draw):
    facts = []
    if draw(st.booleans()):
        facts.append(Fact(f"{draw(st.integers(2, 99))} of 99 cells unreachable", [f"cell{i}" for i in range(12)], 12))
    for binary in draw(st.lists(st.sampled_from(["nova-conductor", "nova-scheduler", "nova-x", "nova-compute"]), unique=True)):
        n = draw(st.integers(1, 20000))
        why = st.sampled_from(["61s", "forced down", "AUTO: libvirt lost"])
        hosts = [f"host{i:05d} ({draw(why)})" for i in range(min(n, 100))]
        facts.append(Fact(f"{binary} {n}/20000 down", hosts, n, binary=True))
    if draw(st.booleans()):
        facts.append(Fact("9 heartbeats late", [f"nova-compute@n{i} (40s)" for i in range(9)], 9))
    notes = draw(st.lists(st.sampled_from(["2 disabled", "3 excluded", "zones unknown"]), unique=True))
    facts += [Fact(note) for note in notes]
    return facts or [Fact("10 of 10 services up: nova-compute 10/10")]


@settings(max_examples=300, deadline=None)
@given(outages())
def test_within_the_budget_every_fact_keeps_its_count(facts):
    line = fit(facts, SUMMARY_BUDGET)
    assert len(line) <= SUMMARY_BUDGET
    pieces = line.split("; ")
    merged_piece = next((p for p in pieces if " down in " in p), "0 down in 0 binaries")
    merged = re.fullmatch(r"(\d+) down in (\d+) (more )?binar(y|ies)", merged_piece)
    assert merged is not None
    binaries = [fact for fact in facts if fact.binary]
    kept = binaries[: len(binaries) - int(merged[2])]
    assert int(merged[1]) == sum(f.count for f in binaries[len(kept) :])  # merged binaries keep their count
    facts = [fact for fact in facts if not fact.binary or fact in kept]
    pieces = [p for p in pieces if " down in " not in p]
    assert len(pieces) == len(facts)
    for fact, piece in zip(facts, pieces):
        assert piece == fact.head or piece.startswith(fact.head + ": ")
        if piece != fact.head:
            shown = piece[len(fact.head) + 2 :].split(" +")[0].split(", ")
            if fact.count == 1 and shown[0].endswith("…"):  # a lone item cut to fit
                assert fact.items[0].startswith(shown[0][:-1])
                continue
            assert shown == fact.items[: len(shown)]  # most important first, none skipped
            hidden = fact.count - len(shown)
            assert piece.endswith(f" +{hidden} more") if hidden else "+" not in piece[len(fact.head) :]


@pytest.mark.parametrize("budget", [50, 80, 120])
def test_names_are_dealt_one_per_fact_before_a_second(budget):
    facts = [Fact("a 3 down", ["a1", "a2", "a3"], 3), Fact("b 3 down", ["b1", "b2", "b3"], 3)]
    line = fit(facts, budget)
    assert "b1" in line  # the second fact got its first name although the first had more to show
    assert len(line) <= budget


def test_when_even_the_counts_overflow_the_last_binaries_merge_into_one_count():
    cells = {"cell1": controllers("ctl1", "ctl2") + computes("cmp", 10) + [row("late1", age=40), row("m", disabled=True)]}
    for binary in ("nova-conductor", "nova-scheduler", "nova-novncproxy", "nova-serialproxy", "nova-spice", "nova-compute"):
        cells["cell1"].append(row("ctl9", binary, age=300))
    run = check(cells, {"cell2": TIMEOUT, "cell3": TIMEOUT}, critical=("nova-compte=0",))
    assert run.line == (
        "NOVA_SERVICES CRITICAL - 2 of 3 cells unreachable; nova-conductor 1/3 down; nova-scheduler 1/3 down; "
        "4 down in 4 more binaries; 1 heartbeat late; -w/-c nova-compte: no such service; 1 disabled"
    )


def test_an_unnamed_cell_is_known_by_its_uuid_shortened_beside_other_facts():
    cells = {"cell1": [row("x", age=300)]}
    run = check(cells, {"0000000a-4b1e-4c0d-9a2f-6d1c0c5e000a": TIMEOUT})  # a uuid for a name: an unnamed cell
    assert run.line == (
        "NOVA_SERVICES CRITICAL - cell 0000000a… unreachable: no answer within the 10s timeout; "
        "nova-compute 1/1 down: x (5m00s)"
    )
    alone = check({}, {"0000000a-4b1e-4c0d-9a2f-6d1c0c5e000a": TIMEOUT})
    assert (
        alone.line
        == "NOVA_SERVICES UNKNOWN - cell 0000000a-4b1e-4c0d-9a2f-6d1c0c5e000a unreachable: no answer within the 10s timeout"
    )


def test_plurals_and_a_late_host_in_two_cells():
    cells = {"cell1": computes("n", 2) + [row("n1", age=40)], "cell2": computes("m", 2) + [row("n1", age=45)]}
    assert check(cells).line == (
        "NOVA_SERVICES WARNING - 2 heartbeats late: nova-compute@n1 (cell2, 45s), nova-compute@n1 (cell1, 40s)"
    )


def test_a_threshold_typo_is_not_pointed_out_when_cell_narrowed_the_view():
    """Catches Selection.narrowed leaving out ``cells``: under --cell a binary named in -w/-c
    may well live in another cell, so the "no such service" note is left out, as under --host."""
    cells = {"cell1": [row("cmp1", age=5.0)]}
    narrowed = check(cells, warning=("nova-conductor=0",), selection=Selection(cells=("cell1",)))
    assert (narrowed.line, narrowed.code) == ("NOVA_SERVICES OK - 1 of 1 services up: nova-compute 1/1", 0)
    whole = check(cells, warning=("nova-conductor=0",))
    assert whole.line == "NOVA_SERVICES OK - 1 of 1 services up: nova-compute 1/1; -w/-c nova-conductor: no such service"


def test_the_perfdata_of_a_run_item_by_item():
    """Catches CountContext's ``metric.uom or ""`` -> ``and``: a count has no unit, not
    "None"; checked in process as well as through the CLI."""
    run = check({"cell1": controllers("ctl")[:1] + [row("cmp1"), row("cmp2"), row("x", age=100)]})
    assert run.perfdata == {
        "nova-compute_disabled": "0;;;0;3",
        "nova-compute_down": "1;0;1.5;0;3",
        "nova-compute_late": "0;0;;0;3",
        "nova-compute_max_age": "100.0s;;;0",
        "nova-compute_total": "3;;;0",
        "nova-conductor_disabled": "0;;;0;1",
        "nova-conductor_down": "0;0;0;0;1",
        "nova-conductor_late": "0;0;;0;1",
        "nova-conductor_max_age": "5.0s;;;0",
        "nova-conductor_total": "1;;;0",
        "cells_total": "1;;;0",
        "cells_unreachable": "0;;;0;1",
    }


def test_the_clock_named_is_the_one_furthest_from_this_hosts_whichever_way():
    """combine keeps the cell whose database clock is furthest off, by magnitude: 40 s behind beats 30 s ahead."""
    base = reading_of({"cell1": [row("cmp1")], "cell2": [row("cmp2")], "cell3": [row("cmp3")]})
    skews = {"cell1": 30.0, "cell2": -40.0, "cell3": 5.0}
    answered = [dataclasses.replace(r, skew=skews[r.cell.name]) for r in base.answered]
    reading = combine(Deployment(list(base.cells)), answered)
    assert reading.skew == (base.cells[1], -40.0)
    assert first_line(reading, skew_warning=25.0) == (
        "3 of 3 services up: nova-compute 3/3; clock skew: cell2's database 40s behind this host"
    )


def test_the_heartbeat_named_from_the_future_is_the_furthest_in_every_cell():
    policy = Policy(down_time=60, age_warning=35, ahead_after=10)
    run = check({"cell1": [row("near", age=-15.0)], "cell2": [row("far", age=-30.0)]}, policy=policy)
    assert run.status == ("2 of 2 services up: nova-compute 2/2; 2 heartbeats from the future: nova-compute@far (+30s) +1 more")


def test_a_judgement_by_default_has_no_excluded_count_and_warns_of_what_it_warns():
    reading = reading_of({"cell1": [*controllers("ctl1"), row("cmp1", age=300.0), row("cmp2")]})
    judgement = Judgement(
        ThresholdTable([], DEFAULT_WARNING, "--warning"), ThresholdTable([], DEFAULT_CRITICAL, "--critical"), POLICY
    )
    plugin = build_check(judgement, lambda: reading)
    plugin()
    assert (plugin.exitcode, plugin.summary_str) == (1, "nova-compute 1/2 down: cmp1 (5m00s)")
    assert not [item for item in plugin.perfdata if item.startswith("services_excluded")]


def test_the_leftover_note_gives_ten_ids_of_that_binary_only_and_counts_the_rest():
    leftovers = [row(f"old{i:02d}", "nova-consoleauth", age=800 * 86400.0) for i in range(11)]
    conductor = row("ctl1", "nova-conductor", age=300.0)  # down too, and ranked before any leftover
    run = check({"cell1": [conductor, row("ctl1", "nova-scheduler"), *leftovers]}, verbosity=1)
    ids = " ".join(str(r.id) for r in leftovers[:10])
    assert [line for line in run.long if line.startswith("note: nova-consoleauth")] == [
        "note: nova-consoleauth was removed from Nova in Train: its 11 down rows are leftovers; delete with openstack "
        f"compute service delete {ids} (+1 more)"
    ]

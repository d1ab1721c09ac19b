"""The pager's limits at exactly their edge (issue 15): a line of exactly the budget is kept whole and one
more character shortens it; a name of exactly its limit is whole and one more is cut; the merge of binaries
and the short cell uuid start exactly where the full forms stop fitting.

Each test here kills survivors of ``tools/mutate.py`` in ``pager.py`` (a ``>`` for ``>=`` at a limit,
a limit moved by one); the numbers are written out, not imported, so that a changed constant fails too.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from check_nova_services.output.fit import Fact, cut_at_word, fit
from check_nova_services.output.long_output import long_output
from check_nova_services.output.pager import first_line
from check_nova_services.rule.policy import Policy
from check_nova_services.rule.selection import Selection
from tests.harness.factories import check, computes, reading_of, row

TIMEOUT = "no answer within the 10s timeout"


def merge_candidates() -> list[Fact]:
    """A whole cell, three binaries (the last one's head longer than its merged form) and a note."""
    return [
        Fact("cell1: all 62 services down"),
        Fact("nova-conductor 1/3 down", ["ctl1 (2m10s)"], 1, binary=True),
        Fact("nova-scheduler 2/3 down", ["ctl1 (2m10s)", "ctl2 (2m09s)"], 2, binary=True),
        Fact("nova-compute 5/20000 down", ["cmp1 (70s)"], 5, binary=True),
        Fact("1 disabled"),
    ]


@pytest.mark.parametrize(
    ("budget", "line"),
    [
        # every head, exactly the budget: nothing merges, no name fits
        (
            116,
            "cell1: all 62 services down; nova-conductor 1/3 down; "
            "nova-scheduler 2/3 down; nova-compute 5/20000 down; 1 disabled",
        ),
        # one character less: the last binary alone merges, "more" after the two kept
        (
            115,
            "cell1: all 62 services down; nova-conductor 1/3 down; "
            "nova-scheduler 2/3 down; 5 down in 1 more binary; 1 disabled",
        ),
        (
            114,
            "cell1: all 62 services down; nova-conductor 1/3 down; "
            "nova-scheduler 2/3 down; 5 down in 1 more binary; 1 disabled",
        ),
        # the two last merge; the conductor's name fits exactly, one character less it does not
        (105, "cell1: all 62 services down; nova-conductor 1/3 down: ctl1 (2m10s); 7 down in 2 more binaries; 1 disabled"),
        (104, "cell1: all 62 services down; nova-conductor 1/3 down; 7 down in 2 more binaries; 1 disabled"),
        (91, "cell1: all 62 services down; nova-conductor 1/3 down; 7 down in 2 more binaries; 1 disabled"),
        # every binary merges: no "more", as none is kept before them
        (90, "cell1: all 62 services down; 8 down in 3 binaries; 1 disabled"),
        (61, "cell1: all 62 services down; 8 down in 3 binaries; 1 disabled"),
        # even then the heads overflow: the line ends at the last fact that fits whole, "…" for the rest (issue 28:
        # it was cut inside a word, "1 disabl…")
        (60, "cell1: all 62 services down; 8 down in 3 binaries; …"),
        (52, "cell1: all 62 services down; 8 down in 3 binaries; …"),
        (51, "cell1: all 62 services down; …"),
        # not even the first head fits: cut after its last whole word
        (27, "cell1: all 62 services…"),
        (26, "cell1: all 62 services…"),
    ],
)
def test_binaries_merge_from_the_last_exactly_when_their_heads_overflow(budget, line):
    assert fit(merge_candidates(), budget) == line
    assert len(line) <= budget


@pytest.mark.parametrize(
    ("budget", "line"),
    [
        (36, "a 3 down: a1 (61s), a2 (61s) +1 more"),
        (35, "a 3 down: a1 (61s) +2 more"),
        (37, "a 3 down: a1 (61s), a2 (61s) +1 more"),
        (38, "a 3 down: a1 (61s), a2 (61s), a3 (61s)"),
    ],
)
def test_a_further_name_shows_when_the_line_is_exactly_the_budget(budget, line):
    assert fit([Fact("a 3 down", ["a1 (61s)", "a2 (61s)", "a3 (61s)"], 3)], budget) == line


@pytest.mark.parametrize(
    ("budget", "line"),
    [
        (52, "cell x unreachable: no answer within the 10s timeout"),
        (51, "cell x unreachable: no answer within the 10s…"),
    ],
)
def test_a_reason_of_exactly_the_room_left_is_whole(budget, line):
    assert fit([Fact("cell x unreachable", [TIMEOUT], 1, prose=True)], budget) == line


@pytest.mark.parametrize(
    ("room", "cut"),
    [
        (32, TIMEOUT),  # exactly its length: whole
        (31, "no answer within the 10s…"),  # the last word does not fit: back to the space before it
        (26, "no answer within the 10s…"),
        (25, "no answer within the 10s…"),  # a space exactly where the cut falls: the word before it is whole
        (24, "no answer within the…"),
        (12, "no answer…"),  # the least room a cut is made in
        (11, ""),  # less: nothing, rather than a stub
    ],
)
def test_a_reason_is_cut_after_its_last_whole_word(room, cut):
    assert cut_at_word(TIMEOUT, room) == cut
    assert len(cut) <= room


def test_a_word_is_never_cut_inside_a_long_one_ends_after_a_whole_part():
    """Issue 28: no "…" inside a word. A word is letters and digits: a host name may end after a whole part."""
    assert cut_at_word("id 0123456789abcdef0123456789", 20) == "id…"  # was "id 0123456789abcdef…"
    assert cut_at_word("0123456789 abcdefghijklmnop", 20) == "0123456789…"
    assert cut_at_word("0123456789a bcdefghijklmnop", 20) == "0123456789a…"
    assert cut_at_word("cmp-rack12-node07.example.com (5m00s)", 20) == "cmp-rack12-node07…"
    assert cut_at_word("nova-compute@cmp0 (+30s)", 15) == "nova-compute…"
    assert cut_at_word("0123456789abcdefghij", 15) == ""  # no whole word fits: nothing rather than a stub


def typos(n: int, length: int) -> tuple[str, ...]:
    """``n`` -c thresholds naming binaries no service has, each name ``length`` characters long."""
    return tuple(f"nova-typo{i}-".ljust(length, "x") + "=0" for i in range(n))


def test_a_lone_unreachable_cell_keeps_its_whole_uuid_while_the_heads_fit_exactly():
    # 61 + "; " + 6 + 3 names of 28 + 2 ", " + ": no such services" = 175: the budget exactly
    run = check({}, {"cell1": TIMEOUT}, critical=typos(3, 28))
    names = ", ".join(name[:-2] for name in typos(3, 28))
    assert run.code == 3
    assert run.line == (
        f"NOVA_SERVICES UNKNOWN - cell cell1 (00000001-4b1e-4c0d-9a2f-6d1c0c5e0001) unreachable; -w/-c {names}: "
        "no such services"
    )
    assert len(run.status) == 175


def test_a_lone_unreachable_cell_shortens_its_uuid_when_the_whole_one_leaves_no_room():
    run = check({}, {"cell1": TIMEOUT}, critical=typos(3, 30))
    names = ", ".join(name[:-2] for name in typos(3, 30))
    assert run.line == (
        f"NOVA_SERVICES UNKNOWN - cell cell1 (00000001…) unreachable: no answer within…; -w/-c {names}: no such services"
    )


def test_heads_that_overflow_even_short_say_their_count_in_fewer_words_rather_than_be_cut():
    """Issue 28: the typos' note was cut inside a word ("no s…"); now it is counted, and -v names them."""
    run = check({}, {"cell1": TIMEOUT}, critical=typos(4, 30))
    assert run.line == (
        "NOVA_SERVICES UNKNOWN - cell cell1 (00000001-4b1e-4c0d-9a2f-6d1c0c5e0001) unreachable: "
        "no answer within the 10s timeout; 4 -w/-c names matching no service"
    )


long_names = st.text("abcdefghij-0123456789", min_size=7, max_size=30)


@st.composite
def facts(draw) -> list[Fact]:
    """Facts whose names are at least 7 characters: each name shown makes the line longer."""
    result = []
    for index in range(draw(st.integers(1, 6))):
        items = draw(st.lists(long_names, max_size=8))
        count = len(items) + draw(st.integers(0, 3))
        result.append(Fact(f"fact{index} {count} down", items, count, binary=draw(st.booleans())))
    return result


@settings(max_examples=300, deadline=None)
@given(facts(), st.integers(20, 250))
def test_the_line_a_budget_gives_is_the_line_its_own_length_gives(facts, budget):
    """Exactly as long as the budget is long enough: what fits in b fits in len(fit(b)), so the same choices
    are made. (Names cut with "…" are left out: a cut depends on the room, not only on what fits.)"""
    line = fit(facts, budget)
    assume("…" not in line)
    assert fit(facts, len(line)) == line


WORDS = st.sampled_from("the server has no connection to spare raise max_connections or lower --per-server".split())


@st.composite
def mixed_facts(draw) -> list[Fact]:
    """Every kind of fact the first line has: names, a lone reason, several cells with one shared (optional)
    reason, a whole cell with its newest heartbeat (a detail)."""
    result = []
    for index in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["names", "reason", "shared", "detail"]))
        if kind == "names":
            items = draw(st.lists(long_names, max_size=6))
            result.append(Fact(f"binary{index} {len(items)}/9 down", items, max(1, len(items)), binary=draw(st.booleans())))
        elif kind == "reason":
            result.append(
                Fact(f"cell{index} unreachable", [" ".join(draw(st.lists(WORDS, min_size=1, max_size=15)))], 1, prose=True)
            )
        elif kind == "shared":
            names = draw(st.lists(long_names, min_size=2, max_size=6))
            result.append(Fact(f"{len(names)} of 9 cells unreachable", names, len(names)))
            reason = " ".join(draw(st.lists(WORDS, min_size=1, max_size=15)))
            result.append(Fact("each", [reason], 1, prose=True, optional=True))
        else:
            result.append(Fact(f"cell{index}: all 5 services down", ["newest heartbeat 5m12s ago"], detail=True))
    return result


@settings(max_examples=500, deadline=None)
@given(mixed_facts(), st.integers(20, 250))
def test_the_line_never_exceeds_its_budget(facts, budget):
    """Found by review: a shared reason's optional head was not counted when a lone name was cut to fit."""
    assert len(fit(facts, budget)) <= budget


def test_several_unreachable_cells_are_named_in_40_characters_or_by_their_uuid():
    unnamed = "0000000a-4b1e-4c0d-9a2f-6d1c0c5e000a"  # Nova shows an unnamed cell's uuid as its name
    run = check({}, {"c" * 40: TIMEOUT, "d" * 41: TIMEOUT, unnamed: TIMEOUT, "cell4": TIMEOUT})
    assert run.line == (
        f"NOVA_SERVICES UNKNOWN - 4 of 4 cells unreachable: {'c' * 40}, {'d' * 39}…, 0000000a…, cell4; "
        "each: no answer within the 10s timeout"
    )


def test_a_cell_of_exactly_two_services_all_down_is_one_phrase():
    cells = {"cell1": [row("a", age=300), row("b", "nova-conductor", age=300)], "cell2": computes("cmp", 3)}
    cells["cell2"].append(row("x", age=100))
    assert check(cells).line == (
        "NOVA_SERVICES CRITICAL - cell1: all 2 services down, newest heartbeat 5m00s ago; nova-compute 2/5 down: x (100s)"
    )


def test_binaries_of_the_same_rank_come_in_alphabetical_order():
    rows = [row("z1", "nova-zeta", age=100), row("a1", "nova-alpha", age=100), row("z2", "nova-zeta"), row("a2", "nova-alpha")]
    assert check({"cell1": computes("cmp", 2) + rows}).line == (
        "NOVA_SERVICES WARNING - nova-alpha 1/2 down: a1 (100s); nova-zeta 1/2 down: z1 (100s)"
    )
    assert check({"cell1": computes("cmp", 2) + rows[2:]}).line == (
        "NOVA_SERVICES OK - 4 of 4 services up: nova-alpha 1/1, nova-zeta 1/1, nova-compute 2/2"
    )


def test_a_binary_is_named_in_40_characters():
    exactly, longer = "nova-" + "b" * 35, "nova-" + "c" * 36
    rows = [row("h1", exactly, age=100), row("h2", longer, age=100), row("h3", longer)]
    assert check({"cell1": computes("cmp", 2) + rows}).line == (
        f"NOVA_SERVICES CRITICAL - {exactly} 1/1 down: h1 (100s); nova-{'c' * 34}… 1/2 down: h2 (100s)"
    )


def test_a_binary_all_down_is_followed_by_the_others_and_merges_like_them():
    cells = {"cell1": [row(h, "nova-conductor", age=300) for h in ("ctl1", "ctl2")] + computes("cmp", 10)}
    cells["cell1"].append(row("d", age=100))
    assert check(cells).line == "NOVA_SERVICES CRITICAL - nova-conductor: all 2 down; nova-compute 1/11 down: d (100s)"
    many = {"cell1": computes("cmp", 3)}
    for i in range(6):
        many["cell1"] += [row(f"h{j}", f"nova-{i}".ljust(40, "x"), age=300) for j in range(2)]
    assert check(many).line == (
        "NOVA_SERVICES CRITICAL - nova-0xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx: all 2 down; "
        "nova-1xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx: all 2 down; 8 down in 4 more binaries"
    )


def test_an_auto_disabled_reason_is_shown_in_60_characters():
    exactly, longer = "AUTO: " + "r" * 54, "AUTO: " + "s" * 55
    cells = {"cell1": computes("cmp", 2) + [row("x", age=100, reason=exactly), row("y", age=100, reason=longer)]}
    assert check(cells).line == (
        f"NOVA_SERVICES WARNING - nova-compute 2/4 down: x ({exactly}), y (AUTO: {'s' * 53}…); 2 disabled"
    )


def test_a_threshold_typo_is_named_in_40_characters():
    run = check({"cell1": computes("cmp", 2)}, critical=("n" * 40 + "=0", "m" * 41 + "=0"))
    assert run.line == (
        f"NOVA_SERVICES OK - 2 of 2 services up: nova-compute 2/2; -w/-c {'m' * 39}…, {'n' * 40}: no such services"
    )


def test_a_heartbeat_late_by_less_than_a_second_is_not_from_the_future():
    """--age-warning takes fractions: a heartbeat 0.7 s old is late after 0.5 s, and 0.7 s is in the past."""
    run = check({"cell1": computes("cmp", 1, age=0.2) + [row("x", age=0.7)]}, policy=Policy(down_time=60, age_warning=0.5))
    assert run.line == "NOVA_SERVICES WARNING - 1 heartbeat late: nova-compute@x (0s)"


@pytest.mark.parametrize(("seconds", "words", "direction"), [(0.7, "1s ahead of", "ahead of"), (-0.7, "1s behind", "behind")])
def test_a_clock_skew_under_a_second_has_its_direction(seconds, words, direction):
    """--skew-warning takes fractions too: 0.7 s beyond a 0.5 s limit either way, the direction as measured."""
    reading = reading_of({"cell1": computes("cmp", 2)})
    skewed = dataclasses.replace(reading, skew=(reading.cells[0], seconds))
    assert (
        first_line(skewed, skew_warning=0.5)
        == f"2 of 2 services up: nova-compute 2/2; clock skew: cell1's database {words} this host"
    )
    assert long_output(skewed, skew_warning=0.5) == [
        f"clock skew: the database server of cell cell1 (00000001-4b1e-4c0d-9a2f-6d1c0c5e0001) is 0.700s {direction} this "
        "host (warning above 0.5s)"
    ]


def all_up_with_a_note(first_binary_length: int) -> dict[str, list]:
    """Eight services up in six binaries, the first binary's name as long as asked, and one disabled."""
    rows = computes("cmp", 2) + [row("m", disabled=True)]
    for i in range(5):
        rows.append(row("h", f"nova-x{i}".ljust(first_binary_length if i == 0 else 18, "y")))
    return {"cell1": rows}


def test_all_up_lists_its_binaries_in_exactly_175_characters_beside_the_notes():
    up = "nova-x1yyyyyyyyyyy 1/1, nova-x2yyyyyyyyyyy 1/1, nova-x3yyyyyyyyyyy 1/1, nova-x4yyyyyyyyyyy 1/1, nova-compute 3/3"
    run = check(all_up_with_a_note(25))
    assert run.line == f"NOVA_SERVICES OK - 8 of 8 services up: nova-x0{'y' * 18} 1/1, {up}; 1 disabled"
    assert len(run.status) == 175
    one_more = check(all_up_with_a_note(26))
    assert one_more.line == "NOVA_SERVICES OK - 8 of 8 services up in 6 binaries; 1 disabled"


def test_zones_unknown_is_a_note_on_the_line_and_in_the_long_output():
    reading = reading_of({"cell1": computes("cmp", 2)})
    unknown = dataclasses.replace(reading, zones_problem="(1142, \"SELECT command denied to user 'nagios'\")")
    assert first_line(unknown) == "2 of 2 services up: nova-compute 2/2; zones unknown"
    assert long_output(unknown) == [
        "note: availability zones unknown ((1142, \"SELECT command denied to user 'nagios'\")); they need SELECT on "
        "the API database's aggregate_hosts and aggregate_metadata"
    ]


def test_a_heartbeat_from_the_future_is_a_note_in_the_long_output_too():
    rows = computes("cmp", 2) + [row("x", age=-30), row("y", age=-20)]
    reading = reading_of({"cell1": rows}, policy=Policy(down_time=60, age_warning=35, ahead_after=10))
    assert (
        first_line(reading)
        == "4 of 4 services up: nova-compute 4/4; 2 heartbeats from the future: nova-compute@x (+30s) +1 more"
    )
    assert long_output(reading) == [
        "note: 2 heartbeats more than report_interval in the future, the furthest nova-compute@x cell=cell1 by 30s: "
        "the clock of the host that writes it (its conductor) runs ahead"
    ]


def down_line(host: str) -> str:
    return (
        f"down: nova-compute@{host} cell=cell1 status=enabled state=down heartbeat=5m00s ago (last_seen_up "
        "2026-11-26 14:55:00) forced_down=no disabled_reason=-"
    )


@pytest.mark.parametrize("down", [30, 31])
def test_the_long_output_lists_30_problem_services_at_most(down):
    hosts = [f"d{i:03d}" for i in range(down)]
    reading = reading_of({"cell1": computes("cmp", 1) + [row(h, age=300) for h in hosts]})
    more = ["... and 1 more problem services (-vv lists every service)"] if down > 30 else []
    assert long_output(reading) == [down_line(h) for h in hosts[:30]] + more


def test_the_long_output_names_30_unreachable_cells_at_most():
    reading = reading_of({}, {f"cell{i:02d}": "boom" for i in range(31)})
    lines = long_output(reading)
    assert len(lines) == 30
    assert lines[-1] == "unreachable: cell cell29 (0000001e-4b1e-4c0d-9a2f-6d1c0c5e001e): boom"


def test_the_long_output_stops_at_exactly_5500_bytes_counted_in_utf8():
    """Thirteen problem lines with long non-ASCII host names (2 bytes a character), after an unreachable cell
    and before a note: when every line with its newline adds up to exactly 5500 bytes all are shown; with one
    byte more the last gives way to "... and 1 more"."""

    def hosts_for(extra: int) -> list[str]:
        return [f"h{i:02d}" + "é" * 132 + "x" * (extra if i == 12 else 0) for i in range(13)]

    def lines_for(extra: int) -> list[str]:
        rows = computes("cmp", 1) + [row(host, age=300) for host in hosts_for(extra)]
        return long_output(reading_of({"cell1": rows}, {"cell2": "boom"}), ["nova-typo"])

    unreachable = "unreachable: cell cell2 (00000002-4b1e-4c0d-9a2f-6d1c0c5e0002): boom"
    note = "note: -w/-c name nova-typo, which no service read has"
    base = sum(len(line.encode()) + 1 for line in [unreachable, note] + [down_line(h) for h in hosts_for(0)])
    assert 0 <= 5500 - base <= 255 - 135, "the last host name can take up the rest"
    exactly = hosts_for(5500 - base)
    assert lines_for(5500 - base) == [unreachable] + [down_line(h) for h in exactly] + [note]
    assert sum(len(line.encode()) + 1 for line in lines_for(5500 - base)) == 5500
    one_more = hosts_for(5500 - base + 1)
    more = "... and 1 more problem services (-vv lists every service)"
    assert lines_for(5500 - base + 1) == [unreachable] + [down_line(h) for h in one_more[:12]] + [more, note]


def test_a_problem_line_that_does_not_fit_ends_the_list_without_a_gap():
    """The list keeps its order, most important first: a shorter line after one that did not fit is not shown."""
    hosts = [f"h{i:02d}" + "é" * 132 for i in range(12)] + ["h12" + "é" * 252, "h13"]
    rows = computes("cmp", 1) + [row(host, age=300) for host in hosts]
    lines = long_output(reading_of({"cell1": rows}))
    assert sum(len(line.encode()) + 1 for line in lines[:12]) + len(down_line("h13")) + 1 < 5500
    assert lines == [down_line(h) for h in hosts[:12]] + ["... and 2 more problem services (-vv lists every service)"]


def test_excluded_services_are_counted_on_both_outputs():
    selection = Selection(exclude=(re.compile("cmp00001"), re.compile("^nova-conductor@")))
    rows = computes("cmp", 3, age=300) + [row("ctl", "nova-conductor", age=300)]
    reading = reading_of({"cell1": rows}, selection=selection)
    assert first_line(reading) == "cell1: all 2 services down, newest heartbeat 5m00s ago; 2 excluded"
    assert long_output(reading) == [
        down_line("cmp00000"),
        down_line("cmp00002"),
        "excluded by --exclude: 2 services (-vv lists them)",
    ]


def test_a_heartbeat_is_in_the_future_only_below_zero_and_an_unreadable_one_shows_what_is_stored():
    unreadable = dataclasses.replace(row("z", age=None), unreadable=(("last_seen_up", "0000-00-00 00:00:00"),))
    disabled = [row(host, age=age, disabled=True) for host, age in (("now", 0), ("half", 0.5), ("fut", -0.5))]
    reading = reading_of({"cell1": computes("cmp", 1) + [unreadable] + disabled})
    tail = "forced_down=no disabled_reason=-"
    assert long_output(reading) == [
        "down, cannot be judged: nova-compute@z cell=cell1 status=enabled state=down heartbeat=unreadable "
        f"(last_seen_up '0000-00-00 00:00:00') {tail}",
        "disabled: nova-compute@fut cell=cell1 status=disabled state=up heartbeat=0s in the future "
        f"(last_seen_up 2026-11-26 15:00:00) {tail}",
        "disabled: nova-compute@half cell=cell1 status=disabled state=up heartbeat=0s ago "
        f"(last_seen_up 2026-11-26 14:59:59) {tail}",
        "disabled: nova-compute@now cell=cell1 status=disabled state=up heartbeat=0s ago "
        f"(last_seen_up 2026-11-26 15:00:00) {tail}",
    ]


def test_the_pager_line_names_a_service_in_40_and_60_characters_the_long_output_in_255():
    binary, host = "nova-" + "b" * 35, "h" * 60
    exactly = check({"cell1": computes("cmp", 1) + [row(host, binary, age=40)]})
    assert exactly.line == f"NOVA_SERVICES WARNING - 1 heartbeat late: {binary}@{host} (40s)"
    longer = check({"cell1": computes("cmp", 1) + [row(host + "i", binary + "c", age=40)]})
    assert longer.line == f"NOVA_SERVICES WARNING - 1 heartbeat late: {binary[:39]}…@{host[:59]}… (40s)"
    whole, cut = "nova-" + "b" * 250, "nova-" + "c" * 251
    rows = [row("h" * 255, whole, age=300), row("i" * 256, cut, age=300)]
    assert [line.split(" cell=")[0] for line in long_output(reading_of({"cell1": rows}))] == [
        f"down: {whole}@{'h' * 255}",
        f"down: {cut[:254]}…@{'i' * 254}…",
    ]


def test_a_service_down_by_less_than_a_second_is_down_in_the_past():
    """--service-down-time 0 --report-interval 0 makes Nova's down time 0: a heartbeat 0.5 s old is down."""
    cells = {"cell1": [row("x", age=0.5), row("y", age=0)]}
    run = check(cells, policy=Policy(down_time=0, age_warning=None))
    assert run.line == "NOVA_SERVICES WARNING - nova-compute 1/2 down: x (0s)"


def test_a_down_host_is_named_in_60_characters():
    host = "h" * 60
    exactly = check({"cell1": computes("cmp", 2) + [row(host, age=100)]})
    assert exactly.line == f"NOVA_SERVICES WARNING - nova-compute 1/3 down: {host} (100s)"
    longer = check({"cell1": computes("cmp", 2) + [row(host + "i", age=100)]})
    assert longer.line == f"NOVA_SERVICES WARNING - nova-compute 1/3 down: {host[:59]}… (100s)"

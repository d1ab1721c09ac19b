"""A large outage on the first line (issue 28): 152 cells with 8 of them entirely down and a conductor down
elsewhere read "2 of 152 cells unreachable; cell000: all 20 services down; … cell004: all 20 servic…", cut inside
a word, three whole cells, the conductor and every per-binary count gone. Now whole cells merge into one count,
the control plane keeps its place, and nothing is cut inside a word; a property test over random outages of up
to 200 cells shows every fact's count on the line, within the budget."""

from __future__ import annotations

import re
from dataclasses import dataclass

from hypothesis import event, given, settings
from hypothesis import strategies as st

from check_nova_services.output.fit import SUMMARY_BUDGET
from check_nova_services.output.pager import first_line, mixed_versions
from check_nova_services.readings import CellReading, Reading
from check_nova_services.rule.policy import Policy
from tests.harness.factories import check, computes, reading_of, row

TIMEOUT = "no answer within the 10s timeout"


def cell_of_20(index: int, down: bool = False) -> list:
    """A cell as the issue's: its conductor and 19 computes, all up or all down for 5 minutes."""
    age = 300 if down else 5
    return [row(f"ctl{index:03d}", "nova-conductor", age=age)] + [row(f"cmp{index:03d}-{n:02d}", age=age) for n in range(19)]


def outage(whole: int, conductor_down_in: int | None = None) -> dict[str, list]:
    """150 cells that answer, the first ``whole`` of them entirely down."""
    cells = {f"cell{i:03d}": cell_of_20(i, down=i < whole) for i in range(150)}
    if conductor_down_in is not None:
        cells[f"cell{conductor_down_in:03d}"][0] = row(f"ctl{conductor_down_in:03d}", "nova-conductor", age=300)
    return cells


GONE = {"cell150": TIMEOUT, "cell151": TIMEOUT}


def test_the_issues_outage_keeps_every_count():
    """The issue's line lost three whole cells, the conductor and every count after them, and cut "servic…"."""
    run = check(outage(8, conductor_down_in=8), GONE)
    assert (run.code, run.line) == (
        2,
        "NOVA_SERVICES CRITICAL - 2 of 152 cells unreachable: cell150, cell151; each: no answer within the 10s…; "
        "8 cells all down (160 services): cell000 +7 more; nova-conductor 9/150 down: ctl008 (5m00s)",
    )
    assert len(run.status) <= SUMMARY_BUDGET


def test_149_of_152_cells_down_is_one_count():
    run = check(outage(149), GONE)
    assert (run.code, run.line) == (
        2,
        "NOVA_SERVICES CRITICAL - 2 of 152 cells unreachable: cell150, cell151; each: no answer within the 10s timeout; "
        "149 cells all down (2980 services): cell000, cell001, cell002, cell003, cell004 +144 more",
    )
    assert len(run.status) == SUMMARY_BUDGET


def test_up_to_three_whole_cells_are_named_one_by_one_with_their_newest_heartbeat_when_they_fit():
    cells = {f"cell{i}": cell_of_20(i, down=i < 3) for i in range(5)}
    assert check(cells).line == (
        "NOVA_SERVICES CRITICAL - cell0: all 20 services down, newest heartbeat 5m00s ago; cell1: all 20 services down, "
        "newest heartbeat 5m00s ago; cell2: all 20 services down, newest heartbeat 5m00s ago"
    )


def test_four_whole_cells_are_one_fact_even_when_they_would_fit():
    cells = {f"cell{i}": cell_of_20(i, down=i < 4) for i in range(5)}
    assert check(cells).line == "NOVA_SERVICES CRITICAL - 4 cells all down (80 services): cell0, cell1, cell2, cell3"


def test_two_whole_cells_are_one_fact_when_their_heads_do_not_fit_one_by_one():
    """Two cells named in 40 characters and 60 other facts' worth of heads: one by one the heads overflow."""
    long_names = ["a" * 40, "b" * 40]
    cells = {name: cell_of_20(i, down=True) for i, name in enumerate(long_names)}
    cells["cell2"] = (
        cell_of_20(2) + [row(f"sch{n}", "nova-scheduler", age=300) for n in range(2)] + [row("sch9", "nova-scheduler")]
    )
    cells["cell2"] += [row(f"late{n}", age=45) for n in range(3)] + [row(f"off{n}", disabled=True) for n in range(2)]
    one_by_one = "; ".join(f"{name}: all 20 services down" for name in long_names)
    assert len(one_by_one + "; nova-scheduler 2/3 down; 3 heartbeats late; 2 disabled") > SUMMARY_BUDGET
    assert check(cells).line == (
        f"NOVA_SERVICES CRITICAL - 2 cells all down (40 services): {'a' * 40} +1 more; nova-scheduler 2/3 down: "
        "sch0 (5m00s), sch1 (5m00s); 3 heartbeats late; 2 disabled"
    )


def test_a_merge_of_binaries_gives_terse_facts_their_words_back():
    """Going terse ("3 cells unreachable", "1 -w/-c name matching no service") did not make room enough and the
    last binaries merged: that made room, and both facts have their words back."""
    cells = {"cell0": cell_of_20(0) + [row(f"x{n}", f"nova-extra-binary-number-{n}", age=300) for n in range(5)]}
    cells["cell0"] += [row(f"y{n}", f"nova-extra-binary-number-{n}") for n in range(5)]
    run = check(cells, {"cell1": TIMEOUT, "cell2": "boom", "cell3": "bang"}, critical=("nova-compte=0",))
    assert (run.code, run.line) == (
        3,
        "NOVA_SERVICES UNKNOWN - 3 of 4 cells unreachable; nova-extra-binary-number-0 1/2 down: x0 (5m00s); "
        "nova-extra-binary-number-1 1/2 down; 3 down in 3 more binaries; -w/-c nova-compte: no such service",
    )


# --- every fact's count, over random outages ---------------------------------------------------------------

POLICY = Policy(down_time=60, age_warning=35, ahead_after=10)
OTHER_BINARIES = ("nova-novncproxy", "nova-serialproxy")
DOUBTS = (
    "node desynced (Donor/Desynced)",
    "is a replica whose replication has stopped (Slave_running OFF)",
    "node not in the primary component (non-Primary, Initialized)",
)
REASONS = (TIMEOUT, "(2003, \"Can't connect to MySQL server on 'db7' (timed out)\")", "Access denied for user nova")
TYPOS = ("nova-compte", "nova-condutor", "nova-sheduler")


@st.composite
def partial_cells(draw) -> list:
    """A cell with some of its services down, late, too old, ahead of time or disabled."""
    rows = []
    for binary in ("nova-conductor", "nova-scheduler", *draw(st.lists(st.sampled_from(OTHER_BINARIES), unique=True))):
        up, down = draw(st.integers(0, 2)), draw(st.integers(0, 2))
        rows += [row(f"{binary[5:8]}{n}", binary, version=74) for n in range(up)]
        rows += [row(f"{binary[5:8]}d{n}", binary, age=300, version=74) for n in range(down)]
    ages = draw(st.lists(st.sampled_from([5, 5, 5, 45, 45, 300, 300, 3600, -30]), min_size=1, max_size=12))
    versions = draw(st.lists(st.sampled_from([74, 74, 74, 73, 57]), min_size=len(ages), max_size=len(ages)))
    disabled = draw(st.integers(0, 2))
    rows += [row(f"cmp{n}", age=age, version=version) for n, (age, version) in enumerate(zip(ages, versions))]
    return rows + [row(f"off{n}", disabled=True, version=74) for n in range(disabled)]


@st.composite
def outages(draw) -> tuple[Reading, list[str]]:
    """Up to 200 cells: up, entirely down (2 to 20 services), partly down, unreachable or stale; and -w/-c typos."""
    cells = draw(st.integers(1, 200))
    whole = draw(st.integers(0, cells))
    gone = draw(st.integers(0, cells - whole))
    stale = draw(st.integers(0, min(3, cells - whole - gone)))
    partial = draw(st.lists(partial_cells(), max_size=min(6, cells - whole - gone - stale)))
    sizes = draw(st.lists(st.integers(2, 20), min_size=1, max_size=4))
    answered: dict[str, list] = {}
    for i in range(cells - gone - stale):
        name = f"cell{i:03d}"
        if i < whole:
            size = sizes[i % len(sizes)]
            answered[name] = [row(f"c{i}ctl", "nova-conductor", age=300)] + computes(f"c{i}-", size - 1, age=300)
        elif i - whole < len(partial):
            answered[name] = partial[i - whole]
        else:
            answered[name] = [row(f"c{i}ctl", "nova-conductor", version=74), row(f"c{i}cmp", version=74)]
    reasons = draw(st.lists(st.sampled_from(REASONS), min_size=gone, max_size=gone))
    unreachable = {f"cell{i:03d}": reason for i, reason in zip(range(cells - gone - stale, cells - stale), reasons)}
    doubts = {f"cell{i:03d}": draw(st.sampled_from(DOUBTS)) for i in range(cells - stale, cells)}
    typos = draw(st.lists(st.sampled_from(TYPOS), unique=True, max_size=3))
    return reading_of(answered, unreachable, POLICY, stale=doubts), sorted(typos)


def whole_cells(reading: Reading) -> list[CellReading]:
    """Restated from the README: a cell that answered with every one of its services (at least 2) down."""
    return [r for r in reading.answered if r.services >= 2 and all(t.down == t.total for t in r.tallies.values())]


@dataclass
class Expected:
    """A fact the reading implies: the words that carry its count (any of the README's forms of it), and its
    fewest words, for the least a line of every fact can be."""

    kind: str
    words: str
    fewest: str

    def found(self, line: str) -> bool:
        return re.search(rf"(^|; ){self.words}(;|:|,|$)", line) is not None


def plural(n: int, noun: str, many: str = "s") -> str:
    return f"{n} {noun}{many if n != 1 else ''}"


def expected_facts(reading: Reading, typos: list[str]) -> list[Expected]:
    """Every fact the reading implies, in the README's order."""
    facts = cells_not_read_expected(reading) + whole_cells_expected(whole_cells(reading)) + binaries_expected(reading)
    if reading.sum("late"):
        facts.append(
            Expected("late", rf"{reading.sum('late')} heartbeats? late", plural(reading.sum("late"), "heartbeat") + " late")
        )
    if reading.too_old:
        fewest = f"{reading.too_old} nova-compute too old"
        facts.append(Expected("too old", rf"{reading.too_old} nova-compute (older than [^;:]*|too old)", fewest))
    if typos:
        words = rf"(-w/-c {', '.join(typos)}: no such services?|{len(typos)} -w/-c names? matching no service)"
        facts.append(Expected("typos", words, f"{plural(len(typos), '-w/-c name')} matching no service"))
    if reading.sum("ahead"):
        fewest = plural(reading.sum("ahead"), "heartbeat") + " ahead"
        facts.append(Expected("ahead", rf"{reading.sum('ahead')} heartbeats? (from the future|ahead)", fewest))
    mixed = mixed_versions(reading)
    if mixed is not None and (reading.floor is None or not reading.too_old):  # no count: its length only
        facts.append(Expected("versions", rf"versions {mixed[0]} to {mixed[1]}[^;]*", f"versions {mixed[0]} to {mixed[1]}"))
    if reading.sum("disabled"):
        facts.append(Expected("disabled", rf"{reading.sum('disabled')} disabled", f"{reading.sum('disabled')} disabled"))
    return facts


def cells_not_read_expected(reading: Reading) -> list[Expected]:
    """Cells that could not be read, then cells whose data may be stale: by name alone, else counted."""
    cells = len(reading.cells)
    facts = []
    gone = [r.cell.name for r in reading.unreachable if not r.stale]
    stale = [r.cell.name for r in reading.unreachable if r.stale]
    if len(gone) == 1:
        facts.append(Expected("unreachable", rf"(cell )?{gone[0]}( \([0-9a-f-]+…?\))? unreachable", f"{gone[0]} unreachable"))
    elif gone:
        facts.append(Expected("unreachable", rf"{len(gone)} (of {cells} )?cells unreachable", f"{len(gone)} cells unreachable"))
    if len(stale) == 1:
        facts.append(Expected("stale", rf"{stale[0]}'s database [^;]*may be stale", f"{stale[0]}'s database may be stale"))
    elif stale:
        words = rf"{len(stale)} (of {cells} )?cells' databases may be stale"
        facts.append(Expected("stale", words, f"{len(stale)} cells' databases may be stale"))
    return facts


def whole_cells_expected(whole: list[CellReading]) -> list[Expected]:
    """One whole cell as it is; two or three one by one or as one count; more, one count."""
    if len(whole) == 1:
        head = f"{whole[0].cell.name}: all {whole[0].services} services down"
        return [Expected("whole", head, head)]
    if not whole:
        return []
    merged = f"{len(whole)} cells all down ({sum(r.services for r in whole)} services)"
    each = "; ".join(rf"{r.cell.name}: all {r.services} services down(, newest heartbeat [^;]*)?" for r in whole)
    return [Expected("whole", re.escape(merged) if len(whole) > 3 else f"({re.escape(merged)}|{each})", merged)]


def down_outside_whole_cells(reading: Reading) -> dict[str, tuple[int, int, int]]:
    """Each binary with services down outside the whole cells: (down outside, down in all, total)."""
    whole = whole_cells(reading)
    result = {}
    for binary, tally in reading.tallies.items():
        outside = tally.down - sum(r.tallies[binary].down for r in whole if binary in r.tallies)
        if outside > 0:
            result[binary] = (outside, tally.down, tally.total)
    return result


class BinariesExpected(Expected):
    """Each binary's count on its own, or merged with the last ones into "N down in K binaries"; the control
    plane on its own unless every binary merged."""

    def __init__(self, reading: Reading) -> None:
        self.down = down_outside_whole_cells(reading)
        every = sum(outside for outside, _, _ in self.down.values())
        super().__init__(
            "binaries", "", f"{every} down in {plural(len(self.down), 'binar', 'ies') if len(self.down) > 1 else '1 binary'}"
        )

    def found(self, line: str) -> bool:
        merged = {}
        for binary, (outside, down, total) in self.down.items():
            if not re.search(rf"(^|; ){binary}( {down}/{total}|: all {total}) down", line):
                merged[binary] = outside
        if not merged:
            return True
        more = "more " if len(merged) < len(self.down) else ""
        if more and {"nova-conductor", "nova-scheduler"} & merged.keys():
            return False
        kinds = "binaries" if len(merged) > 1 else "binary"
        return re.search(rf"(^|; ){sum(merged.values())} down in {len(merged)} {more}{kinds}(;|$)", line) is not None


def binaries_expected(reading: Reading) -> list[Expected]:
    return [BinariesExpected(reading)] if down_outside_whole_cells(reading) else []


def assert_no_word_cut(line: str, reading: Reading, typos: list[str]) -> None:
    """Every "…" follows a word (letters and digits) that the line holds whole with room enough, or ends the line
    after a whole fact ("; …")."""
    whole_words = set(re.findall(r"[^\W_]+", first_line(reading, typos, budget=100_000)))
    for match in re.finditer(r"([^\W_]*)[^\w\s…]*…", line):  # the word, then perhaps its closing ' " )
        word = match.group(1)
        assert word in whole_words or line[: match.end() - 1].endswith("; "), (word, line)


@settings(max_examples=150, deadline=None)
@given(outages())
def test_every_fact_of_a_random_outage_keeps_its_count_within_the_budget(drawn):
    """Every fact's count is on the line, within the budget, no word cut; only when even the fewest words of
    every fact overflow does the line end after the last whole fact that fits, "; …", the facts before it kept."""
    reading, typos = drawn
    line = first_line(reading, typos)
    assert len(line) <= SUMMARY_BUDGET
    assert_no_word_cut(line, reading, typos)
    expected = expected_facts(reading, typos)
    found = [fact.found(line) for fact in expected]
    if line.endswith("; …"):
        event("the line ends after the last fact that fits")
        assert len("; ".join(fact.fewest for fact in expected)) > SUMMARY_BUDGET, line
        assert found == sorted(found, reverse=True) and found[0], (found, line)  # the first facts, in order
    else:
        assert all(found), ([fact.kind for fact, shown in zip(expected, found) if not shown], line)
    event("binaries merged" if " down in " in line else "every binary on its own")
    event("whole cells merged" if " cells all down (" in line else "no whole cells merged")

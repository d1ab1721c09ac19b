"""--exclude counted where the rows are (issue 29): a pattern is written again for MariaDB's REGEXP
(rule.patterns.portable_regexp) only where both engines read it alike. Over random patterns and host names
(case, spaces, line feeds, accents), the real MariaDB's REGEXP on the rewritten pattern matches exactly what
Python's re.search matches; the patterns whose meaning differs are left to Python."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from check_nova_services.rule.patterns import portable_regexp, runaway_repetition
from check_nova_services.rule.selection import Selection, ServiceFilter
from check_nova_services.shared.deadline import Deadline
from tests.conftest import CELL_PROPERTY, NOW, one_cell_on_each_backend

ALPHABET = ["a", "b", "A", "-", "@", ".", "0", "9", "é", "\n", " ", "É", "_"]
atoms = st.one_of(
    st.sampled_from(["a", "b", "A", "-", "@", "\\.", "0", "é", "\\n", " "]),
    st.sampled_from([".", "[a-b]", "[^a]", "[0-9]", "[aé-]", "[^\\n]", "[A-Z]"]),
)


def _repeated(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    suffixes = st.sampled_from(["", "*", "+", "?", "*?", "+?", "{2}", "{1,3}", "{0,2}?", "{2,}"])
    return st.builds(lambda body, suffix: f"(?:{body}){suffix}" if suffix else body, inner, suffixes)


patterns = st.recursive(
    _repeated(atoms),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=4).map("".join),
        st.lists(inner, min_size=2, max_size=3).map(lambda parts: "(" + "|".join(parts) + ")"),
        _repeated(inner),
    ),
    max_leaves=6,
).flatmap(lambda body: st.sampled_from([body, "^" + body, body + "$", "^" + body + "$", "\\A" + body + "\\Z"]))
subjects = st.lists(st.text(st.sampled_from(ALPHABET), max_size=8), min_size=1, max_size=8)


def mariadb_matches(conn, pattern: str, subject: str) -> bool:
    with conn.cursor() as cursor:
        cursor.execute("SELECT CONVERT(%s USING utf8mb4) COLLATE utf8mb4_bin REGEXP %s", (subject, pattern))
        ((matched,),) = cursor.fetchall()
    return bool(matched)


@pytest.fixture(scope="module")
def conn(mariadb):
    connection = mariadb.connect()
    yield connection
    connection.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(pattern=patterns, texts=subjects)
def test_mariadbs_regexp_on_the_rewritten_pattern_matches_what_python_matches(conn, pattern, texts):
    rewritten = portable_regexp(pattern)
    if rewritten is None or runaway_repetition(pattern) is not None:
        return  # left to Python, or refused
    for text in texts:
        subject = f"nova-compute@{text}"
        assert mariadb_matches(conn, rewritten, subject) == bool(re.search(pattern, subject)), (pattern, subject)


@pytest.mark.parametrize(
    ("pattern", "subject", "matched"),
    [
        ("@cmp-old-[0-9]+$", "nova-compute@cmp-old-12", True),
        ("@cmp-old-[0-9]+$", "nova-compute@CMP-OLD-12", False),  # REGEXP ignores case under MariaDB's default collation
        ("@cmp-old-[0-9]+$", "nova-compute@cmp-old-12\n", True),  # $ before a final line feed, in both
        ("@cmp$", "nova-compute@cmp ", False),  # no trailing-space padding
        ("^nova-compute@.$", "nova-compute@é", True),  # one character, not one byte
        ("a.b", "a\nb", False),  # . never matches a line feed
        ("(?i)cmp", "CMP", None),  # flags: left to Python
        ("\\d", "٣", None),  # Unicode digits in Python, ASCII in MariaDB: left to Python
        ("(a)\\1", "aa", None),
    ],
)
def test_known_patterns(conn, pattern, subject, matched):
    rewritten = portable_regexp(pattern)
    assert (rewritten is not None and mariadb_matches(conn, rewritten, subject)) == bool(matched)
    assert rewritten is None if matched is None else bool(re.search(pattern, subject)) == matched


# --------------------------------------------------------------------------- the counts, with the database excluding


def _services_read(url, patterns: tuple[str, ...], in_database: bool):
    """One cell read as the plugin reads it (read_cell), --exclude applied by the database or row by row."""
    from check_nova_services.readings import Cell
    from check_nova_services.rule.policy import Policy
    from check_nova_services.sources.cells import ReadPlan, read_cell
    from check_nova_services.sources.sessions import Link

    selection = Selection(exclude=tuple(re.compile(p) for p in patterns))
    plan = ReadPlan(
        ServiceFilter(),
        Policy(60, 35, ahead_after=10),
        NOW,
        in_database=in_database,
        selection=selection,
        exclude=selection.exclude_in_database if in_database else (),
    )
    link = Link(url, Deadline.after(10))
    try:
        reading = read_cell(Cell("cell", None, url), link, plan, None)
    finally:
        link.close()
    assert reading.error is None, reading.error
    oldest = sorted((a.row.id, a.excluded) for a in reading.oldest_computes)
    return reading.tallies, [a.row.id for a in reading.problems], reading.excluded_count, reading.nova_versions, oldest


HOSTS = ["cmp-old-1", "CMP-old-2", "cmp-old-3 ", "cmp-é", "ctl1", "cmp\n9", "", "cmp%1"]
rows_strategy = st.lists(
    st.tuples(
        st.sampled_from(HOSTS),
        st.sampled_from(["nova-compute", "nova-conductor", "Nova-Compute"]),
        st.sampled_from([2.0, 40.0, 300.0]),
        st.sampled_from([55, 57, 74]),
    ),
    min_size=1,
    max_size=8,
    unique_by=lambda r: (r[0].lower().rstrip(), r[1].lower()),  # the table's unique (host, binary) as MariaDB compares
)
exclusions = st.lists(
    # "%1": a % in the statement's text, where the driver formats its values (they are escaped into it once per run)
    st.sampled_from(["@cmp-old-[0-9]+$", "old", "^nova-compute@", "@cmp-.$", "@$", "-[0-9] $", "\\n", "@CMP", "%1"]),
    min_size=1,
    max_size=2,
    unique=True,
)


@pytest.fixture(scope="module")
def cells(mariadb, tmp_path_factory):
    return one_cell_on_each_backend(mariadb, tmp_path_factory, "exclude_sql")


@pytest.mark.parametrize("backend", ["mariadb", "sqlite"])
@CELL_PROPERTY
@given(drawn=rows_strategy, patterns=exclusions)
def test_the_database_excludes_what_python_excludes(cells, backend, drawn, patterns):
    """The same cell read twice: counted by the database with its REGEXP, and row by row with re.search. Counts,
    problems, the excluded count, Nova's minimum (excluded rows in it) and the oldest computes agree."""
    from check_nova_services.demo.writer import service, write_cell

    url = cells[backend]
    write_cell(url, [service(h or "x", b, NOW, age=age, version=v) | {"host": h} for h, b, age, v in drawn])
    *counted, counted_oldest = _services_read(url, tuple(patterns), True)
    *judged, judged_oldest = _services_read(url, tuple(patterns), False)
    assert counted == judged
    # The database names the oldest computes only when versions differ (counts._worth_naming); then alike.
    assert counted_oldest in ([], judged_oldest)


def test_the_database_form_is_used_and_counts_on_a_known_table(cells, mariadb):
    """The server's general log shows the database applying the pattern (REGEXP in the aggregate), no row read."""
    from check_nova_services.demo.writer import service, write_cell

    url = cells["mariadb"]
    write_cell(
        url,
        [
            service("cmp-old-1", "nova-compute", NOW, age=300.0, version=57),
            service("CMP-old-2", "nova-compute", NOW, age=300.0),
            service("cmp1", "nova-compute", NOW, age=2.0),
        ],
    )
    mariadb.execute("SET GLOBAL log_output = 'TABLE'", "TRUNCATE mysql.general_log", "SET GLOBAL general_log = ON")
    try:
        tallies, problems, excluded, versions, oldest = _services_read(url, ("@cmp-old-[0-9]+$",), True)
    finally:
        mariadb.execute("SET GLOBAL general_log = OFF")
    statements = [
        row[0].decode() if isinstance(row[0], bytes) else row[0]
        for row in mariadb.execute("SELECT argument FROM mysql.general_log WHERE command_type = 'Query'")
    ]
    mariadb.execute("TRUNCATE mysql.general_log")
    reads = [s for s in statements if "FROM services" in s and "LIMIT 0" not in s]
    assert reads and all("GROUP BY" in s or "LIMIT" in s for s in reads), reads  # counted, never every row
    assert any("REGEXP" in s and "GROUP BY" in s for s in reads), reads
    assert (tallies["nova-compute"].total, tallies["nova-compute"].down, problems, excluded) == (2, 1, [2], 1)
    assert (versions["nova-compute"], oldest) == (((57, 1), (74, 2)), [(1, True), (2, False), (3, False)])

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

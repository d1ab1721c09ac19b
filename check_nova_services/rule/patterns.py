"""--exclude's regular expressions, checked before any row meets them. Pure.

Python's ``re`` backtracks, and a match holds the interpreter's lock while it runs: a pattern such as
``(a+)+$`` against one unlucky host name can take minutes, and nothing (not even ``-t``) can interrupt it.
Such patterns share a shape, a repeat of varying length inside a repeat without bound (``(a+)+``,
``(a{1,5})*``) or an alternation repeated without bound, so they are refused up front, with the reason; every other pattern
runs in time linear enough to be bounded by the deadline like the rest of the run.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

if sys.version_info >= (3, 11):
    from re import _constants as constants  # type: ignore[attr-defined]
    from re import _parser as parser  # type: ignore[attr-defined]
else:  # pragma: no cover - Python 3.9 and 3.10
    import sre_constants as constants
    import sre_parse as parser

_REPEATS = {str(op) for op in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")}


def runaway_repetition(pattern: str) -> str | None:
    """Why ``pattern`` may backtrack for ever (a repeat without bound around a repeat of varying length, or
    around an alternation); None when it cannot. A pattern ``re`` cannot parse is left to ``re.compile`` to refuse."""
    try:
        tree = parser.parse(pattern)
    except Exception:  # noqa: BLE001 - re.compile says what is wrong with it
        return None
    return _inside(tree, repeated=False)


def _inside(items: Iterable[tuple[Any, Any]], repeated: bool) -> str | None:
    """The first runaway shape in ``items``; ``repeated``: they sit inside a repeat without bound."""
    for op, value in items:
        name = str(op)
        if name in _REPEATS:
            low, high, body = value
            unbounded = high == constants.MAXREPEAT
            if low != high and repeated and _repeats_something(body):
                return "a repeat of varying length inside a repeat without bound"
            found = _inside(body, repeated or (unbounded and _repeats_something(body)))
        elif name == "BRANCH":
            if repeated:
                return "an alternation inside a repeat without bound"
            found = _first(_inside(branch, repeated) for branch in value[1])
        elif name in ("SUBPATTERN", "ATOMIC_GROUP"):
            found = _inside(value[-1] if name == "SUBPATTERN" else value, repeated)
        elif name in ("ASSERT", "ASSERT_NOT"):
            found = _inside(value[1], repeated)
        elif name == "GROUPREF_EXISTS":
            found = _first(_inside(part, repeated) for part in value[1:] if part is not None)
        else:
            found = None
        if found is not None:
            return found
    return None


def _repeats_something(body: Any) -> bool:
    """More than an empty group: ``()*`` is harmless."""
    return len(body) > 0


def _first(reasons: Iterable[str | None]) -> str | None:
    return next((reason for reason in reasons if reason is not None), None)

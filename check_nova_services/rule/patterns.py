"""--exclude's regular expressions, checked before any row meets them. Pure.

Python's ``re`` backtracks, and a match holds the interpreter's lock while it runs: a pattern such as
``(a+)+$`` against one unlucky host name can take minutes, and nothing (not even ``-t``) can interrupt it.
Such patterns share a shape, a repeat of varying length inside a repeat without bound (``(a+)+``,
``(a{1,5})*``) or an alternation repeated without bound, so they are refused up front, with the reason; every other pattern
runs in time linear enough to be bounded by the deadline like the rest of the run.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
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


#: Inline options that undo whatever the server's default_regex_flags set (MariaDB): case, multi-line, dot-all,
#: extended, ungreedy. What is left then reads a pattern as Python's ``re`` does, for the syntax below.
_PCRE_RESET = "(?-imsxU)"
#: PCRE2's largest counted repeat.
_PCRE_MAX_COUNT = 65535


def portable_regexp(pattern: str) -> str | None:
    """``pattern`` written again for PCRE2 (MariaDB's REGEXP on a binary-collated UTF-8 text), so that it matches
    exactly the strings ``re.search(pattern, ...)`` matches; None when it uses anything whose meaning differs
    between the two (``\\d``, ``\\w`` and ``\\b`` are Unicode in Python and ASCII in MariaDB, flags, back-references,
    look-arounds, ...): such a pattern is applied in Python. Every character is written as a code point escape,
    so no character means to PCRE2 what it did not mean to Python."""
    try:
        parsed = parser.parse(pattern)
    except Exception:  # noqa: BLE001 - re.compile says what is wrong with it
        return None
    if parsed.state.flags & ~constants.SRE_FLAG_UNICODE:  # (?i), (?s), (?x), ...: not carried over
        return None
    try:
        return _PCRE_RESET + _written(parsed)
    except _NotPortable:
        return None


class _NotPortable(Exception):
    """A part of the pattern PCRE2 would read otherwise than Python."""


def _written(items: Iterable[tuple[Any, Any]]) -> str:
    return "".join(_item(str(op), value) for op, value in items)


def _item(name: str, value: Any) -> str:
    writer = _WRITERS.get(name)
    if writer is None:  # look-arounds, back-references, categories, ...
        raise _NotPortable
    return writer(name, value)


def _repeat(name: str, value: Any) -> str:
    low, high, body = value
    if high != constants.MAXREPEAT and high > _PCRE_MAX_COUNT or low > _PCRE_MAX_COUNT:
        raise _NotPortable
    bounds = f"{{{low},}}" if high == constants.MAXREPEAT else f"{{{low},{high}}}"
    return f"(?:{_written(body)}){bounds}{'?' if name == 'MIN_REPEAT' else ''}"


def _group(name: str, value: Any) -> str:
    _number, add_flags, del_flags, body = value
    if add_flags or del_flags:
        raise _NotPortable
    return f"(?:{_written(body)})"


_WRITERS: dict[str, Callable[[str, Any], str]] = {
    "LITERAL": lambda name, code: _char(code),
    "NOT_LITERAL": lambda name, code: f"[^{_char(code)}]",
    "ANY": lambda name, value: ".",  # neither matches a line feed; PCRE2's newline is LF, as Python's
    "IN": lambda name, items: _char_class(items),
    "MAX_REPEAT": _repeat,
    "MIN_REPEAT": _repeat,
    "SUBPATTERN": _group,
    "BRANCH": lambda name, value: "(?:" + "|".join(_written(branch) for branch in value[1]) + ")",
    "AT": lambda name, where: _anchor(str(where)),
}


#: Anchors that mean the same to both: ^ and $ without MULTILINE ($ also before a final line feed), \A, and
#: Python's \Z (the very end), which is PCRE2's \z.
_ANCHORS = {"AT_BEGINNING": "^", "AT_END": "$", "AT_BEGINNING_STRING": "\\A", "AT_END_STRING": "\\z"}


def _anchor(name: str) -> str:
    if name not in _ANCHORS:
        raise _NotPortable
    return _ANCHORS[name]


def _char_class(items: list[tuple[Any, Any]]) -> str:
    negate = ""
    parts = []
    for op, value in items:
        name = str(op)
        if name == "NEGATE":
            negate = "^"
        elif name == "LITERAL":
            parts.append(_char(value))
        elif name == "RANGE":
            parts.append(f"{_char(value[0])}-{_char(value[1])}")
        else:  # a category (\d, \w, \s): Unicode in Python, ASCII in MariaDB's PCRE2
            raise _NotPortable
    return f"[{negate}{''.join(parts)}]"


def _char(code: int) -> str:
    if 0xD800 <= code <= 0xDFFF:  # a lone surrogate (undecodable bytes of the command line): no UTF-8 character
        raise _NotPortable
    return f"\\x{{{code:x}}}"

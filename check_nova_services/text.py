"""Turning database text and durations into safe, short output.

Host names, binaries and reasons come from the database: they must never
break the one-line status, inject perfdata (``|``) or fake a status line.
"""

from __future__ import annotations

import re

#: What must not reach the output as it is: C0 and C1 control characters (CR, LF, NEL...), the
#: Unicode line and paragraph separators, invisible and bidirectional formatting characters (they
#: can make a host name display as another), lone surrogates (they cannot be encoded) and ``|``
#: (the perfdata separator of Nagios and Icinga).
_UNSAFE = re.compile(
    r"[\x00-\x1f\x7f-\x9f|\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff]"
)
_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")


def safe(value: str | None, limit: int = 80) -> str:
    """One line of plain text: unsafe characters escaped (``\\x0a``, ``\\u202e``), ``|`` shown as ``¦``,
    text longer than ``limit`` cut with ``…``.  Idempotent: safe text comes back unchanged."""
    if value is None:
        return "-"
    text = _UNSAFE.sub(_escape, value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char == "|":
        return "¦"
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def label(value: str) -> str:
    """A perfdata label part: letters, digits, ``_ . -`` only (no quotes, ``=`` or spaces)."""
    return _LABEL_UNSAFE.sub("_", value)[:64] or "_"


def duration(seconds: float) -> str:
    """Compact, for a pager: 45s, 5m12s, 3h05m, 4d03h."""
    total = int(abs(seconds))
    if total < 120:
        return f"{total}s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def shorten_list(items: list[str], budget: int, total: int | None = None) -> str:
    """Join items with ', ' within ``budget`` characters, ending with '+N more' when cut.

    ``total`` counts what ``items`` stands for when only the first of them were handed over."""
    count = len(items) if total is None else max(total, len(items))
    shown: list[str] = []
    for index, item in enumerate(items):
        rest = count - index - 1
        candidate = ", ".join([*shown, item]) + (f" +{rest} more" if rest else "")
        if shown and len(candidate) > budget:
            break
        shown.append(item)
    hidden = count - len(shown)
    return ", ".join(shown) + (f" +{hidden} more" if hidden else "")

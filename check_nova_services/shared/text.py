"""Turning database text and durations into safe, short output.

Host names, binaries and reasons come from the database: they must never
break the one-line status, inject perfdata (``|``) or fake a status line.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection

#: What must not reach the output as it is: C0 and C1 control characters (CR, LF, NEL...), the
#: Unicode line and paragraph separators, invisible and bidirectional formatting characters (they
#: can make a host name display as another), lone surrogates (they cannot be encoded) and ``|``
#: (the perfdata separator of Nagios and Icinga).
_UNSAFE = re.compile(
    r"[\x00-\x1f\x7f-\x9f|\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff]"
)
#: Perfdata labels keep only what every Icinga 2 metric writer and graphing backend treats as part of
#: one name: no dots (Graphite path levels; Elasticsearch, GELF and OpenTSDB turn them into ``_``), no
#: ``:`` (``::`` is Icinga's multi-label separator), no spaces, quotes, ``=`` or ``,``.
_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9_\-]")
#: The longest label part: a binary's metric name adds at most 9 characters (``_disabled``).
LABEL_LIMIT = 64
#: Hex digits of the SHA-1 of the text in a label that had to be changed; all 40 when those collide.
LABEL_DIGEST = 8
#: What a changed label ends with: a plain name that looks like that is changed too, so a plain label
#: can never equal the label of another name.
_LABEL_SUFFIX = re.compile(r"_(?:[0-9a-f]{8}|[0-9a-f]{40})\Z")


def text_of(value: object) -> str:
    """A database value as text: bytes (a column of another charset, SQLite's text that is not UTF-8) decoded with
    what cannot be decoded replaced, so one bad row never blinds the check; NULL as empty."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    return "" if value is None else str(value)


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


def label(value: str, reserved: Collection[str] = (), digits: int = LABEL_DIGEST) -> str:
    """A perfdata label part made of letters, digits, ``_`` and ``-`` only, which depends on ``value`` alone.

    A value that already is such a name, at most LABEL_LIMIT characters long, not in ``reserved`` and not
    ending like a digest comes back unchanged (``nova-compute``). Any other has every other character
    replaced by ``_``, is cut, and gets ``_`` and the first ``digits`` hex digits of the SHA-1 of its UTF-8
    bytes (``nova.compute`` -> ``nova_compute_`` and 8 hex digits): the same value always gives the same
    label, whatever else the database holds, and two values that read alike once changed still differ
    (unless their first digits collide, a chance of one in 4 billion: then ``digits=40`` tells them apart).
    """
    plain = 0 < len(value) <= LABEL_LIMIT and not _LABEL_UNSAFE.search(value) and not _LABEL_SUFFIX.search(value)
    if plain and value not in reserved:
        return value
    digest = hashlib.sha1(value.encode("utf-8", "surrogatepass"), usedforsecurity=False).hexdigest()[:digits]
    return _LABEL_UNSAFE.sub("_", value)[: LABEL_LIMIT - 1 - len(digest)] + "_" + digest


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

"""Keeping secrets out of every message: passwords as typed and as URL-encoded."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable

#: Secrets shorter than this are masked only where they stand alone, so that a password "p"
#: does not turn a host name "example" into "exam***le".
_SHORT_SECRET = 6


#: user:password@ inside anything that looks like a URL (greedy: a password may hold an unencoded "@").
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)\S*@")
#: "password = ..." as option files and config files write it, quoted back by a parser's error.
#: At the start of a word, or after a line break that a repr() wrote as backslash-n.
_PASSWORD_SETTING = re.compile(r"(?i)(?:(?<![a-z0-9_])|(?<=\\n))(pass(?:word|wd)?\s*=\s*)[^\s'\"\\]+")


def hide_passwords(text: str) -> str:
    """Mask what has the form of a password whoever wrote it: URL user-info, ``password = ...`` settings."""
    return _PASSWORD_SETTING.sub(r"\1***", _URL_PASSWORD.sub(r"\1***@", text))


def redact(text: str, secrets: Iterable[str]) -> str:
    """Mask every secret that might have slipped into a message, as typed and as URL-encoded, and
    anything with the form of a password (:func:`hide_passwords`)."""
    text = hide_passwords(text)
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        for spelling in {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret, safe="")}:
            if len(spelling) >= _SHORT_SECRET:
                text = text.replace(spelling, "***")
            else:
                text = re.sub(rf"(?<![0-9A-Za-z]){re.escape(spelling)}(?![0-9A-Za-z])", "***", text)
    return text

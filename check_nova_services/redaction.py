"""Keeping secrets out of every message: passwords as typed and as URL-encoded."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable

#: Secrets shorter than this are masked only where they stand alone, so that a password "p"
#: does not turn a host name "example" into "exam***le".
_SHORT_SECRET = 6


def redact(text: str, secrets: Iterable[str]) -> str:
    """Mask every secret that might have slipped into a message, as typed and as URL-encoded."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        for spelling in {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret, safe="")}:
            if len(spelling) >= _SHORT_SECRET:
                text = text.replace(spelling, "***")
            else:
                text = re.sub(rf"(?<![0-9A-Za-z]){re.escape(spelling)}(?![0-9A-Za-z])", "***", text)
    return text

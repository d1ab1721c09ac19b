"""The check's own exceptions: each becomes one UNKNOWN line, never a traceback."""

from __future__ import annotations

from check_nova_services.shared.text import safe

#: Longest message a ReadError carries (the status line shortens it further).
MESSAGE_LIMIT = 500


class ConfigError(Exception):
    """Bad input from the operator: reported as UNKNOWN with this one-line message."""


class ReadError(Exception):
    """A database could not be read; the message is one line and holds no password.

    Whatever text goes in (a server's message, a cell name from the API database), what comes
    out is one line of safe text: no newline, no ``|``, bounded in length.
    """

    def __init__(self, message: str):
        super().__init__(safe(str(message), MESSAGE_LIMIT))


class UsageError(Exception):
    """A bad command line, as argparse finds it: UNKNOWN with this message (never argparse's exit 2)."""


class NothingToJudge(ReadError):
    """The run cannot give a verdict: nothing matched, or a filter that cannot be applied."""

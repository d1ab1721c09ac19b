"""nagiosplugin's Output, writing the long output as it is made: -vv lists every service, and nagiosplugin would
hold its 100,000 lines and then their join in memory before printing (two copies of some 25 MB)."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from io import StringIO
from logging import StreamHandler

from nagiosplugin.output import Output, filter_output


class StreamedOutput(Output):
    """The same text as nagiosplugin's Output, in the same order (status line, long output, log, warnings,
    perfdata), ``|`` screened out alike: the status line and the long output are written to stdout while the
    answer is formatted, and only the rest is handed back to the Runtime, which prints it next."""

    def __init__(self, logchan: StreamHandler[StringIO], verbose: int = 0) -> None:
        super().__init__(logchan, verbose)
        #: The long output: lines, and iterators of lines walked once, when written.
        self.pieces: list[str | Iterable[str]] = []

    def add_longoutput(self, text: str | Sequence[str] | Iterable[str]) -> None:
        self.pieces.append(text)

    def __str__(self) -> str:
        return self.__format__("")

    def __format__(self, spec: str) -> str:
        write = sys.stdout.write
        if self.status:
            write(self.status + "\n")
        for piece in self.pieces:
            for line in [piece] if isinstance(piece, str) else piece:
                screened = self._screened(line, "long output")
                if screened:
                    write(screened + "\n")
        rest = [self._screened(self.logchan.stream.getvalue(), "logging output"), *self.warnings, *self.longperfdata]
        tail = "\n".join(part for part in rest if part)
        return tail + "\n" if tail else ""

    def _screened(self, text: str, where: str) -> str:
        """nagiosplugin's screening: no ``|`` (it would start perfdata), a warning line saying what was removed."""
        text = text.rstrip("\n")
        screened = filter_output(text, self.ILLEGAL)
        if screened != text:
            removed = ", ".join(f"0x{ord(c):x}" for c in set(text) - set(screened))
            self.warnings.append(f"warning: removed illegal characters ({removed}) from {where}")
        return screened

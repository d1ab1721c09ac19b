"""Per-binary thresholds on the number of down services, in Monitoring Plugins range syntax.

``-w RANGE`` applies to every binary, ``-w BINARY=RANGE`` to one; a range
whose numbers end in ``%`` is a share of that binary's services (``nova-compute=10%``)
and is turned into a count range once the binary's size is known.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from nagiosplugin import Range

from check_nova_services.shared.errors import ConfigError

#: Any down service warns; a down conductor or scheduler, or more than half of any binary, is critical.
DEFAULT_WARNING = ("0",)
DEFAULT_CRITICAL = ("50%", "nova-conductor=0", "nova-scheduler=0")
RANGE_HELP = "expected [@][START:][END], e.g. 0, 2, 10%, @1:5, 3:"


@dataclass(frozen=True)
class Threshold:
    range: Range
    percent: bool

    def for_total(self, total: int) -> Range:
        """The range over counts: a percentage is scaled by the binary's number of services."""
        if not self.percent:
            return self.range
        start = _scale(self.range.start, total)
        end = _scale(self.range.end, total)
        return Range(("@" if self.range.invert else "") + f"{_atom(start, '~')}:{_atom(end, '')}")


def _scale(value: float, total: int) -> float:
    return value if math.isinf(value) else value * total / 100


def _atom(value: float, infinite: str) -> str:
    if math.isinf(value):
        return infinite
    return str(int(value)) if float(value).is_integer() else f"{value:.4f}".rstrip("0")


def parse_threshold(spec: str, option: str) -> tuple[str | None, Threshold]:
    """``RANGE`` or ``BINARY=RANGE`` -> (binary or None, Threshold)."""
    name, sep, text = spec.rpartition("=")
    binary = name.strip() if sep else None
    if sep and not binary:
        raise ConfigError(f"{option} {spec!r}: missing binary name before '='")
    text = text.strip()
    percent = "%" in text
    if percent:
        # 10%, @10%:20%, ~:25%: every number carries exactly one '%', or none does.
        atoms = [a for a in text.lstrip("@").split(":") if a not in ("", "~")]
        if not atoms or any(not a.endswith("%") or a.count("%") != 1 for a in atoms):
            raise ConfigError(f"{option} {spec!r}: not a valid range ({RANGE_HELP})")
        text = text.replace("%", "")
    if not any(char.isdigit() for char in text):  # '', '@', '~:' say nothing a graph could use
        raise ConfigError(f"{option} {spec!r}: not a valid range ({RANGE_HELP})")
    try:
        parsed = Range(text)
    except ValueError as exc:
        detail = str(exc) if "greater than" in str(exc) else RANGE_HELP
        raise ConfigError(f"{option} {spec!r}: not a valid range ({detail})") from None
    return binary, Threshold(parsed, percent)


class ThresholdTable:
    """Resolves the warning or critical range for a binary.

    Precedence: the user's BINARY=RANGE, the user's plain RANGE, then the
    defaults.  A plain RANGE from the user replaces all defaults of its level.
    """

    def __init__(self, user_specs: list[str], default_specs: tuple[str, ...], option: str):
        # argparse turns "--warning=--" into [] before Python 3.13, into "--" since
        if any(not isinstance(spec, str) or spec.strip() == "--" for spec in user_specs):
            raise ConfigError(f"{option} needs a range ({RANGE_HELP})")
        specs = [part for spec in user_specs for part in spec.split(",") if part.strip()]
        user = [parse_threshold(spec, option) for spec in specs]
        #: Binaries the operator named: one that matches no service is probably a typo.
        self.named_binaries = frozenset(binary for binary, _ in user if binary is not None)
        defaults = [parse_threshold(spec, option) for spec in default_specs]
        if any(binary is None for binary, _ in user):
            defaults = []
        self._by_binary: dict[str, Threshold] = {}
        self._generic: Threshold | None = None
        for binary, threshold in defaults + user:  # later entries win
            if binary is None:
                self._generic = threshold
            else:
                self._by_binary[binary] = threshold

    def for_binary(self, binary: str, total: int) -> Range | None:
        threshold = self._by_binary.get(binary, self._generic)
        return None if threshold is None else threshold.for_total(total)

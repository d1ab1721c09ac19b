"""Per-binary thresholds on the number of down services, in Monitoring Plugins range syntax.

``-w RANGE`` applies to every binary, ``-w BINARY=RANGE`` to one; a range
whose numbers end in ``%`` is a share of that binary's services (``nova-compute=10%``)
and is turned into a count range once the binary's size is known.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from nagiosplugin import Range

from check_nova_services.rule.capacity import AGGREGATE, ZONE, Pool, PoolCount, Shortfall
from check_nova_services.shared.errors import ConfigError

#: Any down service warns; a down conductor or scheduler, or more than half of any binary, is critical.
DEFAULT_WARNING = ("0",)
DEFAULT_CRITICAL = ("50%", "nova-conductor=0", "nova-scheduler=0")
RANGE_HELP = "expected [@][START:][END], e.g. 0, 2, 10%, @1:5, 3:"


@dataclass(frozen=True)
class Threshold:
    range: Range
    percent: bool
    #: The range as given, for the words ("needs 6" comes from the range; "50%:" is said as given).
    text: str = ""

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


def parse_threshold(spec: str, option: str, what: str = "binary") -> tuple[str | None, Threshold]:
    """``RANGE`` or ``NAME=RANGE`` (a binary's, a zone's) -> (name or None, Threshold)."""
    name, sep, text = spec.rpartition("=")
    binary = name.strip() if sep else None
    if sep and not binary:
        raise ConfigError(f"{option} {spec!r}: missing {what} name before '='")
    text = given = text.strip()
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
    return binary, Threshold(parsed, percent, given)


class ThresholdTable:
    """Resolves the warning or critical range for a binary.

    Precedence: the user's BINARY=RANGE, the user's plain RANGE, then the
    defaults.  A plain RANGE from the user replaces all defaults of its level.
    """

    def __init__(self, user_specs: list[str], default_specs: tuple[str, ...], option: str, what: str = "binary"):
        # argparse turns "--warning=--" into [] before Python 3.13, into "--" since
        if any(not isinstance(spec, str) or spec.strip() == "--" for spec in user_specs):
            raise ConfigError(f"{option} needs a range ({RANGE_HELP})")
        specs = [part for spec in user_specs for part in spec.split(",") if part.strip()]
        user = [parse_threshold(spec, option, what) for spec in specs]
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
        threshold = self.threshold_for(binary)
        return None if threshold is None else threshold.for_total(total)

    def threshold_for(self, name: str) -> Threshold | None:
        return self._by_binary.get(name, self._generic)

    @property
    def has_generic(self) -> bool:
        """A plain RANGE was given: it applies to every name."""
        return self._generic is not None


@dataclass(frozen=True)
class CapacityRanges:
    """--zone-warning/--zone-critical and --aggregate-warning/--aggregate-critical: ranges of usable computes."""

    zone_warning: ThresholdTable
    zone_critical: ThresholdTable
    aggregate_warning: ThresholdTable
    aggregate_critical: ThresholdTable

    @classmethod
    def of(
        cls, zone_warning: list[str], zone_critical: list[str], aggregate_warning: list[str], aggregate_critical: list[str]
    ) -> CapacityRanges:
        ranges = cls(
            ThresholdTable(zone_warning, (), "--zone-warning", "zone"),
            ThresholdTable(zone_critical, (), "--zone-critical", "zone"),
            ThresholdTable(aggregate_warning, (), "--aggregate-warning", "aggregate"),
            ThresholdTable(aggregate_critical, (), "--aggregate-critical", "aggregate"),
        )
        for option, table in (
            ("--aggregate-warning", ranges.aggregate_warning),
            ("--aggregate-critical", ranges.aggregate_critical),
        ):
            if table.has_generic:
                raise ConfigError(f"{option} needs AGGREGATE=RANGE: an aggregate's name before '='")
        return ranges

    @property
    def zones_judged(self) -> bool:
        return bool(self.zone_warning.named_binaries or self.zone_critical.named_binaries) or (
            self.zone_warning.has_generic or self.zone_critical.has_generic
        )

    @property
    def judged(self) -> bool:
        """Some range is given: capacity is judged, not only counted."""
        return self.zones_judged or bool(self.named_aggregates)

    @property
    def named_zones(self) -> frozenset[str]:
        return self.zone_warning.named_binaries | self.zone_critical.named_binaries

    @property
    def named_aggregates(self) -> frozenset[str]:
        return self.aggregate_warning.named_binaries | self.aggregate_critical.named_binaries

    @property
    def named_pools(self) -> frozenset[Pool]:
        """The zones and aggregates named: one that does not exist is likely a typo."""
        return frozenset(Pool(ZONE, name) for name in self.named_zones) | frozenset(
            Pool(AGGREGATE, name) for name in self.named_aggregates
        )

    def tables(self, pool: Pool) -> tuple[ThresholdTable, ThresholdTable]:
        if pool.kind == ZONE:
            return self.zone_warning, self.zone_critical
        return self.aggregate_warning, self.aggregate_critical

    def ranges(self, pool: Pool, total: int) -> tuple[Range | None, Range | None]:
        """The pool's warning and critical ranges over counts: a share (50%) is of the pool's computes."""
        warning, critical = self.tables(pool)
        return warning.for_binary(pool.name, total), critical.for_binary(pool.name, total)

    def shortfall(self, pool: Pool, count: PoolCount) -> Shortfall | None:
        """The pool against its ranges, critical first: a breach that holds whatever the unknown computes are is
        CRITICAL or WARNING; one that depends on them is "unknown" (never OK); None: within every range."""
        warning, critical = self.tables(pool)
        for state, table in (("critical", critical), ("warning", warning)):
            threshold = table.threshold_for(pool.name)
            if threshold is None:
                continue
            bounds = threshold.for_total(count.total)
            fits = _fits(bounds, count.usable, count.most)
            if fits is True:
                continue
            return Shortfall(pool, count, state if fits is False else "unknown", _floor_of(bounds), threshold.text)
        return None


def _fits(bounds: Range, low: float, high: float) -> bool | None:
    """Whether every count from ``low`` to ``high`` is within ``bounds`` (True), none is (False), or some are (None)."""
    inside = bounds.start <= low and high <= bounds.end
    outside = high < bounds.start or low > bounds.end
    within, without = (outside, inside) if bounds.invert else (inside, outside)
    if within:
        return True
    return False if without else None


def _floor_of(bounds: Range) -> int | None:
    """The least count ``bounds`` asks for, when it asks for nothing else (``6:``)."""
    if bounds.invert or not math.isinf(bounds.end) or math.isinf(bounds.start):
        return None
    return math.ceil(bounds.start)

"""nagiosplugin's second step, where the stock ScalarContext is not enough: per-binary ranges, a state no range
can give (UNKNOWN), a symmetric limit that may be off. States only: the words are output/'s."""

from __future__ import annotations

from typing import cast

import nagiosplugin
from nagiosplugin import Critical, Metric, Ok, Range, Resource, Result, ScalarContext, Unknown, Warn
from nagiosplugin.performance import Performance
from nagiosplugin.state import ServiceState

from check_nova_services.plugin.resource import NovaServices
from check_nova_services.rule.capacity import Pool, PoolCount, Shortfall
from check_nova_services.rule.thresholds import CapacityRanges, ThresholdTable


class DownContext(nagiosplugin.Context):
    """Down count of one binary against that binary's warning and critical ranges."""

    def __init__(self, warning: ThresholdTable, critical: ThresholdTable) -> None:
        super().__init__("down")
        self.warning = warning
        self.critical = critical

    def ranges(self, metric: Metric, resource: Resource) -> tuple[Range | None, Range | None]:
        """The binary's own ranges for its count of this many services: a share (10%) is of the binary's total."""
        if not isinstance(resource, NovaServices):  # the check has no other Resource
            raise TypeError(f"down counts come from NovaServices, not {type(resource).__name__}")
        tally = resource.tallies[metric.name]
        return self.warning.for_binary(tally.binary, tally.total), self.critical.for_binary(tally.binary, tally.total)

    def evaluate(self, metric: Metric, resource: Resource) -> Result:
        warning, critical = self.ranges(metric, resource)
        if critical is not None and not critical.match(metric.value):
            return self.result_cls(Critical, None, metric)
        if warning is not None and not warning.match(metric.value):
            return self.result_cls(Warn, None, metric)
        return self.result_cls(Ok, None, metric)

    def performance(self, metric: Metric, resource: Resource) -> Performance:
        warning, critical = self.ranges(metric, resource)
        return Performance(metric.name, metric.value, "", warning, critical, metric.min, metric.max)


class CapacityResult(Result):
    """A pool's Result, with the Shortfall the first line words (None: within its ranges)."""

    shortfall: Shortfall | None

    def __new__(cls, state: ServiceState, shortfall: Shortfall | None, metric: Metric) -> CapacityResult:
        result = cast("CapacityResult", super().__new__(cls, state, None, metric))
        result.shortfall = shortfall
        return result


#: A pool's Shortfall state as nagiosplugin's.
_CAPACITY_STATES = {"critical": Critical, "warning": Warn, "unknown": Unknown}


class CapacityContext(nagiosplugin.Context):
    """Usable computes of a zone or aggregate against its ranges, the unknown computes taken into account
    (thresholds.CapacityRanges.shortfall): a breach that depends on them is UNKNOWN, never OK."""

    def __init__(self, ranges: CapacityRanges) -> None:
        super().__init__("capacity")
        self.ranges = ranges

    def _pool(self, metric: Metric, resource: Resource) -> tuple[Pool, PoolCount]:
        if not isinstance(resource, NovaServices):  # the check has no other Resource
            raise TypeError(f"capacity comes from NovaServices, not {type(resource).__name__}")
        return resource.pools[metric.name]

    def evaluate(self, metric: Metric, resource: Resource) -> Result:
        pool, count = self._pool(metric, resource)
        shortfall = self.ranges.shortfall(pool, count)
        return CapacityResult(Ok if shortfall is None else _CAPACITY_STATES[shortfall.state], shortfall, metric)

    def performance(self, metric: Metric, resource: Resource) -> Performance:
        pool, count = self._pool(metric, resource)
        warning, critical = self.ranges.ranges(pool, count.total)
        return Performance(metric.name, metric.value, "", warning, critical, metric.min, metric.max)


class CellsContext(ScalarContext):
    """An unreachable cell means the check cannot know: UNKNOWN (no range can say that), or CRITICAL if asked."""

    def __init__(self, unreachable_state: ServiceState = Unknown) -> None:
        super().__init__("cells")
        self.unreachable_state = unreachable_state

    def evaluate(self, metric: Metric, resource: Resource) -> Result:
        if metric.value:
            return self.result_cls(self.unreachable_state, None, metric)
        return self.result_cls(Ok, None, metric)


class SkewContext(nagiosplugin.Context):
    """A database server's clock against this host's: heartbeats are judged with this host's clock, so a
    skew beyond the limit makes healthy services look late or down (or hides dead ones). WARNING."""

    def __init__(self, limit: float | None) -> None:
        super().__init__("skew")
        self.limit = limit

    def evaluate(self, metric: Metric, resource: Resource) -> Result:
        if self.limit is not None and abs(metric.value) > self.limit:
            return self.result_cls(Warn, None, metric)
        return self.result_cls(Ok, None, metric)

    def performance(self, metric: Metric, resource: Resource) -> Performance:
        limit = "" if self.limit is None else f"{-self.limit:g}:{self.limit:g}"
        return Performance(metric.name, metric.value, "s", limit, "", None, None)


class HostClockContext(nagiosplugin.Context):
    """This host's clock is the odd one out (rule/clocks.py): the cells were judged by their servers' clocks,
    which keeps a false page away, but this host is wrong and its other checks too: at least WARNING, whatever
    --skew-warning says. No perfdata: clock_skew carries the measure."""

    def __init__(self) -> None:
        super().__init__("host_clock")

    def evaluate(self, metric: Metric, resource: Resource) -> Result:
        return self.result_cls(Warn, None, metric)


class UnboundedContext(nagiosplugin.Context):
    """A number every value of which is OK, a negative one too: ScalarContext's empty range is 0 to infinity, so a
    service version of -1 (a row written by hand) would be CRITICAL there. Perfdata without thresholds."""

    def evaluate(self, metric: Metric, resource: Resource) -> Result:
        return self.result_cls(Ok, None, metric)

    def performance(self, metric: Metric, resource: Resource) -> Performance:
        return Performance(metric.name, metric.value, metric.uom or "", None, None, metric.min, metric.max)

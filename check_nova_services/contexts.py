"""nagiosplugin's second step: each state decided in one place. States only: the words are pager.py's."""

from __future__ import annotations

import nagiosplugin
from nagiosplugin import Critical, Ok, Unknown, Warn
from nagiosplugin.performance import Performance

from .thresholds import ThresholdTable


class DownContext(nagiosplugin.Context):
    """Down count of one binary against that binary's warning and critical ranges."""

    def __init__(self, warning: ThresholdTable, critical: ThresholdTable):
        super().__init__("down")
        self.warning = warning
        self.critical = critical

    def ranges(self, metric, resource):
        tally = resource.binary_of(metric.name)
        return self.warning.for_binary(tally.binary, tally.total), self.critical.for_binary(tally.binary, tally.total)

    def evaluate(self, metric, resource):
        warning, critical = self.ranges(metric, resource)
        if critical is not None and not critical.match(metric.value):
            return self.result_cls(Critical, None, metric)
        if warning is not None and not warning.match(metric.value):
            return self.result_cls(Warn, None, metric)
        return self.result_cls(Ok, None, metric)

    def performance(self, metric, resource):
        warning, critical = self.ranges(metric, resource)
        return Performance(metric.name, metric.value, "", warning, critical, metric.min, metric.max)


class LateContext(nagiosplugin.Context):
    """Services that Nova still counts up but whose heartbeat is older than --age-warning: WARNING."""

    def __init__(self, enabled: bool):
        super().__init__("late")
        self.enabled = enabled

    def evaluate(self, metric, resource):
        if self.enabled and metric.value > 0:
            return self.result_cls(Warn, None, metric)
        return self.result_cls(Ok, None, metric)

    def performance(self, metric, resource):
        return Performance(metric.name, metric.value, "", "0" if self.enabled else "", "", metric.min, metric.max)


class LeftoverContext(nagiosplugin.Context):
    """Down rows of a binary Nova removed (policy.REMOVED_BINARIES): leftovers to delete, WARNING, never a page."""

    def __init__(self):
        super().__init__("leftover")

    def evaluate(self, metric, resource):
        return self.result_cls(Warn if metric.value > 0 else Ok, None, metric)

    def performance(self, metric, resource):
        return Performance(metric.name, metric.value, "", "0", "", metric.min, metric.max)


class CountContext(nagiosplugin.Context):
    """A plain figure with perfdata and no thresholds."""

    def performance(self, metric, resource):
        return Performance(metric.name, metric.value, metric.uom or "", "", "", metric.min, metric.max)


class CellsContext(CountContext):
    """An unreachable cell means the check cannot know: UNKNOWN, or CRITICAL if asked."""

    def __init__(self, unreachable_state=Unknown):
        super().__init__("cells")
        self.unreachable_state = unreachable_state

    def evaluate(self, metric, resource):
        if metric.value:
            return self.result_cls(self.unreachable_state, None, metric)
        return self.result_cls(Ok, None, metric)


class SkewContext(nagiosplugin.Context):
    """A database server's clock against this host's: heartbeats are judged with this host's clock, so a
    skew beyond the limit makes healthy services look late or down (or hides dead ones). WARNING."""

    def __init__(self, limit: float | None):
        super().__init__("skew")
        self.limit = limit

    def evaluate(self, metric, resource):
        if self.limit is not None and abs(metric.value) > self.limit:
            return self.result_cls(Warn, None, metric)
        return self.result_cls(Ok, None, metric)

    def performance(self, metric, resource):
        limit = "" if self.limit is None else f"{-self.limit:g}:{self.limit:g}"
        return Performance(metric.name, metric.value, "s", limit, "", None, None)

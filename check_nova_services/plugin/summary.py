"""nagiosplugin's third step: the Summary hands the run's Reading to pager.py, which words it."""

from __future__ import annotations

from collections.abc import Iterator

import nagiosplugin
from nagiosplugin import Critical, Ok, Results, Unknown, Warn
from nagiosplugin.state import ServiceState

from check_nova_services.output.fit import SUMMARY_BUDGET
from check_nova_services.output.long_output import every_service_output, long_output
from check_nova_services.output.pager import Capacity, first_line, unmatched_pools, unmatched_threshold_names
from check_nova_services.plugin.contexts import CapacityResult
from check_nova_services.plugin.resource import NovaServices
from check_nova_services.readings import Reading
from check_nova_services.rule.capacity import Pool
from check_nova_services.shared.redaction import hide_passwords
from check_nova_services.shared.text import safe

__all__ = ["SUMMARY_BUDGET", "ServicesSummary", "SeverityResults"]

SEVERITY = {Ok: 0, Warn: 1, Unknown: 2, Critical: 3}  # a CRITICAL must never hide behind an UNKNOWN


class SeverityResults(nagiosplugin.Results):
    """Worst-state ordering for paging: OK < WARNING < UNKNOWN < CRITICAL."""

    @property
    def most_significant_state(self) -> ServiceState:
        return max(self.by_state, key=SEVERITY.__getitem__)


class ServicesSummary(nagiosplugin.Summary):
    """The pager line and the long output; the words are pager.py's."""

    def __init__(
        self,
        every_service: bool = False,
        threshold_binaries: frozenset[str] = frozenset(),
        skew_warning: float | None = None,
        named_pools: frozenset[Pool] = frozenset(),
        capacity_judged: bool = False,
    ):
        #: -vv (Judgement.every_service): every service in the long output, not only the problems.
        self.every_service = every_service
        #: Binaries the operator named in -w/-c: one with no service is likely a typo.
        self.threshold_binaries = threshold_binaries
        self.skew_warning = skew_warning
        #: Zones and aggregates named in the capacity ranges: one that does not exist is likely a typo.
        self.named_pools = named_pools
        self.capacity_judged = capacity_judged

    def ok(self, results: Results) -> str:
        return self.status_text(results)

    def problem(self, results: Results) -> str:
        return self.status_text(results)

    def status_text(self, results: Results) -> str:
        resource = _resource(results)
        if resource is None or resource.reading is None:  # probe failed before any metric: the CheckError says why
            reason = "; ".join(str(r) for r in results if r.state != Ok) or "no result"
            return safe(hide_passwords(reason), SUMMARY_BUDGET)
        reading = resource.reading
        return first_line(
            reading,
            unmatched_threshold_names(reading, self.threshold_binaries),
            skew_warning=self.skew_warning,
            capacity=self._capacity(results, reading),
        )

    def _capacity(self, results: Results, reading: Reading) -> Capacity:
        """The pools short of their ranges, worst first, and the pools named that do not exist."""
        shortfalls = [r.shortfall for r in results if isinstance(r, CapacityResult) and r.shortfall is not None]
        order = {"critical": 0, "unknown": 1, "warning": 2}
        return Capacity(
            tuple(sorted(shortfalls, key=lambda s: (order[s.state], s.pool))),
            unmatched_pools(reading, self.named_pools),
            self.capacity_judged,
        )

    def verbose(self, results: Results) -> list[str] | Iterator[str]:  # type: ignore[override]  # StreamedOutput walks it
        """-v's lines; -vv's as an iterator, written as they are made (plugin/streamed.py)."""
        resource = _resource(results)
        if resource is None or resource.reading is None:
            return []
        reading = resource.reading
        unmatched = unmatched_threshold_names(reading, self.threshold_binaries)
        capacity = self._capacity(results, reading)
        if self.every_service:
            return every_service_output(reading, unmatched, skew_warning=self.skew_warning, capacity=capacity)
        return long_output(reading, unmatched, skew_warning=self.skew_warning, capacity=capacity)


def _resource(results: Results) -> NovaServices | None:
    for result in results:
        if isinstance(result.resource, NovaServices):
            return result.resource
    return None

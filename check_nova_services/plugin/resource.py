"""nagiosplugin's first step: survey the deployment, yield Metrics, keep the one immutable Reading for the Summary."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator, Mapping

import nagiosplugin

from check_nova_services import CHECK_NAME
from check_nova_services.readings import Reading
from check_nova_services.rule.capacity import AGGREGATE, ZONE, Pool, PoolCount
from check_nova_services.rule.metrics import BINARY_METRICS
from check_nova_services.rule.policy import BinaryTally
from check_nova_services.shared.errors import ReadError
from check_nova_services.shared.text import label


class NovaServices(nagiosplugin.Resource):
    """Every matching service of every cell, judged by Nova's rule."""

    name = CHECK_NAME

    def __init__(self, survey: Callable[[], Reading], excluding: bool = False, named_pools: Iterable[Pool] = ()):
        self.survey = survey
        #: --exclude was given: the count of excluded services is perfdata too.
        self.excluding = excluding
        #: Zones and aggregates with ranges of their own: judged even with no compute (0 of 0), where they exist.
        self.named_pools = frozenset(named_pools)
        #: Each pool's count by the name of its ``_usable`` Metric (CapacityContext judges it against the pool's ranges).
        self.pools: dict[str, tuple[Pool, PoolCount]] = {}
        #: Set by probe(): the one result the Summary reads, and each binary's tally by the name of each of its
        #: Metrics (DownContext judges a down count by the binary's own ranges).
        self.reading: Reading | None = None
        self.tallies: dict[str, BinaryTally] = {}

    def probe(self) -> Generator[nagiosplugin.Metric, None, None]:
        try:
            reading = self.survey()
        except ReadError as exc:
            raise nagiosplugin.CheckError(str(exc)) from None
        self.reading, self.tallies = reading, {}
        yield from self._per_binary(reading.tallies)
        yield from self._per_pool(reading.capacity_with(self.named_pools))
        yield nagiosplugin.Metric("cells_total", len(reading.cells), min=0, context="count")
        yield nagiosplugin.Metric("cells_unreachable", len(reading.unreachable), min=0, max=len(reading.cells), context="cells")
        if self.excluding:
            yield nagiosplugin.Metric("services_excluded", reading.excluded_count, min=0, context="count")
        if reading.floor is not None:  # known only where computes and a control plane report versions
            yield nagiosplugin.Metric("services_too_old", reading.too_old, min=0, context="too_old")
        if reading.skew is not None:  # not measured (SQLite, every cell unreachable): left out
            # Whole seconds: heartbeats are stored to the second, and a round trip blurs the measure by milliseconds.
            yield nagiosplugin.Metric("clock_skew", int(round(reading.skew[1])), uom="s", context="skew")
        if reading.host_clock is not None:  # this host's clock is the wrong one: no perfdata, clock_skew has the measure
            yield nagiosplugin.Metric("host_clock", round(reading.host_clock), uom="s", context="host_clock")

    def _per_binary(self, tallies: Mapping[str, BinaryTally]) -> Iterator[nagiosplugin.Metric]:
        """Each binary's items, the rows of metrics.BINARY_METRICS in their order, under the binary's label prefix."""
        labels = _labels(tallies)
        for binary, tally in tallies.items():
            for metric in BINARY_METRICS:
                value = metric.value(tally)
                if value is None:  # undetermined (metric.may_be_undetermined): left out, as graphing backends drop "U"
                    continue
                name = labels[binary] + metric.suffix
                self.tallies[name] = tally
                yield nagiosplugin.Metric(
                    name, value, uom=metric.uom, min=metric.minimum, max=metric.bound(tally), context=metric.context_of(binary)
                )

    def _per_pool(self, capacity: Mapping[Pool, PoolCount]) -> Iterator[nagiosplugin.Metric]:
        """Each pool's usable (judged), total and unknown computes; unknown left out when it is any number."""
        self.pools = {}
        for kind in (ZONE, AGGREGATE):
            pools = [pool for pool in capacity if pool.kind == kind]
            labels = _labels([pool.name for pool in pools], own=())
            for pool in pools:
                count = capacity[pool]
                name = f"{pool.prefix}_{labels[pool.name]}"
                self.pools[f"{name}_usable"] = (pool, count)
                yield nagiosplugin.Metric(f"{name}_usable", count.usable, min=0, max=count.total, context="capacity")
                yield nagiosplugin.Metric(f"{name}_total", count.total, min=0, context="count")
                if not count.unbounded:
                    yield nagiosplugin.Metric(f"{name}_unknown", count.unknown, min=0, max=count.total, context="count")


def _labels(binaries: Iterable[str], own: tuple[str, ...] = ("cells", "services")) -> dict[str, str]:
    """binary -> perfdata label prefix, from the binary's name alone (text.label), so that a graph keeps
    its binary from run to run whatever rows come and go. ``cells`` and ``services`` prefix the check's
    own metrics: a binary of either name is labelled as one whose name had to be changed (``own``; a zone's
    and an aggregate's labels have a prefix of their own, which a binary's name must not look like: az_nova)."""
    binaries = list(binaries)
    if own:
        own = (*own, *(b for b in binaries if b.startswith(("az_", "aggregate_"))))
    labels = {binary: label(binary, own) for binary in binaries}
    seen: set[str] = set()
    twice: set[str] = set()
    for prefix in labels.values():
        (twice if prefix in seen else seen).add(prefix)
    # Two changed names whose first digest digits collide (one chance in 4 billion): all 40 digits.
    return {b: label(b, own, digits=40) if p in twice else p for b, p in labels.items()}

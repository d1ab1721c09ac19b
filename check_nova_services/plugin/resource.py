"""nagiosplugin's first step: survey the deployment, yield Metrics, keep the one immutable Reading for the Summary."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator, Mapping

import nagiosplugin

from check_nova_services import CHECK_NAME
from check_nova_services.readings import Reading
from check_nova_services.rule.metrics import BINARY_METRICS
from check_nova_services.rule.policy import BinaryTally
from check_nova_services.shared.errors import ReadError
from check_nova_services.shared.text import label


class NovaServices(nagiosplugin.Resource):
    """Every matching service of every cell, judged by Nova's rule."""

    name = CHECK_NAME

    def __init__(self, survey: Callable[[], Reading], excluding: bool = False):
        self.survey = survey
        #: --exclude was given: the count of excluded services is perfdata too.
        self.excluding = excluding
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


def _labels(binaries: Iterable[str]) -> dict[str, str]:
    """binary -> perfdata label prefix, from the binary's name alone (text.label), so that a graph keeps
    its binary from run to run whatever rows come and go. ``cells`` and ``services`` prefix the check's
    own metrics: a binary of either name is labelled as one whose name had to be changed."""
    own = ("cells", "services")
    labels = {binary: label(binary, own) for binary in binaries}
    seen: set[str] = set()
    twice: set[str] = set()
    for prefix in labels.values():
        (twice if prefix in seen else seen).add(prefix)
    # Two changed names whose first digest digits collide (one chance in 4 billion): all 40 digits.
    return {b: label(b, own, digits=40) if p in twice else p for b, p in labels.items()}

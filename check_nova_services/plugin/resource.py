"""nagiosplugin's first step: survey the deployment, yield Metrics, keep the one immutable Reading for the Summary."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable

import nagiosplugin

from check_nova_services import CHECK_NAME
from check_nova_services.readings import Reading
from check_nova_services.rule.policy import REMOVED_BINARIES, BinaryTally
from check_nova_services.shared.errors import ReadError
from check_nova_services.shared.text import label


class NovaServices(nagiosplugin.Resource):
    """Every matching service of every cell, judged by Nova's rule."""

    name = CHECK_NAME

    def __init__(self, survey: Callable[[], Reading], excluding: bool = False):
        self.survey = survey
        #: --exclude was given: the count of excluded services is perfdata too.
        self.excluding = excluding
        #: Set by probe(): the one result the Summary reads, and each binary's tally by the name of its down count's
        #: Metric (DownContext judges that count by the binary's own ranges).
        self.reading: Reading | None = None
        self.down_tallies: dict[str, BinaryTally] = {}

    def probe(self) -> Generator[nagiosplugin.Metric, None, None]:
        try:
            reading = self.survey()
        except ReadError as exc:
            raise nagiosplugin.CheckError(str(exc)) from None
        self.reading, self.down_tallies, labels = reading, {}, _labels(reading.tallies)
        for binary, tally in reading.tallies.items():
            prefix = labels[binary]
            # A removed binary's rows: their own context (WARNING), not the thresholds; also on a cloud older than
            # the removal, where the binary was deprecated long before (the line then gives no delete advice).
            context = "leftover" if binary in REMOVED_BINARIES else "down"
            self.down_tallies[f"{prefix}_down"] = tally
            yield nagiosplugin.Metric(f"{prefix}_down", tally.down, min=0, max=tally.total, context=context)
            if tally.max_age is not None:  # undetermined: left out, as graphing backends drop "U"
                yield nagiosplugin.Metric(f"{prefix}_max_age", round(tally.max_age, 3), uom="s", min=0, context="count")
            yield nagiosplugin.Metric(f"{prefix}_late", tally.late, min=0, max=tally.total, context="late")
            yield nagiosplugin.Metric(f"{prefix}_total", tally.total, min=0, context="count")
            yield nagiosplugin.Metric(f"{prefix}_disabled", tally.disabled, min=0, max=tally.total, context="count")
            # Any integer, a negative one too (a row written by hand): never judged here, the too-old verdict is Nova's.
            if tally.min_version is not None:  # left out where the table has no version (before Liberty)
                yield nagiosplugin.Metric(f"{prefix}_version_min", tally.min_version, context="version")
            if tally.max_version is not None:
                yield nagiosplugin.Metric(f"{prefix}_version_max", tally.max_version, context="version")
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

"""Every number a binary gets, in one table: the check's perfdata (plugin/resource.py yields these rows under each
binary's label prefix, plugin/check.py adds the contexts they name) and the Prometheus metrics (output/openmetrics.py
writes each row as one family with a ``binary`` label), so that ``nova-compute_down`` and
``nova_services_down{binary="nova-compute"}`` are one number defined once. Here, below both, as plain data. The tests
of the graphs, of the README's perfdata table and of the metric names read it. A new per-binary metric is a row here
(its count a field of rule/policy.py's BinaryTally), then its graphs and its README lines, which those tests ask for."""

from __future__ import annotations

from dataclasses import dataclass

from check_nova_services.rule.policy import REMOVED_BINARIES, BinaryTally


@dataclass(frozen=True)
class BinaryMetric:
    """One per-binary item: ``<binary's label><suffix>=<the tally's field>[uom];warn;crit;min;max`` in the perfdata,
    ``<metric>{binary="<binary>"} <the tally's field>`` in the Prometheus exposition."""

    #: What follows the binary's label: ``_down`` of ``nova-compute_down``.
    suffix: str
    #: The BinaryTally attribute it reports.
    field: str
    #: The nagiosplugin Context that judges it (and gives its warn and crit).
    context: str
    #: Its Prometheus metric name (a contract, README "Prometheus"), per Prometheus's conventions: a gauge, the unit
    #: as a suffix (``_seconds``), no ``_total`` (a counter's).
    metric: str
    #: Its Prometheus HELP text: what the number is.
    meaning: str
    #: The context of a removed binary's item instead (rule/policy.py's REMOVED_BINARIES), if it differs.
    removed_context: str | None = None
    uom: str | None = None
    #: The perfdata's min; None: none (a version may be any integer).
    minimum: int | None = 0
    #: The perfdata's max: the BinaryTally attribute that bounds it (``total``), or none.
    maximum: str | None = None
    #: Rounded to this many decimals (an age to the millisecond); None: as counted.
    digits: int | None = None
    #: The tally may not know it (None): the item is then left out, not printed as ``U``, which Icinga 2's perfdata
    #: parser drops with a warning on every check (the graph shows the same gap).
    may_be_undetermined: bool = False

    def value(self, tally: BinaryTally) -> float | None:
        """The tally's field, rounded as the row says; None where it is undetermined."""
        value: float | None = getattr(tally, self.field)
        return value if value is None or self.digits is None else round(value, self.digits)

    def bound(self, tally: BinaryTally) -> float | None:
        """The perfdata's max for this tally."""
        bound: float | None = None if self.maximum is None else getattr(tally, self.maximum)
        return bound

    def context_of(self, binary: str) -> str:
        if self.removed_context is not None and binary in REMOVED_BINARIES:
            return self.removed_context
        return self.context


#: In the order the Resource yields them (nagiosplugin prints the perfdata sorted).
BINARY_METRICS = (
    # A removed binary's rows: their own context (WARNING), not the thresholds; also on a cloud older than the removal,
    # where the binary was deprecated long before (the line then gives no delete advice).
    BinaryMetric(
        "_down",
        "down",
        "down",
        "nova_services_down",
        "Services counted down: down and enabled, disabled by Nova itself (AUTO), or that cannot be judged",
        removed_context="leftover",
        maximum="total",
    ),
    BinaryMetric(
        "_max_age",
        "max_age",
        "count",
        "nova_services_oldest_heartbeat_age_seconds",
        "Age of the oldest heartbeat among the watched services (all but the operator-disabled, down ones included)",
        uom="s",
        digits=3,
        may_be_undetermined=True,
    ),
    BinaryMetric(
        "_late",
        "late",
        "late",
        "nova_services_late",
        "Services Nova still counts up whose heartbeat is older than --age-warning",
        maximum="total",
    ),
    BinaryMetric("_total", "total", "count", "nova_services", "Services of the binary (matching the filters)"),
    BinaryMetric(
        "_disabled", "disabled", "count", "nova_services_disabled", "Disabled services (operator or AUTO)", maximum="total"
    ),
    # Any integer, a negative one too (a row written by hand): never judged here, the too-old verdict is Nova's.
    # Undetermined where the table has no version (before Liberty).
    BinaryMetric(
        "_version_min",
        "min_version",
        "version",
        "nova_services_min_version",
        "Nova's minimum service version of the binary, as its control plane computes it",
        minimum=None,
        may_be_undetermined=True,
    ),
    BinaryMetric(
        "_version_max",
        "max_version",
        "version",
        "nova_services_max_version",
        "Highest service version of the binary",
        minimum=None,
        may_be_undetermined=True,
    ),
)

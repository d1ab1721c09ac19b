"""The check, assembled from nagiosplugin's three steps: resource.py reads, contexts.py judges,
summary.py speaks. Contexts that only compare a number with a range are nagiosplugin's own ScalarContext."""

from __future__ import annotations

from collections.abc import Callable

import nagiosplugin
from nagiosplugin import Critical, ScalarContext, Unknown

from check_nova_services import CHECK_NAME
from check_nova_services.plugin.contexts import (
    CapacityContext,
    CellsContext,
    DownContext,
    HostClockContext,
    SkewContext,
    UnboundedContext,
)
from check_nova_services.plugin.resource import NovaServices
from check_nova_services.plugin.summary import SUMMARY_BUDGET, ServicesSummary, SeverityResults
from check_nova_services.readings import Reading
from check_nova_services.settings import Judgement

__all__ = ["SUMMARY_BUDGET", "NovaServices", "build_check"]


def build_check(judgement: Judgement, survey: Callable[[], Reading]) -> nagiosplugin.Check:
    """The check of one run: ``survey`` reads (once, in the Resource's probe), ``judgement`` says how to judge it."""
    check = nagiosplugin.Check(
        NovaServices(survey, judgement.excluding, judgement.capacity.named_pools),
        DownContext(judgement.warning, judgement.critical),
        CapacityContext(judgement.capacity),
        ScalarContext("leftover", warning="0"),
        ScalarContext("late", warning="0" if judgement.policy.age_warning is not None else None),
        ScalarContext("count"),
        UnboundedContext("version"),
        ScalarContext("too_old", critical="0") if judgement.too_old_is_critical else ScalarContext("too_old", warning="0"),
        CellsContext(Critical if judgement.unreachable_is_critical else Unknown),
        SkewContext(judgement.skew_warning),
        HostClockContext(),
        ServicesSummary(
            judgement.every_service,
            judgement.threshold_binaries,
            judgement.skew_warning,
            judgement.capacity.named_pools,
            judgement.capacity.judged,
        ),
        SeverityResults(),
    )
    check.name = CHECK_NAME
    return check

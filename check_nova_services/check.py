"""The check, assembled from nagiosplugin's three steps: resource.py reads, contexts.py judges,
summary.py speaks."""

from __future__ import annotations

import nagiosplugin
from nagiosplugin import Unknown

from . import CHECK_NAME
from .contexts import CellsContext, CountContext, DownContext, LateContext, LeftoverContext, SkewContext
from .policy import Policy
from .resource import NovaServices
from .summary import SUMMARY_BUDGET, ServicesSummary, SeverityResults
from .thresholds import ThresholdTable

__all__ = ["SUMMARY_BUDGET", "NovaServices", "build_check"]


def build_check(
    resource: NovaServices,
    warning: ThresholdTable,
    critical: ThresholdTable,
    policy: Policy,
    unreachable_state=Unknown,
    verbosity: int = 0,
    skew_warning: float | None = None,
) -> nagiosplugin.Check:
    return nagiosplugin.Check(
        resource,
        DownContext(warning, critical),
        LeftoverContext(),
        LateContext(enabled=policy.age_warning is not None),
        CountContext("count"),
        CellsContext(unreachable_state),
        SkewContext(skew_warning),
        ServicesSummary(verbosity, warning.named_binaries | critical.named_binaries, skew_warning),
        SeverityResults(),
        name=CHECK_NAME,
    )

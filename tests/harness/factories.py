"""In-process test layer: services built in memory, judged by the plugin's own row path
(cells.judge_rows -> survey.combine) and worded by its own nagiosplugin Check, without a database
or a subprocess. Fast and exact; the database paths are tested against real servers elsewhere.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass
from itertools import count

from check_nova_services.cli.options import build_parser
from check_nova_services.plugin.check import build_check
from check_nova_services.readings import Cell, CellReading, Deployment, Reading, combine
from check_nova_services.rule.policy import Policy
from check_nova_services.rule.selection import Selection, ServiceFilter
from check_nova_services.rule.thresholds import DEFAULT_CRITICAL, DEFAULT_WARNING, ThresholdTable
from check_nova_services.settings import Judgement, build_settings
from check_nova_services.shared.deadline import Deadline
from check_nova_services.sources.cells import ReadPlan, judge_rows

NOW = dt.datetime(2026, 11, 26, 15, 0, 0)
POLICY = Policy(down_time=60, age_warning=35)
_ids = count(1)


def row(
    host: str,
    binary: str = "nova-compute",
    age: float | None = 5.0,
    *,
    forced_down: bool = False,
    disabled: bool = False,
    reason: str | None = None,
    created_age: float = 86400.0,
    topic: str | None = None,
    now: dt.datetime = NOW,
    version: int | None = None,
):
    """One services row whose heartbeat is ``age`` seconds old at ``now`` (None: never reported)."""
    from check_nova_services.rule.heartbeat import ServiceRow

    return ServiceRow(
        id=next(_ids),
        host=host,
        binary=binary,
        topic=topic if topic is not None else binary.replace("nova-", ""),
        disabled=disabled or reason is not None,
        disabled_reason=reason,
        forced_down=forced_down,
        last_seen_up=None if age is None else now - dt.timedelta(seconds=age),
        created_at=now - dt.timedelta(seconds=created_age),
        updated_at=None if age is None else now - dt.timedelta(seconds=age),
        version=version,
    )


def computes(prefix: str, n: int, age: float | None = 5.0, **kwargs) -> list:
    return [row(f"{prefix}{i:05d}", age=age, **kwargs) for i in range(n)]


def controllers(*hosts: str, age: float | None = 5.0) -> list:
    return [row(h, b, age) for h in hosts for b in ("nova-conductor", "nova-scheduler")]


@dataclass
class Outcome:
    code: int
    status: str
    long: list[str]
    perfdata: dict[str, str]

    @property
    def line(self) -> str:
        """The first line as Nagios shows it, without perfdata."""
        return f"NOVA_SERVICES {('OK', 'WARNING', 'CRITICAL', 'UNKNOWN')[self.code]} - {self.status}"


def reading_of(
    cells: dict[str, list],
    unreachable: dict[str, str] | None = None,
    policy: Policy = POLICY,
    uuids: bool = True,
    narrowed: bool = False,
    selection: Selection | None = None,
    stale: dict[str, str] | None = None,
) -> Reading:
    """Cells by name, each with its rows, plus unreachable cells (name -> error) and cells whose node casts doubt
    on its data (name -> its doubt, nodes.NodeState.doubt), as one run's Reading; ``selection`` filters and
    excludes rows as a cell read does (no row has a zone here)."""
    plan = ReadPlan(ServiceFilter(), policy, NOW, in_database=False)
    if selection is not None:
        plan = dataclasses.replace(plan, selection=selection)
    readings = []
    names = [*cells, *(unreachable or {}), *(stale or {})]
    # A name that is a uuid stands for an unnamed cell (Nova then shows the uuid as its name).
    cell_of = {
        name: Cell(name, (name if re.fullmatch(r"[0-9a-f-]{36}", name) else _uuid(i)) if uuids else None, None)
        for i, name in enumerate(names)
    }
    for name, rows in cells.items():
        readings.append(judge_rows(cell_of[name], rows, plan, None, NOW))
    for name, error in (unreachable or {}).items():
        readings.append(CellReading(cell_of[name], error=error))
    for name, doubt in (stale or {}).items():
        readings.append(CellReading(cell_of[name], error=doubt, stale=True))
    return combine(Deployment([cell_of[n] for n in names]), readings, narrowed=narrowed, version_floor=policy.version_floor)


def _uuid(index: int) -> str:
    return f"{index + 1:08x}-4b1e-4c0d-9a2f-6d1c0c5e{index + 1:04x}"


def check(
    cells: dict[str, list],
    unreachable: dict[str, str] | None = None,
    warning: tuple[str, ...] = (),
    critical: tuple[str, ...] = (),
    policy: Policy = POLICY,
    verbosity: int = 0,
    uuids: bool = True,
    selection: Selection | None = None,
    stale: dict[str, str] | None = None,
    too_old_critical: bool = False,
) -> Outcome:
    """The plugin's own Check (Resource, Contexts, Summary) over an in-memory Reading, run in process."""
    selection = selection or Selection()
    reading = reading_of(cells, unreachable, policy, uuids, narrowed=selection.narrowed, selection=selection, stale=stale)
    warn = ThresholdTable(list(warning), DEFAULT_WARNING, "--warning")
    crit = ThresholdTable(list(critical), DEFAULT_CRITICAL, "--critical")
    judgement = Judgement(
        warn, crit, policy, verbosity=verbosity, excluding=bool(selection.exclude), too_old_is_critical=too_old_critical
    )
    plugin = build_check(judgement, lambda: reading)
    plugin()
    perfdata = {}
    for item in plugin.perfdata:
        name, _, value = item.partition("=")
        perfdata[name.strip("'")] = value
    return Outcome(plugin.exitcode, plugin.summary_str, list(plugin.verbose_str), perfdata)


def settings_of(*argv: str):
    """The settings of a run, as cli.run decides them (no environment, no nova.conf: a URL is given)."""
    args = build_parser().parse_args(["--db-url", "sqlite:///unused.sqlite", *argv])
    return build_settings(args, Deadline.after(10), environ={})

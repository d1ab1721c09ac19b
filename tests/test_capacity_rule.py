"""The capacity rule in process (issue 30): pools counted by Nova's zone rule, ranges judged over the unknown computes,
and the pure pieces of the rule only the MariaDB tests reached before (ZoneHosts, BinaryTally.plus)."""

from __future__ import annotations

import dataclasses
import re

import pytest

from check_nova_services.readings import PoolMap, ZoneNames
from check_nova_services.rule.capacity import AGGREGATE, ZONE, Pool, PoolCount, Shortfall, summed, usable_compute
from check_nova_services.rule.policy import BinaryTally
from check_nova_services.rule.selection import Selection, ZoneHosts
from check_nova_services.rule.thresholds import CapacityRanges
from check_nova_services.shared.errors import ConfigError
from tests.harness.factories import row

AZ1, AZ2, NOVA = Pool(ZONE, "az1"), Pool(ZONE, "az2"), Pool(ZONE, "nova")
GPU = Pool(AGGREGATE, "gpu")


def pool_map() -> PoolMap:
    both = frozenset({"az1", "az2"})
    by_host = {"a": frozenset({"az1"}), "b": both, "c": frozenset({"az2"})}
    names = {frozenset({"az1"}): "az1", both: "az1,az2", frozenset({"az2"}): "az2"}
    return PoolMap.of(ZoneNames(by_host, names), {"gpu": frozenset({"b", "d"})})


def test_a_host_counts_in_each_of_its_zones_and_aggregates_once_per_compute():
    counted = pool_map().count(["a", "b", "d", "d"], ["c", "e"])
    assert counted == {
        AZ1: PoolCount(2, 2),
        AZ2: PoolCount(1, 2),
        NOVA: PoolCount(2, 3),  # d twice (two computes on one host name, in two cells), e: outside every zone
        GPU: PoolCount(3, 3),
    }
    assert pool_map().unknown(["b", "e"]) == {
        AZ1: PoolCount(0, 1, 1),
        AZ2: PoolCount(0, 1, 1),
        NOVA: PoolCount(0, 1, 1),
        GPU: PoolCount(0, 1, 1),
    }
    assert pool_map().zone_of("b") == "az1,az2"
    assert pool_map().zone_of("zz") == "nova"


def test_counts_add_up_and_pools_come_in_order():
    assert PoolCount(1, 2, 0) + PoolCount(0, 3, 3) == PoolCount(1, 5, 3, False)
    assert (PoolCount(1, 2) + PoolCount(unbounded=True)).unbounded
    assert PoolCount(1, 4, 2).most == 3
    assert PoolCount(1, 4, 2, unbounded=True).most == float("inf")
    assert list(summed([{NOVA: PoolCount(1, 1)}, {AZ1: PoolCount(0, 1), NOVA: PoolCount(1, 2)}])) == [AZ1, NOVA]
    assert summed([{NOVA: PoolCount(1, 1)}, {NOVA: PoolCount(1, 2)}]) == {NOVA: PoolCount(2, 3)}
    assert (AZ1.prefix, GPU.prefix) == ("az", "aggregate")


@pytest.mark.parametrize(
    ("fields", "up", "usable"),
    [
        ({}, True, True),
        ({}, False, False),
        ({"disabled": True}, True, False),  # operator- or AUTO-disabled: up, no capacity
        ({"binary": "nova-conductor"}, True, None),
        ({"topic": "conductor"}, True, None),  # Nova zones it internal
        ({"defect": "empty host"}, True, None),  # names no service
    ],
)
def test_a_usable_compute_is_a_compute_up_and_enabled(fields, up, usable):
    defect = fields.pop("defect", None)
    assert usable_compute(dataclasses.replace(row("cmp1", **fields), defect=defect), up) is usable


def ranges(*specs: str) -> CapacityRanges:
    zone_w = [s[3:] for s in specs if s.startswith("zw:")]
    zone_c = [s[3:] for s in specs if s.startswith("zc:")]
    aggregate_w = [s[3:] for s in specs if s.startswith("aw:")]
    aggregate_c = [s[3:] for s in specs if s.startswith("ac:")]
    return CapacityRanges.of(zone_w, zone_c, aggregate_w, aggregate_c)


@pytest.mark.parametrize(
    ("count", "state", "needs"),
    [
        (PoolCount(6, 10), None, None),  # exactly the floor
        (PoolCount(5, 10), "critical", 6),
        (PoolCount(5, 10, 1), "unknown", 6),  # 5 or 6 usable: one breaches, the other does not
        (PoolCount(3, 10, 2), "critical", 6),  # even both unknown usable: 5
        (PoolCount(6, 10, 4), None, None),  # met with the usable ones alone
        (PoolCount(0, 0, unbounded=True), "unknown", 6),
    ],
)
def test_a_breach_is_judged_over_every_number_the_unknown_computes_could_make(count, state, needs):
    shortfall = ranges("zc:az2=6:").shortfall(Pool(ZONE, "az2"), count)
    assert (shortfall and shortfall.state, shortfall and shortfall.needs) == (state, needs)


def test_critical_first_then_warning_a_share_of_the_zone_and_ranges_that_are_no_floor():
    both = ranges("zc:az2=2:", "zw:50%:")
    assert both.shortfall(Pool(ZONE, "az2"), PoolCount(1, 10)) == Shortfall(
        Pool(ZONE, "az2"), PoolCount(1, 10), "critical", 2, "2:"
    )
    assert both.shortfall(Pool(ZONE, "az2"), PoolCount(4, 10)) == Shortfall(
        Pool(ZONE, "az2"), PoolCount(4, 10), "warning", 5, "50%:"
    )
    assert both.shortfall(Pool(ZONE, "az2"), PoolCount(5, 10)) is None
    assert both.shortfall(Pool(ZONE, "az1"), PoolCount(4, 10)).state == "warning"  # the plain range is every zone's
    assert both.shortfall(GPU, PoolCount(0, 10)) is None  # zones' ranges are no aggregate's
    assert both.ranges(Pool(ZONE, "az2"), 10)[0].start == 5 and both.ranges(Pool(ZONE, "az2"), 10)[1].start == 2
    inside = ranges("zc:@2:4")  # CRITICAL with 2 to 4 usable
    assert inside.shortfall(AZ1, PoolCount(3, 9)) == Shortfall(AZ1, PoolCount(3, 9), "critical", None, "@2:4")
    assert inside.shortfall(AZ1, PoolCount(5, 9)) is None
    assert inside.shortfall(AZ1, PoolCount(1, 9, 2)).state == "unknown"  # 1 to 3
    assert inside.shortfall(AZ1, PoolCount(1, 9, 0)) is None
    capped = ranges("aw:gpu=:3")  # at most 3: more is the breach
    assert capped.shortfall(GPU, PoolCount(3, 9, 1)).state == "unknown"
    assert capped.shortfall(GPU, PoolCount(4, 9)).needs is None


def test_what_the_ranges_name_and_judge():
    judged = ranges("zw:az1=1:", "zc:2:", "ac:gpu=1:")
    assert judged.named_pools == {AZ1, GPU}
    assert (judged.zones_judged, judged.judged) == (True, True)
    assert ranges("aw:gpu=1:").judged and not ranges("aw:gpu=1:").zones_judged
    assert not ranges().judged
    with pytest.raises(ConfigError, match=r"^--aggregate-critical needs AGGREGATE=RANGE"):
        ranges("ac:2:")
    with pytest.raises(ConfigError, match=r"^--zone-warning '=1:': missing zone name before '='$"):
        ranges("zw:=1:")


def test_a_compute_known_only_from_host_mappings_is_in_the_view_as_a_row_would_be():
    assert Selection().keeps_compute("a", "az1")
    assert not Selection(binaries=("nova-conductor",)).keeps_compute("a", "az1")
    assert Selection(binaries=("nova-compute",)).keeps_compute("a", "az1")
    assert not Selection(hosts=("b",)).keeps_compute("a", "az1")
    assert Selection(zones=("az2",)).keeps_compute("a", "az1,az2")
    assert not Selection(zones=("az2",)).keeps_compute("a", "az1")
    assert not Selection(exclude=(re.compile("^nova-compute@a$"),)).keeps_compute("a", "az1")
    assert Selection(exclude=(re.compile("^nova-conductor@a$"),)).keeps_compute("a", "az1")
    assert Selection(zones=("az1",)).computes_narrowed and not Selection(binaries=("nova-compute",)).computes_narrowed


def test_zone_hosts_keep_what_novas_zone_rule_keeps():
    by_host = {"a": {"az1"}, "b": {"az1", "az2"}, "c": set()}
    az2 = ZoneHosts.of(("az2",), by_host, "nova", "internal")
    assert az2 == ZoneHosts(frozenset({"b"}), None, False)
    default = ZoneHosts.of(("nova", "internal"), by_host, "nova", "internal")
    assert default == ZoneHosts(frozenset(), frozenset({"a", "b"}), True)
    assert default.size == 2 and az2.size == 1
    assert [default.keeps(row(h)) for h in ("a", "b", "c", "d")] == [False, False, True, True]
    assert default.keeps(row("a", binary="nova-conductor", topic="conductor"))  # internal
    assert not az2.keeps(row("b", binary="nova-conductor", topic="conductor"))
    assert [az2.keeps(row(h)) for h in ("a", "b", "c")] == [False, True, False]
    assert default.within(frozenset({"b", "x"})) == ZoneHosts(frozenset(), frozenset({"b"}), True)
    assert az2.within(frozenset({"a"})) == ZoneHosts(frozenset(), None, False)


def test_two_parts_of_a_binary_add_up():
    one = BinaryTally(
        "nova-compute", total=3, up=2, down=1, late=1, disabled=1, ahead=0, problems=2, max_age=5.0, min_version=72
    )
    other = BinaryTally(
        "nova-compute", total=2, up=1, down=1, late=0, disabled=0, ahead=1, problems=1, max_age=None, min_version=None
    )
    both = one.plus(other)
    assert (both.total, both.up, both.down, both.late, both.disabled, both.ahead, both.problems) == (5, 3, 2, 1, 1, 1, 3)
    assert (both.max_age, both.min_version) == (5.0, 72)
    assert other.plus(other).max_age is None and other.plus(other).min_version is None

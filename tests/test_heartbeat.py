"""Nova's rule at its edges, with a fixed clock and no I/O."""

from __future__ import annotations

import datetime as dt

import pytest

from check_nova_services.rule.heartbeat import ServiceRow, effective_down_time, judge

NOW = dt.datetime(2026, 11, 26, 12, 0, 0)


def row(**kw) -> ServiceRow:
    base = dict(
        id=1,
        host="cmp1",
        binary="nova-compute",
        topic="compute",
        disabled=False,
        disabled_reason=None,
        forced_down=False,
        last_seen_up=NOW - dt.timedelta(seconds=5),
        created_at=NOW - dt.timedelta(days=30),
        updated_at=NOW - dt.timedelta(seconds=5),
    )
    base.update(kw)
    return ServiceRow(**base)


def ago(seconds: float) -> dt.datetime:
    return NOW - dt.timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("last_seen_up", "up", "age"),
    [
        (ago(60), True, 60.0),  # exactly service_down_time: still up (<=)
        (ago(60.001), False, 60.001),  # a millisecond more: down
        (ago(0), True, 0.0),
        (ago(-60), True, -60.0),  # 60 s in the future: abs() keeps it up
        (ago(-60.001), False, -60.001),  # beyond the limit in the future: down
    ],
)
def test_age_limit_is_inclusive_and_absolute(last_seen_up, up, age):
    verdict = judge(row(last_seen_up=last_seen_up), NOW, 60)
    assert (verdict.up, round(verdict.age, 6), verdict.source) == (up, age, "last_seen_up")


def test_never_reported_falls_back_to_created_at():
    fresh = judge(row(last_seen_up=None, created_at=ago(59), updated_at=None), NOW, 60)
    stale = judge(row(last_seen_up=None, created_at=ago(61), updated_at=None), NOW, 60)
    assert (fresh.up, fresh.source, fresh.never_reported) == (True, "created_at", True)
    assert (stale.up, stale.age, stale.source) == (False, 61.0, "created_at")


def test_forced_down_wins_over_a_fresh_heartbeat():
    verdict = judge(row(forced_down=True, last_seen_up=ago(1)), NOW, 60)
    assert (verdict.up, verdict.age) == (False, 1.0)


def test_fresh_updated_at_does_not_revive_a_stale_last_seen_up():
    # An admin enable/disable bumps updated_at (Nova bug 1420848); the heartbeat is last_seen_up.
    verdict = judge(row(last_seen_up=ago(300), updated_at=ago(1)), NOW, 60)
    assert (verdict.up, verdict.age, verdict.source) == (False, 300.0, "last_seen_up")


def test_legacy_schema_uses_updated_at_then_created_at():
    legacy = row(last_seen_up=None, updated_at=ago(30), legacy_schema=True)
    assert (judge(legacy, NOW, 60).up, judge(legacy, NOW, 60).source) == (True, "updated_at")
    never = row(last_seen_up=None, updated_at=None, created_at=ago(90), legacy_schema=True)
    assert (judge(never, NOW, 60).up, judge(never, NOW, 60).source) == (False, "created_at")


def test_row_without_any_timestamp_is_down():
    verdict = judge(row(last_seen_up=None, created_at=None, updated_at=None), NOW, 60)
    assert (verdict.up, verdict.age, verdict.source) == (False, None, None)


def test_aware_timestamps_are_stripped_not_converted():
    # Nova does replace(tzinfo=None): the wall time is taken as UTC whatever the zone says.
    aware = (NOW - dt.timedelta(seconds=10)).replace(tzinfo=dt.timezone(dt.timedelta(hours=5)))
    assert judge(row(last_seen_up=aware), NOW, 60).age == 10.0


@pytest.mark.parametrize(
    ("service_down_time", "report_interval", "effective"),
    [
        (60, 10, 60),
        (10, 10, 25),  # equal: raised to int(2.5 * report_interval)
        (5, 10, 25),
        (11, 10, 11),
        (20, 9, 20),
        (9, 9, 22),  # int(22.5)
        (0, 0, 0),
    ],
)
def test_report_interval_rule(service_down_time, report_interval, effective):
    assert effective_down_time(service_down_time, report_interval) == effective


def test_auto_disabled_is_recognised_by_reason_prefix():
    assert row(disabled=True, disabled_reason="AUTO: Connection to libvirt lost: 1").auto_disabled
    assert not row(disabled=True, disabled_reason="maintenance").auto_disabled
    assert not row(disabled=False, disabled_reason="AUTO: stale reason").auto_disabled


def test_an_unreadable_heartbeat_is_down_with_its_column_named():
    unreadable = row(last_seen_up=None, unreadable=(("last_seen_up", "0000-00-00 00:00:00"),))
    verdict = judge(unreadable, NOW, 60)
    assert (verdict.up, verdict.age, verdict.source, verdict.problem) == (
        False,
        None,
        "last_seen_up",
        "last_seen_up unreadable",
    )


def test_an_unreadable_column_the_rule_does_not_use_changes_nothing():
    verdict = judge(row(updated_at=None, unreadable=(("updated_at", "garbage"),)), NOW, 60)
    assert (verdict.up, verdict.age, verdict.source, verdict.problem) == (True, 5.0, "last_seen_up", None)


def test_unreadable_created_at_matters_only_while_the_service_never_reported():
    never = row(last_seen_up=None, created_at=None, unreadable=(("created_at", "x"),))
    assert judge(never, NOW, 60).problem == "created_at unreadable"
    reported = row(created_at=None, unreadable=(("created_at", "x"),))
    assert judge(reported, NOW, 60).problem is None


@pytest.mark.parametrize("defect", ["host NULL", "host empty", "binary NULL", "binary empty"])
def test_a_row_without_host_or_binary_is_down_even_with_a_fresh_heartbeat(defect):
    verdict = judge(row(defect=defect), NOW, 60)
    assert (verdict.up, verdict.age, verdict.problem) == (False, None, defect)

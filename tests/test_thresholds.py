"""Threshold parsing and per-binary resolution, including percentages of a binary's size."""

from __future__ import annotations

import pytest

from check_nova_services.rule.thresholds import DEFAULT_CRITICAL, DEFAULT_WARNING, ThresholdTable
from check_nova_services.shared.errors import ConfigError


def resolve(specs, defaults, binary, total):
    rng = ThresholdTable(specs, defaults, "-c").for_binary(binary, total)
    return None if rng is None else str(rng)


@pytest.mark.parametrize(
    ("specs", "binary", "total", "expected"),
    [
        ([], "nova-compute", 40, "20"),  # default 50% of 40
        ([], "nova-conductor", 3, "0"),
        ([], "nova-scheduler", 3, "0"),
        ([], "nova-novel", 3, "1.5"),
        (["nova-compute=10%"], "nova-compute", 40, "4"),
        (["nova-compute=10%"], "nova-conductor", 2, "0"),  # other defaults stay
        (["5"], "nova-conductor", 2, "5"),  # a plain range replaces every default of its level
        (["5", "nova-compute=2"], "nova-compute", 10, "2"),  # BINARY=RANGE beats the plain one
        (["nova-compute=2,nova-scheduler=1"], "nova-scheduler", 4, "1"),  # comma lists
        (["@10%:20%"], "nova-compute", 50, "@5:10"),
        (["~:25%"], "nova-compute", 10, "~:2.5"),
        (["3:"], "nova-compute", 10, "3:"),
    ],
)
def test_resolution(specs, binary, total, expected):
    assert resolve(specs, DEFAULT_CRITICAL, binary, total) == expected


def test_default_warning_is_any_down():
    assert resolve([], DEFAULT_WARNING, "nova-compute", 100) == "0"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("abc", "-c 'abc': not a valid range (expected [@][START:][END], e.g. 0, 2, 10%, @1:5, 3:)"),
        ("1e3", "-c '1e3': not a valid range (expected [@][START:][END], e.g. 0, 2, 10%, @1:5, 3:)"),
        ("5:1", "-c '5:1': not a valid range (start 5 must not be greater than end 1)"),
        ("=5", "-c '=5': missing binary name before '='"),
        ("nova-compute=", "-c 'nova-compute=': not a valid range (expected [@][START:][END], e.g. 0, 2, 10%, @1:5, 3:)"),
        ("10%%", "-c '10%%': not a valid range (expected [@][START:][END], e.g. 0, 2, 10%, @1:5, 3:)"),
        ("10%:20", "-c '10%:20': not a valid range (expected [@][START:][END], e.g. 0, 2, 10%, @1:5, 3:)"),
    ],
)
def test_bad_ranges_are_refused_with_a_reason(spec, message):
    with pytest.raises(ConfigError) as caught:
        ThresholdTable([spec], (), "-c")
    assert str(caught.value) == message


def test_a_threshold_of_only_a_double_dash_needs_a_range():
    """Catches ThresholdTable's ``not isinstance(spec, str) or spec.strip() == "--"`` -> ``and``: "-w --" (a string
    since Python 3.13, an empty list before) is one clear message."""
    for spec in ("--", " -- ", []):
        with pytest.raises(ConfigError) as raised:
            ThresholdTable([spec], DEFAULT_WARNING, "--warning")
        assert str(raised.value) == "--warning needs a range (expected [@][START:][END], e.g. 0, 2, 10%, @1:5, 3:)"

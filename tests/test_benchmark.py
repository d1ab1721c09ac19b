"""The benchmark script keeps working (its figures are read by people, not asserted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "tools" / "benchmarks" / "bench.py"
VERSUS_FLOOR = BENCH.parent / "versus_floor.py"


def test_benchmark_runs_and_prints_figures_and_ratios():
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--computes", "60", "--cells", "3", "--delay", "0.02"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert (proc.returncode, proc.stderr) == (0, "")
    lines = proc.stdout.splitlines()
    assert re.fullmatch(r"one cell, 61 services: [\d.]+ s wall, \d+ MiB peak RSS, exit 0: NOVA_SERVICES OK - .*", lines[0])
    assert re.fullmatch(r"3 cells x 21 services: [\d.]+ s wall, \d+ MiB peak RSS, exit 0: NOVA_SERVICES OK - .*", lines[3])
    assert re.fullmatch(r"read path, 3 cells: sequential [\d.]+ s, concurrent [\d.]+ s, ratio [\d.]+x", lines[4])
    assert re.fullmatch(r"3 cells, one slowed by 0.02 s per reply: .* ratio run/slowest [\d.]+ \(exit 0\)", lines[5])


@pytest.mark.slow
def test_the_floor_benchmark_measures_every_mode():
    """versus_floor.py at a toy size: each mode beyond the default is run, measured beside the floor, and answers."""
    proc = subprocess.run(
        [sys.executable, str(VERSUS_FLOOR), "--runs", "1", "--sizes", "200/2", "--no-outage"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert (proc.returncode, proc.stderr) == (0, "")
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| ") and "MiB" in line]
    labels = [row.split(" | ")[0][2:] for row in rows]
    assert labels == [
        "200 services, 2 cells",
        "default, 200 services, 2 cells, 10 zones",
        "`--exclude`, 200 services, 2 cells",
        "`--zone`, 200 services, 2 cells",
        "`--zone nova`, 200 services, 2 cells",
        "`--zone-critical`, 200 services, 2 cells",
        "`-vv`, 200 services, 2 cells",
        "`--list`, 200 services, 2 cells",
        "`--list --format json`, 200 services, 2 cells",
    ]
    for row in rows:
        assert re.search(r"\| [\d.]+ s \([\d.]+-[\d.]+\), \d+ MiB \| [\d.]+ s .* \| [\d.]+x, [+-][\d.]+ s \|$", row), row
    answers = [line for line in proc.stdout.splitlines() if line.startswith("|   | ")]
    assert answers[2].startswith("|   | NOVA_SERVICES WARNING - nova-compute 4/182 down: "), answers[2]  # 10 excluded
    assert answers[3].startswith("|   | NOVA_SERVICES WARNING - nova-compute 2/20 down"), answers[3]
    assert answers[4] == "|   | NOVA_SERVICES UNKNOWN - no services matched (--zone nova) | | |"  # every compute zoned
    assert answers[5].startswith("|   | NOVA_SERVICES WARNING - nova-compute 14/192 down: "), answers[5]  # no zone short
    assert answers[8] == '|   | {"services": [ | | |'

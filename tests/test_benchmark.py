"""The benchmark script keeps working (its figures are read by people, not asserted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "tools" / "benchmarks" / "bench.py"


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

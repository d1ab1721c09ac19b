"""The whole plugin process against the floor (tools/benchmarks/floor.py: PyMySQL alone, one SELECT per cell,
Nova's rule in a Python loop), on a private MariaDB server, at three sizes and in a total outage, then every
mode beyond the default (--exclude, --zone, -vv, --list, --list --format json) at the largest size, with every
compute in one of ten availability zones.

Prints medians, min-max and peak RSS of each, and the ratios the targets are stated in; asserts nothing
(shared machines are noisy).  Runs alternate, after a warm-up.  From the repository root:

    .venv/bin/python tools/benchmarks/versus_floor.py [--runs 7] [--sizes 50/1,10000/2,100000/20] [--modes all]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", ".."))

from check_nova_services.demo.writer import service, write_api_database, write_cell  # noqa: E402
from tests.harness.mariadb import MariaDB  # noqa: E402

#: Runs a module or a script and writes its peak RSS (VmHWM, KiB) to a file at exit.
LAUNCHER = """
import atexit, runpy, sys
out, target = sys.argv[1], sys.argv[2]
def peak():
    with open('/proc/self/status') as status, open(out, 'w') as handle:
        handle.write(next(line for line in status if line.startswith('VmHWM:')).split()[1])
atexit.register(peak)
sys.argv = [target, *sys.argv[3:]]
if target.endswith('.py'):
    runpy.run_path(target, run_name='__main__')
else:
    runpy.run_module(target, run_name='__main__', alter_sys=True)
"""


def realistic_rows(prefix: str, count: int, now: dt.datetime, outage: bool = False) -> list[dict]:
    """A cell: two conductors and hypervisors, a few percent down, disabled, forced down, deleted."""
    rows = [service(f"{prefix}-cond{n}", "nova-conductor", now, age=3.0 + n) for n in (1, 2)]
    for n in range(max(0, count - 2)):
        kind = n % 200
        extra: dict = {"age": float(n % 9 + 1)}
        if outage or kind < 6:
            extra = {"age": 300.0 + n % 50}  # 3 % down
        elif kind < 8:
            extra = {"age": 4.0, "disabled": True, "disabled_reason": "maintenance"}  # 1 % disabled
        elif kind == 8:
            extra = {"age": 4.0, "forced_down": True}  # 0.5 % forced down
        elif kind < 11:
            extra = {"age": 86400.0 * 30, "deleted": 1}  # 1 % deleted rows, as Nova soft-deletes
        row = service(f"{prefix}-cmp{n:06d}", "nova-compute", now, **extra)
        if row["deleted"]:
            row["deleted"] = n + 1  # Nova writes the row id
        rows.append(row)
    return rows


def measure(argv: list[str]) -> tuple[float, float, str]:
    with tempfile.NamedTemporaryFile("r") as peak:
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", LAUNCHER, peak.name, *argv], capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        rss = int(peak.read() or 0) / 1024
    if proc.stderr:
        raise SystemExit(f"{argv[0]} wrote to stderr: {proc.stderr[:500]}")
    return elapsed, rss, proc.stdout.splitlines()[0][:90] if proc.stdout else ""


#: The modes beyond the default, measured at the largest size: name -> the plugin's extra arguments.
MODES = {
    "--exclude": ["--exclude=-cmp00000[0-4]$"],
    "--zone": ["--zone", "az3"],
    # the default zone: its computes are those outside every aggregated host (none here), 100,000 hosts to rule out
    "--zone nova": ["--zone", "nova"],
    # capacity: every zone judged (the default check counts them too; the ranges add the judging)
    "--zone-critical": ["--zone-critical", "1:", "--zone-warning", "50%:"],
    "-vv": ["-vv"],
    "--list": ["--list"],
    "--list --format json": ["--list", "--format", "json"],
}
#: Availability zones of the mode runs: every compute in one of them, by its number.
ZONES = 10


def deploy(server: MariaDB, name: str, services: int, cells: int, now: dt.datetime, outage: bool = False, zones: int = 0):
    """An API database and ``cells`` cells holding ``services`` services in all, the computes spread over ``zones``
    availability zones (aggregates); the plugin's and the floor's argv."""
    mappings, specs = [], []
    hosts: dict[str, list[str]] = {f"az{z}": [] for z in range(zones)}
    mapped: dict[str, list[str]] = {}
    for n in range(cells):
        url = server.create_database(f"{name}_cell{n}")
        rows = realistic_rows(f"{name}{n}", services // cells, now, outage)
        write_cell(url, rows)
        computes = [row["host"] for row in rows if row["binary"] == "nova-compute" and not row["deleted"]]
        for index, host in enumerate(computes if zones else []):
            hosts[f"az{index % zones}"].append(host)
        mappings.append((f"{n:08d}-0000-4000-8000-000000000000", f"cell{n}", url.render_as_string(hide_password=False)))
        mapped[mappings[-1][0]] = sorted(set(computes))  # host_mappings: each compute host once, in its cell
        specs.append(f"127.0.0.1:{server.admin.port}:{server.admin.username}::{url.database}")
    api = server.create_database(f"{name}_api")
    write_api_database(api, mappings, hosts or None, host_mappings=mapped)
    clock = now.isoformat()
    plugin = ["check_nova_services", "--api-db-url", api.render_as_string(hide_password=False), f"--clock={clock}", "-t", "60"]
    floor = [os.path.join(HERE, "floor.py"), clock, *specs]
    return plugin, floor


def compare(label: str, plugin: list[str], floor: list[str], runs: int) -> None:
    measure(plugin), measure(floor)  # warm-up: page cache, server buffers
    times: dict[str, list[float]] = {"plugin": [], "floor": []}
    peaks: dict[str, list[float]] = {"plugin": [], "floor": []}
    first = ""
    for _ in range(runs):  # alternating, so that a noisy neighbour hurts both alike
        for who, argv in (("plugin", plugin), ("floor", floor)):
            elapsed, rss, line = measure(argv)
            times[who].append(elapsed)
            peaks[who].append(rss)
            first = line if who == "plugin" else first
    p, f = statistics.median(times["plugin"]), statistics.median(times["floor"])
    print(
        f"| {label} | {p:.3f} s ({min(times['plugin']):.3f}-{max(times['plugin']):.3f}), {max(peaks['plugin']):.0f} MiB "
        f"| {f:.3f} s ({min(times['floor']):.3f}-{max(times['floor']):.3f}), {max(peaks['floor']):.0f} MiB "
        f"| {p / f:.2f}x, {p - f:+.3f} s |"
    )
    print(f"|   | {first} | | |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--sizes", default="50/1,10000/2,100000/20", help="services/cells, comma-separated")
    parser.add_argument("--no-outage", action="store_true", help="skip the total-outage run")
    parser.add_argument("--modes", default="all", help=f"all, none, or some of: {', '.join(MODES)} (comma-separated)")
    args = parser.parse_args()
    modes = list(MODES) if args.modes == "all" else [] if args.modes == "none" else args.modes.split(",")
    sizes = [tuple(int(x) for x in size.split("/")) for size in args.sizes.split(",")]
    server = MariaDB("--innodb-buffer-pool-size=256M")
    try:
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, {runs_text(args.runs)}")
        print("| deployment | check_nova_services: median (min-max), peak RSS | floor: median (min-max), peak RSS | ratio |")
        print("| --- | --- | --- | --- |")
        for services, cells in sizes:
            plugin, floor = deploy(server, f"b{services}", services, cells, now)
            compare(f"{services:,} services, {cells} cells", plugin, floor, args.runs)
        if not args.no_outage:
            services, cells = sizes[-1]
            plugin, floor = deploy(server, "outage", services, cells, now, outage=True)
            compare(f"total outage, {services:,} services, {cells} cells", plugin, floor, max(3, args.runs // 2))
        if modes:
            services, cells = sizes[-1]
            plugin, floor = deploy(server, "zoned", services, cells, now, zones=ZONES)
            compare(f"default, {services:,} services, {cells} cells, {ZONES} zones", plugin, floor, args.runs)
            for mode in modes:
                compare(f"`{mode}`, {services:,} services, {cells} cells", plugin + MODES[mode], floor, args.runs)
    finally:
        server.stop()


def runs_text(runs: int) -> str:
    return f"{runs} alternating runs after a warm-up"


if __name__ == "__main__":
    main()

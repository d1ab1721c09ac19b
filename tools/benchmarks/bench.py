"""Speed and memory of check_nova_services on a big cloud, against a private MariaDB server.

Prints figures and ratios; asserts nothing (shared machines are noisy).  Run from the
repository root:  .venv/bin/python tools/benchmarks/bench.py [--computes 20000] [--cells 20]

What it shows:
  * one cell holding every hypervisor: wall time and peak memory of the real plugin process,
    and per 1000 services;
  * the same hypervisors spread over N cells: read concurrently, the run costs about one
    cell's time, not N (ratio concurrent/sequential of the read path);
  * a run where one cell is slow (a TCP proxy adding latency): total ≈ the slowest cell.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

from check_nova_services.demo.writer import service, write_api_database, write_cell  # noqa: E402
from check_nova_services.readings import Cell  # noqa: E402
from check_nova_services.rule.policy import Policy  # noqa: E402
from check_nova_services.rule.selection import ServiceFilter  # noqa: E402
from check_nova_services.shared.deadline import Deadline  # noqa: E402
from check_nova_services.sources.cells import ReadPlan, read_cell  # noqa: E402
from check_nova_services.sources.fanout import read_cells  # noqa: E402
from tests.harness.mariadb import MariaDB  # noqa: E402


def rows_for(prefix: str, count: int, now: dt.datetime) -> list[dict]:
    rows = [service(f"{prefix}-ctl", "nova-conductor", now, age=3.0)]
    rows += [service(f"{prefix}-cmp{n:05d}", "nova-compute", now, age=float(n % 9 + 1)) for n in range(count)]
    return rows


CLOCK: list[str] = []  # a fixed --clock, so that a long benchmark does not age its own heartbeats


# The plugin's own high-water mark, from /proc (ru_maxrss would include this big parent's, kept across exec).
LAUNCHER = """
import atexit, runpy, sys
def peak():
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM:'):
            sys.stderr.write(line.split()[1])
atexit.register(peak)
sys.argv = ['check_nova_services', *sys.argv[1:]]
runpy.run_module('check_nova_services', run_name='__main__')
"""


def run_plugin(*args: str) -> tuple[float, float, int, str]:
    """Wall seconds, peak RSS (MiB) of this one plugin process, exit code, first line."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", LAUNCHER, *CLOCK, *args], capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    return elapsed, int(proc.stderr or 0) / 1024, proc.returncode, proc.stdout.splitlines()[0][:100]


class LatencyProxy:
    """Forwards a TCP port to MariaDB, holding every server reply back by ``delay`` seconds."""

    def __init__(self, target_port: int, delay: float):
        self.target_port, self.delay = target_port, delay
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            client, _ = self.listener.accept()
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self._pipe, args=(client, upstream, 0.0), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, self.delay), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket, delay: float) -> None:
        try:
            while data := src.recv(65536):
                if delay:
                    time.sleep(delay)
                dst.sendall(data)
        except OSError:
            pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--computes", type=int, default=20000)
    parser.add_argument("--cells", type=int, default=20)
    parser.add_argument("--delay", type=float, default=0.5, help="latency of the slow cell, seconds per reply")
    args = parser.parse_args()
    server = MariaDB()
    try:
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None).replace(microsecond=0)
        CLOCK.append(f"--clock={now.isoformat()}")
        port = server.admin.port

        big = server.create_database("bench_one")
        write_cell(big, rows_for("one", args.computes, now))
        t_one, rss_one, code, line = run_plugin("--db-url", big.render_as_string(hide_password=False), "-t", "60")
        print(f"one cell, {args.computes + 1} services: {t_one:.2f} s wall, {rss_one:.0f} MiB peak RSS, exit {code}: {line}")
        print(f"  per 1000 services: {1000 * t_one / (args.computes + 1):.3f} s")

        small = server.create_database("bench_small")
        write_cell(small, rows_for("small", 10, now))
        t_small, rss_small, _, _ = run_plugin("--db-url", small.render_as_string(hide_password=False))
        print(
            f"one cell, 11 services: {t_small:.2f} s wall, {rss_small:.0f} MiB peak RSS "
            f"(start-up cost; big/small ratios: time {t_one / t_small:.1f}x, memory {rss_one / rss_small:.1f}x, "
            f"for {(args.computes + 1) / 11:.0f}x the rows)"
        )

        per_cell = args.computes // args.cells
        mappings = []
        for n in range(args.cells):
            url = server.create_database(f"bench_cell{n}")
            write_cell(url, rows_for(f"c{n}", per_cell, now))
            mappings.append((f"{n:08d}-0000-0000-0000-000000000000", f"cell{n}", url.render_as_string(hide_password=False)))
        api = server.create_database("bench_api")
        write_api_database(api, mappings)
        api_text = api.render_as_string(hide_password=False)
        t_cells, rss_cells, code, line = run_plugin("--api-db-url", api_text, "-t", "60")
        print(
            f"{args.cells} cells x {per_cell + 1} services: {t_cells:.2f} s wall, {rss_cells:.0f} MiB peak RSS, "
            f"exit {code}: {line}"
        )

        cells = [Cell(name, uuid, server.url(f"bench_cell{n}")) for n, (uuid, name, _) in enumerate(mappings)]
        plan = ReadPlan(ServiceFilter(), Policy(60, 35), clock=now)

        deadline = Deadline.after(60)

        def read(cell, link):
            return read_cell(cell, link, plan, None)

        started = time.perf_counter()
        for cell in cells:
            read_cells([cell], read, deadline)
        sequential = time.perf_counter() - started
        started = time.perf_counter()
        read_cells(cells, read, deadline)
        concurrent = time.perf_counter() - started
        print(
            f"read path, {args.cells} cells: sequential {sequential:.2f} s, concurrent {concurrent:.2f} s, "
            f"ratio {sequential / concurrent:.1f}x"
        )

        proxy = LatencyProxy(port, args.delay)
        slow_url = server.url("bench_cell0").set(port=proxy.port).render_as_string(hide_password=False)
        write_api_database(api, [(mappings[0][0], "slow-cell0", slow_url), *mappings[1:]])
        single_slow = Cell("slow", None, server.url("bench_cell0").set(port=proxy.port))
        started = time.perf_counter()
        read_cells([single_slow], read, Deadline.after(60))
        slowest = time.perf_counter() - started
        t_slow, _, code, _ = run_plugin("--api-db-url", api_text, "-t", "60")
        print(
            f"{args.cells} cells, one slowed by {args.delay:.2f} s per reply: plugin {t_slow:.2f} s wall; "
            f"the slow cell alone {slowest:.2f} s; ratio run/slowest {t_slow / slowest:.2f} (exit {code})"
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()

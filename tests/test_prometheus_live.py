"""The metrics through the real thing: the plugin writes its textfile from a real MariaDB, Debian's node_exporter
serves it (textfile collector only), Debian's Prometheus scrapes it every second with the shipped alert rules loaded;
its HTTP API then gives the same numbers as the plugin's perfdata on the same database, every service's series with
its labels as written (hostile host names too), an unreachable cell with its reason, and the alerts the rules fire
on them. The same file is also served as OpenMetrics (its content type), which Prometheus then parses with its
OpenMetrics parser: the same series. Loopback ports, own directories, seconds."""

from __future__ import annotations

import http.server
import json
import re
import subprocess
import threading
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from check_nova_services.demo.writer import service, write_api_database, write_cell
from check_nova_services.rule.metrics import BINARY_METRICS
from tests.conftest import CLOCK, NOW, run_check
from tests.harness.daemons import need, stop_process, wait_for
from tests.harness.mariadb import free_port

PROMETHEUS = "/usr/bin/prometheus"
NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"
RULES = Path(__file__).resolve().parent.parent / "prometheus" / "nova-services.rules.yml"
CELL_UUID = "00000000-0000-0000-0000-0000000000c1"
GONE_UUID = "00000000-0000-0000-0000-0000000000c2"
STATUS = (
    "NOVA_SERVICES UNKNOWN - cell cell2 (00000000…) unreachable: Unknown database 'prometheus_gone' (error 1049); "
    "nova-compute 1/5 down: cmp2 (95s); 1 heartbeat late: nova-compute@cmp3 (45s)"
)
#: Host names that must come through the textfile, node_exporter and Prometheus as they are.
HOSTILE = ['cmp"4', "cmp\n5"]


def start(command: list[str], log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


class PrometheusAPI:
    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}/api/v1/"

    def get(self, path: str, **params: str) -> dict:
        url = self.base + path + ("?" + urllib.parse.urlencode(params) if params else "")
        with urllib.request.urlopen(url, timeout=5) as answer:
            body = json.load(answer)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str, job: str = "node") -> dict[tuple[tuple[str, str], ...], float]:
        """Each series' labels (without its name, instance and job) -> its value, of one scrape job."""
        data = self.get("query", query=f'{expr}{{job="{job}"}}')
        return {
            tuple(sorted((k, v) for k, v in r["metric"].items() if k not in ("__name__", "instance", "job"))): float(
                r["value"][1]
            )
            for r in data["result"]
        }


class OpenMetricsFile(http.server.BaseHTTPRequestHandler):
    """Serves the textfile as an OpenMetrics 1.0 exposition: Prometheus then reads it with that parser."""

    path_to_serve: Path

    def do_GET(self) -> None:
        body = self.path_to_serve.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/openmetrics-text; version=1.0.0; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def stack(tmp_path):
    need(PROMETHEUS, NODE_EXPORTER)
    textfiles = tmp_path / "textfiles"
    textfiles.mkdir()
    exporter_port, prometheus_port = free_port(), free_port()
    handler = type("Handler", (OpenMetricsFile,), {"path_to_serve": textfiles / "nova_services.prom"})
    openmetrics = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=openmetrics.serve_forever, daemon=True).start()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"rule_files:\n  - {RULES}\n"
        "scrape_configs:\n"
        f"  - job_name: node\n    static_configs:\n      - targets: ['127.0.0.1:{exporter_port}']\n"
        f"  - job_name: openmetrics\n    static_configs:\n      - targets: ['127.0.0.1:{openmetrics.server_port}']\n"
    )
    exporter = prometheus = None
    try:
        exporter = start(
            [
                NODE_EXPORTER,
                f"--web.listen-address=127.0.0.1:{exporter_port}",
                "--collector.disable-defaults",
                "--collector.textfile",
                f"--collector.textfile.directory={textfiles}",
            ],
            tmp_path / "node_exporter.log",
        )
        prometheus = start(
            [
                PROMETHEUS,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{prometheus_port}",
            ],
            tmp_path / "prometheus.log",
        )
        yield textfiles, PrometheusAPI(prometheus_port), tmp_path
    finally:
        stop_process(prometheus)
        stop_process(exporter)
        openmetrics.shutdown()
        openmetrics.server_close()


@pytest.fixture
def deployment(mariadb):
    """One cell on the real MariaDB (a conductor, a compute down, one late, two with hostile names), a second cell
    whose database does not exist, and their API database with a zone."""
    cell = mariadb.create_database("prometheus_cell1")
    write_cell(
        cell,
        [
            service("ctl1", "nova-conductor", NOW, age=3.0),
            service("ctl1", "nova-scheduler", NOW, age=4.0),
            service("cmp1", "nova-compute", NOW, age=7.0),
            service("cmp2", "nova-compute", NOW, age=95.0),
            service("cmp3", "nova-compute", NOW, age=45.0),
            *(service(host, "nova-compute", NOW, age=5.0) for host in HOSTILE),
        ],
    )
    api = mariadb.create_database("prometheus_api")
    gone = cell.set(database="prometheus_gone").render_as_string(hide_password=False)
    cells = [(CELL_UUID, "cell1", cell.render_as_string(hide_password=False)), (GONE_UUID, "cell2", gone)]
    write_api_database(api, cells, zones={"az1": ["cmp1", "cmp2"]})
    return api.render_as_string(hide_password=False)


def test_prometheus_scrapes_the_checks_numbers_and_the_rules_fire_on_them(stack, deployment):
    textfiles, api, tmp_path = stack
    textfile = textfiles / "nova_services.prom"
    wrote = run_check("--api-db-url", deployment, CLOCK, "--textfile", str(textfile))
    assert (wrote.stdout, wrote.stderr, wrote.code) == ("", "", 3)  # the check's UNKNOWN: a cell cannot be read
    check = run_check("--api-db-url", deployment, CLOCK)
    assert check.status == STATUS
    assert check.code == 3

    def scraped():
        return api.query("nova_services_scrape_success")

    log = tmp_path / "prometheus.log"
    assert wait_for(f"Prometheus to scrape the textfile ({log})", scraped, timeout=30) == {(): 0.0}
    assert api.query("node_textfile_scrape_error") == {(): 0.0}  # node_exporter read the file without an error

    # The perfdata's numbers, each binary's from the one table, through node_exporter and Prometheus.
    for row in BINARY_METRICS:
        from_prometheus = api.query(row.metric)
        from_perfdata = {
            (("binary", binary),): float(check.perfdata[binary + row.suffix].split(";")[0].rstrip("s"))
            for binary in ("nova-compute", "nova-conductor", "nova-scheduler")
        }
        assert from_prometheus == from_perfdata, row.metric
    assert api.query("nova_services_down") == {
        (("binary", "nova-compute"),): 1.0,
        (("binary", "nova-conductor"),): 0.0,
        (("binary", "nova-scheduler"),): 0.0,
    }
    assert (check.perfdata["cells_total"], check.perfdata["cells_unreachable"]) == ("2;;;0", "1;;;0;2")
    assert (api.query("nova_cells"), api.query("nova_cells_unreachable")) == ({(): 2.0}, {(): 1.0})
    assert api.query("nova_cell_unreachable_info") == {
        (("cell", "cell2"), ("cell_uuid", GONE_UUID), ("reason", "Unknown database 'prometheus_gone' (error 1049)")): 1.0
    }
    assert api.query("nova_services_check_state") == {(): 3.0}
    assert (check.perfdata["clock_skew"], api.query("nova_database_clock_skew_seconds")) == ("0s;-25:25", {(): 0.0})
    assert (check.perfdata["services_too_old"], api.query("nova_services_too_old")) == ("0;0;;0", {(): 0.0})
    # Each zone's capacity, as the perfdata's az_<zone>_usable and _total (cell2's database is gone and it has no
    # host_mappings rows: no unknown computes).
    for family, suffix in (("nova_zone_usable_computes", "_usable"), ("nova_zone_computes", "_total")):
        from_perfdata = {(("zone", z),): float(check.perfdata[f"az_{z}{suffix}"].split(";")[0]) for z in ("az1", "nova")}
        assert api.query(family) == from_perfdata, family
    assert api.query("nova_zone_usable_computes") == {(("zone", "az1"),): 1.0, (("zone", "nova"),): 3.0}
    assert api.query("nova_zone_unknown_computes") == {(("zone", "az1"),): 0.0, (("zone", "nova"),): 0.0}

    # One series per service, its labels as the database holds them.
    def labels(binary: str, host: str, zone: str) -> tuple[tuple[str, str], ...]:
        return (("binary", binary), ("cell", "cell1"), ("host", host), ("zone", zone))

    assert api.query("nova_service_up") == {
        labels("nova-compute", "cmp1", "az1"): 1.0,
        labels("nova-compute", "cmp2", "az1"): 0.0,
        labels("nova-compute", "cmp3", "nova"): 1.0,
        labels("nova-compute", 'cmp"4', "nova"): 1.0,
        labels("nova-compute", "cmp\n5", "nova"): 1.0,
        labels("nova-conductor", "ctl1", "internal"): 1.0,
        labels("nova-scheduler", "ctl1", "internal"): 1.0,
    }

    # The same file read by Prometheus's OpenMetrics parser: every family, the same series and values.
    families = re.findall(r"^# TYPE (\w+) gauge$", textfile.read_text(encoding="utf-8"), re.MULTILINE)
    assert len(families) == 22
    wait_for("the OpenMetrics scrape", lambda: api.query("nova_services_scrape_success", job="openmetrics"), timeout=30)
    assert [f for f in families if api.query(f, job="openmetrics") != api.query(f) or not api.query(f)] == []

    # The shipped rules on these numbers (evaluated every second): what the check says, as alerts.
    def firing():
        alerts = api.get("alerts")["alerts"]
        return sorted(
            (a["labels"]["alertname"], a["labels"].get("binary", a["labels"].get("cell", "")), a["labels"].get("host", ""))
            for a in alerts
            if a["state"] == "firing" and a["labels"]["job"] == "node"
        )

    expected = [
        ("NovaCellUnreachable", "cell2", ""),
        ("NovaServiceDown", "nova-compute", "cmp2"),
        ("NovaServicesDown", "nova-compute", ""),
        ("NovaServicesLate", "nova-compute", ""),
    ]
    wait_for("the rules to fire", lambda: firing() == expected, timeout=30)
    rules = api.get("rules")
    assert [r["health"] for g in rules["groups"] for r in g["rules"]] == ["ok"] * 13

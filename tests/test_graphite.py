"""Perfdata that Icinga 2's metric writers keep: stable labels of one name each, proven through a real GraphiteWriter;
and the graphs of icinga/graphite/ and icinga/grafana/ drawn from the paths it writes.

The fast tests pin the label rule (text.label and resource._labels), and check the Graphite module's template and
the Grafana dashboard: they parse, every curve and target finds its paths among those a writer would write for a
service printing every kind of item, and every kind of item the plugin can print is graphed. The slow ones run the
real ``icinga2`` daemon once, with two GraphiteWriters pointed at Graphite plaintext listeners of their own on
127.0.0.1: one with this test's service_name_template, whose lines show that every item the plugin prints arrives
with its value, warn, crit, min and max (where they are numbers), on a path of its own, and that Icinga logs no
invalid perfdata; one with Icinga 2's default templates, the paths the Graphite module and the dashboard assume, on
which every graph is drawn (tests/harness/graphing.py finds what the module and Grafana would draw).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import socketserver
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass

import pytest

from check_nova_services.demo.writer import demo_rows, service, write_cell
from check_nova_services.plugin.resource import _labels
from check_nova_services.rule.metrics import BINARY_METRICS
from check_nova_services.shared.text import LABEL_LIMIT, label
from tests.conftest import CLOCK, NOW, run_check
from tests.harness.daemons import ICINGA2, ICINGA_DIR, REPO, Icinga2, include_lines, need, wait_for, write_plugin
from tests.harness.faults import parse_plugin_output
from tests.harness.graphing import (
    SECTION,
    MacroTemplate,
    MonitoredService,
    charts,
    default_template_paths,
    escape_metric_step,
    expand,
    fetch_column,
    find,
    functions_of,
    interpolate,
    kind_of,
    load_templates,
    metric_kinds,
    parse_target,
    path_patterns,
    read_ini,
    series,
    unquote,
    variable_values,
    variables_used,
    writer_escape,
)

ONE_NAME = re.compile(r"[A-Za-z0-9_-]+")


def sha1_8(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:8]


# --------------------------------------------------------------------------- the label rule


@pytest.mark.parametrize("binary", ["nova-compute", "nova_compute", "Nova-Scheduler2", "x", "n" * LABEL_LIMIT])
def test_a_name_that_needs_no_change_keeps_its_plain_label(binary):
    assert label(binary) == binary
    assert _labels([binary, "nova.compute", "nova compute"])[binary] == binary


@pytest.mark.parametrize(
    ("binary", "sanitised"),
    [
        ("nova.compute", "nova_compute"),
        ("nova compute", "nova_compute"),
        ("nova::compute", "nova__compute"),
        ("nova-compute|x=1;'y'\"", "nova-compute_x_1__y__"),
        ("nova-计算", "nova-__"),
        ("", ""),
    ],
)
def test_a_changed_name_gets_the_digest_of_the_name_itself(binary, sanitised):
    assert label(binary) == f"{sanitised}_{sha1_8(binary)}"
    assert ONE_NAME.fullmatch(label(binary))
    assert label(binary) == label(binary)  # no state: the same name, the same label


def test_names_that_change_alike_get_labels_that_do_not_depend_on_what_else_is_present():
    alike = ["nova.compute", "nova compute", "nova:compute", "nova_compute", "nova'compute", "nova=compute"]
    everything = _labels(alike)
    assert len(set(everything.values())) == len(alike)
    assert everything["nova_compute"] == "nova_compute"
    for size in range(1, len(alike)):
        for present in itertools.combinations(alike, size):
            assert _labels(present) == {binary: everything[binary] for binary in present}, present


def test_a_plain_name_that_looks_like_a_changed_one_is_changed_too():
    """Else a binary named like another's label would take that label."""
    lookalike = "nova_compute_" + sha1_8("nova.compute")
    labels = _labels(["nova.compute", lookalike])
    assert labels["nova.compute"] == lookalike
    assert labels[lookalike] == f"{lookalike}_{sha1_8(lookalike)}"


def test_the_check_s_own_prefixes_are_not_a_binary_s():
    labels = _labels(["cells", "services", "nova-compute"])
    assert labels == {
        "cells": "cells_" + sha1_8("cells"),
        "services": "services_" + sha1_8("services"),
        "nova-compute": "nova-compute",
    }


def test_length_is_bounded_and_long_names_stay_apart():
    first, second = "n" * 200 + ".a", "n" * 200 + ".b"
    labels = _labels([first, second, "m" * (LABEL_LIMIT + 1)])
    assert all(len(prefix) <= LABEL_LIMIT and ONE_NAME.fullmatch(prefix) for prefix in labels.values())
    assert labels[first] != labels[second]
    assert labels["m" * (LABEL_LIMIT + 1)] == "m" * (LABEL_LIMIT - 9) + "_" + sha1_8("m" * (LABEL_LIMIT + 1))


def test_a_digest_collision_is_told_apart_by_the_whole_digest():
    # Two names that change alike ('______') and whose SHA-1 share the first 8 hex digits.
    one, other = ";:'.='", " :' :;"
    assert (label(one), sha1_8(one)) == (label(other), sha1_8(other))
    labels = _labels([one, other, "nova-compute"])
    assert labels == {
        one: "______" + "_" + hashlib.sha1(one.encode()).hexdigest(),
        other: "______" + "_" + hashlib.sha1(other.encode()).hexdigest(),
        "nova-compute": "nova-compute",
    }


# --------------------------------------------------------------------------- end to end through GraphiteWriter


class _Receiver(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        for raw in self.rfile:
            self.server.received(raw.decode("utf-8", "replace").rstrip("\n"))


class GraphiteListener(socketserver.ThreadingTCPServer):
    """Graphite's plaintext protocol on 127.0.0.1 and a free port: keeps every line 'path value timestamp'."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Receiver)
        self.port = self.server_address[1]
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()

    def received(self, line: str) -> None:
        with self._lock:
            self._lines.append(line)

    @property
    def lines(self) -> list[str]:
        with self._lock:
            return list(self._lines)

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(5)


def metrics_of(lines: list[str], prefix: str) -> dict[str, set[str]]:
    """path -> the values sent for it, of the lines under ``prefix``."""
    out: dict[str, set[str]] = {}
    for line in lines:
        path, value, timestamp = line.split(" ")
        assert timestamp.isdigit(), line
        if path.startswith(prefix + "."):
            out.setdefault(path, set()).add(value)
    return out


PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def expected_metrics(prefix: str, perfdata: dict[str, str]) -> dict[str, float]:
    """What each printed item must become: its value, and its warn, crit, min and max where they are numbers."""
    out = {}
    for name, text in perfdata.items():
        value, *fields = text.split(";")
        number = PLAIN_NUMBER.match(value)
        assert number and value[number.end() :] in ("", "s"), (name, text)
        out[f"{prefix}.{name}.value"] = float(number.group())
        for field, token in zip(("warn", "crit", "min", "max"), fields):
            if PLAIN_NUMBER.fullmatch(token):
                out[f"{prefix}.{name}.{field}"] = float(token)
    return out


#: Binaries that change alike, that carry Icinga's '::', quotes, '=', '|', unicode, one named like the
#: check's own metrics, one too long; hosts that are hostile too. Each binary has an age of its own,
#: so a label that moved to another binary would carry another value.
HOSTILE_ROWS = [
    service("cmp1.example.org", "nova.compute", NOW, age=5.0),
    service("cmp2 'x'=1", "nova compute", NOW, age=95.0),
    service("cmp3", "nova_compute", NOW, age=7.0),
    service("cmp4", "nova::compute", NOW, age=8.0),
    service("ctl1|x=1", "nova-compute|x=1;'y'\"", NOW, age=4.0),
    service("ctl2\nNOVA_SERVICES OK", "nova-计算", NOW, age=6.0),
    service("ctl3", "cells", NOW, age=3.0),
    service("ctl4", "n" * 80 + ".x", NOW, age=2.0),
    service("\u202eevil\u2028x", "nova-scheduler", NOW, age=9.0),
    service("h" * 255, "nova-conductor", NOW, age=1.0),
]
#: The same deployment after 'nova compute' was deleted: no other binary's label may change.
FEWER_ROWS = [row for row in HOSTILE_ROWS if row["binary"] != "nova compute"]
#: nova-consoleauth has one service, disabled by an operator: no watched service, no _max_age.
UNWATCHED_ROWS = [
    service("ctl1", "nova-conductor", NOW, age=3.0),
    service("ctl2", "nova-conductor", NOW, age=4.0),
    service("ctl1", "nova-consoleauth", NOW, age=86400.0 * 40, disabled=True, disabled_reason="maintenance: retired"),
]
#: A plugin that prints what Icinga 2 cannot use: 'U' (the item is dropped, with a warning) and range
#: thresholds (dropped silently). The test's own control: the log check and the range claim can fail.
CONTROL_PLUGIN = "#!/bin/sh\necho 'OK - control | broken=U;1;2 ranged=5;2:10;@1;0;10'\n"


#: The capacity perfdata of issue 30 as the plugin is to print it (the contract the graphs are drawn from): for each
#: availability zone az_<zone>_usable with the zone's warn;crit ranges, min 0 and max the zone's total, az_<zone>_total
#: and az_<zone>_unknown (computes that nova_api.host_mappings places in cells that could not be read); the same under
#: aggregate_<name>_ for each aggregate named in --aggregate-warning/--aggregate-critical. A zone's name is made a label
#: as a binary's is (text.label). Capacity ranges are minimums (6:, or 50%: as a count), which no writer sends.
CAPACITY_ZONES = ["az2", "nova", label("az 3.b")]
CAPACITY_AGGREGATES = ["gpu"]
CAPACITY_PERFDATA = {
    "az_az2_total": "10;;;0",
    "az_az2_unknown": "3;;;0;10",
    "az_az2_usable": "2;5:;6:;0;10",
    f"az_{label('az 3.b')}_total": "4;;;0",
    f"az_{label('az 3.b')}_unknown": "0;;;0;4",
    f"az_{label('az 3.b')}_usable": "4;;;0;4",
    "az_nova_total": "60;;;0",
    "az_nova_unknown": "0;;;0;60",
    "az_nova_usable": "50;30:;;0;60",
    "aggregate_gpu_total": "4;;;0",
    "aggregate_gpu_unknown": "0;;;0;4",
    "aggregate_gpu_usable": "1;2:;1:;0;4",
}
#: The check command of the capacity sample: what the graphs' run prints with the capacity items added, printed by a
#: script until the plugin prints them (a command of its own, as NRPE's: the graphs are found under its name).
CAPACITY_COMMAND = "nova_services_capacity"
#: Each service's check command, where it is not nova_services.
COMMANDS = {"control": "control", "capacity": CAPACITY_COMMAND}


def capacity_plugin(graphs: dict[str, str]) -> str:
    """A plugin printing the graphs' run's perfdata and the capacity sample's, CRITICAL as az2 would be."""
    items = " ".join(f"'{name}'={value}" for name, value in {**graphs, **CAPACITY_PERFDATA}.items())
    line = f"NOVA_SERVICES CRITICAL - az2: 2 of 10 computes usable (needs 6) | {items}"
    return f"#!/bin/sh\ncat <<'EOF'\n{line}\nEOF\nexit 2\n"


def thresholds_of(warning: list[str], critical: list[str]) -> list[tuple[str, list[str]]]:
    return [(level, ranges) for level, ranges in (("warning", warning), ("critical", critical)) if ranges]


def icinga_array(items: list[str]) -> str:
    return "[ " + ", ".join(f'"{item}"' for item in items) + " ]"


#: The demo cloud on MariaDB (which has a server clock: clock_skew), with one service excluded
#: (services_excluded) and the default thresholds: every item the plugin can print, the run the
#: graphs are checked against.
GRAPHS_EXCLUDE = "@cmp036"


@dataclass
class IcingaRun:
    """One run of the real icinga2 with two GraphiteWriters, each into a listener of its own."""

    #: scenario -> the perfdata the plugin printed here for it, label -> text
    printed: dict[str, dict[str, str]]
    #: scenario -> the perfdata Icinga 2 stored from its own run of the check
    stored: dict[str, list[str]]
    #: lines of the writer with this test's service_name_template (no check command in the path)
    lines: list[str]
    #: lines of the writer with Icinga 2's default templates, which the Graphite module and the dashboard assume
    default_lines: list[str]
    log: list[str]


def without_measured(items: dict) -> dict:
    """Items or paths but the clock skew: measured against the real clock anew in each run (the graphs' run, on MariaDB)."""
    return {key: value for key, value in items.items() if "clock_skew" not in key}


PREFIX = "icinga2.ctl1.services.{}.perfdata"
DEFAULT_PREFIX = "icinga2.ctl1.services.{}.{}.perfdata"


@pytest.fixture(scope="module")
def icinga_run(tmp_path_factory, request) -> IcingaRun:
    need(ICINGA2)
    tmp_path = tmp_path_factory.mktemp("graphite")
    mariadb = request.getfixturevalue("mariadb")
    graphs_url = mariadb.create_database("graphite_graphs")
    write_cell(graphs_url, demo_rows(NOW))
    scenarios = {
        # the demo cloud, with a per-binary range of each kind Icinga's writers cannot send
        "demo": (f"sqlite:///{tmp_path / 'demo'}.sqlite", demo_rows(NOW), ["nova-compute=@1"], ["nova-compute=2:10"], []),
        "unwatched": (f"sqlite:///{tmp_path / 'unwatched'}.sqlite", UNWATCHED_ROWS, [], [], []),
        "hostile": (f"sqlite:///{tmp_path / 'hostile'}.sqlite", HOSTILE_ROWS, [], [], []),
        "hostile-fewer": (f"sqlite:///{tmp_path / 'hostile-fewer'}.sqlite", FEWER_ROWS, [], [], []),
        "graphs": (graphs_url.render_as_string(hide_password=False), None, [], [], [GRAPHS_EXCLUDE]),
    }
    printed: dict[str, dict[str, str]] = {}
    services = []
    for name, (url, rows, warning, critical, exclude) in scenarios.items():
        if rows is not None:
            write_cell(url, rows)
        options = [f"--warning={w}" for w in warning] + [f"--critical={c}" for c in critical]
        options += [f"--exclude={e}" for e in exclude]
        run = run_check("--db-url", url, CLOCK, *options)
        printed[name] = parse_plugin_output(run.stdout, run.code).perfdata
        assert run.stderr == ""
        variables = [f'vars.nova_services_db_url = "{url}"']
        variables += [
            f"vars.nova_services_{level} = {icinga_array(ranges)}" for level, ranges in thresholds_of(warning, critical)
        ]
        if exclude:
            variables.append(f"vars.nova_services_exclude = {icinga_array(exclude)}")
        services.append(f'object Service "{name}" {{\n\timport "nova"\n' + "".join(f"\t{v}\n" for v in variables) + "}\n")

    icinga = Icinga2(tmp_path / "icinga2")
    graphite, default_graphite = GraphiteListener(), GraphiteListener()
    write_plugin(icinga.plugin_dir)
    control = icinga.plugin_dir / "control"
    control.write_text(CONTROL_PLUGIN)
    control.chmod(0o755)
    sample = icinga.plugin_dir / CAPACITY_COMMAND
    sample.write_text(capacity_plugin(printed["graphs"]))
    sample.chmod(0o755)
    printed["capacity"] = {**printed["graphs"], **CAPACITY_PERFDATA}
    stored = {}
    try:
        icinga.start(
            include_lines([ICINGA_DIR / "nova_services.conf"])
            + f"""
object GraphiteWriter "graphite" {{
	host = "127.0.0.1"
	port = {graphite.port}
	enable_send_thresholds = true
	service_name_template = "icinga2.$host.name$.services.$service.name$"
}}

// Icinga 2's default host_name_template and service_name_template, as the Graphite module's
// installation guide configures it (thresholds on).
object GraphiteWriter "graphite-default-templates" {{
	host = "127.0.0.1"
	port = {default_graphite.port}
	enable_send_thresholds = true
}}

object Host "ctl1" {{
	check_command = "dummy"
	enable_active_checks = false
}}

template Service "nova" {{
	host_name = "ctl1"
	check_command = "nova_services"
	check_interval = 1s
	retry_interval = 1s
	max_check_attempts = 1
	vars.nova_services_clock = "{NOW.isoformat()}"
}}

object CheckCommand "control" {{
	command = [ PluginContribDir + "/control" ]
}}

object Service "control" {{
	host_name = "ctl1"
	check_command = "control"
	check_interval = 1s
	retry_interval = 1s
}}

object CheckCommand "{CAPACITY_COMMAND}" {{
	command = [ PluginContribDir + "/{CAPACITY_COMMAND}" ]
}}

object Service "capacity" {{
	host_name = "ctl1"
	check_command = "{CAPACITY_COMMAND}"
	check_interval = 1s
	retry_interval = 1s
	max_check_attempts = 1
}}
"""
            + "".join(services)
        )
        names = [*scenarios, "capacity", "control"]

        def three_checks_each():
            lines, default_lines = graphite.lines, default_graphite.lines
            counts = []
            for name in names:
                item = "ranged" if name == "control" else "cells_total"
                command = COMMANDS.get(name, "nova_services")
                counts.append(sum(line.startswith(f"{PREFIX.format(name)}.{item}.value ") for line in lines))
                counts.append(
                    sum(line.startswith(f"{DEFAULT_PREFIX.format(name, command)}.{item}.value ") for line in default_lines)
                )
            return all(count >= 3 for count in counts)

        wait_for("three checks of every service in both Graphites", three_checks_each, 120)
        for name in [*scenarios, "capacity"]:
            stored[name] = icinga.service("ctl1", name)["last_check_result"]["performance_data"]
    except BaseException:
        print(icinga.log_tail(80))
        raise
    finally:
        icinga.stop()
        graphite.stop()
        default_graphite.stop()
    log = icinga.log.read_text(errors="replace").splitlines()
    return IcingaRun(printed, stored, graphite.lines, default_graphite.lines, log)


@pytest.mark.slow
def test_every_item_arrives_in_graphite_with_its_thresholds(icinga_run):
    printed, lines = icinga_run.printed, icinga_run.lines
    prefixes = {name: PREFIX.format(name) for name in [*printed, "control"]}
    # The scenarios are what they claim to be.
    assert "nova-consoleauth_total" in printed["unwatched"] and "nova-consoleauth_max_age" not in printed["unwatched"]
    assert printed["demo"]["nova-compute_down"] == "4;@1;2:10;0;36"
    hostile_binaries = {row["binary"] for row in HOSTILE_ROWS}
    assert len([name for name in printed["hostile"] if name.endswith("_total")]) == len(hostile_binaries) + 1  # cells_total
    # Icinga ran the same check: what it parsed is what the plugin printed here.
    for name, perfdata in icinga_run.stored.items():
        parsed = dict(item.split("=", 1) for item in perfdata)
        assert parsed.keys() == printed[name].keys(), name
        assert without_measured(parsed) == without_measured(printed[name]), name

    for name in printed:
        received = metrics_of(lines, prefixes[name])
        # Every item of the plugin arrives and nothing else does...
        assert received.keys() == expected_metrics(prefixes[name], printed[name]).keys(), name
        # ...with one value per path over all the checks (the clock is fixed): no two items on one path, and
        # exactly its numbers.
        received = without_measured(received)
        assert {path: len(values) for path, values in received.items() if len(values) != 1} == {}, name
        got = {path: float(values.pop()) for path, values in received.items()}
        assert got == without_measured(expected_metrics(prefixes[name], printed[name])), name
        # Each label is one path level.
        for path in received:
            label_part, _, field = path[len(prefixes[name]) + 1 :].rpartition(".")
            assert ONE_NAME.fullmatch(label_part) and field in ("value", "warn", "crit", "min", "max"), path

    # Ranges such as 2:10 and @1 reach no writer; the check itself used them (the state above).
    demo = metrics_of(lines, prefixes["demo"])
    assert f"{prefixes['demo']}.nova-compute_down.value" in demo
    assert f"{prefixes['demo']}.nova-compute_down.warn" not in demo and f"{prefixes['demo']}.nova-compute_down.crit" not in demo
    # Capacity ranges (minimums) reach no writer either: value, min and max only, hence no threshold curves.
    capacity = {
        path[len(prefixes["capacity"]) + 1 :]: values for path, values in metrics_of(lines, prefixes["capacity"]).items()
    }
    assert {path: values for path, values in capacity.items() if path.startswith("az_az2_")} == {
        "az_az2_usable.value": {"2"},
        "az_az2_usable.min": {"0"},
        "az_az2_usable.max": {"10"},
        "az_az2_unknown.value": {"3"},
        "az_az2_unknown.min": {"0"},
        "az_az2_unknown.max": {"10"},
        "az_az2_total.value": {"10"},
        "az_az2_total.min": {"0"},
    }
    # An undetermined max_age is left out, not sent as U.
    unwatched = metrics_of(lines, prefixes["unwatched"])
    assert not any(".nova-consoleauth_max_age." in path for path in unwatched)
    assert unwatched[f"{prefixes['unwatched']}.nova-consoleauth_total.value"] == {"1"}
    # Deleting a binary moves no other binary's label: the fewer deployment's paths are a subset, same values.
    hostile, fewer = (
        {path[len(prefixes[name]) :]: values for path, values in metrics_of(lines, prefixes[name]).items()}
        for name in ("hostile", "hostile-fewer")
    )
    gone = f".{label('nova compute')}"
    assert {path: values for path, values in hostile.items() if not path.startswith(gone + "_")} == fewer
    assert all(ONE_NAME.fullmatch(name) for name in printed["hostile"])

    # The control shows what the checks above rule out: 'U' dropped with a warning, ranges dropped silently.
    control_metrics = metrics_of(lines, prefixes["control"])
    assert {path[len(prefixes["control"]) + 1 :]: values for path, values in control_metrics.items()} == {
        "ranged.value": {"5"},
        "ranged.min": {"0"},
        "ranged.max": {"10"},
    }
    invalid = [line for line in icinga_run.log if "invalid perfdata" in line.lower()]
    assert invalid and all("'ctl1!control'" in line and "broken=U;1;2" in line for line in invalid), invalid


@pytest.mark.slow
def test_the_default_templates_write_the_same_items_under_the_check_command(icinga_run):
    """The writer the Graphite module and the dashboard assume: icinga2.<host>.services.<service>.<command>.perfdata."""
    default_lines = icinga_run.default_lines
    for name, perfdata in icinga_run.printed.items():
        prefix = DEFAULT_PREFIX.format(name, COMMANDS.get(name, "nova_services"))
        received = metrics_of(default_lines, prefix)
        expected = expected_metrics(prefix, perfdata)
        assert received.keys() == expected.keys(), name
        received, expected = without_measured(received), without_measured(expected)
        assert {path: float(values.pop()) for path, values in received.items() if len(values) == 1} == expected, name
    assert {
        path.split(".perfdata.")[1]: values
        for path, values in metrics_of(default_lines, DEFAULT_PREFIX.format("control", "control")).items()
    } == {"ranged.value": {"5"}, "ranged.min": {"0"}, "ranged.max": {"10"}}
    # Only service perfdata: the host is not checked actively, and the writers send no metadata.
    assert {line.split(".")[2] for line in default_lines} == {"services"}


# --------------------------------------------------------------------------- graphs: the Graphite module, Grafana

GRAPHITE_TEMPLATE = ICINGA_DIR / "graphite" / "nova_services.ini"
DASHBOARD = ICINGA_DIR / "grafana" / "nova_services-graphite.json"
RESOURCE = REPO / "check_nova_services" / "plugin" / "resource.py"
#: Every perfdata label of the plugin, a binary's label as <binary>: the contract the graphs must cover. Each binary's
#: are the plugin's table (a new row fails the tests of the graphs until graphed), the check's own are listed here.
KINDS = {"<binary>" + metric.suffix for metric in BINARY_METRICS} | {
    "cells_total",
    "cells_unreachable",
    "services_excluded",
    "services_too_old",
    "clock_skew",
}
#: The capacity labels of issue 30, a zone's or aggregate's label (text.label of its name) as <zone>, <aggregate>:
#: printed for every zone whenever the API database is read, and for each aggregate named in --aggregate-warning or
#: --aggregate-critical. Not yet among metric_kinds' (the plugin's side comes in its own commits): then they join KINDS.
ZONE_KINDS = {"az_<zone>_usable", "az_<zone>_unknown", "az_<zone>_total"}
AGGREGATE_KINDS = {"aggregate_<aggregate>_usable", "aggregate_<aggregate>_unknown", "aggregate_<aggregate>_total"}
#: Zones and aggregates of the synthetic services: plain names, one whose label ends like a curve's (the module reads
#: a label back greedily), and names that need a safe label.
ZONES = ["nova", "az2", "az2_usable", label("az 3.b"), label("zone:é")]
AGGREGATES = ["gpu", "tenant-a", label("pool.b")]
#: Labels drawn by no graph, on purpose (none: every label is graphed).
NOT_GRAPHED: set[str] = set()
#: Metrics whose context prints no perfdata (a state only): host_clock, the WARNING of this host's wrong clock,
#: whose measure is clock_skew (tests/test_clock_skew.py proves it prints none).
WITHOUT_PERFDATA = {"host_clock"}
#: Each graph template of the .ini: the macro it is drawn once for each value of (binary, zone, aggregate) or None
#: (drawn once), and its curves.
GRAPHS = {
    "nova_services-services": ("binary", ["down.value", "disabled.value", "total.value", "down.warn", "down.crit"]),
    "nova_services-heartbeat": ("binary", ["max_age.value"]),
    "nova_services-late": ("binary", ["late.value"]),
    "nova_services-versions": ("binary", ["version_min.value", "version_max.value"]),
    "nova_services-cells": (None, ["unreachable.value", "total.value"]),
    "nova_services-clock": (None, ["clock_skew.value"]),
    "nova_services-too-old": (None, ["too_old.value"]),
    "nova_services-excluded": (None, ["excluded.value"]),
    "nova_services-zone-capacity": ("zone", ["usable.value", "unknown.value", "total.value"]),
    "nova_services-aggregate-capacity": ("aggregate", ["usable.value", "unknown.value", "total.value"]),
}
#: Graphite render parameters the templates may set (https://graphite.readthedocs.io/en/latest/render_api.html).
URL_PARAMS = {"areaAlpha", "areaMode", "lineWidth", "min", "max", "title", "vtitle", "yUnitSystem"}
SERVICE = MonitoredService("ctl1", "nova-services", "nova_services")
#: A binary named 'cells' is labelled with a digest (the check's own metrics start with cells_).
CELLS_LABEL = _labels(["cells"])["cells"]


def synthetic_paths(
    binaries: list[str], service: MonitoredService = SERVICE, zones: Iterable[str] = (), aggregates: Iterable[str] = ()
) -> set[str]:
    """What the default writer writes for one service printing every kind of label, thresholds included."""
    prefix = DEFAULT_PREFIX.format(writer_escape(service.name), service.check_command).replace(
        "ctl1", writer_escape(service.host)
    )
    labels = {kind.replace("<binary>", binary) for kind in KINDS for binary in binaries}
    labels |= {kind.replace("<zone>", zone) for kind in ZONE_KINDS for zone in zones}
    labels |= {kind.replace("<aggregate>", aggregate) for kind in AGGREGATE_KINDS for aggregate in aggregates}
    return {f"{prefix}.{item}.{field}" for item in labels for field in ("value", "warn", "crit", "min", "max")}


def label_of(path: str) -> str:
    return path.split(".perfdata.")[1].rsplit(".", 1)[0]


def binaries_of(perfdata: Iterable[str]) -> set[str]:
    return {name[: -len("_down")] for name in perfdata if name.endswith("_down")}


def check_templates(
    service: MonitoredService,
    paths: set[str],
    binaries: set[str],
    zones: Iterable[str] = (),
    aggregates: Iterable[str] = (),
) -> set[str]:
    """Every graph of the .ini as the module draws it for ``service`` from ``paths``: each curve finds paths,
    each per-binary graph is drawn once for each binary, each capacity graph once for each zone or aggregate
    (none where the service prints none), the rest once, every chart with all its curves, titles and functions
    without a macro left; returns the labels drawn."""
    templates = load_templates(GRAPHITE_TEMPLATE)
    assert set(templates) == set(GRAPHS)
    each = {"binary": set(binaries), "zone": set(zones), "aggregate": set(aggregates)}
    drawn: set[str] = set()
    for name, template in templates.items():
        macro, curves = GRAPHS[name]
        assert list(template.curves) == curves, name
        for curve in template.curves.values():
            assert bool(fetch_column(template.full_curve(curve), service, paths)) is bool(macro is None or each[macro])
        found = charts(template, service, paths)
        if macro:
            assert sorted(chart.variables()[macro] for chart in found) == sorted(each[macro]), name
        else:
            assert len(found) == 1, (name, found)
        for chart in found:
            assert list(chart.metrics) == curves, (name, chart.metrics)
            assert all(metric in paths for metric in chart.metrics.values())
            params = chart.url_params()
            assert "$" not in "".join(params.values()), params
            if macro:
                assert chart.variables()[macro] in params["title"]
            targets = chart.targets()
            assert [metric in target for metric, target in zip(chart.metrics.values(), targets)] == [True] * len(targets)
            assert all("$" not in target for target in targets), targets
            drawn |= {label_of(metric) for metric in chart.metrics.values()}
    # No value falls through to the module's default template (one plain graph per label).
    assert [label_of(path) for path in default_template_paths(templates.values(), service, paths)] == sorted(NOT_GRAPHED)
    return drawn


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def check_dashboard(
    service: MonitoredService,
    paths: set[str],
    binaries: set[str],
    zones: Iterable[str] = (),
    aggregates: Iterable[str] = (),
) -> dict[str, set[str]]:
    """Every target of the dashboard, its variables set as Grafana would for ``service``: each finds paths (a
    panel repeated over no zone or aggregate draws none). Returns panel title -> the names of the series it draws."""
    board = dashboard()
    variables = {v["name"]: v for v in board["templating"]["list"]}
    values = {"ds": ["graphite"]}
    assert writer_escape(service.host) in variable_values(variables["host"], values, paths)
    values["host"] = [writer_escape(service.host)]
    assert writer_escape(service.name) in variable_values(variables["service"], values, paths)
    values["service"] = [writer_escape(service.name)]
    assert sorted(variable_values(variables["binary"], values, paths)) == sorted(binaries)
    values["binary"] = sorted(binaries)  # All
    for name, labels in (("zone", zones), ("aggregate", aggregates)):
        assert sorted(variable_values(variables[name], values, paths)) == sorted(labels), name
        values[name] = sorted(labels)  # All
    drawn: dict[str, set[str]] = {}
    for panel in board["panels"]:
        repeats = [[value] for value in values[panel["repeat"]]] if panel.get("repeat") else [None]
        for repeat in repeats:
            chosen = {**values, panel["repeat"]: repeat} if repeat else values
            title = interpolate(panel["title"], chosen)
            for target in panel["targets"]:
                found = series(parse_target(interpolate(target["target"], chosen)), paths)
                assert found, (title, target["refId"])
                drawn.setdefault(title, set()).update(name for _, name in found)
                drawn.setdefault("<paths>", set()).update(path for path, _ in found)
    return drawn


def expected_series(binaries: set[str], zones: Iterable[str] = (), aggregates: Iterable[str] = ()) -> dict[str, set[str]]:
    out = {f"{b}: services down of all": {"down", "disabled", "late", "all", "critical"} for b in binaries}
    out |= {f"{name}: computes usable of all": {"usable", "unknown", "all"} for name in [*zones, *aggregates]}
    out["Oldest heartbeat per binary"] = set(binaries)
    out["Service versions per binary"] = {f"{b} min" for b in binaries} | {f"{b} max" for b in binaries}
    out["Cells unreachable of all"] = {"unreachable", "all"}
    out["Database clock skew"] = {"skew"}
    out["Computes too old, services excluded"] = {"too old", "excluded"}
    return out


def test_the_graphs_know_every_label_the_plugin_can_print():
    """KINDS is the plugin's: its table of each binary's items, and the check's own read from the Metric(...) calls of
    its resource, so a new item fails here until listed, and the tests of the graphs until graphed."""
    pools = {"<pool>_usable", "<pool>_total", "<pool>_unknown"}
    assert metric_kinds(RESOURCE) == KINDS | WITHOUT_PERFDATA | pools
    assert {kind.replace("<pool>", "az_<zone>") for kind in pools} == ZONE_KINDS
    assert {kind.replace("<pool>", "aggregate_<aggregate>") for kind in pools} == AGGREGATE_KINDS
    assert NOT_GRAPHED <= KINDS
    assert not (ZONE_KINDS | AGGREGATE_KINDS) & KINDS


def test_the_graphite_template_is_an_ini_the_module_loads():
    parser = read_ini(GRAPHITE_TEMPLATE)
    names = {SECTION.match(section).group(1) for section in parser.sections()}  # type: ignore[union-attr]
    assert names == set(GRAPHS)
    for name in names:
        assert [s.rpartition(".")[2] for s in parser.sections() if s.startswith(name + ".")] == [
            "graph",
            "metrics_filters",
            "urlparams",
            "functions",
        ]
        assert dict(parser[f"{name}.graph"]) == {"check_command": '"nova_services"'}
        assert list(parser[f"{name}.functions"]) == list(parser[f"{name}.metrics_filters"]) == GRAPHS[name][1]
        assert set(parser[f"{name}.urlparams"]) <= URL_PARAMS, name
        for key, value in [*parser[f"{name}.metrics_filters"].items(), *parser[f"{name}.functions"].items()]:
            assert unquote(value) and value.count('"') == 2, (name, key)
        for key, value in parser[f"{name}.urlparams"].items():
            assert unquote(value) and value.count('"') == 2, (name, key)
    for section in parser.sections():
        for key, value in parser[section].items():
            # The module reads 'a:b' in any part of a value as a macro with a wildcard, and PHP's INI parser
            # substitutes ${...} and unescapes backslashes in double quotes.
            assert ":" not in value and "${" not in value and "\\" not in value, (section, key)


def test_every_metric_filter_names_one_label_of_the_service_and_every_function_its_metric():
    templates = load_templates(GRAPHITE_TEMPLATE)
    filters = re.compile(
        r"\$service_name_template\$\.perfdata\.((?:[a-z]+_)?(?:\$(binary|zone|aggregate)\$)?[a-z_]+)\.(value|warn|crit|min|max)"
    )
    for template in templates.values():
        assert template.check_commands == ["nova_services"]
        macro = GRAPHS[template.name][0]
        for curve in template.curves.values():
            match = filters.fullmatch(curve.metrics_filter.original)
            assert match, curve.metrics_filter.original
            kind = re.sub(r"\$(\w+)\$", r"<\1>", match.group(1))
            assert kind in KINDS | ZONE_KINDS | AGGREGATE_KINDS, kind
            assert match.group(2) == macro
            assert curve.name.endswith("." + match.group(3))
            assert curve.function.macros() == ["metric"], curve.function.original
        if macro:
            assert f"${macro}$" in template.urlparams["title"].original


def test_each_curve_has_a_colour_of_its_own_and_no_title_a_plus():
    """Seen in a real Icinga Web 2 (issue 28): "Crit (down)" had the red of "Down", and graphite-web 1.1.8 decodes a
    title twice, so the clock skew title's + showed as a space. The dashboard's fixed colours differ too."""
    colour = re.compile(r"color\((?:\$metric\$|stacked\(\$metric\$\)), '(#[0-9a-f]{6})'\)")
    for name, template in load_templates(GRAPHITE_TEMPLATE).items():
        found = [colour.search(curve.function.original) for curve in template.curves.values()]
        colours = [match.group(1) for match in found if match]
        assert (len(colours), len(set(colours))) == (len(found), len(found)), (name, colours)
        texts = [value.original for value in template.urlparams.values()]
        assert [text for text in texts if "+" in text] == [], name
        assert all("+" not in curve.function.original for curve in template.curves.values()), name
    for panel in dashboard()["panels"]:
        overrides = panel["fieldConfig"]["overrides"]
        fixed = [p["value"]["fixedColor"] for o in overrides for p in o["properties"] if p["id"] == "color"]
        assert len(fixed) == len(set(fixed)), panel["title"]


def test_equal_minimum_and_highest_versions_both_show():
    """Where every service runs one version, minimum and highest are equal: the minimum is drawn first and wider,
    the highest over it, so its line runs inside the minimum's band instead of hiding it (issue 28)."""
    versions = load_templates(GRAPHITE_TEMPLATE)["nova_services-versions"]
    assert list(versions.curves) == ["version_min.value", "version_max.value"]  # drawn in this order
    default = int(versions.urlparams["lineWidth"].original)
    width = re.compile(r"lineWidth\(.*, (\d+)\)")
    widths = []
    for curve in versions.curves.values():
        match = width.search(curve.function.original)
        widths.append(int(match.group(1)) if match else default)
    assert widths[0] > widths[1] >= 1, widths
    panel = next(panel for panel in dashboard()["panels"] if panel["title"] == "Service versions per binary")
    assert [target["target"].endswith(" min')") for target in panel["targets"]] == [True, False]
    default = panel["fieldConfig"]["defaults"]["custom"]["lineWidth"]
    wide = {
        override["matcher"]["options"]: prop["value"]
        for override in panel["fieldConfig"]["overrides"]
        for prop in override["properties"]
        if prop["id"] == "custom.lineWidth"
    }
    assert wide == {"/ min$/": 6} and default < 6


@pytest.mark.parametrize(
    "binaries",
    [
        ["nova-compute", "nova-conductor", "nova-scheduler"],
        # a binary named 'cells' is labelled with a digest, and cells_total is not a binary's total
        ["nova-compute", CELLS_LABEL, label("nova.compute"), "nova_compute", "x_down"],
    ],
)
def test_the_graphite_template_draws_every_label_of_a_written_service(binaries):
    paths = synthetic_paths(binaries, zones=ZONES, aggregates=AGGREGATES)
    drawn = check_templates(SERVICE, paths, set(binaries), ZONES, AGGREGATES)
    assert drawn | NOT_GRAPHED == {label_of(path) for path in paths}


def test_a_service_without_the_api_database_gets_no_capacity_graph():
    """No zone is printed without the API database, no aggregate unless named: no capacity graph, and no curve of
    one takes a binary's or the check's own label."""
    paths = synthetic_paths(["nova-compute", "nova-conductor"])
    drawn = check_templates(SERVICE, paths, {"nova-compute", "nova-conductor"})
    assert drawn | NOT_GRAPHED == {label_of(path) for path in paths}
    dashboard_drawn = check_dashboard(SERVICE, paths, {"nova-compute", "nova-conductor"})
    assert dashboard_drawn.pop("<paths>") == {path for path in paths if path.endswith(".value") or path.endswith("_down.crit")}
    assert dashboard_drawn == expected_series({"nova-compute", "nova-conductor"})


def test_the_capacity_graphs_stack_the_unknown_computes_on_the_usable_ones():
    """A zone with computes in a cell that could not be read: usable, then unknown stacked on it (the most the zone
    may have), and all as a line; the module's chart and the dashboard's panel draw exactly these series."""
    paths = synthetic_paths(["nova-compute"], zones=["az2"], aggregates=["gpu"])
    for name, macro, value in (
        ("nova_services-zone-capacity", "zone", "az2"),
        ("nova_services-aggregate-capacity", "aggregate", "gpu"),
    ):
        (chart,) = charts(load_templates(GRAPHITE_TEMPLATE)[name], SERVICE, paths)
        assert chart.variables()[macro] == value
        prefix = "az" if macro == "zone" else "aggregate"
        assert chart.targets() == [
            f"alias(color(stacked({chart.metrics['usable.value']}), '#44bb77'), 'Usable')",
            f"alias(color(stacked({chart.metrics['unknown.value']}), '#ff8d00'), 'Unknown (cell not read)')",
            f"alias(color({chart.metrics['total.value']}, '#cfd7e6'), 'All')",
        ]
        assert [label_of(metric) for metric in chart.metrics.values()] == [
            f"{prefix}_{value}_usable",
            f"{prefix}_{value}_unknown",
            f"{prefix}_{value}_total",
        ]
        assert chart.url_params()["title"] == f"{macro.capitalize()} {value} computes usable of all"
    for title in ("${zone}: computes usable of all", "${aggregate}: computes usable of all"):
        panel = next(panel for panel in dashboard()["panels"] if panel["title"] == title)
        stacking = {
            override["matcher"]["options"]: prop["value"]
            for override in panel["fieldConfig"]["overrides"]
            for prop in override["properties"]
            if prop["id"] == "custom.stacking"
        }
        assert stacking == {
            "usable": {"mode": "normal", "group": "capacity"},
            "unknown": {"mode": "normal", "group": "capacity"},
        }
        assert [target["target"].rsplit(", ", 1)[1] for target in panel["targets"]] == ["'usable')", "'unknown')", "'all')"]


def test_a_service_checked_through_nrpe_finds_its_graphs_under_nrpe():
    """The module takes the template from vars.check_command and the path from the real command (nrpe)."""
    nrpe = MonitoredService("ctl1.example.org", "nova services", "nrpe")
    paths = synthetic_paths(["nova-compute"], nrpe)
    assert next(iter(paths)).startswith("icinga2.ctl1_example_org.services.nova_services.nrpe.perfdata.")
    check_templates(nrpe, paths, {"nova-compute"})
    check_dashboard(nrpe, paths, {"nova-compute"})
    capacity = synthetic_paths(["nova-compute"], nrpe, zones=["az2"], aggregates=["gpu"])
    check_templates(nrpe, capacity, {"nova-compute"}, ["az2"], ["gpu"])
    check_dashboard(nrpe, capacity, {"nova-compute"}, ["az2"], ["gpu"])


def test_the_port_of_the_module_reads_templates_as_the_module_does():
    """The behaviours of MacroTemplate.php and Graphite's globs that the checks above rely on."""
    template = MacroTemplate("$service_name_template$.perfdata.$binary$_down.value")
    assert template.macros() == ["service_name_template", "binary"]
    full = MacroTemplate(template.resolve({"service_name_template": "icinga2.$host.name$.services.$service.name$", "": "$$"}))
    assert full.resolve({"host.name": "ctl1", "service.name": "s"}, "*") == "icinga2.ctl1.services.s.perfdata.*_down.value"
    assert full.reverse_resolve("icinga2.ctl1.services.s.perfdata.nova_down_down.value") == {
        "host.name": "ctl1",
        "service.name": "s",
        "binary": "nova_down",  # greedy, as PCRE's (.*)
    }
    assert full.reverse_resolve("icinga2.ctl1.services.s.perfdata.nova_total.value") is None
    assert MacroTemplate("$x:{a,b}$_down").resolve({}, "*") == "{a,b}_down"
    assert MacroTemplate("alias($metric$, 'Used: bytes')").parts == ["alias(", "metric", ", 'Used"]  # a colon mangles
    with pytest.raises(ValueError, match="odd number"):
        MacroTemplate("$metric")
    assert escape_metric_step("ctl1.example.org nova") == "ctl1_example_org_nova"
    paths = ["a.b", "a.b.c", "a.x_d", "a.y_d", "a.z_d"]
    assert expand("a.*", paths) == ["a.b", "a.x_d", "a.y_d", "a.z_d"]
    assert expand("a.{x,y}_d", paths) == ["a.x_d", "a.y_d"]
    assert expand("a.[xz]_?", paths) == ["a.x_d", "a.z_d"]
    assert find("a.*", paths) == ["b", "x_d", "y_d", "z_d"]


def test_the_first_curve_of_a_per_binary_graph_decides_its_binaries():
    """Why _down comes first: led by _total, the module would draw a graph for a binary 'cells' (cells_total)."""
    template = load_templates(GRAPHITE_TEMPLATE)["nova_services-services"]
    paths = synthetic_paths(["nova-compute"])
    assert [chart.variables()["binary"] for chart in charts(template, SERVICE, paths)] == ["nova-compute"]
    template.curves = {"total.value": template.curves["total.value"], **template.curves}
    assert sorted(chart.variables()["binary"] for chart in charts(template, SERVICE, paths)) == ["cells", "nova-compute"]


def test_a_metric_filter_that_names_no_written_label_is_caught(tmp_path, monkeypatch):
    broken = tmp_path / "nova_services.ini"
    broken.write_text(GRAPHITE_TEMPLATE.read_text().replace("$binary$_max_age.value", "$binary$_max_age_.value"))
    monkeypatch.setattr(sys.modules[__name__], "GRAPHITE_TEMPLATE", broken)
    with pytest.raises(AssertionError, match="nova_services-heartbeat"):
        check_templates(SERVICE, synthetic_paths(["nova-compute"]), {"nova-compute"})


def test_the_dashboard_is_grafana_json_of_graphite_targets():
    board = dashboard()
    assert board["uid"] and board["title"] and isinstance(board["schemaVersion"], int)
    variables = board["templating"]["list"]
    assert [v["name"] for v in variables] == ["ds", "host", "service", "binary", "zone", "aggregate"]
    assert variables[0]["type"] == "datasource" and variables[0]["query"] == "graphite"
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids)) and all(isinstance(i, int) for i in ids)
    defined = {v["name"] for v in variables}
    for panel in board["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24 and grid["w"] > 0 and grid["h"] > 0, panel["title"]
        assert panel["datasource"] == {"type": "graphite", "uid": "${ds}"}
        assert panel.get("repeat") in (None, "binary", "zone", "aggregate")
        refs = [target["refId"] for target in panel["targets"]]
        assert len(refs) == len(set(refs)), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == panel["datasource"]
            assert variables_used(target["target"]) <= defined, target["target"]
            tree = parse_target(target["target"])
            assert functions_of(tree) <= {"alias", "aliasSub"}
            assert [p.startswith("icinga2.${host}.services.${service}.*.perfdata.") for p in path_patterns(tree)] == [True]
    for variable in variables[1:]:
        assert variable["datasource"] == {"type": "graphite", "uid": "${ds}"}
        assert variables_used(variable["query"]) <= defined - {variable["name"]}
    # Panels do not overlap.
    cells = [
        (x, y)
        for panel in board["panels"]
        for x in range(panel["gridPos"]["x"], panel["gridPos"]["x"] + panel["gridPos"]["w"])
        for y in range(panel["gridPos"]["y"], panel["gridPos"]["y"] + panel["gridPos"]["h"])
    ]
    assert len(cells) == len(set(cells))


@pytest.mark.parametrize(
    "binaries",
    [["nova-compute", "nova-conductor", "nova-scheduler"], ["nova-compute", CELLS_LABEL, label("nova.compute"), "x_down"]],
)
def test_the_dashboard_draws_every_label_of_a_written_service(binaries):
    paths = synthetic_paths(binaries, zones=ZONES, aggregates=AGGREGATES)
    drawn = check_dashboard(SERVICE, paths, set(binaries), ZONES, AGGREGATES)
    assert {label_of(path) for path in drawn.pop("<paths>")} | NOT_GRAPHED == {
        label_of(path) for path in paths if path.endswith(".value")
    }
    assert drawn == expected_series(set(binaries), ZONES, AGGREGATES)


@pytest.mark.slow
def test_the_graphite_template_draws_every_graph_from_what_icinga_wrote(icinga_run):
    paths = set(metrics_of(icinga_run.default_lines, "icinga2"))
    printed = icinga_run.printed["graphs"]
    # The graphs' run prints every kind of item the plugin has.
    binaries = binaries_of(printed)
    assert binaries == {"nova-compute", "nova-conductor", "nova-scheduler"}
    assert {kind_of(name, binaries) for name in printed} == KINDS
    drawn = check_templates(MonitoredService("ctl1", "graphs", "nova_services"), paths, binaries)
    assert drawn | NOT_GRAPHED == set(printed)
    # Hostile names: one graph per binary label, none for 'cells' (whose total is cells_total).
    hostile = icinga_run.printed["hostile"]
    found = charts(
        load_templates(GRAPHITE_TEMPLATE)["nova_services-services"], MonitoredService("ctl1", "hostile", "nova_services"), paths
    )
    assert sorted(chart.variables()["binary"] for chart in found) == sorted(binaries_of(hostile))
    assert {CELLS_LABEL, label("nova.compute")} <= binaries_of(hostile) and "cells" not in binaries_of(hostile)
    # With the capacity items: a graph per zone and per aggregate besides, every label drawn.
    capacity = icinga_run.printed["capacity"]
    service = MonitoredService("ctl1", "capacity", CAPACITY_COMMAND)
    drawn = check_templates(service, paths, binaries, CAPACITY_ZONES, CAPACITY_AGGREGATES)
    assert drawn | NOT_GRAPHED == set(capacity)


@pytest.mark.slow
def test_the_dashboard_draws_every_graph_from_what_icinga_wrote(icinga_run):
    paths = set(metrics_of(icinga_run.default_lines, "icinga2"))
    printed = icinga_run.printed["graphs"]
    binaries = binaries_of(printed)
    drawn = check_dashboard(MonitoredService("ctl1", "graphs", "nova_services"), paths, binaries)
    assert {label_of(path) for path in drawn.pop("<paths>")} | NOT_GRAPHED == set(printed)
    assert drawn == expected_series(binaries)
    # Hostile names: the binary variable offers every binary label, none for 'cells'; All draws each binary's max_age.
    hostile = icinga_run.printed["hostile"]
    variables = {v["name"]: v for v in dashboard()["templating"]["list"]}
    chosen = {"host": ["ctl1"], "service": ["hostile"]}
    assert sorted(variable_values(variables["binary"], chosen, paths)) == sorted(binaries_of(hostile))
    heartbeat = next(panel for panel in dashboard()["panels"] if panel["title"] == "Oldest heartbeat per binary")
    drawn_hostile = series(
        parse_target(interpolate(heartbeat["targets"][0]["target"], {**chosen, "binary": sorted(binaries_of(hostile))})), paths
    )
    assert sorted(name for _, name in drawn_hostile) == sorted(
        name[: -len("_max_age")] for name in hostile if name.endswith("_max_age")
    )
    # With the capacity items: the zone and aggregate variables offer each, a panel each.
    capacity = icinga_run.printed["capacity"]
    service = MonitoredService("ctl1", "capacity", CAPACITY_COMMAND)
    drawn = check_dashboard(service, paths, binaries, CAPACITY_ZONES, CAPACITY_AGGREGATES)
    assert {label_of(path) for path in drawn.pop("<paths>")} | NOT_GRAPHED == set(capacity)
    assert drawn == expected_series(binaries, CAPACITY_ZONES, CAPACITY_AGGREGATES)

"""Perfdata that Icinga 2's metric writers keep: stable labels of one name each, proven through a real GraphiteWriter.

The fast tests pin the label rule (text.label and resource._labels). The slow one runs the real
``icinga2`` daemon with a GraphiteWriter pointed at a Graphite plaintext listener of its own on
127.0.0.1, and checks that every item the plugin prints arrives with its value, warn, crit, min
and max (where they are numbers), on a path of its own, and that Icinga logs no invalid perfdata.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import socketserver
import threading

import pytest

from check_nova_services.demo.writer import demo_rows, service, write_cell
from check_nova_services.plugin.resource import _labels
from check_nova_services.shared.text import LABEL_LIMIT, label
from tests.conftest import CLOCK, NOW, run_check
from tests.harness.daemons import ICINGA2, ICINGA_DIR, Icinga2, include_lines, need, wait_for, write_plugin
from tests.harness.faults import parse_plugin_output

ONE_NAME = re.compile(r"[A-Za-z0-9_-]+")
METRIC_SUFFIXES = ("_down", "_late", "_max_age", "_total", "_disabled")


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


def thresholds_of(warning: list[str], critical: list[str]) -> list[tuple[str, list[str]]]:
    return [(level, ranges) for level, ranges in (("warning", warning), ("critical", critical)) if ranges]


def icinga_array(items: list[str]) -> str:
    return "[ " + ", ".join(f'"{item}"' for item in items) + " ]"


@pytest.mark.slow
def test_every_item_arrives_in_graphite_with_its_thresholds(tmp_path):
    need(ICINGA2)
    scenarios = {
        # the demo cloud, with a per-binary range of each kind Icinga's writers cannot send
        "demo": (demo_rows(NOW), ["nova-compute=@1"], ["nova-compute=2:10"]),
        "unwatched": (UNWATCHED_ROWS, [], []),
        "hostile": (HOSTILE_ROWS, [], []),
        "hostile-fewer": (FEWER_ROWS, [], []),
    }
    printed: dict[str, dict[str, str]] = {}
    services = []
    for name, (rows, warning, critical) in scenarios.items():
        url = f"sqlite:///{tmp_path / name}.sqlite"
        write_cell(url, rows)
        thresholds = [f"--warning={w}" for w in warning] + [f"--critical={c}" for c in critical]
        run = run_check("--db-url", url, CLOCK, *thresholds)
        printed[name] = parse_plugin_output(run.stdout, run.code).perfdata
        assert run.stderr == ""
        variables = [f'vars.nova_services_db_url = "{url}"']
        variables += [
            f"vars.nova_services_{level} = {icinga_array(ranges)}" for level, ranges in thresholds_of(warning, critical)
        ]
        services.append(f'object Service "{name}" {{\n\timport "nova"\n' + "".join(f"\t{v}\n" for v in variables) + "}\n")
    # The scenarios are what they claim to be.
    assert "nova-consoleauth_total" in printed["unwatched"] and "nova-consoleauth_max_age" not in printed["unwatched"]
    assert printed["demo"]["nova-compute_down"] == "4;@1;2:10;0;36"
    hostile_binaries = {row["binary"] for row in HOSTILE_ROWS}
    assert len([name for name in printed["hostile"] if name.endswith("_total")]) == len(hostile_binaries) + 1  # cells_total

    icinga = Icinga2(tmp_path / "icinga2")
    graphite = GraphiteListener()
    write_plugin(icinga.plugin_dir)
    control = icinga.plugin_dir / "control"
    control.write_text(CONTROL_PLUGIN)
    control.chmod(0o755)
    prefixes = {name: f"icinga2.ctl1.services.{name}.perfdata" for name in [*scenarios, "control"]}
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
"""
            + "".join(services)
        )

        def three_checks_each():
            lines = graphite.lines
            counts = {
                name: sum(line.startswith(f"{prefix}.cells_total.value ") for line in lines)
                for name, prefix in prefixes.items()
                if name != "control"
            }
            counts["control"] = sum(line.startswith(f"{prefixes['control']}.ranged.value ") for line in lines)
            return all(count >= 3 for count in counts.values())

        wait_for("three checks of every service in Graphite", three_checks_each, 120)
        # Icinga ran the same check: what it parsed is what the plugin printed here.
        for name in scenarios:
            performance_data = icinga.service("ctl1", name)["last_check_result"]["performance_data"]
            assert dict(item.split("=", 1) for item in performance_data) == printed[name], name
    except BaseException:
        print(icinga.log_tail(80))
        raise
    finally:
        icinga.stop()
        graphite.stop()

    lines = graphite.lines
    for name in scenarios:
        received = metrics_of(lines, prefixes[name])
        # One value per path over all the checks (the clock is fixed): no two items on one path...
        assert {path: len(values) for path, values in received.items() if len(values) != 1} == {}, name
        # ...every item of the plugin arrives, with exactly its numbers, and nothing else does.
        got = {path: float(values.pop()) for path, values in received.items()}
        assert got == expected_metrics(prefixes[name], printed[name]), name
        # Each label is one path level.
        for path in got:
            label_part, _, field = path[len(prefixes[name]) + 1 :].rpartition(".")
            assert ONE_NAME.fullmatch(label_part) and field in ("value", "warn", "crit", "min", "max"), path

    # Ranges such as 2:10 and @1 reach no writer; the check itself used them (the state above).
    demo = metrics_of(lines, prefixes["demo"])
    assert f"{prefixes['demo']}.nova-compute_down.value" in demo
    assert f"{prefixes['demo']}.nova-compute_down.warn" not in demo and f"{prefixes['demo']}.nova-compute_down.crit" not in demo
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
    log = icinga.log.read_text(errors="replace").splitlines()
    invalid = [line for line in log if "invalid perfdata" in line.lower()]
    assert invalid and all("'ctl1!control'" in line and "broken=U;1;2" in line for line in invalid), invalid

"""icinga/ against the real Icinga 2: the shipped config validates, matches --help, and pages when Nova breaks."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy.engine import make_url

from check_nova_services.demo.writer import service, write_deployment
from tests.conftest import NOW, clean_env, run_check
from tests.harness.daemons import (
    ICINGA2,
    ICINGA_DIR,
    Icinga2,
    help_options,
    include_lines,
    need,
    shipped_conf_files,
    wait_for,
    write_plugin,
)
from tests.harness.faults import parse_plugin_output

pytestmark = pytest.mark.slow


@pytest.fixture
def icinga(tmp_path):
    need(ICINGA2)
    daemon = Icinga2(tmp_path / "icinga2")
    yield daemon
    daemon.stop()


def validate_shipped(icinga: Icinga2):
    """Every .conf under icinga/ in one configuration, as on a master: zones.d files go to zones.d/."""
    plain, zoned = shipped_conf_files()
    icinga.install_zones_d(zoned)
    return icinga.validate(include_lines(plain))


# --------------------------------------------------------------------------- icinga2 daemon -C


def test_shipped_configuration_validates(icinga):
    run = validate_shipped(icinga)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Finished validating the configuration file(s)." in run.stdout

    command = icinga.find("CheckCommand", "nova_services")
    assert command["command"] == [f"{icinga.plugin_dir}/check_nova_services"]
    assert command["timeout"] == 30
    assert command["vars"] == {
        "nova_services_timeout": 10,
        "nova_services_verbose": 1,
        "nova_services_count_disabled": False,
        "nova_services_url_in_argv": False,
    }
    assert command["env"] == {
        "NOVA_SERVICES_DB_URL": "$nova_services_db_url$",
        "NOVA_SERVICES_API_DB_URL": "$nova_services_api_db_url$",
        "NOVA_SERVICES_DB_PASSWORD": "$nova_services_db_password$",
    }
    assert command["timeout"] > command["vars"]["nova_services_timeout"]
    page = icinga.find("NotificationCommand", "nova_services-page")
    assert page["command"] == [f"{icinga.dirs['etc']}/scripts/nova-services-page.sh"]

    # The examples: one service per way of running it, each paged and mailed.
    local = icinga.find("Service", "ctl1.regionone.example.org!nova-services")
    assert (local["check_command"], local["command_endpoint"], local["max_check_attempts"]) == ("nova_services", "", 3)
    agent = icinga.find("Service", "ctl1.regiontwo.example.org!nova-services")
    assert (agent["check_command"], agent["command_endpoint"], agent["zone"]) == (
        "nova_services",
        "ctl1.regiontwo.example.org",
        "master",
    )
    # The agent itself, checked on the master: its zone's connection; the nova check depends on it (issue 32).
    lost = icinga.find("Service", "ctl1.regiontwo.example.org!nova-services-agent")
    assert (lost["check_command"], lost["command_endpoint"], lost["zone"]) == ("cluster-zone", "", "master")
    assert lost["vars"] == {"cluster_zone": "ctl1.regiontwo.example.org"}
    dependency = icinga.find("Dependency", "ctl1.regiontwo.example.org!nova-services!nova-services-agent")
    assert (dependency["parent_host_name"], dependency["parent_service_name"], dependency["states"]) == (
        "ctl1.regiontwo.example.org",
        "nova-services-agent",
        ["OK"],
    )
    assert (dependency["disable_checks"], dependency["disable_notifications"]) == (False, True)
    assert [obj["properties"]["__name"] for obj in icinga.objects() if obj["type"] == "Dependency"] == [
        "ctl1.regiontwo.example.org!nova-services!nova-services-agent"
    ]
    nrpe = icinga.find("Service", "ctl1.regionthree.example.org!nova-services")
    assert nrpe["check_command"] == "nrpe"
    assert (nrpe["vars"]["nrpe_command"], nrpe["vars"]["nrpe_timeout"]) == ("check_nova_services", "20:UNKNOWN")
    for host in ("ctl1.regionone.example.org", "ctl1.regiontwo.example.org", "ctl1.regionthree.example.org"):
        paging = icinga.find("Notification", f"{host}!nova-services!page")
        assert (paging["command"], paging["users"], paging["interval"]) == ("nova_services-page", ["nova-oncall"], 900)
        mail = icinga.find("Notification", f"{host}!nova-services!mail")
        assert (mail["users"], mail["times"], mail["interval"]) == (["nova-team"], {"begin": 900}, 0)
        # Every state reaches the page script, which pages what concerns an open CRITICAL page (above); WARNING and
        # UNKNOWN mail the team if they last.
        assert (paging["states"], paging["types"]) == (
            ["OK", "Warning", "Critical", "Unknown"],
            ["Problem", "Recovery", "Acknowledgement", "Custom"],
        )
        assert paging["vars"] == {"nova_services_page_open_dir": "/var/lib/icinga2/nova-services-pages"}
        assert (mail["states"], mail["types"]) == (["OK", "Warning", "Unknown"], ["Problem", "Recovery"])
    # A lost agent pages and mails through the same rules.
    lost_paging = icinga.find("Notification", "ctl1.regiontwo.example.org!nova-services-agent!page")
    assert (lost_paging["users"], lost_paging["states"]) == (["nova-oncall"], ["OK", "Warning", "Critical", "Unknown"])
    assert icinga.find("Notification", "ctl1.regiontwo.example.org!nova-services-agent!mail")["users"] == ["nova-team"]


#: Notifications of one incident as Icinga hands them to the page script: (host, type, state, the state and type of
#: the check before) -> the subject paged with -o (None: the script drops it), and whether ctl1's page is open after.
OPEN_PAGE_STORY = [
    ("ctl1", "PROBLEM", "WARNING", "WARNING", "SOFT", None, False),  # a WARNING from OK: nobody is paged
    ("ctl1", "PROBLEM", "WARNING", "WARNING", "HARD", None, False),  # its reminder
    ("ctl1", "ACKNOWLEDGEMENT", "WARNING", "WARNING", "HARD", None, False),  # acknowledged by the team, not paged
    ("ctl1", "PROBLEM", "CRITICAL", "WARNING", "HARD", "[PROBLEM] nova-services on ctl1 is CRITICAL (was WARNING)", True),
    ("ctl2", "PROBLEM", "WARNING", "CRITICAL", "SOFT", None, True),  # another service: no page of its own is open
    ("ctl1", "PROBLEM", "CRITICAL", "CRITICAL", "HARD", "[PROBLEM] nova-services on ctl1 is CRITICAL", True),  # reminder
    ("ctl1", "PROBLEM", "WARNING", "CRITICAL", "HARD", "[PROBLEM] nova-services on ctl1 is WARNING (was CRITICAL)", True),
    ("ctl1", "PROBLEM", "WARNING", "WARNING", "HARD", None, True),  # the eased page's reminder
    ("ctl1", "PROBLEM", "UNKNOWN", "WARNING", "HARD", "[PROBLEM] nova-services on ctl1 is UNKNOWN (was WARNING)", True),
    ("ctl1", "ACKNOWLEDGEMENT", "UNKNOWN", "UNKNOWN", "HARD", "[ACKNOWLEDGEMENT] nova-services on ctl1 is UNKNOWN", True),
    ("ctl1", "RECOVERY", "OK", "UNKNOWN", "HARD", "[RECOVERY] nova-services on ctl1 is OK", False),  # closes the page
    ("ctl1", "PROBLEM", "WARNING", "WARNING", "SOFT", None, False),  # a new WARNING from OK
    ("ctl1", "RECOVERY", "OK", "WARNING", "HARD", None, False),  # its recovery: the on-call never heard of it
    ("ctl1", "CUSTOM", "OK", "OK", "HARD", "[CUSTOM] nova-services on ctl1 is OK", False),
]


def page_script(pages, *options: str, host: str, type_: str, state: str, last: str, last_type: str):
    env = {
        "PATH": "/usr/bin:/bin",
        "NOTIFICATION_TYPE": type_,
        "HOST_NAME": host,
        "SERVICE_NAME": "nova-services",
        "SERVICE_STATE": state,
        "LAST_STATE": last,
        "LAST_STATE_TYPE": last_type,
        "SERVICE_OUTPUT": f"NOVA_SERVICES {state} - the plugin's words\n",
        "DATE_TIME": "2026-12-04 05:00:00 +0000",
    }
    command = ["sh", str(ICINGA_DIR / "nova-services-page.sh"), "-f", str(pages), *options]
    return subprocess.run(command, env=env, capture_output=True, text=True)


def test_the_page_script_with_an_open_pages_directory_pages_what_concerns_a_paged_critical(tmp_path):
    pages, open_dir = tmp_path / "pages.log", tmp_path / "open"
    expected = ""
    for host, type_, state, last, last_type, subject, open_after in OPEN_PAGE_STORY:
        run = page_script(pages, "-o", str(open_dir), host=host, type_=type_, state=state, last=last, last_type=last_type)
        assert (run.returncode, run.stdout, run.stderr) == (0, "", ""), (host, type_, state)
        if subject is not None:
            expected += f"2026-12-04 05:00:00 +0000 {subject}\nNOVA_SERVICES {state} - the plugin's words\n\n"
        assert (pages.read_text() if pages.exists() else "") == expected, (host, type_, state, last)
        opened = sorted(path.name for path in open_dir.iterdir()) if open_dir.exists() else []
        assert opened == (["ctl1!nova-services"] if open_after else []), (host, type_, state, last)


def test_a_critical_whose_page_cannot_be_marked_open_is_paged_and_the_failure_logged(tmp_path):
    pages, not_a_directory = tmp_path / "pages.log", tmp_path / "file"
    not_a_directory.write_text("")
    run = page_script(
        pages, "-o", str(not_a_directory), host="ctl1", type_="PROBLEM", state="CRITICAL", last="OK", last_type="HARD"
    )
    assert (run.returncode, run.stdout) == (2, "")
    assert run.stderr == (
        f"nova-services-page: cannot mark the page open in {not_a_directory}: its easing and recovery will not be paged\n"
    )
    assert pages.read_text() == (
        "2026-12-04 05:00:00 +0000 [PROBLEM] nova-services on ctl1 is CRITICAL\nNOVA_SERVICES CRITICAL - the plugin's words\n\n"
    )


def test_the_page_script_without_an_open_pages_directory_pages_everything_it_is_given(tmp_path):
    pages = tmp_path / "pages.log"
    for _, type_, state, last, last_type, _, _ in OPEN_PAGE_STORY:
        run = page_script(pages, host="ctl1", type_=type_, state=state, last=last, last_type=last_type)
        assert (run.returncode, run.stderr) == (0, "")
    assert pages.read_text().count("\n\n") == len(OPEN_PAGE_STORY)


@pytest.mark.parametrize(
    ("old", "new", "error"),
    [
        ('"--timeout" = {', '"--timeout" = {{', "syntax error"),
        ("PluginContribDir +", "PluginDirectory +", "Tried to access undefined script variable 'PluginDirectory'"),
        ("repeat_key = true", "repeat_key = tru", "Tried to access undefined script variable 'tru'"),
    ],
)
def test_broken_copy_fails_validation(icinga, tmp_path, old, new, error):
    """The validation test can fail: the same configuration with one defect is refused."""
    broken = tmp_path / "nova_services.conf"
    text = (ICINGA_DIR / "nova_services.conf").read_text()
    assert old in text
    broken.write_text(text.replace(old, new, 1))
    plain, zoned = shipped_conf_files()
    icinga.install_zones_d(zoned)
    run = icinga.validate(include_lines([broken if p.name == broken.name and p.parent == ICINGA_DIR else p for p in plain]))
    assert run.returncode == 1
    assert error in run.stdout
    assert "Config validation failed." in run.stdout


def test_the_exclude_example_of_the_checkcommand_validates_when_copied_into_a_config(icinga):
    """The --exclude description shows how an anchored expression is written in a config ($$: Icinga reads a lone $
    as a macro and refuses the file); copied from the validated CheckCommand into a Service, it validates, and the
    --help form (one $) is refused as the admin who copied it saw."""
    run = validate_shipped(icinga)
    assert run.returncode == 0, run.stdout
    description = icinga.find("CheckCommand", "nova_services")["arguments"]["--exclude"]["description"]
    example = re.search(r"vars\.nova_services_exclude = \[ .* \]$", description)
    assert example, description
    assert example.group() == 'vars.nova_services_exclude = [ "@cmp-old-[0-9]+$$" ]'

    def service_with(line: str) -> subprocess.CompletedProcess:
        plain, zoned = shipped_conf_files()
        icinga.install_zones_d(zoned)
        service = (
            'object Service "nova-services-copied" {\n  host_name = "ctl1.regionone.example.org"\n'
            f'  check_command = "nova_services"\n  {line}\n}}\n'
        )
        return icinga.validate(include_lines(plain) + service)

    copied = service_with(example.group())
    assert copied.returncode == 0, copied.stdout
    assert icinga.find("Service", "ctl1.regionone.example.org!nova-services-copied")["vars"] == {
        "nova_services_exclude": ["@cmp-old-[0-9]+$$"]
    }
    from_help = service_with(example.group().replace("$$", "$"))
    assert from_help.returncode == 1
    assert "Closing $ not found in macro format string '@cmp-old-[0-9]+$'." in from_help.stdout


# --------------------------------------------------------------------------- no drift from --help


def checkcommand_arguments(icinga: Icinga2) -> dict[str, dict]:
    run = validate_shipped(icinga)
    assert run.returncode == 0, run.stdout
    return icinga.find("CheckCommand", "nova_services")["arguments"]


def option_of(key: str, options: dict[str, dict]) -> str | None:
    """The --help option an argument key stands for: its long name; -vv and -vvv are -v repeated."""
    if re.fullmatch(r"-(\w)\1+", key):
        key = key[:2]
    return next((name for name, option in options.items() if key in option["aliases"]), None)


def test_every_argument_is_a_plugin_option(icinga):
    options = help_options()
    arguments = checkcommand_arguments(icinga)
    assert [key for key in arguments if option_of(key, options) is None] == []
    # Long names where there are long names (Icinga's convention); -v, -vv, -vvv count verbosity.
    assert sorted(k for k in arguments if not k.startswith("--")) == ["-v", "-vv", "-vvv"]


def test_every_plugin_option_is_an_argument(icinga):
    options = help_options()
    arguments = checkcommand_arguments(icinga)
    covered = {option_of(key, options) for key in arguments}
    # The service list and the Prometheus metrics are not the check's output.
    not_check_arguments = {"--help", "--version", "--list", "--format", "--textfile"}
    assert set(options) - covered - not_check_arguments == set()
    assert not_check_arguments <= set(options)


def test_arguments_follow_the_options(icinga):
    """Descriptions copied from --help, variables named after the option, flags set_if, repeatables repeat."""
    options = help_options()
    repeatable = repeatable_options()
    assert repeatable >= {"--host", "--binary", "--cell", "--zone", "--warning", "--critical", "--config-file"}
    assert repeatable >= {"--zone-warning", "--zone-critical", "--aggregate-warning", "--aggregate-critical"}
    for key, argument in checkcommand_arguments(icinga).items():
        name = option_of(key, options)
        assert name, f"{key} is not an option of check_nova_services --help"
        option = options[name]
        assert argument["description"].startswith(option["help"]), key
        var = "$nova_services_" + name.lstrip("-").replace("-", "_") + "$"
        if option["flag"] and name == "--verbose":
            # A lambda on $nova_services_verbose$ (0-3); the end-to-end test sees -v, -vv and none.
            assert "value" not in argument and argument["set_if"]["type"] == "Function", key
        elif option["flag"]:
            assert (argument.get("value"), argument["set_if"]) == (None, var), key
        else:
            assert argument["value"] == var, key
        assert argument.get("repeat_key", False) is (name in repeatable), key


def repeatable_options() -> set[str]:
    """Options argparse collects into a list (action="append"): the ones Icinga must repeat."""
    import argparse

    from check_nova_services.cli.options import build_parser

    return {
        max(action.option_strings, key=len) for action in build_parser()._actions if isinstance(action, argparse._AppendAction)
    }


def test_urls_and_password_go_to_the_environment(icinga):
    arguments = checkcommand_arguments(icinga)
    env = icinga.find("CheckCommand", "nova_services")["env"]
    for key, var in (("--db-url", "db_url"), ("--api-db-url", "api_db_url")):
        # On argv only on request (for URLs without a password); always in the environment.
        assert arguments[key]["set_if"] == "$nova_services_url_in_argv$"
        assert f"$nova_services_{var}$" in env.values()
    assert not any("password" in str(argument.get("value")) for argument in arguments.values())


# --------------------------------------------------------------------------- end to end


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Heartbeats(threading.Thread):
    """Nova's report_state for every service we keep alive: last_seen_up = now, twice a second."""

    def __init__(self, mariadb, database: str, alive: set[tuple[str, str]]):
        super().__init__(daemon=True)
        self.mariadb, self.database, self.alive = mariadb, database, set(alive)
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self.mariadb.connect(self.database) as conn:
                while not self.done.wait(0.5):
                    with self.lock, conn.cursor() as cursor:
                        now = utcnow()
                        for host, binary in sorted(self.alive):
                            cursor.execute(
                                "UPDATE services SET last_seen_up=%s, updated_at=%s, report_count=report_count+1 "
                                "WHERE host=%s AND `binary`=%s AND deleted=0",
                                (now, now, host, binary),
                            )
        except BaseException as exc:  # noqa: BLE001 - reported by stop()
            self.error = exc

    def die(self, host: str, binary: str, since: dt.datetime) -> None:
        """The service stops reporting: its last heartbeat was at ``since``."""
        with self.lock, self.mariadb.connect(self.database) as conn, conn.cursor() as cursor:
            self.alive.discard((host, binary))
            cursor.execute(
                "UPDATE services SET last_seen_up=%s, updated_at=%s WHERE host=%s AND `binary`=%s",
                (since, since, host, binary),
            )

    def revive(self, host: str, binary: str) -> None:
        with self.lock:
            self.alive.add((host, binary))

    def stop(self) -> None:
        self.done.set()
        self.join(10)
        if self.error:
            raise self.error


def perfdata(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        label, _, value = item.rpartition("=")
        out[label.strip("'")] = value
    return out


def without_max_age(perf: dict[str, str]) -> dict[str, str]:
    """Perfdata with the heartbeat ages (real time, they move) checked for shape and taken out."""
    for label in [k for k in perf if k.endswith("_max_age")]:
        value = perf.pop(label)
        match = re.fullmatch(r"([0-9.]+)s;;;0", value)
        assert match and 0 <= float(match.group(1)) < 10, (label, value)
    return perf


PERF_OK = {
    "nova-compute_disabled": "0;;;0;3",
    "nova-compute_down": "0;0;1.5;0;3",
    "nova-compute_late": "0;0;;0;3",
    "nova-compute_total": "3;;;0",
    "nova-compute_version_max": "74",
    "nova-compute_version_min": "74",
    "nova-conductor_disabled": "0;;;0;2",
    "nova-conductor_down": "0;0;0;0;2",
    "nova-conductor_late": "0;0;;0;2",
    "nova-conductor_total": "2;;;0",
    "nova-conductor_version_max": "74",
    "nova-conductor_version_min": "74",
    "nova-scheduler_disabled": "0;;;0;2",
    "nova-scheduler_down": "0;0;0;0;2",
    "nova-scheduler_late": "0;0;;0;2",
    "nova-scheduler_total": "2;;;0",
    "nova-scheduler_version_max": "74",
    "nova-scheduler_version_min": "74",
    "cells_total": "1;;;0",
    "cells_unreachable": "0;;;0;1",
    "clock_skew": "0s;-25:25",
    "services_too_old": "0;0;;0",
}


def test_icinga_checks_nova_and_pages_once_on_critical(icinga, mariadb, cell_db, tmp_path):
    """The daemon runs the shipped CheckCommand on a live cell database; a dead conductor pages, once."""
    now = utcnow()
    rows = [service(host, binary, now, age=0.0) for host in ("ctl1", "ctl2") for binary in ("nova-conductor", "nova-scheduler")]
    rows += [service("ctl1", "nova-osapi_compute", now, age=None, topic=None)]
    rows += [service(f"cmp{n}", "nova-compute", now, age=0.0) for n in (1, 2, 3)]
    admin_url = make_url(cell_db(rows))
    database = admin_url.database
    user, password = mariadb.services_reader(database)
    # The URL names the user, the password comes separately: both through the environment.
    url = admin_url.set(username=user, password=None).render_as_string(hide_password=False)
    heartbeats = Heartbeats(mariadb, database, {(r["host"], r["binary"]) for r in rows if r["last_seen_up"]})
    heartbeats.start()

    write_plugin(icinga.plugin_dir)
    scripts = icinga.dirs["etc"] / "scripts"
    scripts.mkdir()
    shutil.copy(ICINGA_DIR / "nova-services-page.sh", scripts / "nova-services-page.sh")
    pages = tmp_path / "pages.log"
    extra_conf = tmp_path / "report-interval.conf"
    extra_conf.write_text("[DEFAULT]\nreport_interval = 10\n")
    try:
        icinga.start(
            include_lines([ICINGA_DIR / "nova_services.conf", ICINGA_DIR / "nova_services_page.conf"])
            + f"""
object Host "ctl1" {{
	check_command = "dummy"
}}

template Service "fast" {{
	check_command = "nova_services"
	check_interval = 1s
	retry_interval = 1s
	max_check_attempts = 1
	vars.nova_services_db_url = "{url}"
	vars.nova_services_db_password = "{password}"
}}

object Service "nova-services" {{
	import "fast"
	host_name = "ctl1"
}}

object Service "tuned" {{
	import "fast"
	host_name = "ctl1"
	vars.nova_services_config_file = [ "{extra_conf}", "{extra_conf}" ]
	vars.nova_services_cell_credentials = "mapping"
	vars.nova_services_service_down_time = 60
	vars.nova_services_report_interval = 10
	vars.nova_services_clock = "db"
	vars.nova_services_host = [ "ctl1", "ctl2" ]
	vars.nova_services_binary = [ "nova-conductor", "nova-scheduler" ]
	vars.nova_services_warning = [ "nova-conductor=0", "nova-scheduler=0" ]
	vars.nova_services_critical = "1"
	vars.nova_services_age_warning = 40
	vars.nova_services_count_disabled = true
	vars.nova_services_unreachable_cell_state = "critical"
	vars.nova_services_timeout = 8
	vars.nova_services_verbose = 2
}}

object Service "cells" {{
	import "fast"
	host_name = "ctl1"
	vars.nova_services_url_in_argv = true
	vars.nova_services_cell = [ "cell1", "cell2" ]
	vars.nova_services_zone = "az1"
	vars.nova_services_verbose = 0
}}

object User "oncall" {{
}}

object Notification "page" {{
	host_name = "ctl1"
	service_name = "nova-services"
	command = "nova_services-page"
	users = [ "oncall" ]
	types = [ Problem, Recovery ]
	states = [ OK, Critical ]
	interval = 0
	vars.nova_services_page_file = "{pages}"
}}
"""
        )
        plugin = str(icinga.plugin_dir / "check_nova_services")

        def result(name: str, state: int | None = None, after: float = 0.0):
            def probe():
                attrs = icinga.service("ctl1", name)
                cr = attrs["last_check_result"]
                if cr and cr["execution_end"] > after and (state is None or attrs["state"] == state):
                    return attrs
                return None

            return wait_for(f"a check result of {name} in state {state}", probe, 20)

        # All up: OK, with the exact text, the parsed perfdata, and no secret on the command line.
        attrs = result("nova-services", 0)
        cr = attrs["last_check_result"]
        assert cr["command"] == [plugin, "--timeout", "10", "-v"]
        # -v puts the perfdata on a line of its own: Icinga keeps the newline before it.
        assert cr["output"] == (
            "NOVA_SERVICES OK - 7 of 7 services up: nova-conductor 2/2, nova-scheduler 2/2, nova-compute 3/3\n"
        )
        assert (cr["exit_status"], cr["state"], attrs["state_type"]) == (0, 0, 1)
        assert without_max_age(perfdata(cr["performance_data"])) == PERF_OK
        assert password not in str(cr) and user not in str(cr)

        # Every other variable reaches the plugin as the option it names, and the plugin accepts them all.
        tuned = result("tuned")["last_check_result"]
        assert tuned["command"] == [
            plugin,
            "--age-warning", "40",
            "--binary", "nova-conductor", "--binary", "nova-scheduler",
            "--cell-credentials", "mapping",
            "--clock", "db",
            "--config-file", str(extra_conf), "--config-file", str(extra_conf),
            "--count-disabled",
            "--critical", "1",
            "--host", "ctl1", "--host", "ctl2",
            "--report-interval", "10",
            "--service-down-time", "60",
            "--timeout", "8",
            "--unreachable-cell-state", "critical",
            "--warning", "nova-conductor=0", "--warning", "nova-scheduler=0",
            "-vv",
        ]  # fmt: skip
        assert tuned["output"].splitlines()[0] == (
            "NOVA_SERVICES OK - 4 of 4 services up: nova-conductor 2/2, nova-scheduler 2/2"
        )
        assert [line.split(" cell=")[0] for line in tuned["output"].splitlines()[1:]] == [
            "up: nova-conductor@ctl1",
            "up: nova-conductor@ctl2",
            "up: nova-scheduler@ctl1",
            "up: nova-scheduler@ctl2",
        ]
        assert perfdata(tuned["performance_data"])["nova-conductor_late"] == "0;0;;0;2"
        assert tuned["exit_status"] == 0
        cells = result("cells")["last_check_result"]
        assert cells["command"] == [
            plugin,
            "--cell",
            "cell1",
            "--cell",
            "cell2",
            "--db-url",
            url,
            "--timeout",
            "10",
            "--zone",
            "az1",
        ]
        assert (cells["output"], cells["exit_status"]) == (
            "NOVA_SERVICES UNKNOWN - --cell and --zone need the API database (--api-db-url or [api_database]/connection)",
            3,
        )

        # A compute dies three hours ago: WARNING, which does not page.
        cmp2_seen = (utcnow() - dt.timedelta(hours=3, seconds=30)).replace(microsecond=0)
        heartbeats.die("cmp2", "nova-compute", cmp2_seen)
        attrs = result("nova-services", 1)
        cr = attrs["last_check_result"]
        assert cr["output"].split("\n") == [
            "NOVA_SERVICES WARNING - nova-compute 1/3 down: cmp2 (3h00m)",
            f"down: nova-compute@cmp2 cell={database} status=enabled state=down heartbeat=3h00m ago "
            f"(last_seen_up {cmp2_seen}) forced_down=no disabled_reason=-",
            "",
        ]
        assert perfdata(cr["performance_data"])["nova-compute_down"] == "1;0;1.5;0;3"
        for _ in range(2):
            cr = result("nova-services", 1, after=cr["execution_end"])["last_check_result"]
        assert not pages.exists()

        # A conductor dies: CRITICAL, paged once, with the plugin's output.
        ctl1_seen = (utcnow() - dt.timedelta(days=3, minutes=30)).replace(microsecond=0)
        heartbeats.die("ctl1", "nova-conductor", ctl1_seen)
        attrs = result("nova-services", 2)
        cr = attrs["last_check_result"]
        critical_output = [  # the control plane first: the dead conductor before the compute
            "NOVA_SERVICES CRITICAL - nova-conductor 1/2 down: ctl1 (3d00h); nova-compute 1/3 down: cmp2 (3h00m)",
            f"down: nova-conductor@ctl1 cell={database} status=enabled state=down heartbeat=3d00h ago "
            f"(last_seen_up {ctl1_seen}) forced_down=no disabled_reason=-",
            f"down: nova-compute@cmp2 cell={database} status=enabled state=down heartbeat=3h00m ago "
            f"(last_seen_up {cmp2_seen}) forced_down=no disabled_reason=-",
        ]
        assert cr["output"] == "\n".join(critical_output) + "\n"
        assert (cr["exit_status"], attrs["state_type"]) == (2, 1)
        assert perfdata(cr["performance_data"])["nova-conductor_down"] == "1;0;0;0;2"
        wait_for("the page", lambda: pages.exists() and pages.read_text().endswith("\n\n"), 20)
        for _ in range(3):  # more CRITICAL results: still one page
            cr = result("nova-services", 2, after=cr["execution_end"])["last_check_result"]
        page_re = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}"
        text = pages.read_text()
        assert re.fullmatch(
            page_re
            + r" \[PROBLEM\] nova-services on ctl1 is CRITICAL \(was WARNING\)\n"
            + re.escape("\n".join(critical_output))
            + "\n\n",
            text,
        ), text
        notification = icinga.api("/v1/objects/notifications/ctl1!nova-services!page")["results"][0]["attrs"]
        assert notification["notification_number"] == 1

        # Both back: OK, and the recovery reaches whoever was paged.
        heartbeats.revive("ctl1", "nova-conductor")
        heartbeats.revive("cmp2", "nova-compute")
        result("nova-services", 0)
        wait_for("the recovery", lambda: pages.read_text().count("\n\n") == 2, 20)
        recovery = pages.read_text()[len(text) :]
        assert re.fullmatch(
            page_re + r" \[RECOVERY\] nova-services on ctl1 is OK\n"
            r"NOVA_SERVICES OK - 7 of 7 services up: nova-conductor 2/2, nova-scheduler 2/2, nova-compute 3/3\n\n",
            recovery,
        ), recovery
    except BaseException:
        print(icinga.log_tail(80))
        raise
    finally:
        icinga.stop()
        heartbeats.stop()


#: Capacity thresholds (issue 30) as a Service sets them: a plain range for every zone, a zone's own, aggregates'.
CAPACITY_VARS = {
    "nova_services_zone_warning": "50%:",
    "nova_services_zone_critical": ["az2=6:", "nova=50%:"],
    "nova_services_aggregate_warning": "gpu=2:",
    "nova_services_aggregate_critical": ["gpu=1:", "tenant-a=1:"],
}


def test_the_capacity_arguments_are_repeatable_arrays_named_after_their_options(icinga):
    arguments = checkcommand_arguments(icinga)
    capacity = {key: argument for key, argument in arguments.items() if key.startswith(("--zone-", "--aggregate-"))}
    assert {key: (argument["value"], argument["repeat_key"]) for key, argument in capacity.items()} == {
        "--zone-warning": ("$nova_services_zone_warning$", True),
        "--zone-critical": ("$nova_services_zone_critical$", True),
        "--aggregate-warning": ("$nova_services_aggregate_warning$", True),
        "--aggregate-critical": ("$nova_services_aggregate_critical$", True),
    }
    assert capacity["--zone-critical"]["description"] == "as --zone-warning, for CRITICAL"
    assert capacity["--aggregate-critical"]["description"] == "as --aggregate-warning, for CRITICAL"


def test_icinga_passes_the_capacity_thresholds_as_repeated_options(icinga, tmp_path):
    """A Service's capacity variables (a string or an array each) reach the plugin as one option per item, in
    Icinga's order of the keys; the plugin, given the API database through the environment, answers Icinga as it
    answers the same command run by hand (the clock fixed, so both runs read the same ages)."""
    api_url = write_deployment(make_url(f"sqlite:///{tmp_path / 'nova-demo.sqlite'}"), 2, 36, NOW)
    url = api_url.render_as_string(hide_password=False)
    write_plugin(icinga.plugin_dir)
    variables = "".join(f"\tvars.{name} = {json.dumps(value)}\n" for name, value in CAPACITY_VARS.items())
    try:
        icinga.start(
            include_lines([ICINGA_DIR / "nova_services.conf"])
            + f"""
object Host "ctl1" {{
	check_command = "dummy"
	enable_active_checks = false
}}

object Service "capacity" {{
	host_name = "ctl1"
	check_command = "nova_services"
	check_interval = 1s
	retry_interval = 1s
	vars.nova_services_api_db_url = "{url}"
	vars.nova_services_clock = "{NOW.isoformat()}"
{variables}}}
"""
        )
        cr = wait_for("a check result of capacity", lambda: icinga.service("ctl1", "capacity")["last_check_result"], 30)
    except BaseException:
        print(icinga.log_tail(80))
        raise
    finally:
        icinga.stop()
    plugin = str(icinga.plugin_dir / "check_nova_services")
    options = [
        "--aggregate-critical", "gpu=1:", "--aggregate-critical", "tenant-a=1:",
        "--aggregate-warning", "gpu=2:",
        "--clock", NOW.isoformat(),
        "--timeout", "10",
        "--zone-critical", "az2=6:", "--zone-critical", "nova=50%:",
        "--zone-warning", "50%:",
        "-v",
    ]  # fmt: skip
    assert cr["command"] == [plugin, *options]
    by_hand = run_check(*options, env={**clean_env(), "NOVA_SERVICES_API_DB_URL": url})
    assert by_hand.stderr == ""
    parsed = parse_plugin_output(by_hand.stdout, by_hand.code)
    assert cr["exit_status"] == by_hand.code
    assert cr["output"].rstrip("\n").split("\n") == [parsed.status_line, *parsed.long_output]
    assert perfdata(cr["performance_data"]) == parsed.perfdata


# --------------------------------------------------------------------------- icinga/README's demo walk-through

DEMO_NAMES = ("nova_api", "nova_cell0", "nova_cell1", "nova_cell2")


def readme_shell_blocks(heading: str) -> tuple[str, list[str]]:
    """A section of icinga/README.md: its text and its ```sh blocks, in order."""
    text = (ICINGA_DIR / "README.md").read_text(encoding="utf-8")
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return section, re.findall(r"```sh\n(.*?)```", section, re.DOTALL)


def on_the_suites_server(block: str, mariadb, conf: str) -> str:
    """The README's commands as root would type them, pointed at the suite's MariaDB, this checkout's plugin and a
    credentials file of the test: the same SQL, URLs, options and order."""
    port, python = mariadb.admin.port, sys.executable
    client = f"mariadb --no-defaults -S {mariadb.socket} -uroot "
    replacements = [
        (r"(?m)^apt install .*$", ":"),
        (r"(?m)^(\s*)mariadb ", lambda match: match.group(1) + client),
        (r"@127\.0\.0\.1\b", f"@127.0.0.1:{port}"),
        (r"/opt/check_nova_services/bin/check_nova_services_demo", f"{python} -m check_nova_services.demo"),
        (r"runuser -u nagios -- /usr/lib/nagios/plugins/check_nova_services", f"{python} -m check_nova_services"),
        (r"install -o root -g nagios -m 0640", "install -m 0640"),
        (r"/etc/icinga2/nova-services\.conf", conf),
    ]
    for pattern, replacement in replacements:
        block = re.sub(pattern, replacement if callable(replacement) else lambda _, text=replacement: text, block)
    return block


def test_the_readmes_demo_walk_through_works_in_order(mariadb, tmp_path):
    """icinga/README, "Try it on the demo first": its commands, run in order on a real MariaDB (a new admin's
    trial before a real cloud, issue 28), give the answer it quotes; the live demo starts; its clean-up leaves
    none of the demo's databases and users."""
    if not getattr(mariadb, "socket", None):
        pytest.skip("needs the suite's own MariaDB (root through its socket)")
    section, (setup, live, cleanup) = readme_shell_blocks("Try it on the demo first")
    conf = str(tmp_path / "nova-services.conf")

    def bash(block: str, **options) -> subprocess.CompletedProcess:
        script = on_the_suites_server(block, mariadb, conf)
        return subprocess.run(["bash", "-e", "-c", script], cwd=ICINGA_DIR.parent, text=True, capture_output=True, **options)

    def clean() -> None:
        mariadb.execute(*(f"DROP DATABASE IF EXISTS `{name}`" for name in DEMO_NAMES))
        mariadb.execute("DROP USER IF EXISTS 'nova_demo'@'localhost', 'monitor'@'localhost'")

    clean()
    try:
        run = bash(setup, timeout=120)
        # The README quotes the answer; ages to the second differ from run to run.
        quoted = re.search(r"answers `(NOVA_SERVICES WARNING - [^`]*)`", section.replace("\n", " "))
        assert quoted, section

        def ages(line: str) -> str:
            return re.sub(r"\d+m\d+s", "<age>", line)

        assert (run.returncode, ages(run.stdout.splitlines()[1].split(" | ")[0]), run.stderr) == (
            1,
            ages(quoted.group(1)),
            "",
        ), run.stdout + run.stderr
        assert run.stdout.splitlines()[0].startswith("wrote an API database and 3 cells")
        demo = subprocess.Popen(
            ["bash", "-e", "-c", "exec " + on_the_suites_server(live, mariadb, conf).replace("\\\n", " ")],
            cwd=ICINGA_DIR.parent,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(4)
        demo.send_signal(signal.SIGINT)
        out, err = demo.communicate(timeout=30)
        assert (demo.returncode, err) == (0, ""), out + err
        assert "heartbeating 39 services every 10s as Nova does" in out
    finally:
        removed = bash(cleanup, timeout=60)
        clean()
    assert (removed.returncode, removed.stderr) == (0, "")

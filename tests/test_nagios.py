"""icinga/nagios/ against the real Nagios 4: the shipped definitions verify, and their command line runs the plugin."""

from __future__ import annotations

import datetime as dt
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from check_nova_services.demo.writer import service
from tests.harness.daemons import ICINGA_DIR, NAGIOS4, current_user, need, write_plugin

pytestmark = pytest.mark.slow

SHIPPED = ICINGA_DIR / "nagios" / "nova_services.cfg"

#: What a site has around the shipped file: a time period, the on-call contact group, the two example hosts.
SITE = """
define timeperiod {
    timeperiod_name         24x7
    alias                   24x7
    sunday                  00:00-24:00
    monday                  00:00-24:00
    tuesday                 00:00-24:00
    wednesday               00:00-24:00
    thursday                00:00-24:00
    friday                  00:00-24:00
    saturday                00:00-24:00
}

define command {
    command_name    notify-by-page
    command_line    /usr/bin/printf "%b" "$SERVICEOUTPUT$\\n"
}

define contact {
    contact_name                    oncall
    service_notification_period     24x7
    host_notification_period        24x7
    service_notification_options    c,r
    host_notification_options       d,r
    service_notification_commands   notify-by-page
    host_notification_commands      notify-by-page
}

define contactgroup {
    contactgroup_name   nova-oncall
    alias               Nova on-call
    members             oncall
}

define host {
    host_name               ctl1.regionone.example.org
    address                 192.0.2.11
    max_check_attempts      3
    check_period            24x7
    contact_groups          nova-oncall
    notification_interval   0
    notification_period     24x7
}

define host {
    host_name               ctl1.regionthree.example.org
    address                 192.0.2.31
    max_check_attempts      3
    check_period            24x7
    contact_groups          nova-oncall
    notification_interval   0
    notification_period     24x7
}
"""


def nagios_cfg(root: Path, shipped: Path) -> Path:
    """A main configuration with every path in ``root``, the site objects and the shipped file."""
    (root / "checkresults").mkdir(parents=True, exist_ok=True)
    (root / "site.cfg").write_text(SITE)
    (root / "resource.cfg").write_text("$USER1$=/usr/lib/nagios/plugins\n")
    user, group = current_user()
    settings = {
        "log_file": root / "nagios.log",
        "cfg_file": root / "site.cfg",
        "resource_file": root / "resource.cfg",
        "status_file": root / "status.dat",
        "object_cache_file": root / "objects.cache",
        "precached_object_file": root / "objects.precache",
        "temp_file": root / "nagios.tmp",
        "temp_path": root,
        "lock_file": root / "nagios.lock",
        "check_result_path": root / "checkresults",
        "command_file": root / "nagios.cmd",
        "state_retention_file": root / "retention.dat",
        "nagios_user": user,
        "nagios_group": group,
        "use_syslog": 0,
        "check_for_updates": 0,
        "illegal_macro_output_chars": "`~$&|'\"<>",  # as in the sample nagios.cfg
    }
    lines = [f"{key}={value}" for key, value in settings.items()] + [f"cfg_file={shipped}"]
    path = root / "nagios.cfg"
    path.write_text("\n".join(lines) + "\n")
    return path


def verify(cfg: Path) -> subprocess.CompletedProcess:
    return subprocess.run([NAGIOS4, "-v", str(cfg)], capture_output=True, text=True, timeout=60)


def test_shipped_definitions_verify(tmp_path):
    need(NAGIOS4)
    run = verify(nagios_cfg(tmp_path, SHIPPED))
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"Checked 2 services\.", run.stdout), run.stdout
    assert "Total Warnings: 0" in run.stdout and "Total Errors:   0" in run.stdout, run.stdout


def test_broken_copy_fails_verification(tmp_path):
    """The verification can fail: a service using a command nobody defined is refused."""
    need(NAGIOS4)
    broken = tmp_path / "nova_services.cfg"
    text = SHIPPED.read_text()
    assert "check_command           check_nova_services!-v" in text
    broken.write_text(text.replace("check_nova_services!-v", "check_nova_service!-v"))
    run = verify(nagios_cfg(tmp_path, broken))
    assert run.returncode == 1
    assert "check_nova_service" in run.stdout and "Total Errors:   0" not in run.stdout


def test_shipped_command_line_runs_the_plugin(tmp_path, cell_db):
    """check_nova_services's command_line, macros expanded as Nagios would, gives the plugin's verdict."""
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    rows = [service(h, b, now, age=2.0) for h in ("ctl1", "ctl2") for b in ("nova-conductor", "nova-scheduler")]
    rows[1] = service("ctl1", "nova-scheduler", now, age=3 * 3600 + 30.0)
    credentials = tmp_path / "nova-services.conf"
    credentials.write_text(f"[database]\nconnection = {cell_db(rows)}\n")
    plugin_dir = write_plugin(tmp_path / "plugins").parent

    match = re.search(r"command_name\s+check_nova_services\s*\n\s*command_line\s+(.*)\n", SHIPPED.read_text())
    assert match
    line = (
        match.group(1)
        .replace("$USER1$", str(plugin_dir))
        .replace("/etc/nagios/nova-services.conf", str(credentials))
        .replace("$ARG1$", "-v")
    )
    assert "$" not in line
    run = subprocess.run(shlex.split(line), capture_output=True, text=True, timeout=60)
    assert (run.returncode, run.stderr) == (2, "")
    assert run.stdout.splitlines()[0] == "NOVA_SERVICES CRITICAL - nova-scheduler 1/2 down: ctl1 (3h00m)"
    assert run.stdout.splitlines()[1].startswith("down: nova-scheduler@ctl1 cell=")
    assert run.stdout.splitlines()[-1].startswith("| 'nova-conductor_disabled'=0;;;0;2 ")

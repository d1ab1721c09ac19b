"""icinga/nrpe/ against the real NRPE daemon: check_nrpe hands back exactly what the plugin says.

The daemon runs the shipped command lines (paths swapped for this test's), the
monitoring side runs the shipped Nagios command line for check_nrpe. Which
database the fixed command reads is switched by rewriting the credentials file,
as nothing else may come over the network.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import shlex
import subprocess

import pytest
from sqlalchemy.engine import make_url

from check_nova_services.demo.writer import service
from tests.harness.daemons import CHECK_NRPE, ICINGA_DIR, NRPE, PLUGIN_DIR, Nrpe, free_port, need, write_plugin

pytestmark = pytest.mark.slow

SHIPPED_PLUGIN = "/usr/lib/nagios/plugins/check_nova_services"
SHIPPED_CREDENTIALS = "/etc/nagios/nova-services.conf"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def shipped_commands(plugin: str, credentials: str) -> dict[str, str]:
    """command[name]=line of icinga/nrpe/nova_services.cfg, with this test's plugin and credentials file."""
    commands = {}
    for line in (ICINGA_DIR / "nrpe" / "nova_services.cfg").read_text().splitlines():
        match = re.fullmatch(r"command\[(\w+)\]=(.*)", line)
        if match:
            name, command = match.groups()
            assert SHIPPED_PLUGIN in command and SHIPPED_CREDENTIALS in command, line
            commands[name] = command.replace(SHIPPED_PLUGIN, plugin).replace(SHIPPED_CREDENTIALS, credentials)
    assert set(commands) == {"check_nova_services", "check_nova_services_verbose"}
    return commands


def shipped_check_nrpe(port: int) -> list[str]:
    """The command_line of check_nrpe_nova_services in icinga/nagios/nova_services.cfg, for 127.0.0.1:port."""
    text = (ICINGA_DIR / "nagios" / "nova_services.cfg").read_text()
    match = re.search(r"command_name\s+check_nrpe_nova_services\s*\n\s*command_line\s+(.*)\n", text)
    assert match, "no check_nrpe_nova_services command in icinga/nagios/nova_services.cfg"
    line = match.group(1).replace("$USER1$", PLUGIN_DIR).replace("$HOSTADDRESS$", "127.0.0.1")
    args = shlex.split(line)
    assert args[-2:] == ["-c", "$ARG1$"], line
    return [*args[:-2], "-p", str(port)]


def credentials_from_sample(url: str) -> str:
    """nova-services.conf.sample with our cell database, and without the API database (no cells here)."""
    sample = (ICINGA_DIR / "nova-services.conf.sample").read_text()
    database, api = sample.split("[api_database]")
    assert "\nconnection = mysql+pymysql://monitor:SECRET@db.example.org/nova\n" in database
    return re.sub(r"\nconnection = .*\n", f"\nconnection = {url}\n", database)


def normalized(text: str) -> str:
    """Heartbeat ages move with the clock between two runs; everything else must be identical."""
    return re.sub(r"(_max_age'=)[0-9.]+s", r"\1AGEs", text)


@pytest.fixture
def monitor(mariadb):
    """A SELECT-only user with a password, like the one the sample credentials file names."""
    user, password = f"mon_{secrets.token_hex(4)}", secrets.token_urlsafe(12)
    for where in ("%", "localhost", "127.0.0.1"):
        mariadb.execute(f"CREATE USER '{user}'@'{where}' IDENTIFIED BY '{password}'")

    def url_for(admin_url: str) -> str:
        url = make_url(admin_url)
        for where in ("%", "localhost", "127.0.0.1"):
            mariadb.execute(f"GRANT SELECT ON `{url.database}`.services TO '{user}'@'{where}'")
        return url.set(username=user, password=password).render_as_string(hide_password=False)

    url_for.password = password
    return url_for


@pytest.fixture
def nrpe():
    """NRPE with the shipped commands; ``nrpe.credentials`` is the file they read (mode 0600, the nrpe user's)."""
    need(NRPE, CHECK_NRPE)
    daemon = Nrpe()
    try:
        plugin = write_plugin(daemon.root / "plugins")
        daemon.credentials = daemon.root / "nova-services.conf"
        daemon.credentials.write_text("")
        daemon.credentials.chmod(0o600)
        daemon.commands = shipped_commands(str(plugin), str(daemon.credentials))
        daemon.start([f"command[{name}]={line}" for name, line in daemon.commands.items()])
        yield daemon
    finally:
        daemon.stop()


def controllers(now: dt.datetime) -> list[dict]:
    return [service(host, binary, now, age=2.0) for host in ("ctl1", "ctl2") for binary in ("nova-conductor", "nova-scheduler")]


def computes(now: dt.datetime, count: int, down: set[int] = frozenset()) -> list[dict]:
    return [service(f"cmp{n:03d}", "nova-compute", now, age=3 * 3600 + 30.0 if n in down else 2.0) for n in range(1, count + 1)]


def ask(nrpe: Nrpe, command: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([*shipped_check_nrpe(nrpe.port), *extra, "-c", command], capture_output=True, text=True, timeout=60)


def direct(nrpe: Nrpe, command: str) -> subprocess.CompletedProcess:
    """The same command line, run here as NRPE runs it (no shell features are used)."""
    return subprocess.run(shlex.split(nrpe.commands[command]), capture_output=True, text=True, timeout=60)


def test_every_state_comes_back_intact(nrpe, cell_db, monitor):
    now = utcnow()
    conductor_dead = controllers(now)
    conductor_dead[0] = service("ctl1", "nova-conductor", now, age=3 * 86400 + 1800.0)
    databases = {
        0: monitor(cell_db(controllers(now) + computes(now, 3))),
        1: monitor(cell_db(controllers(now) + computes(now, 3, down={2}))),
        2: monitor(cell_db(conductor_dead + computes(now, 3))),
        3: f"mysql+pymysql://monitor:{monitor.password}@127.0.0.1:{free_port()}/nova",  # nobody listens
    }
    expected_first = {
        0: "NOVA_SERVICES OK - 7 of 7 services up: nova-conductor 2/2, nova-scheduler 2/2, nova-compute 3/3 | ",
        1: "NOVA_SERVICES WARNING - nova-compute 1/3 down: cmp002 (3h00m) | ",
        2: "NOVA_SERVICES CRITICAL - nova-conductor 1/2 down: ctl1 (3d00h) | ",
        3: "NOVA_SERVICES UNKNOWN - database nova unreachable: ",
    }
    for state, url in databases.items():
        nrpe.credentials.write_text(credentials_from_sample(url))
        mine = direct(nrpe, "check_nova_services")
        assert (mine.returncode, mine.stderr) == (state, "")
        assert mine.stdout.startswith(expected_first[state]), mine.stdout
        assert monitor.password not in mine.stdout
        for packets in ([], ["-2"]):  # NRPE v4 (default) and the old v2 packets of 1 KiB
            theirs = ask(nrpe, "check_nova_services", *packets)
            assert (theirs.returncode, theirs.stderr) == (state, ""), (packets, theirs, nrpe.log_tail())
            assert normalized(theirs.stdout) == normalized(mine.stdout), packets
        # One line: status and perfdata, well inside what an NRPE v2 peer carries (1024 bytes with the NUL).
        assert mine.stdout.count("\n") == 1
        assert len(mine.stdout.encode()) < 1024


def test_long_output_survives_within_64_kib(nrpe, cell_db, monitor):
    """-v with 250 computes down: at most 30 problem lines, a count of the rest, and the perfdata line at the end
    arrive whole (the plugin caps -v so that the answer also fits Nagios's 8 KiB)."""
    now = utcnow()
    down = set(range(1, 251))
    nrpe.credentials.write_text(credentials_from_sample(monitor(cell_db(controllers(now) + computes(now, 300, down)))))
    mine = direct(nrpe, "check_nova_services_verbose")
    assert mine.returncode == 2  # 250 of 300 computes: more than half
    lines = mine.stdout.splitlines()
    # the count and as many hosts as fit in the first line's budget, the rest counted
    assert lines[0] == (
        "NOVA_SERVICES CRITICAL - nova-compute 250/300 down: cmp001 (3h00m), cmp002 (3h00m), cmp003 (3h00m), "
        "cmp004 (3h00m), cmp005 (3h00m), cmp006 (3h00m), cmp007 (3h00m), cmp008 (3h00m) +242 more"
    )
    shown = len([line for line in lines if line.startswith("down: nova-compute@")])
    assert 20 <= shown <= 30  # at most 30 lines and about 5.5 KB of them
    assert lines[shown + 1] == f"... and {250 - shown} more problem services (-vv lists every service)"
    assert lines[-1].startswith("| 'nova-compute_disabled'=0;;;0;300 'nova-compute_down'=250;0;150;0;300 ")
    size = len(mine.stdout.encode())
    assert 4 * 1024 < size < 8 * 1024, size

    theirs = ask(nrpe, "check_nova_services_verbose")
    assert (theirs.returncode, theirs.stderr) == (2, "")
    assert normalized(theirs.stdout) == normalized(mine.stdout)

    # The plain command's one line stays within 1 KiB even now, and v2 packets carry it whole.
    plain = direct(nrpe, "check_nova_services")
    assert plain.stdout.count("\n") == 1 and len(plain.stdout.encode()) < 1024
    assert normalized(ask(nrpe, "check_nova_services", "-2").stdout) == normalized(plain.stdout)

    # What the plain command is for: a v2 peer cuts the verbose answer at 1 KiB, perfdata lost.
    cut = ask(nrpe, "check_nova_services_verbose", "-2")
    assert cut.returncode == 2
    assert len(cut.stdout.encode()) <= 1024 and "| 'nova-compute" not in cut.stdout

"""Private Icinga 2 and NRPE daemons for the tests of icinga/: own temp dirs, free ports, gone afterwards.

Nothing here touches /etc, /var or /run: every path Icinga 2 would use is
redirected with -D constants, NRPE gets a config file of its own.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from base64 import b64encode
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.harness.mariadb import free_port

REPO = Path(__file__).resolve().parents[2]
ICINGA_DIR = REPO / "icinga"
ICINGA2 = shutil.which("icinga2") or "/usr/sbin/icinga2"
NRPE = "/usr/sbin/nrpe"
CHECK_NRPE = "/usr/lib/nagios/plugins/check_nrpe"
PLUGIN_DIR = "/usr/lib/nagios/plugins"  # Debian's; the ITL's PluginDir
NAGIOS4 = shutil.which("nagios4") or "/usr/sbin/nagios4"


def need(*paths: str) -> None:
    """Skip with a clear reason when a daemon tests/run installs is missing (e.g. a bare venv run)."""
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)} (bash tests/run installs them)")


def write_plugin(directory: Path) -> Path:
    """A ``check_nova_services`` executable in ``directory`` that runs the code under test."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "check_nova_services"
    path.write_text(
        "#!/bin/sh\n"
        f"PYTHONPATH={_sh_quote(str(REPO))}${{PYTHONPATH:+:$PYTHONPATH}}\n"
        "export PYTHONPATH\n"
        f'exec {_sh_quote(sys.executable)} -m check_nova_services "$@"\n'
    )
    path.chmod(0o755)
    return path


def _sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def current_user() -> tuple[str, str]:
    return pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name


def wait_for(what: str, probe: Callable[[], object], timeout: float, interval: float = 0.2):
    """Poll ``probe`` until it returns something truthy; fail with ``what`` and the last value."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last seen: {last!r}")


def stop_process(process: subprocess.Popen | None, timeout: float = 15) -> None:
    """SIGTERM the process group we started (start_new_session=True), SIGKILL if it lingers."""
    if process is None or process.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


# --------------------------------------------------------------------------- Icinga 2


def shipped_conf_files() -> tuple[list[Path], dict[str, list[Path]]]:
    """The .conf files under icinga/: those included from icinga2.conf/conf.d, and those of a zones.d/<zone>/."""
    plain, zoned = [], {}
    for path in sorted(ICINGA_DIR.rglob("*.conf")):
        parts = path.relative_to(ICINGA_DIR).parts
        if "zones.d" in parts:
            zone = parts[parts.index("zones.d") + 1]
            zoned.setdefault(zone, []).append(path)
        else:
            plain.append(path)
    return plain, zoned


def include_lines(paths: list[Path]) -> str:
    return "\n".join(f'include "{path}"' for path in paths) + "\n"


def icinga_constants(node: str, zone: str, plugin_dir: object) -> str:
    """The constants and ITL includes every private icinga2's icinga2.conf starts with."""
    return (
        f'const NodeName = "{node}"\n'
        f'const ZoneName = "{zone}"\n'
        f'const PluginDir = "{PLUGIN_DIR}"\n'
        f'const ManubulonPluginDir = "{PLUGIN_DIR}"\n'
        f'const PluginContribDir = "{plugin_dir}"\n'
        "include <itl>\n"
        "include <plugins>\n"
        "include <plugins-contrib>\n"
    )


class Icinga2:
    """``icinga2 daemon`` with every directory under ``root``, run as the current user."""

    node = "nova-services-test"

    def __init__(self, root: Path, node: str | None = None):
        self.root = root
        self.node = node or self.node
        self.dirs = {name: root / name for name in ("etc", "data", "log", "cache", "spool", "run")}
        for path in self.dirs.values():
            path.mkdir(parents=True, exist_ok=True)
        self.plugin_dir = root / "plugins"
        self.process: subprocess.Popen | None = None
        self.port: int | None = None
        self.api_password = b64encode(os.urandom(12)).decode()

    def defines(self) -> list[str]:
        user, group = current_user()
        d = self.dirs
        return [
            f"-DRunAsUser={user}",
            f"-DRunAsGroup={group}",
            f"-DConfigDir={d['etc']}",
            f"-DZonesDir={d['etc'] / 'zones.d'}",
            f"-DDataDir={d['data']}",
            f"-DLogDir={d['log']}",
            f"-DCacheDir={d['cache']}",
            f"-DSpoolDir={d['spool']}",
            f"-DInitRunDir={d['run']}",
            f"-DPidPath={d['run'] / 'icinga2.pid'}",
        ]

    def preamble(self) -> str:
        """Constants a packaged icinga2.conf/constants.conf provide, then the ITL."""
        return (
            icinga_constants(self.node, "master", self.plugin_dir) + "object Endpoint NodeName {}\n"
            "object Zone ZoneName { endpoints = [ NodeName ] }\n"
        )

    def install_zones_d(self, zoned: dict[str, list[Path]]) -> None:
        """Copy files into ConfigDir/zones.d/<zone>/, where Icinga gives their objects that zone."""
        for zone, paths in zoned.items():
            target = self.dirs["etc"] / "zones.d" / zone
            target.mkdir(parents=True, exist_ok=True)
            for path in paths:
                shutil.copy(path, target / path.name)

    def write_config(self, body: str) -> Path:
        path = self.dirs["etc"] / "icinga2.conf"
        path.write_text(self.preamble() + body + "\n")
        return path

    def validate(self, body: str) -> subprocess.CompletedProcess:
        config = self.write_config(body)
        return subprocess.run(
            [ICINGA2, "daemon", "-C", "-c", str(config), *self.defines()],
            capture_output=True,
            text=True,
            timeout=120,
        )

    def objects(self) -> list[dict]:
        """The objects of the last validation, from the debug dump (netstrings of JSON)."""
        data = (self.dirs["cache"] / "icinga2.debug").read_bytes()
        out, pos = [], 0
        while pos < len(data):
            colon = data.index(b":", pos)
            length = int(data[pos:colon])
            out.append(json.loads(data[colon + 1 : colon + 1 + length]))
            pos = colon + 1 + length + 1  # the trailing comma
        return out

    def find(self, type_: str, name: str) -> dict:
        for obj in self.objects():
            if obj["type"] == type_ and obj["properties"].get("__name") == name:
                return obj["properties"]
        raise KeyError(f"{type_} {name!r} not in the validated configuration")

    # -- the running daemon

    def start(self, body: str, timeout: float = 60, listener: str = "") -> None:
        """Start the daemon in the foreground with an API listener, and wait until the API answers.

        ``listener``: more attributes of the ApiListener (an agent's accept_commands, accept_config). A certificate
        made before (``certify``) and a port chosen before (``port``) are kept: a cluster's nodes need both first.
        """
        if not (self.dirs["data"] / "certs" / f"{self.node}.crt").exists():
            self._make_certificate()
        self.port = self.port or free_port()
        api = (
            'object CheckerComponent "checker" {}\n'
            'object NotificationComponent "notification" {}\n'
            f'object ApiListener "api" {{ bind_host = "127.0.0.1"\n bind_port = {self.port}\n{listener} }}\n'
            f'object ApiUser "test" {{ password = "{self.api_password}"\n permissions = [ "*" ] }}\n'
        )
        config = self.write_config(api + body)
        self.log = self.root / "daemon.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [ICINGA2, "daemon", "-c", str(config), *self.defines()],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

        def answers():
            if self.process.poll() is not None:
                raise AssertionError(f"icinga2 exited {self.process.returncode}:\n{self.log_tail()}")
            try:
                return self.api("/v1/status/IcingaApplication")
            except OSError:
                return None

        wait_for("the Icinga 2 API", answers, timeout)

    def _make_certificate(self) -> None:
        certs = self.dirs["data"] / "certs"
        certs.mkdir(exist_ok=True)
        key, crt = certs / f"{self.node}.key", certs / f"{self.node}.crt"
        subprocess.run(
            [ICINGA2, "pki", "new-cert", "--cn", self.node, "--key", str(key), "--cert", str(crt), *self.defines()],
            check=True,
            capture_output=True,
            timeout=60,
        )
        shutil.copy(crt, certs / "ca.crt")  # self-signed: its own CA

    def certify(self, ca: IcingaCA) -> None:
        """A certificate for this node signed by ``ca``, and ``ca``'s certificate as the one it trusts: what
        ``icinga2 node setup`` leaves in DataDir/certs, made with ``icinga2 pki`` only."""
        certs = self.dirs["data"] / "certs"
        certs.mkdir(exist_ok=True)
        ca.sign(self.node, certs)

    def api(self, path: str, post: dict | None = None) -> dict:
        """GET ``path`` of the REST API, or POST ``post`` to it (an action)."""
        request = urllib.request.Request(
            f"https://127.0.0.1:{self.port}{path}",
            data=None if post is None else json.dumps(post).encode(),
            headers={
                "Accept": "application/json",
                "Authorization": "Basic " + b64encode(f"test:{self.api_password}".encode()).decode(),
            },
        )
        context = ssl.create_default_context(cafile=str(self.dirs["data"] / "certs" / "ca.crt"))
        context.check_hostname = False
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            return json.load(response)

    def service(self, host: str, service: str) -> dict:
        return self.api(f"/v1/objects/services/{host}!{service}")["results"][0]["attrs"]

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        stop_process(self.process)


class IcingaCA:
    """An Icinga 2 cluster's CA: ``icinga2 pki new-ca`` in a DataDir of its own (never /var/lib/icinga2), which
    ``icinga2 pki sign-csr`` then uses to sign each node's request."""

    def __init__(self, root: Path):
        self.data = root / "ca-data"
        self.data.mkdir(parents=True, exist_ok=True)
        self._pki("new-ca")
        self.certificate = self.data / "ca" / "ca.crt"

    def _pki(self, *args: str) -> None:
        user, group = current_user()  # as root, icinga2 would switch to nagios, who may not write here
        defines = [f"-DRunAsUser={user}", f"-DRunAsGroup={group}", f"-DDataDir={self.data}", f"-DLogDir={self.data}"]
        run = subprocess.run(
            [ICINGA2, "pki", *args, *defines, f"-DCacheDir={self.data}"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 0, f"icinga2 pki {' '.join(args)}: {run.stdout}{run.stderr}"

    def sign(self, node: str, certs: Path) -> None:
        """``certs``/NODE.key and NODE.crt, signed for the common name ``node``, and ``certs``/ca.crt."""
        key, csr, crt = (certs / f"{node}.{ext}" for ext in ("key", "csr", "crt"))
        self._pki("new-cert", "--cn", node, "--key", str(key), "--csr", str(csr))
        self._pki("sign-csr", "--csr", str(csr), "--cert", str(crt))
        shutil.copy(self.certificate, certs / "ca.crt")


class IcingaAgent(Icinga2):
    """An Icinga 2 agent: its own Endpoint and Zone (named after it) come from the zones.conf it is given, as
    on a real agent; here its parent's Endpoint and Zone. With ``parent_port`` it connects to its parent on
    127.0.0.1 as ``icinga2 node wizard`` sets an agent up, at once after each start or reload (the parent retries
    only every 10 s)."""

    def __init__(self, root: Path, node: str, parent: str, parent_zone: str = "master"):
        super().__init__(root, node)
        self.parent, self.parent_zone = parent, parent_zone
        self.parent_port: int | None = None

    def preamble(self) -> str:
        return (
            icinga_constants(self.node, self.node, self.plugin_dir)
            + f'object Endpoint "{self.parent}" {{\n'
            + (f'\thost = "127.0.0.1"\n\tport = "{self.parent_port}"\n' if self.parent_port else "")
            + "}\n"
            f'object Zone "{self.parent_zone}" {{ endpoints = [ "{self.parent}" ] }}\n'
        )

    def kill(self) -> None:
        """SIGKILL to the daemon's whole process group (umbrella and worker): a crash, no goodbye to the master."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


# --------------------------------------------------------------------------- NRPE


def nrpe_user() -> tuple[str, list[str]]:
    """Who NRPE runs as, and a command prefix that makes the plugin runnable for it.

    NRPE refuses to run as root. As root it switches to nrpe_user=nagios, which
    must be able to run this interpreter and read this checkout; when it cannot
    (an interpreter under /root, say), NRPE runs in a user namespace where it
    *is* nagios but root's files stay readable. Not root: NRPE runs as us.
    """
    if os.geteuid() != 0:
        return current_user()[0], []
    try:
        nagios = pwd.getpwnam("nagios")
    except KeyError:
        pytest.fail("NRPE cannot run as root and there is no user nagios to run it as")
    probe = subprocess.run(
        ["runuser", "-u", "nagios", "--", sys.executable, "-c", "import check_nova_services, sqlalchemy, pymysql"],
        capture_output=True,
        cwd="/",
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO)},
        timeout=60,
    )
    if probe.returncode == 0:
        return "nagios", []
    userns = ["unshare", "--user", f"--map-user={nagios.pw_uid}", f"--map-group={nagios.pw_gid}"]
    if subprocess.run([*userns, "true"], capture_output=True, timeout=30).returncode == 0:
        return "nagios", userns
    pytest.fail(
        f"NRPE refuses root, user nagios cannot run {sys.executable} with this checkout, and user "
        "namespaces are not available: run the tests as a non-root user, or from a virtual "
        "environment and checkout that user nagios can read"
    )


class Nrpe:
    """``nrpe -f`` on 127.0.0.1 and a free port, running the given ``command[...]=...`` lines.

    Its files live in ``root``, a directory of its own under the system temp dir
    (pytest's tmp_path sits in a 0700 directory the nrpe user cannot enter):
    write what the commands need there before ``start``.
    """

    def __init__(self, ssl: bool = True):
        self.root = Path(tempfile.mkdtemp(prefix="cns-nrpe-"))
        self.root.chmod(0o755)
        self.port = free_port()
        self.ssl = ssl
        self.user, self.prefix = nrpe_user()
        self.log = self.root / "nrpe.log"
        self.config = self.root / "nrpe.cfg"
        self.process: subprocess.Popen | None = None

    def start(self, commands: list[str]) -> None:
        self.config.write_text(
            "\n".join(
                [
                    f"pid_file={self.root / 'nrpe.pid'}",
                    "server_address=127.0.0.1",
                    f"server_port={self.port}",
                    f"nrpe_user={self.user}",
                    f"nrpe_group={grp.getgrgid(pwd.getpwnam(self.user).pw_gid).gr_name}",
                    "allowed_hosts=127.0.0.1",
                    "dont_blame_nrpe=0",
                    "allow_bash_command_substitution=0",
                    "command_timeout=60",
                    "connection_timeout=30",
                    "disable_syslog=1",
                    "debug=1",
                    f"log_file={self.log}",
                    *commands,
                    "",
                ]
            )
        )
        if os.geteuid() == 0 and not self.prefix:
            # Real privilege drop to nagios: it must read what we wrote.
            nagios = pwd.getpwnam("nagios")
            for path in [self.root, *self.root.rglob("*")]:
                os.chown(path, nagios.pw_uid, nagios.pw_gid)
        command = [*self.prefix, NRPE, "-c", str(self.config), "-f", *([] if self.ssl else ["-n"])]
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

        def listening():
            if self.process.poll() is not None:
                raise AssertionError(f"nrpe exited {self.process.returncode}: {self.log_tail()}")
            return "Listening for connections" in self.log_tail()

        wait_for("NRPE to listen", listening, 30, interval=0.1)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        stop_process(self.process)
        shutil.rmtree(self.root, ignore_errors=True)


# --------------------------------------------------------------------------- the plugin's --help


def help_options() -> dict[str, dict]:
    """Every option of ``check_nova_services --help``: {'--name': {'aliases': [...], 'flag': bool, 'help': str}}.

    COLUMNS is set wide so that argparse writes each help text on one line.
    """
    proc = subprocess.run(
        [sys.executable, "-m", "check_nova_services", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "2000", "PYTHONPATH": str(REPO)},
        timeout=60,
    )
    assert proc.returncode == 3, proc
    options: dict[str, dict] = {}
    current: dict | None = None
    for line in proc.stdout.splitlines():
        if re.match(r"^  -", line):
            invocation, _, text = line.strip().partition("  ")
            names = [part.split()[0] for part in invocation.split(", ")]
            current = {
                "aliases": names,
                "flag": all(len(part.split()) == 1 for part in invocation.split(", ")),
                "help": text.strip(),
            }
            options[max(names, key=len)] = current
        elif current is not None and line.startswith(" " * 6) and line.strip():
            current["help"] = (current["help"] + " " + line.strip()).strip()
        else:
            current = None
    return options

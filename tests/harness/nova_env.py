"""Nova itself, for the agreement test: its own virtual environment and a real deployment's databases.

Nova is installed from PyPI into a virtual environment of its own (never the
plugin's): ``.venv-nova/`` at the top of the repository, or the directory named
by ``NOVA_SERVICES_NOVA_VENV``.  It is reused while its stamp says it holds
``nova==NOVA_RELEASE`` with the pinned constraints, and rebuilt otherwise.

The deployment is built by Nova's own tooling (nova-manage api_db sync,
cell_v2 map_cell0, db sync, cell_v2 create_cell) on the test MariaDB, so every
table is Nova's.  Everything that runs Nova code runs in that venv, as a
subprocess: ``nova-manage`` and the scripts in ``tests/harness/nova_scripts/``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

#: The Nova release the plugin's agreement with Nova is proven against.
NOVA_RELEASE = "34.0.0"
ENV_NOVA_VENV = "NOVA_SERVICES_NOVA_VENV"
REPO = Path(__file__).resolve().parents[2]
HARNESS = Path(__file__).resolve().parent / "nova_scripts"
CONSTRAINTS = HARNESS / "constraints.txt"
#: A password that needs percent-encoding in a URL, as real ones do.
DB_USER = "nova_agree"
DB_PASSWORD = "n0va@agree%pw"
CELLS = ("cell0", "cell1", "cell2", "cell3")


class NovaError(RuntimeError):
    """A Nova command failed: its output is in the message."""


def _run(argv: list[str], *, stdin: str | None = None, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, env=env, timeout=timeout)
    if proc.returncode != 0:
        raise NovaError(
            f"{' '.join(argv)} exited {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-8000:]}"
        )
    return proc.stdout


def nova_env() -> dict[str, str]:
    """The environment for Nova's processes: nothing of the plugin's Python setup leaks in."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONWARNINGS"] = "ignore"
    return env


def venv_dir() -> Path:
    return Path(os.environ.get(ENV_NOVA_VENV) or REPO / ".venv-nova")


def _stamp_text() -> str:
    digest = hashlib.sha256(CONSTRAINTS.read_bytes()).hexdigest()
    return f"nova=={NOVA_RELEASE} constraints-sha256={digest}\n"


def nova_venv() -> Path:
    """The Nova venv's python, installed first if missing or stale (a lock keeps parallel runs apart)."""
    venv = venv_dir()
    venv.parent.mkdir(parents=True, exist_ok=True)
    # the lock is on the directory that holds the venv: no lock file left behind
    lock = os.open(venv.parent, os.O_RDONLY)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        python = venv / "bin" / "python"
        stamp = venv / "nova-agreement.stamp"
        if stamp.exists() and stamp.read_text() == _stamp_text() and python.exists():
            return python
        shutil.rmtree(venv, ignore_errors=True)
        python3 = shutil.which("python3") or "python3"
        _run([python3, "-m", "venv", str(venv)], env=nova_env())
        _run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--constraint",
                str(CONSTRAINTS),
                f"nova=={NOVA_RELEASE}",
                "PyMySQL",
            ],
            env=nova_env(),
            timeout=1800,
        )
        _run([str(python), "-c", "import nova.compute.api, pymysql"], env=nova_env())
        stamp.write_text(_stamp_text())
        return python
    finally:
        os.close(lock)  # closing releases the lock


def _url(scheme_host: str, database: str, query: str = "") -> str:
    return f"{scheme_host}/{database}{query}"


@dataclass
class NovaDeployment:
    """A Nova deployment's databases (API DB, cell0 to cell3) and the nova.conf that names them."""

    python: Path
    directory: Path
    mariadb: object
    prefix: str

    @property
    def databases(self) -> dict[str, str]:
        return {name: f"{self.prefix}_{name}" for name in ("api", *CELLS)}

    @property
    def base_url(self) -> str:
        return self.server_url()

    def server_url(self, user: str = DB_USER, password: str = DB_PASSWORD) -> str:
        """mysql+pymysql://user:password@host:port; the password percent-encoded, but for ``$`` (written as is)."""
        admin = self.mariadb.admin
        return f"mysql+pymysql://{user}:{urllib.parse.quote(password, safe='$')}@{admin.host}:{admin.port or 3306}"

    @property
    def conf(self) -> Path:
        return self.directory / "nova.conf"

    @property
    def templates(self) -> dict[str, str]:
        """Cells whose database_connection is a template, formatted from [database]/connection by each reader."""
        return {
            "cell2": "mysql+pymysql://{username}:{password}@{hostname}:{port}/" + self.databases["cell2"],
            "cell3": "{scheme}://{username}:{password}@{hostname}:{port}/" + self.databases["cell3"] + "?{query}",
        }

    # --- building ---

    @classmethod
    def build(cls, python: Path, directory: Path, mariadb, prefix: str = "nova_agree") -> NovaDeployment:
        deployment = cls(python, directory, mariadb, prefix)
        deployment._create_databases()
        deployment._write_confs()
        deployment._sync()
        return deployment

    def _create_databases(self) -> None:
        for name in self.databases.values():
            self.mariadb.create_database(name)
        self.create_user(DB_USER, DB_PASSWORD)

    def create_user(self, user: str, password: str) -> None:
        """A database user with every right on this deployment's databases (password in SQL quoting)."""
        pattern = self.prefix.replace("_", "\\_") + "\\_%"
        sql_password = password.replace("\\", "\\\\").replace("'", "\\'")
        statements = []
        for host in ("%", "localhost"):
            statements += [
                f"DROP USER IF EXISTS '{user}'@'{host}'",
                f"CREATE USER '{user}'@'{host}' IDENTIFIED BY '{sql_password}'",
                f"GRANT ALL PRIVILEGES ON `{pattern}`.* TO '{user}'@'{host}'",
            ]
        self.mariadb.execute(*statements)

    def write_conf(
        self,
        path: Path,
        database: str,
        defaults: dict[str, object] | None = None,
        user: str = DB_USER,
        password: str = DB_PASSWORD,
        quote: bool = False,
    ) -> Path:
        """A nova.conf as a control-plane node has it: [database] is cell0 (DevStack's superconductor layout).

        Values are written as oslo.config reads them: ``$`` doubled (oslo.config substitutes ``$name``),
        and with ``quote`` each value in double quotes (oslo.config strips a matching pair).
        """

        def value(text: object) -> str:
            text = str(text).replace("$", "$$")
            return f'"{text}"' if quote else text

        server = self.server_url(user, password)
        lines = ["[DEFAULT]", "transport_url = rabbit://nova:nova@127.0.0.1:5672/"]
        lines += [f"{key} = {value(val)}" for key, val in (defaults or {}).items()]
        lines += [
            "",
            "[database]",
            f"connection = {value(_url(server, database, '?charset=utf8'))}",
            "",
            "[api_database]",
            f"connection = {value(_url(server, self.databases['api'], '?charset=utf8'))}",
            "",
            "[oslo_messaging_notifications]",
            "driver = noop",
            "",
            "[oslo_concurrency]",
            f"lock_path = {self.directory / 'lock'}",
            "",
        ]
        path.write_text("\n".join(lines))
        path.chmod(0o600)
        return path

    def _write_confs(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.write_conf(self.conf, self.databases["cell0"])
        for cell in CELLS[1:]:
            # what that cell's conductor has: [database] is the cell's own database
            self.write_conf(self.directory / f"nova-{cell}.conf", self.databases[cell])

    def manage(self, *args: str, conf: Path | None = None) -> str:
        nova_manage = str(self.python.parent / "nova-manage")
        return _run([nova_manage, "--config-file", str(conf or self.conf), *args], env=nova_env())

    def _sync(self) -> None:
        self.manage("api_db", "sync")
        cell0 = _url(self.base_url, self.databases["cell0"], "?charset=utf8")
        self.manage("cell_v2", "map_cell0", "--database_connection", cell0)
        self.manage("db", "sync")
        for cell in CELLS[1:]:
            self.manage("db", "sync", "--local_cell", conf=self.directory / f"nova-{cell}.conf")
            # cell1: a plain URL; cell2 and cell3: templates; cell3 disabled (Nova still lists its services)
            url = self.templates.get(cell) or _url(self.base_url, self.databases[cell], "?charset=utf8")
            self.manage(
                "cell_v2",
                "create_cell",
                "--name",
                cell,
                "--database_connection",
                url,
                "--transport-url",
                f"rabbit://nova:nova@127.0.0.1:5672/{cell}",
                *(["--disabled"] if cell == "cell3" else []),
            )

    # --- using ---

    def cell_names(self) -> list[str]:
        rows = self.mariadb.execute("SELECT name FROM cell_mappings ORDER BY id", database=self.databases["api"])
        return [row[0] for row in rows]

    def reset(self) -> None:
        """Remove every service and aggregate (hard delete: a clean slate for the next scenario)."""
        for cell in CELLS:
            self.mariadb.execute("DELETE FROM services", database=self.databases[cell])
        self.mariadb.execute(
            "DELETE FROM aggregate_metadata",
            "DELETE FROM aggregate_hosts",
            "DELETE FROM aggregates",
            database=self.databases["api"],
        )

    def _script(self, name: str, *args: str, stdin: str | None = None) -> dict:
        out = _run([str(self.python), str(HARNESS / name), *args], stdin=stdin, env=nova_env())
        return json.loads(out)

    def write(self, scenario: dict, confs: list[Path] | None = None) -> dict:
        """Write a scenario (see tests/harness/nova_scripts/write_scenario.py) with Nova's objects."""
        return self._script("write_scenario.py", *_conf_args(confs or [self.conf]), stdin=json.dumps(scenario))

    def verdict(self, confs: list[Path] | None = None, now: str | None = None) -> dict:
        """Nova's own answer for every service (see tests/harness/nova_scripts/verdict.py)."""
        extra = ["--now", now] if now else []
        return self._script("verdict.py", *extra, *_conf_args(confs or [self.conf]))

    def minimums(self, confs: list[Path] | None = None) -> dict:
        """Nova's minimum versions and its startup check alone (tests/harness/nova_scripts/minimums.py)."""
        return self._script("minimums.py", *_conf_args(confs or [self.conf]))


def _conf_args(confs: list[Path]) -> list[str]:
    return [arg for conf in confs for arg in ("--config-file", str(conf))]


if __name__ == "__main__":  # python -m tests.harness.nova_env: install (or check) the Nova venv and say where it is
    print(nova_venv(), file=sys.stdout)

"""Shared fixtures: the private MariaDB server, and running the real plugin as a subprocess."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, settings

from tests.harness.mariadb import MariaDB, free_port  # noqa: F401 - re-exported for tests

#: A fixed "now" for exact output: rows are written relative to it and the check runs with --clock NOW.
NOW = dt.datetime(2026, 11, 26, 12, 0, 0)
CLOCK = "--clock=2026-11-26T12:00:00"


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()

    @property
    def status(self) -> str:
        """The status text without perfdata."""
        return self.lines[0].split(" | ")[0]

    @property
    def perfdata(self) -> dict[str, str]:
        text = self.stdout.split("|", 1)[1] if "|" in self.stdout else ""
        out = {}
        for item in text.split():
            name, _, value = item.partition("=")
            out[name.strip("'")] = value
        return out


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOVA_SERVICES_")}
    env.update(extra)
    return env


def run_check(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> Run:
    """The real plugin, as Icinga runs it: a new process, exit code and both streams captured."""
    proc = subprocess.run(
        [sys.executable, "-m", "check_nova_services", *args],
        capture_output=True,
        text=True,
        env=env if env is not None else clean_env(),
        timeout=timeout,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


#: Hypothesis settings of the property tests that write a cell per example on a real server (noisy machines: no deadline).
CELL_PROPERTY = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


def one_cell_on_each_backend(mariadb, tmp_path_factory, name: str) -> dict:
    """A cell database called ``name`` on the test MariaDB and an SQLite file: where an SQL form is proven."""
    from sqlalchemy.engine import make_url

    return {
        "mariadb": mariadb.create_database(name),
        "sqlite": make_url(f"sqlite:///{tmp_path_factory.mktemp(name) / 'cell.sqlite'}"),
    }


@pytest.fixture(scope="session")
def mariadb():
    server = MariaDB()
    yield server
    server.stop()


@pytest.fixture
def cell_db(mariadb, request):
    """Write rows into a fresh cell database on the test MariaDB; returns its URL as text."""
    from check_nova_services.demo.writer import write_cell

    counter = iter(range(100))

    def make(rows: list[dict], legacy: bool = False, name: str | None = None) -> str:
        db = name or f"cell_{request.node.name}"[:40].replace("[", "_").replace("]", "").replace("-", "_")
        db = f"{db}_{next(counter)}"
        url = mariadb.create_database(db)
        write_cell(url, rows, legacy=legacy)
        return url.render_as_string(hide_password=False)

    return make

"""The package as a user gets it: sdist and wheel built with `python -m build`, the wheel installed
into a fresh virtual environment, and its two commands run from there — outside this checkout, so
missing package data or an undeclared dependency fails here. Also: the suite tests this checkout."""

from __future__ import annotations

import datetime as dt
import os
import re
import sqlite3
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

import check_nova_services

REPO = Path(__file__).resolve().parents[1]
VERSION = check_nova_services.__version__
WHERE = "import check_nova_services; print(check_nova_services.__file__)"


def outside_env() -> dict[str, str]:
    """An environment in which nothing points back to this checkout or to the test venv."""
    drop = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
    return {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("NOVA_SERVICES_")}


def run(*args: str | Path, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], cwd=cwd, env=outside_env(), capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """sdist and wheel, built from this checkout as a release would be (the wheel from the sdist)."""
    out = tmp_path_factory.mktemp("dist")
    built = run(sys.executable, "-m", "build", "--outdir", out, REPO, cwd=out)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def wheel_venv(dist, tmp_path_factory) -> Path:
    """A fresh virtual environment holding the built wheel and what it declares, nothing else."""
    venv = tmp_path_factory.mktemp("wheel-venv") / "venv"
    made = run(sys.executable, "-m", "venv", venv, cwd=venv.parent)
    assert made.returncode == 0, made.stderr
    wheel = dist / f"check_nova_services-{VERSION}-py3-none-any.whl"
    installed = run(venv / "bin" / "python", "-m", "pip", "install", "-q", wheel, cwd=venv.parent)
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    return venv


def venv_commands(readme: Path) -> tuple[list[str], list[str]]:
    """The commands that make /opt/check_nova_services: those on a line of their own, and every interpreter named."""
    text = readme.read_text(encoding="utf-8")
    lines = re.findall(r"^(\S+ -m venv /opt/check_nova_services)\b", text, re.MULTILINE)
    return lines, re.findall(r"(\S+) -m venv /opt/check_nova_services", text)


def test_both_readmes_make_the_virtual_environment_one_way_the_one_the_nagios_user_can_run():
    """A venv's interpreter links to the Python that made it: a pyenv python3 (under /root) gave the nagios user
    "Permission denied" when the README said `python3 -m venv` and icinga/README `/usr/bin/python3` (issue 28)."""
    readme, icinga = venv_commands(REPO / "README.md"), venv_commands(REPO / "icinga" / "README.md")
    assert readme[0] == icinga[0] == ["/usr/bin/python3 -m venv /opt/check_nova_services"]
    # RHEL 8's newer Python is the system's too
    assert [python for python in readme[1] + icinga[1] if not re.fullmatch(r"`?/usr/bin/python3(\.\d+)?", python)] == []


def test_the_suite_tests_this_checkout():
    """The plugin under test is the working tree's, in-process and in the subprocesses the tests start."""
    assert Path(check_nova_services.__file__).resolve() == REPO / "check_nova_services" / "__init__.py"
    where = subprocess.run(
        [sys.executable, "-c", WHERE],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert Path(where.stdout.strip()).resolve() == REPO / "check_nova_services" / "__init__.py"


def test_build_makes_one_sdist_and_one_wheel_of_the_version(dist):
    assert sorted(p.name for p in dist.iterdir()) == [
        f"check_nova_services-{VERSION}-py3-none-any.whl",
        f"check_nova_services-{VERSION}.tar.gz",
    ]


def test_sdist_carries_docs_license_metadata_definitions_and_tests(dist):
    with tarfile.open(dist / f"check_nova_services-{VERSION}.tar.gz") as sdist:
        names = set(sdist.getnames())
    top = f"check_nova_services-{VERSION}"
    for name in [
        "README.md",
        "CHANGELOG.md",
        "CONTRIBUTING.md",
        "docs/design.md",
        "docs/operator-guide.md",
        "docs/options.md",
        "LICENSE",
        "setup.cfg",
        "pyproject.toml",
        "PKG-INFO",
        "check_nova_services/__init__.py",
        "icinga/nova_services.conf",
        "icinga/nova-services-page.sh",
        "prometheus/nova-services.rules.yml",
        "tests/run",
        "tests/conftest.py",
        "tests/harness/mariadb.py",
        "tools/mutate.py",
        "tools/options_reference.py",
        "tools/benchmarks/versus_floor.py",
    ]:
        assert f"{top}/{name}" in names, name
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_wheel_venv_runs_the_installed_code_not_this_checkout(wheel_venv, tmp_path):
    where = run(wheel_venv / "bin" / "python", "-c", WHERE, cwd=tmp_path)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).resolve().is_relative_to(wheel_venv.resolve())


def test_wheel_version(wheel_venv, tmp_path):
    shown = run(wheel_venv / "bin" / "check_nova_services", "--version", cwd=tmp_path)
    assert (shown.returncode, shown.stdout, shown.stderr) == (3, f"check_nova_services {VERSION}\n", "")


def test_wheel_demo_and_check(wheel_venv, tmp_path):
    """The README's "Try it", from the installed wheel: the demo writes 45 rows, the check sees 40."""
    db = tmp_path / "nova-demo.sqlite"
    url = f"sqlite:///{db}"
    demo = run(wheel_venv / "bin" / "check_nova_services_demo", "--db-url", url, cwd=tmp_path)
    assert (demo.returncode, demo.stdout, demo.stderr) == (0, f"wrote 45 service rows to {url}\n", "")

    # The demo's "now" is cmp007's heartbeat plus its 312 s: check at exactly that moment.
    with sqlite3.connect(db) as conn:
        (seen,) = conn.execute("SELECT last_seen_up FROM services WHERE host = 'cmp007'").fetchone()
    now = dt.datetime.fromisoformat(seen) + dt.timedelta(seconds=312)
    check = run(wheel_venv / "bin" / "check_nova_services", "--db-url", url, f"--clock={now.isoformat()}", cwd=tmp_path)
    assert (check.returncode, check.stderr) == (1, "")
    assert check.stdout.splitlines() == [
        "NOVA_SERVICES WARNING - nova-compute 4/36 down: cmp007 (5m12s), cmp013 (forced down), "
        "cmp029 (AUTO: Connection to libvirt lost: 1), cmp034 (never reported, created 10m00s ago); 2 disabled | "
        "'nova-compute_disabled'=2;;;0;36 'nova-compute_down'=4;0;18;0;36 'nova-compute_late'=0;0;;0;36 "
        "'nova-compute_max_age'=600.0s;;;0 "  # cmp034: created 10 min ago, never reported
        "'nova-compute_total'=36;;;0 'nova-compute_version_max'=74 'nova-compute_version_min'=74 "
        "'nova-conductor_disabled'=0;;;0;2 'nova-conductor_down'=0;0;0;0;2 "
        "'nova-conductor_late'=0;0;;0;2 'nova-conductor_max_age'=4.0s;;;0 'nova-conductor_total'=2;;;0 "
        "'nova-conductor_version_max'=74 'nova-conductor_version_min'=74 "
        "'nova-scheduler_disabled'=0;;;0;2 "
        "'nova-scheduler_down'=0;0;0;0;2 'nova-scheduler_late'=0;0;;0;2 'nova-scheduler_max_age'=6.0s;;;0 "
        "'nova-scheduler_total'=2;;;0 'nova-scheduler_version_max'=74 'nova-scheduler_version_min'=74 "
        "cells_total=1;;;0 cells_unreachable=0;;;0;1 services_too_old=0;0;;0"
    ]


@pytest.mark.parametrize("directory", ["icinga", "prometheus"])
def test_the_wheel_installs_the_monitoring_definitions_as_data(wheel_venv, directory):
    """Every file of icinga/ and prometheus/ lands in <venv>/share/check_nova_services/, as it is in the checkout."""
    shared = wheel_venv / "share" / "check_nova_services" / directory
    source = REPO / directory
    expected = sorted(str(p.relative_to(source)) for p in source.rglob("*") if p.is_file())
    installed = sorted(str(p.relative_to(shared)) for p in shared.rglob("*") if p.is_file())
    assert installed == expected
    assert all((shared / name).read_bytes() == (source / name).read_bytes() for name in expected)

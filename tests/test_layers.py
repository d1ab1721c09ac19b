"""The layers of the package, as pyproject.toml's import-linter contracts state them, hold; the contracts catch a
break; and the pure modules load no database, thread or plugin library when they are really imported."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "check_nova_services"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
LAYERS = ["cli", "plugin", "settings", "sources", "output", "readings", "rule", "shared"]


#: Colour codes: older import-linter releases (the newest for Python 3.9) colour their report even into a pipe.
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1"}  # one line per contract
    run = subprocess.run([LINT_IMPORTS, "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=300, env=env)
    return subprocess.CompletedProcess(run.args, run.returncode, ANSI.sub("", run.stdout), ANSI.sub("", run.stderr))


def contract_lines(output: str) -> list[str]:
    return [line.rstrip() for line in output.splitlines() if line.rstrip().endswith((" KEPT", " BROKEN"))]


def test_the_import_contracts_hold():
    run = lint_imports(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Contracts: 4 kept, 0 broken." in run.stdout


def test_every_layer_is_a_subpackage_or_a_module_the_contracts_name():
    """A new top-level module or folder must find its place in the contracts, not slip past them."""
    found = {p.stem for p in PACKAGE.glob("*.py")} | {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert sorted(found - {"__init__", "__main__"}) == sorted([*LAYERS, "demo"])
    config = (ROOT / "pyproject.toml").read_text()
    assert all(f'"check_nova_services.{name}' in config for name in [*LAYERS, "demo"])


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("rule/policy.py", "from check_nova_services import readings  # noqa\n", "Layers"),
        ("sources/cells.py", "from check_nova_services.output import pager  # noqa\n", "Layers"),
        ("output/pager.py", "import sqlalchemy  # noqa\n", "Pure"),
        ("readings.py", "import threading  # noqa\n", "Pure"),
        ("sources/urls.py", "from check_nova_services.demo import writer  # noqa\n", "The plugin never imports the demo"),
    ],
)
def test_the_contracts_catch_an_import_that_breaks_a_layer(tmp_path, module, line, broken):
    shutil.copytree(PACKAGE, tmp_path / "check_nova_services", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    target = tmp_path / "check_nova_services" / module
    text = target.read_text()
    # After the module's imports, so that the file stays valid Python.
    at = text.index("from __future__ import annotations\n") + len("from __future__ import annotations\n")
    target.write_text(text[:at] + line + text[at:])
    run = lint_imports(tmp_path)
    assert run.returncode == 1
    assert "Contracts: 3 kept, 1 broken." in run.stdout
    assert [c for c in contract_lines(run.stdout) if c.endswith("BROKEN")][0].startswith(broken)


@pytest.mark.parametrize(
    "module",
    [
        "rule.heartbeat",
        "rule.policy",
        "rule.selection",
        "rule.nodes",
        "rule.metrics",
        "readings",
        "output.pager",
        "output.long_output",
        "output.listing",
        "output.openmetrics",
        "shared.deadline",
    ],
)
def test_pure_modules_load_no_plugin_library_database_or_threads(module):
    """Really imported, in a fresh interpreter: the words and the rule load neither nagiosplugin, SQLAlchemy,
    PyMySQL nor threads (readings.py names SQLAlchemy's URL for type checkers only)."""
    code = (
        f"import sys; import check_nova_services.{module}; "
        "print(sorted(m for m in ('nagiosplugin', 'sqlalchemy', 'threading', 'pymysql') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert loaded == "[]\n"

"""The layers the README's Layout table promises: each module imports only modules on its row or above,
and the pure ones (the rule, the policy, the selection, the words) load no database, thread or plugin library."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "check_nova_services"


def layout_rows() -> list[set[str]]:
    """The modules of each row of the README's Layout table, top to bottom."""
    text = (ROOT / "README.md").read_text()
    table = text[text.index("## Layout") : text.index("By default each cell is")]
    rows = []
    for line in table.splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            rows.append({name[:-3] for name in re.findall(r"`([a-z_]+\.py)`", first_cell)})
    return rows


def own_imports(module: str) -> set[str]:
    """The package's modules that ``module`` imports (``from .x import``, ``from . import x``)."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names if (PACKAGE / f"{alias.name}.py").exists())
    return found


def test_every_module_is_in_the_layout_table():
    listed = set().union(*layout_rows())
    modules = {path.stem for path in PACKAGE.glob("*.py")} - {"__init__", "__main__"}
    assert modules == listed


def test_imports_point_up_the_table():
    rows = layout_rows()
    level = {module: index for index, row in enumerate(rows) for module in row}
    wrong = [
        f"{module} imports {other}"
        for module in level
        for other in sorted(own_imports(module))
        if other in level and level[other] > level[module]
    ]
    assert wrong == []


@pytest.mark.parametrize("module", ["heartbeat", "policy", "selection", "deadline", "pager", "survey"])
def test_pure_layers_load_no_plugin_library_or_threads(module):
    """The rule and the words load neither nagiosplugin nor threads; those below the database layer no SQLAlchemy."""
    code = (
        f"import sys; import check_nova_services.{module}; "
        "print(sorted(m for m in ('nagiosplugin', 'sqlalchemy', 'threading', 'pymysql') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    expected = {
        "heartbeat": [],
        "policy": [],
        "selection": [],
        "deadline": [],
    }
    if module in expected:
        assert loaded.strip() == str(expected[module])
    else:  # built on cells.py: SQLAlchemy and threads, but never nagiosplugin
        assert "nagiosplugin" not in loaded

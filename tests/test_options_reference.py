"""docs/options.md cannot drift from --help: it is generated from the parser (tools/options_reference.py), and
these fail when an option of --help is missing from it or when it is not what the parser gives today."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from check_nova_services.cli.options import build_parser

TOOL = Path(__file__).resolve().parent.parent / "tools" / "options_reference.py"


def load_tool():
    spec = importlib.util.spec_from_file_location("options_reference", TOOL)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


options_reference = load_tool()


def help_option_names(help_text: str) -> set[str]:
    """Every option spelling --help shows, from the invocation that starts an option's line (``-w [BINARY=]RANGE,
    --warning [BINARY=]RANGE``), not from its help text (which may name ``-vv``)."""
    invocations = [line.strip().split("  ")[0] for line in help_text.splitlines() if line.startswith("  -")]
    return {name for invocation in invocations for name in re.findall(r"(?<!\S)--?[\w-]+", invocation)}


def missing_from(reference: str, parser) -> list[str]:
    """The options --help shows that the reference neither heads a section with nor writes as an option."""
    headings = set(re.findall(r"^### (\S+)$", reference, re.MULTILINE))
    written = set(re.findall(r"`(--?[\w-]+)[ `]", reference))
    names = help_option_names(parser.format_help())
    return sorted(name for name in names if name not in written or (name.startswith("--") and name not in headings))


def test_the_reference_is_what_the_parser_gives():
    committed = options_reference.REFERENCE.read_text(encoding="utf-8")
    assert committed == options_reference.reference(build_parser()), "run: .venv/bin/python tools/options_reference.py"


def test_every_option_of_help_is_in_the_reference():
    reference = options_reference.REFERENCE.read_text(encoding="utf-8")
    names = help_option_names(build_parser().format_help())
    assert {"--warning", "-w", "--critical", "-c", "--service-down-time", "--list", "-V", "-h"} <= names
    assert missing_from(reference, build_parser()) == []


def test_an_option_added_to_the_parser_and_not_to_the_reference_is_caught():
    reference = options_reference.REFERENCE.read_text(encoding="utf-8")
    parser = build_parser()
    parser.add_argument("-n", "--new-option", metavar="N", help="an option nobody documented")
    assert missing_from(reference, parser) == ["--new-option", "-n"]
    assert "### --new-option\n\n`-n N`, `--new-option N`: an option nobody documented\n" in options_reference.reference(parser)


def test_check_says_when_the_committed_file_is_stale(tmp_path, monkeypatch, capsys):
    assert options_reference.main(["--check"]) == 0
    stale = tmp_path / "options.md"
    stale.write_text(options_reference.REFERENCE.read_text(encoding="utf-8").replace("### --zone\n", ""))
    monkeypatch.setattr(options_reference, "REFERENCE", stale)
    assert options_reference.main(["--check"]) == 1
    assert capsys.readouterr().err == "options.md is stale: run tools/options_reference.py\n"


@pytest.mark.parametrize(
    ("option", "line"),
    [
        ("--service-down-time", "`--service-down-time SECONDS`: override [DEFAULT]/service_down_time (Nova's default 60)"),
        ("--count-disabled", "`--count-disabled`: count disabled services that are down as down (default: disabled "),
        ("--warning", "`-w [BINARY=]RANGE`, `--warning [BINARY=]RANGE`: range of down services per binary that is OK; "),
    ],
)
def test_an_option_is_written_as_help_writes_it(option, line):
    reference = options_reference.REFERENCE.read_text(encoding="utf-8")
    section = reference.split(f"\n### {option}\n\n", 1)[1]
    assert section.startswith(line)


def test_the_list_help_names_every_column_the_list_prints():
    section = options_reference.REFERENCE.read_text(encoding="utf-8").split("\n### --list\n\n", 1)[1]
    assert section.startswith(
        "`--list`: list every matching service (Binary, Host, Zone, Status, State, Updated_At, Cell, Age, Forced down, "
        "Version, Disabled reason) as nova-manage service list did"
    )

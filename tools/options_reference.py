"""Write docs/options.md, the reference of every option of ``check_nova_services --help``, from the parser itself.

Generated, not written by hand, so that it cannot drift: tests/test_options_reference.py fails when an option
of the parser is missing from the committed file or the file is stale. After changing an option:

    .venv/bin/python tools/options_reference.py          # rewrites docs/options.md
    .venv/bin/python tools/options_reference.py --check  # exit 1 if docs/options.md is stale
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from check_nova_services.cli.options import build_parser

REFERENCE = Path(__file__).resolve().parent.parent / "docs" / "options.md"


def help_text(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    """An option's help as --help prints it: argparse's %-formatting applied (``%%`` is ``%``), on one line."""
    params = {**vars(action), "prog": parser.prog}
    return str(action.help or "") % params


def invocation(action: argparse.Action) -> str:
    """Each spelling of an option with its value, as --help writes them: ``-w [BINARY=]RANGE``, ``--warning …``."""
    if action.nargs == 0:
        return ", ".join(f"`{name}`" for name in action.option_strings)
    value = action.metavar or action.dest.upper()
    return ", ".join(f"`{name} {value}`" for name in action.option_strings)


def option_section(parser: argparse.ArgumentParser, action: argparse.Action) -> list[str]:
    """One option: its long name as the heading (the anchor to link to), how it is written, what it does."""
    long_name = max(action.option_strings, key=len)
    return [f"### {long_name}", "", f"{invocation(action)}: {help_text(parser, action)}", ""]


def reference(parser: argparse.ArgumentParser) -> str:
    """The whole page: the parser's description, each option group in --help's order, its epilog."""
    lines = [
        "# Options of check_nova_services",
        "",
        "<!-- Generated from the parser by tools/options_reference.py: do not edit; run it after changing an option. -->",
        "",
        str(parser.description),
        "",
    ]
    for group in parser._action_groups:  # argparse has no public list of groups; --help reads the same one
        actions = [action for action in group._group_actions if action.option_strings]
        if actions:
            lines += [f"## {group.title}", ""]
            for action in actions:
                lines += option_section(parser, action)
    lines += ["## Passwords", "", str(parser.epilog), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--check", action="store_true", help="exit 1 if docs/options.md is not what the parser gives")
    args = cli.parse_args(argv)
    text = reference(build_parser())
    if args.check:
        if REFERENCE.read_text(encoding="utf-8") != text:
            print(f"{REFERENCE.name} is stale: run tools/options_reference.py", file=sys.stderr)
            return 1
        return 0
    REFERENCE.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""icingaexchange.yml, the file Icinga Exchange imports the project from: it parses, names the project, its
repository and license, and its newest release is the package's version.

The file keeps to a small block subset of YAML (mappings, ``-`` items on a line of their own, plain or
double-quoted scalars, comments), which ``read_simple_yaml`` reads and refuses anything beyond; PyYAML, a test
dependency, must read the file alike, so that the subset's reader is proven against a real YAML parser.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

import check_nova_services

REPO = Path(__file__).resolve().parents[1]
EXCHANGE = REPO / "icingaexchange.yml"
#: A double-quoted scalar without escapes, or a plain one that starts with no YAML indicator and holds no ': '.
SCALAR = re.compile(r'"([^"\\]*)"|([^-?:,\[\]{}#&*!|>\'"%@`\s](?:(?!: )[^#])*?)')
#: Plain scalars YAML reads as something else than a string: numbers, booleans, null.
NOT_A_STRING = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|(?i:true|false|yes|no|on|off|null|~)")


def scalar(text: str) -> str:
    match = SCALAR.fullmatch(text.strip())
    assert match, f"not a plain or double-quoted scalar: {text!r}"
    if match.group(1) is not None:
        return match.group(1)
    assert not NOT_A_STRING.fullmatch(match.group(2)), f"YAML reads {text!r} as no string"
    return match.group(2)


def read_simple_yaml(text: str):
    """Block mappings and sequences of strings, by indentation; every scalar a string."""
    lines = []
    for raw in text.splitlines():
        stripped = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if stripped and stripped != "---":
            assert "\t" not in raw, raw
            lines.append((len(stripped) - len(stripped.lstrip(" ")), stripped.strip()))

    def block(start: int, indent: int):
        if lines[start][1].startswith("-"):
            items = []
            index = start
            while index < len(lines) and lines[index][0] == indent and lines[index][1].startswith("-"):
                assert lines[index][1] == "-", f"a sequence item on a line of its own: {lines[index][1]!r}"
                item, index = block(index + 1, lines[index + 1][0])
                assert lines[index - 1][0] > indent
                items.append(item)
            return items, index
        mapping: dict = {}
        index = start
        while index < len(lines) and lines[index][0] == indent:
            key, colon, value = lines[index][1].partition(":")
            assert colon and key and key == key.strip() and key not in mapping, lines[index][1]
            if value.strip():
                mapping[key] = scalar(value)
                index += 1
            else:
                assert lines[index + 1][0] >= indent, lines[index][1]
                mapping[key], index = block(index + 1, lines[index + 1][0])
        assert index == len(lines) or lines[index][0] < indent, f"bad indentation: {lines[index][1]!r}"
        return mapping, index

    value, end = block(0, lines[0][0])
    assert end == len(lines)
    return value


def exchange() -> dict:
    return read_simple_yaml(EXCHANGE.read_text(encoding="utf-8"))


def test_the_exchange_file_names_the_project():
    data = exchange()
    assert list(data) == ["name", "description", "url", "tags", "vendor", "target", "type", "license", "releases"]
    assert data["name"] == "check_nova_services"
    assert data["description"] == "file:///README.md" and (REPO / "README.md").is_file()
    assert data["url"] == "https://github.com/check-nova-services/check_nova_services"
    assert data["type"] == "Plugin"
    assert data["license"] == "Apache-2.0"
    assert "Apache License" in (REPO / "LICENSE").read_text()[:200]
    tags = [tag.strip() for tag in data["tags"].split(",")]
    assert len(tags) == len(set(tags)) and all(tags) and {"OpenStack", "Nova"} <= set(tags)


def test_the_newest_release_is_the_package_version():
    releases = exchange()["releases"]
    assert [list(release) for release in releases] == [["name", "description", "files"]] * len(releases)
    newest = releases[0]
    assert newest["name"] == check_nova_services.__version__
    version = newest["name"]
    assert newest["files"] == [
        {
            "name": f"check_nova_services-{version}.tar.gz",
            "url": f"https://github.com/check-nova-services/check_nova_services/archive/refs/tags/v{version}.tar.gz",
            "description": newest["files"][0]["description"],
        }
    ]
    assert f"## [{version}]" in (REPO / "CHANGELOG.md").read_text()


def test_pyyaml_reads_the_file_alike():
    assert yaml.safe_load(EXCHANGE.read_text(encoding="utf-8")) == exchange()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'a: 0.1.0\nb: "x: y"\nc:\n  - \n    d: e\n  -\n    d: "f"\n',
            {"a": "0.1.0", "b": "x: y", "c": [{"d": "e"}, {"d": "f"}]},
        ),
        ("# comment\n---\nname: n # trailing\nlist:\n  -\n    x: a, b\n", {"name": "n", "list": [{"x": "a, b"}]}),
    ],
)
def test_the_reader_reads_the_subset(text, expected):
    assert read_simple_yaml(text) == expected


@pytest.mark.parametrize(
    "text",
    ["a: 1\n  b: 2\n", "a: x\na: y\n", "a:\n  - x\n", "a: 'single'\n", "a: [x, y]\n", "a: 1.0\n", "a: yes\n", "a: b: c\n"],
)
def test_the_reader_refuses_what_it_does_not_read(text):
    with pytest.raises(AssertionError):
        read_simple_yaml(text)

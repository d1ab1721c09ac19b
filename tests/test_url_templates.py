"""Cell URL templates, formatted as Nova's CellMapping.format_db_url does (pure), and a template with no base to format from."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from check_nova_services.demo.writer import write_api_database
from check_nova_services.shared.deadline import Deadline
from check_nova_services.sources.discovery import discover
from check_nova_services.sources.urls import (
    format_db_url,
)

BASE = "mysql+pymysql://nova:p%40ss@DB-Main.example.com:3307/nova_cell1?charset=utf8#frag"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (
            "{scheme}://{username}:{password}@{hostname}:{port}/nova_cell2?{query}",
            # hostname lower-cased by urlparse, password kept percent-encoded, as in Nova
            "mysql+pymysql://nova:p%40ss@db-main.example.com:3307/nova_cell2?charset=utf8",
        ),
        ("mysql+pymysql://{username}:{password}@cell2-db/{path}", "mysql+pymysql://nova:p%40ss@cell2-db/nova_cell1"),
        ("sqlite:///{fragment}.sqlite", "sqlite:///frag.sqlite"),
        ("mysql+pymysql://literal:url@host/db", "mysql+pymysql://literal:url@host/db"),
        # a placeholder Nova does not know: Nova logs and uses the template as it is; so do we
        ("mysql+pymysql://{user}@host/db", "mysql+pymysql://{user}@host/db"),
    ],
)
def test_single_host_base(template, expected):
    assert format_db_url(template, BASE) == expected


def test_port_missing_from_the_base_formats_as_none_like_nova():
    assert format_db_url("{scheme}://{hostname}:{port}/x", "mysql+pymysql://u:p@db/nova") == "mysql+pymysql://db:None/x"


def test_comma_separated_hosts_give_indexed_placeholders():
    base = "mysql+pymysql://u1:p1@h1:3306,u2:p2@[fd00::2]:3307/nova"
    template = "{username1}:{password1}@{hostname1}:{port1} {username2}:{password2}@{hostname2}{port2} {hostname}"
    # As in Nova: a bracketed host keeps the ":" in its port, and the plain placeholders come from
    # urlparse, which reads after the last "@"
    assert format_db_url(template, base) == "u1:p1@h1:3306 u2:p2@fd00::2:3307 fd00::2"


def test_a_base_that_urlparse_cannot_read_leaves_the_template_as_nova_does():
    # Nova's _format_url raises on the port here, logs, and uses the raw template.
    base = "mysql+pymysql://u1:p1@h1:3306,u2:p2@[fd00::2]:3307,h3/nova"
    assert format_db_url("{hostname1}/{port3}", base) == "{hostname1}/{port3}"


def test_without_a_base_the_template_stays_as_it_is():
    assert format_db_url("{scheme}://x/y", None) == "{scheme}://x/y"


def test_a_template_without_database_connection_says_what_it_needs(tmp_path):
    """Nova formats a template from [database]/connection: without one, the cell says so, not "no URL"."""
    from check_nova_services.demo.writer import write_api_database
    from tests.conftest import run_check

    api = f"sqlite:///{tmp_path}/api.sqlite"
    uuid = "11111111-1111-4111-8111-111111111111"
    write_api_database(api, [(uuid, "cell1", "{scheme}://{username}:{password}@{hostname}:{port}/nova_cell1")])
    run = run_check("--api-db-url", api, "-v")
    assert (run.code, run.stderr) == (3, "")
    reason = "its database_connection is a template ({...} fields) formatted from [database]/connection or --db-url"
    assert run.status == f"NOVA_SERVICES UNKNOWN - cell cell1 ({uuid}) unreachable: {reason}"
    assert run.lines[1] == f"unreachable: cell cell1 ({uuid}): {reason}"


def test_a_cell_url_template_is_formatted_with_the_real_password(tmp_path):
    """Catches discover's ``render_as_string(hide_password=False)`` -> ``True``: Nova's
    templates ({password}) are formatted from [database]/connection with its password, not with "***"."""
    api = f"sqlite:///{tmp_path}/api.sqlite"
    template = "{scheme}://{username}:{password}@{hostname}:{port}/nova_cell1"
    write_api_database(api, [("11111111-1111-4111-8111-111111111111", "cell1", template)])
    base = make_url("mysql+pymysql://nova:Tmpl-Secret%2F4@db.example.org:3306/nova")
    [cell] = discover(make_url(api), base, Deadline.after(5)).cells
    assert (cell.url.username, cell.url.password, cell.url.host, cell.url.database) == (
        "nova",
        "Tmpl-Secret/4",
        "db.example.org",
        "nova_cell1",
    )


def test_a_multi_host_template_keeps_a_colon_in_the_password():
    """Catches _netloc_parts' ``userpass.split(":", 1)`` -> ``split(":", 2)``: Nova's
    {password1} is everything after the first ':' of the first host's user-info."""
    base = "mysql+pymysql://nova:pa:ss@db1:3306,nova:pa:ss@db2:3307/nova"
    assert format_db_url("{scheme}://{username2}:{password2}@{hostname2}:{port2}/x", base) == (
        "mysql+pymysql://nova:pa:ss@db2:3307/x"
    )


def test_a_multi_host_template_splits_each_host_at_its_first_at_sign():
    """Catches _netloc_parts' ``split("@", 1)`` -> ``split("@", 2)``, as Nova splits it."""
    base = "mysql+pymysql://u1:p1@h1:3306,u2:p2@x@h2:3307/nova"
    assert format_db_url("{username2}:{password2}@{hostname2}:{port2}", base) == "u2:p2@x@h2:3307"
    # ... and at its first ':' (_netloc_parts' split(":", 1)): the rest is the port
    assert format_db_url("{hostname1}|{port1}", "mysql+pymysql://u1@h1:3307:9,u2@h2/nova") == "h1|3307:9"

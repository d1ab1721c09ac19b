"""URL options from real configurations: devstack's plugin=, mysql:// spellings, unsupported backends."""

from __future__ import annotations

import pytest

from check_nova_services.demo.writer import service
from tests.conftest import CLOCK, NOW, run_check

OK_LINE = "NOVA_SERVICES OK - 1 of 1 services up: nova-compute 1/1"


@pytest.fixture(scope="module")
def cell_url(mariadb):
    from check_nova_services.demo.writer import write_cell

    url = mariadb.create_database("urlopt_cell")
    write_cell(url, [service("cmp1", "nova-compute", NOW, age=5.0)])
    return url.render_as_string(hide_password=False)


def test_devstacks_plugin_option_is_dropped_never_loaded(cell_url):
    run = run_check("--db-url", cell_url + "?charset=utf8&plugin=dbcounter", CLOCK, "-vvv")
    assert run.lines[0] == OK_LINE
    assert "--db-url: plugin= dropped, the check loads no SQLAlchemy plugins" in run.lines
    assert (run.code, run.stderr) == (0, "")


@pytest.mark.parametrize("scheme", ["mysql", "mysql+mysqldb", "mariadb", "mariadb+pymysql"])
def test_other_spellings_of_mysql_are_read_with_pymysql(cell_url, scheme):
    run = run_check("--db-url", cell_url.replace("mysql+pymysql://", f"{scheme}://"), CLOCK)
    assert (run.status, run.code, run.stderr) == (OK_LINE, 0, "")


@pytest.mark.parametrize(
    ("url", "backend"),
    [
        ("postgresql://nova@127.0.0.1/nova", "postgresql"),
        ("postgresql+psycopg2://nova@127.0.0.1/nova", "postgresql+psycopg2"),
        ("mysql+mysqlconnector://nova@127.0.0.1/nova", "mysql+mysqlconnector"),
        ("oracle://nova@127.0.0.1/nova", "oracle"),
    ],
)
def test_unsupported_backends_get_one_line_naming_the_supported_ones(url, backend):
    run = run_check("--db-url", url, CLOCK)
    assert run.stdout == (
        f"NOVA_SERVICES UNKNOWN - --db-url: {backend} is not supported; Nova's databases are read from "
        "MySQL/MariaDB (mysql+pymysql://) or SQLite (sqlite:///)\n"
    )
    assert (run.code, run.stderr) == (3, "")


def tripleo_url(cell_url: str, tmp_path, *lines: str) -> tuple[str, str]:
    """A cell URL as TripleO writes it: ?read_default_file=/etc/my.cnf.d/tripleo.cnf&read_default_group=tripleo."""
    cnf = tmp_path / "tripleo.cnf"
    cnf.write_text("[client]\nbind-address=192.0.2.99\n[tripleo]\n" + "".join(f"{line}\n" for line in lines))
    return f"{cell_url}?read_default_file={cnf}&read_default_group=tripleo", str(cnf)


def test_tripleos_option_file_with_bind_address_and_ssl_lines_works(cell_url, tmp_path):
    """bind-address is PyMySQL's (the client binds there); ``ssl=`` is the mysql client's switch, which PyMySQL ignores."""
    url, _ = tripleo_url(cell_url, tmp_path, "bind-address=127.0.0.1", "ssl=0")
    run = run_check("--db-url", url, CLOCK)
    assert (run.status, run.code, run.stderr) == (OK_LINE, 0, "")


def test_a_missing_tls_file_in_the_option_files_group_is_named(cell_url, tmp_path):
    url, cnf = tripleo_url(cell_url, tmp_path, "bind-address=127.0.0.1", "ssl=1", "ssl-ca=/etc/ipa/missing-ca.crt")
    run = run_check("--db-url", url, CLOCK, "-v")
    assert (run.code, run.stderr) == (3, "")
    assert run.lines[1] == (
        f"unreachable: database urlopt_cell: ssl-ca /etc/ipa/missing-ca.crt (in {cnf} [tripleo]): No such file or directory"
    )


def test_a_bind_address_that_is_not_this_hosts_is_named(cell_url, tmp_path):
    url, _ = tripleo_url(cell_url, tmp_path, "bind-address=192.0.2.10")  # TEST-NET-1: no host here has it
    run = run_check("--db-url", url, CLOCK, "-v")
    assert (run.code, run.stderr) == (3, "")
    assert run.lines[1] == (
        "unreachable: database urlopt_cell: bind-address 192.0.2.10 is not an address of this host: Can't connect to "
        "MySQL server on '127.0.0.1' ([Errno 99] Cannot assign requested address) (error 2003)"
    )

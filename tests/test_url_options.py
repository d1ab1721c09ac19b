"""URL options from real configurations: devstack's plugin=, mysql:// spellings, unsupported backends."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from check_nova_services.demo.writer import service, write_cell
from check_nova_services.shared.errors import ConfigError
from check_nova_services.sources.urls import (
    add_password,
    option_file,
    parse_db_url,
    show_url,
)
from tests.conftest import CLOCK, NOW, free_port, run_check
from tests.harness.faults import run_in_process

OK_LINE = "NOVA_SERVICES OK - 1 of 1 services up: nova-compute 1/1"


@pytest.fixture(scope="module")
def cell_url(mariadb):

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
    # The first line names the file, the rest of the reason as far as the budget goes (the path is tmp_path's).
    assert run.status.startswith("NOVA_SERVICES UNKNOWN - database urlopt_cell unreachable: ssl-ca /etc/ipa/missing-ca.crt ")
    assert run.lines[1] == (
        f"unreachable: database urlopt_cell: ssl-ca /etc/ipa/missing-ca.crt (in {cnf} [tripleo]): No such file or directory"
    )


def test_a_bind_address_that_is_not_this_hosts_is_named(cell_url, tmp_path):
    url, _ = tripleo_url(cell_url, tmp_path, "bind-address=192.0.2.10")  # TEST-NET-1: no host here has it
    run = run_check("--db-url", url, CLOCK, "-v")
    assert (run.code, run.stderr) == (3, "")
    assert run.status == (
        "NOVA_SERVICES UNKNOWN - database urlopt_cell unreachable: bind-address 192.0.2.10 is not an address of this "
        "host: Can't connect to MySQL server on '127.0.0.1' ([Errno 99] Cannot assign requested…"
    )
    assert run.lines[1] == (
        "unreachable: database urlopt_cell: bind-address 192.0.2.10 is not an address of this host: Can't connect to "
        "MySQL server on '127.0.0.1' ([Errno 99] Cannot assign requested address) (error 2003)"
    )


def test_a_socket_that_fails_is_named_not_the_host(cell_url, mariadb, tmp_path):
    """PyMySQL's message names the host (127.0.0.1 here) even when it went through a socket: the line names the
    socket, from the URL or from the option file (which wins, as in PyMySQL). The server's own socket works."""
    socket_line = (
        "NOVA_SERVICES UNKNOWN - database urlopt_cell unreachable: Can't connect to MySQL server through socket "
        "'{}' ([Errno 2] No such file or directory) (error 2003)"
    )
    in_url = run_check("--db-url", f"{cell_url}?unix_socket=/nonexistent.sock", CLOCK)
    assert (in_url.status, in_url.code, in_url.stderr) == (socket_line.format("/nonexistent.sock"), 3, "")
    cnf = tmp_path / "socket.cnf"
    cnf.write_text("[client]\nsocket=/nonexistent-too.sock\n")
    in_file = run_check("--db-url", f"{cell_url}?read_default_file={cnf}&unix_socket=/nonexistent.sock", CLOCK)
    assert (in_file.status, in_file.code) == (socket_line.format("/nonexistent-too.sock"), 3)
    refused = run_check("--db-url", cell_url.replace(f":{mariadb.admin.port}/", f":{free_port()}/"), CLOCK)
    assert (refused.status, refused.code) == (
        "NOVA_SERVICES UNKNOWN - database urlopt_cell unreachable: Can't connect to MySQL server on '127.0.0.1' "
        "([Errno 111] Connection refused) (error 2003)",
        3,
    )
    if getattr(mariadb, "socket", None):  # a server of the suite's own (not NOVA_SERVICES_TEST_DB_URL's)
        served = run_check("--db-url", f"{cell_url}?unix_socket={mariadb.socket}", CLOCK)
        assert (served.status, served.code) == (OK_LINE, 0)


def test_a_mysql_url_is_read_with_pymysql():
    """Catches parse_db_url's ``mysql://`` -> ``mysql+pymysql://`` rewrite removed: nova.conf
    files often say mysql://, and without the rewrite SQLAlchemy wants MySQLdb (No module named 'MySQLdb')."""
    run = run_in_process("--db-url", f"mysql://nova:pw@127.0.0.1:{free_port()}/nova", CLOCK)
    assert run.status == (
        "NOVA_SERVICES UNKNOWN - database nova unreachable: "
        "Can't connect to MySQL server on '127.0.0.1' ([Errno 111] Connection refused) (error 2003)"
    )
    assert (run.code, run.stderr) == (3, "")


AMBIGUOUS = (
    "--db-url: cannot tell the password from the host; percent-encode @ / ? # in the user name and password (%40 %2F %3F %23)"
)


@pytest.mark.parametrize(
    ("text", "password"),
    [
        ("mysql+pymysql://nova:Pa?ss@db.example.org/nova", "Pa?ss"),
        ("mysql+pymysql://nova:3306?x@db.example.org:3306/nova", "3306?x"),
        ("mysql+pymysql://nova:a/b#c:d?e@db.example.org/nova?charset=utf8", "a/b#c:d?e"),
    ],
    ids=["raw ? in the password", "the part before a raw ? looks like a host and port", "raw / # : ?"],
)
def test_a_password_is_read_as_make_url_and_so_nova_reads_it(text, password):
    """Nova (oslo.db) reads [database]/connection with SQLAlchemy's make_url, whose password ends at the '@':
    a raw / # : ? is part of it there, and here (issue 28; urllib, which reads them otherwise, is not asked)."""
    url = parse_db_url(text, "--db-url")
    assert (url.username, url.password, url.host, url.database) == ("nova", password, "db.example.org", "nova")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("mysql+pymysql://no/va:secret@db.example.org/nova", AMBIGUOUS),  # make_url: host 'no', the rest a database
        ("mysql+pymysql://no/va:se?cret@db.example.org/nova", AMBIGUOUS),  # ... and options
        ("mysql+pymysql://nova:pw@db.example.org:99999/nova", "--db-url: the port is out of range (1-65535)"),
    ],
    ids=["raw / in the user name", "raw / in the user name, ? in the password", "port out of range"],
)
def test_what_nova_cannot_read_either_is_refused(text, message):
    """Catches _userinfo_unread's ``url.username is not None`` -> ``is None`` and ``":" in before`` -> ``not in``,
    and the port's range: make_url reads no user there (Nova would connect to host 'no'), so the password would
    be read as a database name and shown."""
    with pytest.raises(ConfigError) as raised:
        parse_db_url(text, "--db-url")
    assert str(raised.value) == message


def test_an_at_sign_in_the_options_of_a_url_without_a_user_is_kept():
    """Catches _userinfo_unread's ``bool(at) and`` -> ``or``: an option file's path may hold an '@'."""
    url = parse_db_url("mysql+pymysql://db.example.org/nova?read_default_file=/etc/mon@db.cnf", "--db-url")
    assert url.query["read_default_file"] == "/etc/mon@db.cnf"


def test_an_sqlite_path_may_hold_at_signs():
    """Catches _userinfo_is_ambiguous' ``not sep or scheme...startswith("sqlite")`` -> ``and``: an SQLite URL has no
    user-info, so '@' in its path is no ambiguity."""
    assert parse_db_url("sqlite:////srv/a@b/c@d.sqlite", "--db-url").database == "/srv/a@b/c@d.sqlite"


def test_an_unsupported_backend_is_named_in_40_characters():
    """Catches _printable's ``[:40]`` -> ``[:41]``."""
    with pytest.raises(ConfigError) as raised:
        parse_db_url("a" * 45 + "://nova@db.example.org/nova", "--db-url")
    assert str(raised.value) == (
        f"--db-url: {'a' * 40} is not supported; Nova's databases are read from MySQL/MariaDB (mysql+pymysql://) "
        "or SQLite (sqlite:///)"
    )


def test_the_environments_password_fills_only_a_named_user_without_one():
    """Catches add_password's ``password and url.username and url.password is None`` -> ``or``:
    NOVA_SERVICES_DB_PASSWORD never replaces a URL's own password, nor gives one to no user."""
    urls = ["mysql+pymysql://nova:own@db/nova", "mysql+pymysql://db/nova", "mysql+pymysql://nova@db/nova"]
    assert [add_password(make_url(text), "from-env").password for text in urls] == ["own", None, "from-env"]


def test_an_option_file_is_read_as_mysql_and_pymysql_read_it(tmp_path):
    """Catches option_file's ``allow_no_value=True`` -> ``False`` and ``strict=False`` -> ``True``, and unquote's
    ``len(value) >= 2`` -> ``>`` / ``>= 3``: options without a
    value (skip-ssl), an option given twice (the last wins) and an empty quoted value."""
    cnf = tmp_path / "monitor.cnf"
    cnf.write_text('[client]\nuser = nova\nskip-ssl\npassword = ""\nuser = monitor\nssl_ca = "/etc/ca.pem"\n')
    assert option_file(make_url(f"mysql+pymysql://db.example.org/nova?read_default_file={cnf}")) == {
        "user": "monitor",
        "skip-ssl": "",
        "password": "",
        "ssl-ca": "/etc/ca.pem",
    }


def test_a_plugin_option_is_dropped_and_every_other_option_kept():
    """Catches ``"plugin" in url.query`` -> ``not in``: a URL never makes the check load code."""
    assert dict(parse_db_url("mysql://nova@db/nova?plugin=evil&charset=utf8", "--db-url").query) == {"charset": "utf8"}
    assert dict(parse_db_url("mysql://nova@db/nova?charset=utf8", "--db-url").query) == {"charset": "utf8"}


def test_every_option_that_carries_a_password_is_masked_when_a_url_is_shown():
    """Catches is_secret_option's ``in`` -> ``not in`` (twice) and ``or`` -> ``and``."""
    url = make_url("mysql+pymysql://u:s1@db/nova?PASSWORD=s2&passwd=s3&ssl_key_password=s4&charset=utf8")
    assert show_url(url) == "mysql+pymysql://u:***@db/nova?PASSWORD=***&charset=utf8&passwd=***&ssl_key_password=***"


def test_an_option_file_is_read_from_the_client_group_unless_another_is_named(tmp_path):
    """Catches option_file's ``isinstance(group, str) and group`` -> ``or``."""
    path = tmp_path / "my.cnf"
    path.write_text("[client]\nuser = from_client\n[nagios]\nuser = from_nagios\n")
    base = f"mysql+pymysql://db/nova?read_default_file={path}"
    assert option_file(make_url(base)) == {"user": "from_client"}
    assert option_file(make_url(base + "&read_default_group=nagios")) == {"user": "from_nagios"}


def test_a_raw_at_sign_ending_the_user_name_is_refused():
    """Catches _userinfo_is_ambiguous' ``not sep`` -> ``sep``, ``count("@") > 1`` -> ``> 2`` and its ``return
    True`` -> ``False``, found by running parse_db_url and each mutant
    side by side on generated URLs: SQLAlchemy and urllib would both read the user "nova@"."""
    with pytest.raises(ConfigError) as raised:
        parse_db_url("mysql+pymysql://nova@@db/nova", "--db-url")
    assert str(raised.value) == AMBIGUOUS


def test_an_sqlite_url_is_not_compared_with_urllibs_reading():
    """Catches _same_userinfo's ``== "sqlite" or`` -> ``and``: an SQLite URL has no user or
    host to confuse, and urllib refuses what SQLAlchemy reads there (brackets after the //)."""
    assert parse_db_url("sqlite://[x]/nova.sqlite", "--db-url").database == "nova.sqlite"

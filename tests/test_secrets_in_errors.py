"""Secrets that the driver's or the parser's own error text carries: masking is what keeps them out.

In the other "the password never shows" tests the secret never reaches a message in the first place.
Here it does, before the check words it: a server that echoes the user name and the password it was
sent back in its error packet; an option file whose indented password line PyMySQL reads as part of
``port`` and quotes in its ValueError; a nova.conf whose indented ``transport_url`` line (RabbitMQ's
user-info) the check reads as part of ``report_interval`` and quotes; a URL given to an option whose
error quotes its value. The raw error is first shown to hold the secret (where a test can reach it),
then the real plugin runs (a subprocess) and the exact UNKNOWN line is expected with ``***`` in its
place, exit 3. With ``redaction.redact`` and ``redaction.hide_passwords`` disabled in a copy of the
package, every test here but the premises fails with the secret in the line. Two of them were leaks
found by writing these tests (an option file's indented password the check never knew; a URL given to
``--host``, quoted back by "no services matched"): ``hide_passwords`` now masks what has the form of a
password wherever a message comes from.
"""

from __future__ import annotations

import socket
import struct
import threading
import urllib.parse
from dataclasses import dataclass, field

import pymysql
import pytest

from check_nova_services.demo.writer import service, write_api_database, write_cell
from check_nova_services.shared.errors import ConfigError
from check_nova_services.sources.config import read_nova_conf
from tests.conftest import CLOCK, NOW, clean_env, run_check
from tests.harness.faults import _err, _greeting, _packet

PERFDATA_ONE_CELL = " | cells_total=1;;;0 cells_unreachable=1;;;0;1"


@dataclass
class EchoingServer:
    """Speaks MySQL up to authentication, asks for the password in clear (an auth switch to
    ``mysql_clear_password``, which PyMySQL honours) and refuses it with an error packet that quotes
    the user name and the password it received, as a careless proxy or PAM module might."""

    echoed: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(8)
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    self._talk(conn)
                except OSError:
                    pass

    def _talk(self, conn: socket.socket) -> None:
        conn.sendall(_packet(0, _greeting(1)))
        seq, response = self._read(conn)
        # HandshakeResponse41: capabilities, max packet, charset, 23 bytes of filler, then the user name.
        user = response[32 : response.index(b"\0", 32)].decode()
        conn.sendall(_packet(seq + 1, b"\xfe" + b"mysql_clear_password\0"))
        seq, answer = self._read(conn)
        password = answer.rstrip(b"\0").decode()
        self.echoed.append((user, password))
        message = f"Access denied for user '{user}' with password '{password}'"
        conn.sendall(_packet(seq + 1, _err(1045, "28000", message)))

    @staticmethod
    def _read(conn: socket.socket) -> tuple[int, bytes]:
        header = _recv(conn, 4)
        length = struct.unpack("<I", header[:3] + b"\0")[0]
        return header[3], _recv(conn, length)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._listener.close()


def _recv(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise OSError("client hung up")
        data += chunk
    return data


@pytest.fixture
def echoing():
    server = EchoingServer()
    yield server
    server.close()


def assert_hidden(run, secret: str, line: str) -> None:
    assert run.stdout == line + "\n"
    assert secret not in run.stdout + run.stderr
    assert run.code == 3


# --- a server that echoes the password it was sent ------------------------------------------------------


def test_the_echoing_server_really_quotes_the_password(echoing):
    """The premise of the tests below: the driver's own error text holds the password."""
    with pytest.raises(pymysql.err.OperationalError) as raised:
        pymysql.connect(host="127.0.0.1", port=echoing.port, user="nova", password="Echo-Secret-4", connect_timeout=5)
    assert raised.value.args == (1045, "Access denied for user 'nova' with password 'Echo-Secret-4'")


ECHO_LINE = (
    "NOVA_SERVICES UNKNOWN - database nova unreachable: Access denied for user 'nova' with password '***' (error 1045)"
    ": wrong user or password, or REQUIRE SSL (no TLS here)" + PERFDATA_ONE_CELL
)


@pytest.mark.parametrize(
    "password",
    ["Echo-Secret-4", "Echo/Secret@4 %x", "pw4"],
    ids=["plain", "percent-encoded in the URL", "short"],
)
def test_a_password_echoed_by_the_server_is_masked(echoing, password):
    """As typed in the URL, percent-encoded there (the server quotes it decoded), or short (masked where
    it stands alone, as here between quotes)."""
    url = f"mysql+pymysql://nova:{urllib.parse.quote(password, safe='')}@127.0.0.1:{echoing.port}/nova"
    run = run_check("--db-url", url, CLOCK)
    assert echoing.echoed == [("nova", password)]
    assert_hidden(run, password, ECHO_LINE)


def test_a_password_from_the_environment_echoed_by_the_server_is_masked(echoing):
    run = run_check(
        "--db-url",
        f"mysql+pymysql://nova@127.0.0.1:{echoing.port}/nova",
        CLOCK,
        env=clean_env(NOVA_SERVICES_DB_PASSWORD="Env-Secret-5"),
    )
    assert echoing.echoed == [("nova", "Env-Secret-5")]
    assert_hidden(run, "Env-Secret-5", ECHO_LINE)


def test_a_password_from_an_option_file_echoed_by_the_server_is_masked(echoing, tmp_path):
    """The check never holds this password: PyMySQL reads it from the file, and so does the masking."""
    cnf = tmp_path / "monitor.cnf"
    cnf.write_text('[client]\nuser = nova\npassword = "Opt-Secret-6"\n')
    run = run_check("--db-url", f"mysql+pymysql://127.0.0.1:{echoing.port}/nova?read_default_file={cnf}", CLOCK)
    assert echoing.echoed == [("nova", "Opt-Secret-6")]
    assert_hidden(run, "Opt-Secret-6", ECHO_LINE)


def test_a_cell_mappings_password_echoed_by_the_server_is_masked(echoing, tmp_path):
    """A cell read through the API database: the password comes from a cell_mappings row, and -vvv's
    debug lines quote the same error."""
    cell = tmp_path / "cell0.sqlite"
    write_cell(f"sqlite:///{cell}", [service("ctl1", "nova-conductor", NOW, age=3.0)])
    api = f"sqlite:///{tmp_path}/api.sqlite"
    mapping = f"mysql+pymysql://nova:Cell-Secret-7@127.0.0.1:{echoing.port}/nova_cell1"
    uuid = "11111111-1111-4111-8111-111111111111"
    write_api_database(api, [("00000000-0000-0000-0000-000000000000", "cell0", f"sqlite:///{cell}"), (uuid, "cell1", mapping)])
    run = run_check("--api-db-url", api, CLOCK)
    assert echoing.echoed == [("nova", "Cell-Secret-7")]
    assert run.status == (
        f"NOVA_SERVICES UNKNOWN - cell cell1 ({uuid}) unreachable: "
        "Access denied for user 'nova' with password '***' (error 1045): wrong user or password, or REQUIRE SSL (no "
        "TLS…"  # cut at a word to fit the line; -v has it whole
    )
    assert ("Cell-Secret-7" in run.stdout, run.code) == (False, 3)
    debug = run_check("--api-db-url", api, CLOCK, "-vvv")
    assert len(echoing.echoed) == 2
    assert "with password '***' (error 1045)" in debug.stdout
    assert "Cell-Secret-7" not in debug.stdout + debug.stderr


# --- an option file whose indented password line PyMySQL quotes in an error -----------------------------

#: MySQL's own clients take indented lines in an option file; configparser (PyMySQL's reader) takes an
#: indented line for the continuation of the option above it: ``port`` becomes "3306\npassword = ...".
INDENTED_OPTION_FILE = "[client]\nuser = nova\nport = 3306\n    password = Indented-Secret-8\n"
INDENTED_LINE = (
    "NOVA_SERVICES UNKNOWN - database nova unreachable: "
    "ValueError: invalid literal for int() with base 10: '3306\\npassword = ***'" + PERFDATA_ONE_CELL
)


def indented_option_file(tmp_path) -> str:
    cnf = tmp_path / "monitor.cnf"
    cnf.write_text(INDENTED_OPTION_FILE)
    return str(cnf)


def test_pymysql_quotes_an_indented_password_line(tmp_path):
    """The premise: PyMySQL's error text holds the option file's password."""
    with pytest.raises(ValueError, match="Indented-Secret-8"):
        pymysql.connect(host="127.0.0.1", read_default_file=indented_option_file(tmp_path), connect_timeout=1)


def test_an_indented_password_line_quoted_by_pymysql_is_masked_when_the_check_knows_the_password(tmp_path):
    """The same password also given in the environment (the option file is shared with other clients)."""
    url = f"mysql+pymysql://nova@127.0.0.1/nova?read_default_file={indented_option_file(tmp_path)}"
    run = run_check("--db-url", url, CLOCK, env=clean_env(NOVA_SERVICES_DB_PASSWORD="Indented-Secret-8"))
    assert_hidden(run, "Indented-Secret-8", INDENTED_LINE)


def test_an_indented_password_line_quoted_by_pymysql_is_masked(tmp_path):
    url = f"mysql+pymysql://127.0.0.1/nova?read_default_file={indented_option_file(tmp_path)}"
    run = run_check("--db-url", url, CLOCK)
    assert_hidden(run, "Indented-Secret-8", INDENTED_LINE)


# --- a nova.conf whose indented transport_url the check quotes in an error -------------------------------


def test_a_url_quoted_from_nova_conf_is_masked(tmp_path):
    """RabbitMQ's user-info in [DEFAULT]/transport_url, an indented line read as part of report_interval:
    the check never knew that password, the URL's form is what gets it masked."""
    conf = tmp_path / "nova.conf"
    conf.write_text(
        "[DEFAULT]\nreport_interval = 10\n    transport_url = rabbit://openstack:Rabbit-Secret-9@mq.example.org:5672/\n"
        "[database]\nconnection = sqlite:////nonexistent/nova.sqlite\n"
    )
    with pytest.raises(ConfigError, match="Rabbit-Secret-9"):
        read_nova_conf([str(conf)])
    run = run_check("--config-file", str(conf), CLOCK)
    assert_hidden(
        run,
        "Rabbit-Secret-9",
        f"NOVA_SERVICES UNKNOWN - [DEFAULT] report_interval in {conf} is not an integer: "
        "'10\\ntransport_url = rabbit://openstack:***@mq.example.org:5672/'",
    )


# --- a URL given to the wrong option ---------------------------------------------------------------------

WRONG_OPTION_URL = "mysql+pymysql://nova:Typo-Secret-10@db.example.org:3306/nova"
SHOWN_URL = "mysql+pymysql://nova:***@db.example.org:3306/nova"


@pytest.fixture
def sqlite_cell(tmp_path) -> str:
    cell = tmp_path / "cell.sqlite"
    write_cell(f"sqlite:///{cell}", [service("cmp1", "nova-compute", NOW, age=5.0)])
    return f"sqlite:///{cell}"


@pytest.mark.parametrize(
    ("option", "value", "line"),
    [
        (
            "--clock",
            WRONG_OPTION_URL,
            f"--clock '{SHOWN_URL}': expected local, db or a UTC timestamp like 2026-11-26T15:00:00",
        ),
        (
            "--exclude",
            WRONG_OPTION_URL + "(",
            f"--exclude '{SHOWN_URL}(': not a regular expression "
            f"(missing ), unterminated subpattern at position {len(WRONG_OPTION_URL)})",
        ),
    ],
)
def test_a_url_given_to_an_option_that_quotes_its_value_is_masked(sqlite_cell, option, value, line):
    """The option's own error quotes what it was given: a URL with a password the check never took for
    one (it is not the database's), masked by its form."""
    run = run_check("--db-url", sqlite_cell, f"{option}={value}")
    assert_hidden(run, "Typo-Secret-10", f"NOVA_SERVICES UNKNOWN - {line}")


def test_a_url_given_to_host_is_masked(sqlite_cell):
    run = run_check("--db-url", sqlite_cell, "--host", WRONG_OPTION_URL, CLOCK)
    assert_hidden(run, "Typo-Secret-10", f"NOVA_SERVICES UNKNOWN - no services matched (--host {SHOWN_URL})")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("invalid literal for int() with base 10: '3306\\npassword = S3cret!'", "'3306\\npassword = ***'"),
        ("passwd=S3cret in line 3", "passwd=*** in line 3"),
        ("Access denied for user 'x'@'h' (using password: YES)", "Access denied for user 'x'@'h' (using password: YES)"),
        ("compass = 3", "compass = 3"),
        ("mysql://u:p@ss@h/db", "mysql://u:***@h/db"),
    ],
)
def test_what_has_the_form_of_a_password_is_hidden(text, shown):
    from check_nova_services.shared.redaction import hide_passwords

    assert shown in hide_passwords(text)

"""Authentication methods real clouds use (issue 19): MariaDB's ed25519 on the test server, PyMySQL's RSA path
for MySQL 8's caching_sha2_password, an account that REQUIREs SSL, and the line an operator acts on when a
package is missing or PyMySQL cannot authenticate at all.

MySQL 8 is not in Debian's archive: its full authentication is PyMySQL's own code, so what is tested here is
that the package it needs (cryptography) is installed with the plugin and that PyMySQL's RSA step works with it.
"""

from __future__ import annotations

import subprocess
import sys

import pymysql
import pytest

from check_nova_services.demo.writer import service
from check_nova_services.sources.db_errors import describe_error
from tests.conftest import CLOCK, NOW, run_check

PASSWORD = "Ed-25519-Secret"
ROWS = [service("ctl1", "nova-conductor", NOW, age=3.0), service("cmp1", "nova-compute", NOW, age=4.0)]
UP = "NOVA_SERVICES OK - 2 of 2 services up: nova-conductor 1/1, nova-compute 1/1"

#: The plugin as Icinga runs it, in an environment where one package cannot be imported (as if not installed).
WITHOUT = (
    "import runpy, sys; sys.modules[{package!r}] = None; sys.argv = ['check_nova_services', *sys.argv[1:]]; "
    "runpy.run_module('check_nova_services', run_name='__main__')"
)


def without(package: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT.format(package=package), *args], capture_output=True, text=True, timeout=60
    )


def monitoring_user(mariadb, cell_db, database: str, user: str, identified: str) -> str:
    """A cell database and a SELECT-only user on it, created ``IDENTIFIED …`` as given; its URL."""
    cell_db(ROWS, name=database)
    mariadb.execute(
        f"DROP USER IF EXISTS '{user}'@'%'",
        f"CREATE USER '{user}'@'%' IDENTIFIED {identified}",
        f"GRANT SELECT ON `{database}`.* TO '{user}'@'%'",
    )
    return mariadb.url(database, user, PASSWORD).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def ed25519_cell(mariadb, cell_db):
    if not mariadb.execute("SELECT 1 FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'ed25519'"):
        mariadb.execute("INSTALL SONAME 'auth_ed25519'")
    return monitoring_user(mariadb, cell_db, "auth_ed25519", "mon_ed", f"VIA ed25519 USING PASSWORD('{PASSWORD}')")


@pytest.fixture(scope="module")
def cell_db(mariadb):
    from check_nova_services.demo.writer import write_cell

    def make(rows, name):
        url = mariadb.create_database(name)
        write_cell(url, rows)
        return url.render_as_string(hide_password=False)

    return make


def test_an_ed25519_monitoring_user_reads_its_cell(ed25519_cell):
    run = run_check("--db-url", ed25519_cell, CLOCK)
    assert (run.code, run.status, run.stderr) == (0, UP, "")


def test_without_pynacl_the_line_names_the_package(ed25519_cell):
    proc = without("nacl", "--db-url", ed25519_cell, CLOCK)
    assert (proc.returncode, proc.stderr) == (3, "")
    assert proc.stdout.split(" | ")[0] == (
        "NOVA_SERVICES UNKNOWN - database auth_ed25519 unreachable: MariaDB's ed25519 authentication needs the Python "
        "package PyNaCl: pip install PyNaCl in the plugin's environment"
    )
    assert PASSWORD not in proc.stdout


def test_the_rsa_step_of_caching_sha2_password_works_with_the_installed_cryptography():
    """PyMySQL encrypts the password with the server's RSA key when a MySQL 8 server's cache is cold (after a
    restart or failover) and the connection has no TLS: the server's side is played by cryptography itself."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    from pymysql import _auth

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    salt = b"0123456789abcdefghij"
    sent = _auth.sha2_rsa_encrypt(b"Mysql-8-Secret", salt, public)
    clear = key.decrypt(sent, padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None))
    assert bytes(a ^ b for a, b in zip(clear, (salt * 2)[: len(clear)])) == b"Mysql-8-Secret\0"


def test_without_cryptography_pymysqls_refusal_becomes_a_line_that_names_the_package():
    code = (
        "import sys; sys.modules['cryptography'] = None; "
        "from pymysql import _auth\n"
        "try:\n    _auth.sha2_rsa_encrypt(b'x', b'y' * 20, b'')\n"
        "except RuntimeError as exc:\n    print(exc)"
    )
    refusal = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    from sqlalchemy.engine import make_url

    assert describe_error(RuntimeError(refusal), make_url("mysql+pymysql://mon@db/nova")) == (
        "MySQL 8's caching_sha2_password (or sha256_password) without TLS authentication needs the Python package "
        "cryptography: pip install cryptography in the plugin's environment"
    )


def test_an_auth_plugin_pymysql_cannot_use_is_named():
    from sqlalchemy.engine import make_url

    # PyMySQL's own words for MariaDB 11.6's PARSEC (not in Debian 12's MariaDB 10.11)
    refusal = pymysql.err.OperationalError(2059, "Authentication plugin 'b'parsec'' not configured")
    assert describe_error(refusal, make_url("mysql+pymysql://mon@db/nova")) == (
        "the server asks for the authentication plugin parsec, which PyMySQL cannot use (error 2059): give the "
        "monitoring user mysql_native_password, ed25519 or caching_sha2_password"
    )


def test_a_wrong_password_and_an_account_that_requires_ssl_are_refused_alike(mariadb, cell_db):
    """MariaDB refuses an account that REQUIREs SSL, reached without TLS, with the very words of a wrong password
    (1045, "Access denied ... using password: YES"): the line cannot tell them apart, so it names the plain causes
    first and REQUIRE SSL as the other, and only when the connection had no TLS (over TLS, test_tls's client
    certificate test: no hint). PyMySQL speaks no TLS over a Unix socket either, where MariaDB refuses the same."""
    required = monitoring_user(mariadb, cell_db, "auth_require_ssl", "mon_tls", f"BY '{PASSWORD}' REQUIRE SSL")
    plain = monitoring_user(mariadb, cell_db, "auth_plain", "mon_plain", f"BY '{PASSWORD}'")
    assert run_check("--db-url", plain, CLOCK).status == UP  # the control: the plain account, its right password

    def refusal(url: str) -> tuple[int, str, str]:
        run = run_check("--db-url", url, CLOCK, "-v")
        return run.code, run.lines[1], run.stderr

    hint = "(using password: YES) (error 1045): wrong user or password, or REQUIRE SSL (no TLS here)"
    assert refusal(required) == (
        3,
        f"unreachable: database auth_require_ssl: Access denied for user 'mon_tls'@'localhost' {hint}",
        "",
    )
    assert refusal(plain.replace(PASSWORD, "Not-" + PASSWORD)) == (
        3,
        f"unreachable: database auth_plain: Access denied for user 'mon_plain'@'localhost' {hint}",
        "",
    )
    if getattr(mariadb, "socket", None):  # a server of the suite's own
        for user in ("mon_tls", "mon_plain"):
            mariadb.execute(f"CREATE USER IF NOT EXISTS '{user}'@'localhost' IDENTIFIED BY '{PASSWORD}'")
        mariadb.execute(
            "ALTER USER 'mon_tls'@'localhost' REQUIRE SSL",
            "GRANT SELECT ON auth_require_ssl.* TO 'mon_tls'@'localhost'",
            "GRANT SELECT ON auth_plain.* TO 'mon_plain'@'localhost'",
        )
        through_socket = f"?unix_socket={mariadb.socket}"
        assert run_check("--db-url", plain + through_socket, CLOCK).status == UP
        assert refusal(required + through_socket) == (
            3,
            f"unreachable: database auth_require_ssl: Access denied for user 'mon_tls'@'localhost' {hint}",
            "",
        )

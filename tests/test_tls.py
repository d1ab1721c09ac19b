"""TLS to the database: the URL's ssl_ca/ssl_cert/ssl_key reach PyMySQL, and a MariaDB that requires
TLS is checked with the server's certificate verified (CA and host name) and, when asked, a client
certificate.  The server and its certificates are made here: a private mariadbd started with
--ssl-ca/--ssl-cert/--ssl-key, certificates from the openssl command line tool."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError

from check_nova_services.demo.writer import service, write_cell
from check_nova_services.shared.deadline import Deadline
from check_nova_services.sources.sessions import make_engine
from check_nova_services.sources.tls import pymysql_sharing_tls_defaults
from tests.conftest import CLOCK, NOW, run_check
from tests.harness.faults import FakeMySQL, PrivateMariaDB, parse_plugin_output
from tests.harness.mariadb import free_port

PASSWORD = "Tls-Secret/1"
OK = "NOVA_SERVICES OK - 2 of 2 services up: nova-conductor 1/1, nova-compute 1/1"

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command line tool")


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_ca(directory: Path, name: str) -> None:
    openssl(
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "2",
        "-subj",
        f"/CN={name}",
        "-keyout",
        f"{name}.key",
        "-out",
        f"{name}.pem",
        cwd=directory,
    )


def make_cert(directory: Path, name: str, ca: str, san: str | None) -> None:
    openssl(
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-subj",
        f"/CN={name}",
        "-keyout",
        f"{name}.key",
        "-out",
        f"{name}.csr",
        cwd=directory,
    )
    extensions = directory / f"{name}.ext"
    extensions.write_text(f"subjectAltName = {san}\n" if san else "basicConstraints = CA:FALSE\n")
    openssl(
        "x509",
        "-req",
        "-in",
        f"{name}.csr",
        "-CA",
        f"{ca}.pem",
        "-CAkey",
        f"{ca}.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-out",
        f"{name}.pem",
        "-extfile",
        extensions.name,
        cwd=directory,
    )


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    directory = tmp_path_factory.mktemp("certs")
    make_ca(directory, "ca")
    make_ca(directory, "rogue-ca")  # a CA the server's certificate does not come from
    make_cert(directory, "server", "ca", "IP:127.0.0.1")
    make_cert(directory, "client", "ca", None)
    for key in directory.glob("*.key"):
        key.chmod(0o600)
    return directory


@pytest.fixture(scope="module")
def tls_server(certs):
    server = PrivateMariaDB(
        f"--ssl-ca={certs / 'ca.pem'}", f"--ssl-cert={certs / 'server.pem'}", f"--ssl-key={certs / 'server.key'}"
    )
    try:
        write_cell(
            server.create_database("nova_tls"),
            [service("ctl1", "nova-conductor", NOW, age=3.0), service("cmp1", "nova-compute", NOW, age=5.0)],
        )
        server.execute(
            f"CREATE USER 'tls_user'@'%' IDENTIFIED BY '{PASSWORD}' REQUIRE SSL",
            "GRANT SELECT ON nova_tls.services TO 'tls_user'@'%'",
            f"CREATE USER 'x509_user'@'%' IDENTIFIED BY '{PASSWORD}' REQUIRE SUBJECT '/CN=client'",
            "GRANT SELECT ON nova_tls.services TO 'x509_user'@'%'",
        )
        yield server
    finally:
        server.stop()


def tls_url(server, user: str = "tls_user", host: str = "127.0.0.1", **query: str) -> str:
    return URL.create(
        "mysql+pymysql",
        username=user,
        password=PASSWORD,
        host=host,
        port=server.admin.port,
        database="nova_tls",
        query=query,
    ).render_as_string(hide_password=False)


def ssl_line(line: str) -> str:
    """The line number in CPython's _ssl.c changes between Python builds."""
    return re.sub(r"\(_ssl\.c:\d+\)", "(_ssl.c:N)", line)


def test_ssl_query_options_reach_pymysql(certs):
    """SQLAlchemy's MySQL dialects gather ssl_* query keys into PyMySQL's ``ssl`` dict: seen at connect time."""
    url = URL.create(
        "mysql+pymysql",
        username="u",
        password="p",
        host="127.0.0.1",
        port=free_port(),
        database="nova",
        query={
            "ssl_ca": str(certs / "ca.pem"),
            "ssl_cert": str(certs / "client.pem"),
            "ssl_key": str(certs / "client.key"),
            "ssl_check_hostname": "false",
        },
    )
    engine = make_engine(url, Deadline.after(2))
    seen = {}

    # The plugin's own do_connect makes the connection from these very arguments; this one records them instead.
    event.remove(engine, "do_connect", pymysql_sharing_tls_defaults)

    @event.listens_for(engine, "do_connect")
    def capture(_dialect, _record, _cargs, cparams):
        seen.update(cparams)

    try:
        with pytest.raises(OperationalError, match="Connection refused"), engine.connect():  # nothing listens there
            pass
    finally:
        engine.dispose()
    assert seen["ssl"] == {
        "ca": str(certs / "ca.pem"),
        "cert": str(certs / "client.pem"),
        "key": str(certs / "client.key"),
        "check_hostname": False,
    }
    assert "ssl_ca" not in seen and 1.5 < seen["read_timeout"] <= 1.8  # what is left of -t 2 (less its margin)


def test_server_requires_tls(tls_server):
    """The negative control: with TLS switched off the REQUIRE SSL user is refused."""
    run = run_check("--db-url", tls_url(tls_server, ssl_disabled="1"), CLOCK)
    assert run.status == (
        "NOVA_SERVICES UNKNOWN - database nova_tls unreachable: "
        "Access denied for user 'tls_user'@'localhost' (using password: YES) (error 1045): wrong user or password, "
        "or REQUIRE SSL (no TLS here)"
    )
    assert run.code == 3


def test_check_over_verified_tls(tls_server, certs):
    run = run_check("--db-url", tls_url(tls_server, ssl_ca=str(certs / "ca.pem")), CLOCK, "-vvv")
    parse_plugin_output(run.stdout, run.code)
    assert run.status == OK
    assert (run.code, run.stderr) == (0, "")
    assert PASSWORD not in run.stdout


def test_session_is_encrypted(tls_server, certs):
    """What the plugin's own engine negotiates with ssl_ca: a TLS session, cipher and version named by the server."""
    engine = make_engine(tls_server.url("nova_tls").update_query_dict({"ssl_ca": str(certs / "ca.pem")}), Deadline.after(5))
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SHOW SESSION STATUS WHERE Variable_name IN ('Ssl_cipher', 'Ssl_version')"))
            status = {name: value for name, value in rows}
    finally:
        engine.dispose()
    assert status["Ssl_cipher"] and status["Ssl_version"].startswith("TLSv1.")


def test_server_certificate_from_another_ca_is_refused(tls_server, certs):
    run = run_check("--db-url", tls_url(tls_server, ssl_ca=str(certs / "rogue-ca.pem")), CLOCK, "-v")
    assert ssl_line(run.lines[1]) == (
        "unreachable: database nova_tls: Can't connect to MySQL server on '127.0.0.1' ([SSL: CERTIFICATE_VERIFY_FAILED] "
        "certificate verify failed: self-signed certificate in certificate chain (_ssl.c:N)) (error 2003)"
    )
    assert run.code == 3


def test_host_name_must_match_the_certificate(tls_server, certs):
    """The certificate is for 127.0.0.1: reaching the same server as 'localhost' is refused."""
    run = run_check("--db-url", tls_url(tls_server, host="localhost", ssl_ca=str(certs / "ca.pem")), CLOCK, "-v")
    assert ssl_line(run.lines[1]) == (
        "unreachable: database nova_tls: Can't connect to MySQL server on 'localhost' ([SSL: CERTIFICATE_VERIFY_FAILED] "
        "certificate verify failed: Hostname mismatch, certificate is not valid for 'localhost'. (_ssl.c:N)) "
        "(error 2003)"
    )
    assert run.code == 3


def test_client_certificate(tls_server, certs):
    without = run_check("--db-url", tls_url(tls_server, "x509_user", ssl_ca=str(certs / "ca.pem")), CLOCK)
    assert without.status == (
        "NOVA_SERVICES UNKNOWN - database nova_tls unreachable: "
        "Access denied for user 'x509_user'@'localhost' (using password: YES) (error 1045)"
    )
    with_cert = tls_url(
        tls_server,
        "x509_user",
        ssl_ca=str(certs / "ca.pem"),
        ssl_cert=str(certs / "client.pem"),
        ssl_key=str(certs / "client.key"),
    )
    run = run_check("--db-url", with_cert, CLOCK)
    assert run.status == OK
    assert (run.code, run.stderr) == (0, "")


def test_missing_tls_file_is_named(tls_server, certs):
    run = run_check("--db-url", tls_url(tls_server, ssl_ca=str(certs / "nope.pem")), CLOCK)
    assert run.status == (
        f"NOVA_SERVICES UNKNOWN - database nova_tls unreachable: ssl_ca {certs / 'nope.pem'}: No such file or directory"
    )
    assert run.code == 3


def test_server_without_tls_is_refused_when_tls_is_asked(certs):
    """A man in the middle (or a misconfigured server) that offers no TLS: no downgrade to plain text."""
    fake = FakeMySQL("error")
    try:
        run = run_check("--db-url", fake.url() + f"?ssl_ca={certs / 'ca.pem'}", CLOCK)
    finally:
        fake.close()
    assert run.status == (
        "NOVA_SERVICES UNKNOWN - database nova unreachable: SSL is required but the server doesn't support it (error 2026)"
    )
    assert run.code == 3


def test_without_tls_options_every_connection_prefers_tls_with_one_shared_context(tls_server, mariadb):
    """PyMySQL's "preferred" TLS (no TLS options in the URL) is kept: a TLS server is spoken to over TLS and a
    server without TLS in clear; the run builds that default context once, not once per cell (its CA store
    load cost 20 ms of CPU a cell)."""
    contexts, ciphers = [], []
    for url in (tls_server.url("nova_tls"), tls_server.url("nova_tls"), mariadb.admin):
        engine = make_engine(url, Deadline.after(5))
        try:
            with engine.connect() as conn:
                contexts.append(conn.connection.dbapi_connection.ctx)
                ciphers.append(conn.execute(text("SHOW SESSION STATUS LIKE 'Ssl_cipher'")).one()[1])
        finally:
            engine.dispose()
    assert ciphers[0] and ciphers[1] and not ciphers[2]  # TLS where the server offers it, clear where it does not
    assert contexts[0] is contexts[1] is contexts[2] is not None
    assert make_engine(tls_server.url("nova_tls"), Deadline.after(5)).dialect.driver == "pymysql"


def test_tls_options_get_a_context_of_their_own(tls_server, certs):
    engine = make_engine(tls_server.url("nova_tls").update_query_dict({"ssl_ca": str(certs / "ca.pem")}), Deadline.after(5))
    try:
        with engine.connect() as conn:
            ctx = conn.connection.dbapi_connection.ctx
    finally:
        engine.dispose()
    default = make_engine(tls_server.url("nova_tls"), Deadline.after(5))
    try:
        with default.connect() as conn:
            shared = conn.connection.dbapi_connection.ctx
    finally:
        default.dispose()
    assert ctx is not shared and ctx.check_hostname and not shared.check_hostname

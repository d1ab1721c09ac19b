"""A cell's server always comes from its own mapping: with --cell-credentials api only the API
database's user, password and TLS settings carry over, never its socket, host or port.

Every cell here names the same database as the live one, on a port where nothing listens: had the
API side's socket or option-file server leaked into the cell URLs, the dead cell would be read from
the live server and reported OK."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import URL, make_url

from check_nova_services.demo.writer import service, write_api_database, write_cell
from check_nova_services.sources.urls import with_api_credentials
from tests.conftest import CLOCK, NOW, clean_env, free_port, run_check

LIVE_UUID = "aaaaaaaa-1111-4111-8111-000000000001"
DEAD_UUID = "aaaaaaaa-2222-4222-8222-000000000002"
MONITOR_PASSWORD = "M0n-itor;pw"
NOVA_PASSWORD = "N0va-cells"


@pytest.fixture(scope="module")
def cloud(mariadb):
    """srv_api maps two cells to the database srv_cell: cell live on the test server, cell dead on a closed port."""
    port, dead_port = mariadb.admin.port, free_port()
    write_cell(mariadb.create_database("srv_cell"), [service("cmp1", "nova-compute", NOW, age=5.0)])
    api = mariadb.create_database("srv_api").render_as_string(hide_password=False)
    write_api_database(
        api,
        [
            (LIVE_UUID, "live", f"mysql+pymysql://srvnova:{NOVA_PASSWORD}@127.0.0.1:{port}/srv_cell"),
            (DEAD_UUID, "dead", f"mysql+pymysql://srvnova:{NOVA_PASSWORD}@127.0.0.1:{dead_port}/srv_cell"),
        ],
    )
    statements = []
    for host in ("%", "localhost"):  # a socket connection is from localhost
        statements += [
            f"DROP USER IF EXISTS 'srvmon'@'{host}'",
            f"CREATE USER 'srvmon'@'{host}' IDENTIFIED BY '{MONITOR_PASSWORD}'",
            f"GRANT SELECT ON `srv_api`.* TO 'srvmon'@'{host}'",
            f"GRANT SELECT ON `srv_cell`.`services` TO 'srvmon'@'{host}'",
            f"DROP USER IF EXISTS 'srvnova'@'{host}'",
            f"CREATE USER 'srvnova'@'{host}' IDENTIFIED BY '{NOVA_PASSWORD}'",
            f"GRANT SELECT ON `srv_cell`.* TO 'srvnova'@'{host}'",
        ]
    mariadb.execute(*statements)
    return mariadb, dead_port


def api_url(password: str | None = MONITOR_PASSWORD, host: str | None = "127.0.0.1", port: int | None = None, **query):
    return URL.create(
        "mysql+pymysql",
        username="srvmon" if password is not None else None,
        password=password,
        host=host,
        port=port,
        database="srv_api",
        query=query,
    ).render_as_string(hide_password=False)


def option_file(tmp_path, **options: str) -> str:
    path = tmp_path / "monitor.cnf"
    path.write_text("[client]\n" + "".join(f"{key}={value}\n" for key, value in options.items()))
    path.chmod(0o600)
    return str(path)


def credential_setups(mariadb, tmp_path) -> dict[str, tuple[str, str, dict[str, str]]]:
    """(API URL, --cell-credentials, environment) for each way an operator gives the check its identity."""
    port, sock = mariadb.admin.port, mariadb.socket
    user = {"user": "srvmon", "password": MONITOR_PASSWORD}
    return {
        "mapping, password in the URL, TCP": (api_url(port=port), "mapping", {}),
        "api, password in the URL, TCP": (api_url(port=port), "api", {}),
        "api, password in the environment, TCP": (
            api_url(password=None, port=port).replace("127.0.0.1", "srvmon@127.0.0.1", 1),
            "api",
            {"NOVA_SERVICES_DB_PASSWORD": MONITOR_PASSWORD},
        ),
        "api, password in the URL, unix_socket": (api_url(host="localhost", unix_socket=sock), "api", {}),
        "api, option file with socket=": (
            api_url(password=None, host=None, read_default_file=option_file(tmp_path, socket=sock, **user)),
            "api",
            {},
        ),
        "api, option file with host= and port=": (
            api_url(
                password=None, host=None, read_default_file=option_file(tmp_path, host="127.0.0.1", port=str(port), **user)
            ),
            "api",
            {},
        ),
        "mapping, option file with socket=": (
            api_url(password=None, host=None, read_default_file=option_file(tmp_path, socket=sock, **user)),
            "mapping",
            {},
        ),
    }


SETUPS = [
    "mapping, password in the URL, TCP",
    "api, password in the URL, TCP",
    "api, password in the environment, TCP",
    "api, password in the URL, unix_socket",
    "api, option file with socket=",
    "api, option file with host= and port=",
    "mapping, option file with socket=",
]


@pytest.mark.parametrize("setup", SETUPS)
def test_a_dead_cell_is_never_read_from_the_api_databases_server(cloud, tmp_path, setup):
    mariadb, dead_port = cloud
    url, credentials, env = credential_setups(mariadb, tmp_path)[setup]
    run = run_check("--api-db-url", url, "--cell-credentials", credentials, CLOCK, env=clean_env(**env))
    assert run.status == (
        f"NOVA_SERVICES UNKNOWN - cell dead ({DEAD_UUID}) unreachable: Can't connect to MySQL server on "
        "'127.0.0.1' ([Errno 111] Connection refused) (error 2003)"
    )
    assert run.perfdata["cells_unreachable"] == "1;;;0;2"
    assert run.perfdata["nova-compute_total"] == "1;;;0"  # the live cell was read, once
    assert (run.code, run.stderr) == (3, "")
    assert MONITOR_PASSWORD not in run.stdout and NOVA_PASSWORD not in run.stdout


def test_the_debug_line_shows_each_cell_at_its_own_server(cloud, tmp_path):
    mariadb, dead_port = cloud
    url, credentials, _ = credential_setups(mariadb, tmp_path)["api, password in the URL, unix_socket"]
    run = run_check("--api-db-url", url, "--cell-credentials", credentials, CLOCK, "-vvv")
    cell_lines = [line for line in run.lines if line.startswith("cell dead ")]
    assert cell_lines == [
        f"cell dead ({DEAD_UUID}): Can't connect to MySQL server on '127.0.0.1' ([Errno 111] Connection refused) "
        f"(error 2003) (mysql+pymysql://srvmon:***@127.0.0.1:{dead_port}/srv_cell)"
    ]
    assert run.code == 3


def test_only_credentials_and_tls_carry_over(tmp_path):
    """The URL a cell is read from, exactly: the mapping's server and options, the API side's identity and TLS."""
    cell = make_url("mysql+pymysql://nova:pw@cell3-db:3307/nova?charset=utf8&read_default_file=/etc/nova/cell3.cnf&passwd=x")
    options = option_file(
        tmp_path, user="mon", password="Opt-pw", socket="/run/api.sock", host="api-db", port="3310", **{"ssl-ca": "/ca.pem"}
    )
    api = make_url(f"mysql+pymysql:///nova_api?unix_socket=/run/mysqld.sock&ssl_cert=/c.pem&read_default_file={options}")
    assert with_api_credentials(cell, api).render_as_string(hide_password=False) == (
        "mysql+pymysql://mon:Opt-pw@cell3-db:3307/nova?charset=utf8&read_default_file=%2Fetc%2Fnova%2Fcell3.cnf"
        "&ssl_ca=%2Fca.pem&ssl_cert=%2Fc.pem"
    )
    explicit = make_url("mysql+pymysql://monitor:Url-pw@localhost/nova_api?unix_socket=/run/mysqld.sock")
    assert with_api_credentials(cell, explicit).render_as_string(hide_password=False) == (
        "mysql+pymysql://monitor:Url-pw@cell3-db:3307/nova?charset=utf8&read_default_file=%2Fetc%2Fnova%2Fcell3.cnf"
    )

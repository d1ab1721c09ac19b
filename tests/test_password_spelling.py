"""Passwords as operators write them, raw or percent-encoded, in every place a URL comes from: the check
connects (encoded) or refuses, and never prints or resolves a piece of the password."""

from __future__ import annotations

import urllib.parse

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from check_nova_services.demo.writer import service, write_api_database, write_cell
from tests.conftest import CLOCK, NOW, clean_env, run_check
from tests.harness.faults import run_in_process

OK_LINE = "NOVA_SERVICES OK - 1 of 1 services up: nova-compute 1/1"
#: Harmless passwords whose runs show what the check prints anyway: connected, refused, denied.
PLACEHOLDERS = ("Zq9-Zq9-Zq9", "Zq9@Zq9/Zq9", "Zq9%41Zq9")


@pytest.fixture(scope="module")
def server(mariadb):
    write_cell(mariadb.create_database("pwspell_cell"), [service("cmp1", "nova-compute", NOW, age=5.0)])
    mariadb.create_database("pwspell_api")
    mariadb.execute(
        *(f"DROP USER IF EXISTS 'pwspell'@'{host}'" for host in ("%", "localhost")),
        *(f"CREATE USER 'pwspell'@'{host}'" for host in ("%", "localhost")),
        *(f"GRANT SELECT ON `pwspell_cell`.`services` TO 'pwspell'@'{host}'" for host in ("%", "localhost")),
    )
    return mariadb


def set_password(mariadb, password: str) -> None:
    with mariadb.connect() as conn, conn.cursor() as cursor:
        for host in ("%%", "localhost"):  # pymysql formats the statement: a literal % is written %%
            cursor.execute(f"ALTER USER 'pwspell'@'{host}' IDENTIFIED BY %s", (password,))


def url(port: int, userinfo: str) -> str:
    return f"mysql+pymysql://{userinfo}@127.0.0.1:{port}/pwspell_cell"


def runs(mariadb, tmp_path, password: str) -> dict[str, tuple[bool, object]]:
    """Each source, raw and encoded: (must connect, run).  In this process, for speed: the same main()
    as the installed command; the subprocess tests elsewhere hold the process-level guarantees."""
    port = mariadb.admin.port
    out: dict[str, tuple[bool, object]] = {}
    for form, spelled in (("raw", password), ("encoded", urllib.parse.quote(password, safe=""))):
        text = url(port, f"pwspell:{spelled}")
        must = form == "encoded"
        out[f"--db-url {form}"] = (must, run_in_process("--db-url", text, CLOCK))
        out[f"NOVA_SERVICES_DB_URL {form}"] = (must, run_in_process(CLOCK, env={"NOVA_SERVICES_DB_URL": text}))
        conf = tmp_path / f"nova-{form}.conf"
        conf.write_text(f"[database]\nconnection = {text.replace('$', '$$')}\n")
        out[f"nova.conf {form}"] = (must, run_in_process("--config-file", str(conf), CLOCK))
        api = mariadb.url("pwspell_api").render_as_string(hide_password=False)
        write_api_database(api, [("bbbbbbbb-0000-4000-8000-000000000001", "cell1", text)])
        out[f"cell_mappings {form}"] = (must, run_in_process("--api-db-url", api, CLOCK))
    environment = {"NOVA_SERVICES_DB_PASSWORD": password}
    out["NOVA_SERVICES_DB_PASSWORD"] = (True, run_in_process("--db-url", url(port, "pwspell"), CLOCK, env=environment))
    return out


def pieces(password: str, size: int = 4) -> set[str]:
    return {password[i : i + size] for i in range(len(password) - size + 1)}


@pytest.fixture(scope="module")
def usual_output(server, tmp_path_factory) -> str:
    """What the runs print with harmless passwords: text a password's pieces may share by chance."""
    shown = ""
    for placeholder in PLACEHOLDERS:
        set_password(server, placeholder)
        shown += "".join(r.stdout + r.stderr for _, r in runs(server, tmp_path_factory.mktemp("usual"), placeholder).values())
    return shown


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(password=st.text(st.sampled_from([chr(c) for c in range(0x20, 0x7F)]), min_size=6, max_size=16))
@example(password="Secr@t/Pass")
@example(password="p@ss/w?rd#1%41")
@example(password="x:y@z{q}")
def test_a_password_is_connected_with_or_refused_never_shown(server, usual_output, tmp_path_factory, password):
    assume(password.strip() == password and "$" not in password)
    assume(not any(piece in usual_output for piece in pieces(password)))
    assume(not any(piece in usual_output for piece in pieces(urllib.parse.quote(password, safe=""))))
    set_password(server, password)
    for source, (must_connect, run) in runs(server, tmp_path_factory.mktemp("pw"), password).items():
        shown = run.stdout + run.stderr
        assert run.stderr == "", source
        if must_connect:
            assert (run.status, run.code) == (OK_LINE, 0), source
        else:
            assert run.code in (0, 3), (source, run.stdout)
            assert run.status == OK_LINE or run.status.startswith("NOVA_SERVICES UNKNOWN - "), source
        leaked = [p for p in pieces(password) | pieces(urllib.parse.quote(password, safe="")) if p in shown]
        assert leaked == [], (source, run.stdout)


def test_a_raw_at_and_slash_are_refused_before_any_lookup(server):
    run = run_check("--db-url", "mysql+pymysql://nova:Secr@t/Pass@127.0.0.1/nova", CLOCK, "-vvv")
    assert run.stdout == (
        "NOVA_SERVICES UNKNOWN - --db-url: cannot tell the password from the host; "
        "percent-encode @ / ? # in the user name and password (%40 %2F %3F %23)\n"
    )
    assert (run.code, run.stderr) == (3, "")


@pytest.mark.parametrize("password", ["a/b#c:d?e", "Zq9#Zq9", "Zq9?x/y:z"])
def test_a_raw_slash_hash_colon_or_question_mark_is_read_as_nova_reads_it(server, tmp_path, password):
    """make_url (oslo.db's, so Nova's) ends the password at the '@': raw, these characters are part of it. The check
    connects with it from every source, the environment's password too, and never shows it (issue 28)."""
    set_password(server, password)
    port = server.admin.port
    text = url(port, f"pwspell:{password}")
    conf = tmp_path / "nova.conf"
    conf.write_text(f"[database]\nconnection = {text}\n")
    api = server.url("pwspell_api").render_as_string(hide_password=False)
    write_api_database(api, [("bbbbbbbb-0000-4000-8000-000000000001", "cell1", text)])
    runs = {
        "--db-url": run_check("--db-url", text, CLOCK),
        "nova.conf": run_check("--config-file", str(conf), CLOCK),
        "cell_mappings": run_check("--api-db-url", api, CLOCK),
        "NOVA_SERVICES_DB_PASSWORD": run_check(
            "--db-url", url(port, "pwspell"), CLOCK, env=clean_env(NOVA_SERVICES_DB_PASSWORD=password)
        ),
    }
    for source, run in runs.items():
        assert (run.status, run.code, run.stderr) == (OK_LINE, 0, ""), (source, run.stdout)
        assert password not in run.stdout, source


def test_a_raw_slash_in_the_user_name_is_refused_as_nova_cannot_read_it_and_never_shown(server):
    """make_url reads no user in 'pw/spell:...@': host 'pw', database 'spell:...'. Nova cannot connect; the check
    refuses before any lookup, in one line without the password."""
    run = run_check("--db-url", url(server.admin.port, "pw/spell:Zq9-secret"), CLOCK, "-vvv")
    assert run.stdout == (
        "NOVA_SERVICES UNKNOWN - --db-url: cannot tell the password from the host; "
        "percent-encode @ / ? # in the user name and password (%40 %2F %3F %23)\n"
    )
    assert (run.code, run.stderr) == (3, "")

"""Which nova.conf files are read, in which order: oslo.config's default files, nova.conf.d and --config-dir.

The pure tests search a fake home and /etc under tmp_path; the end-to-end ones run the real plugin
with HOME pointed at a tmp dir (~/.nova comes first in oslo.config's search, before any /etc).
"""

from __future__ import annotations

import errno
import glob
import os

import pytest

from check_nova_services.cli.options import build_parser
from check_nova_services.demo.writer import service, write_cell
from check_nova_services.settings import build_settings
from check_nova_services.shared.deadline import Deadline
from check_nova_services.shared.errors import ConfigError
from check_nova_services.sources.config import nova_config_files, read_nova_conf
from tests.conftest import CLOCK, NOW, clean_env, run_check
from tests.harness.factories import settings_of


class Roots:
    """A fake ~ and /etc; files(...) is nova_config_files searching only them."""

    def __init__(self, tmp_path):
        self.home = tmp_path / "home"
        self.etc = tmp_path / "etc"
        self.home.mkdir()
        self.etc.mkdir()
        self.environ: dict[str, str] = {}

    def write(self, relative: str, text: str = "[DEFAULT]\n", root=None) -> str:
        path = (root or self.etc) / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return str(path)

    def files(self, sources=(), use_defaults=True) -> list[str]:
        return nova_config_files(list(sources), use_defaults, home=str(self.home), environ=self.environ, etc=str(self.etc))


@pytest.fixture
def roots(tmp_path):
    return Roots(tmp_path)


def test_nothing_anywhere(roots):
    assert roots.files() == []


def test_default_file_and_dir_first_existing_each(roots):
    etc_nova_conf = roots.write("nova/nova.conf")
    roots.write("nova.conf")
    b = roots.write("nova/nova.conf.d/20-b.conf")
    a = roots.write("nova/nova.conf.d/10-a.conf")
    roots.write("nova.conf.d/00-never.conf")  # /etc/nova/nova.conf.d comes first: /etc/nova.conf.d is not read
    assert roots.files() == [etc_nova_conf, a, b]


@pytest.mark.parametrize(
    ("places", "winner"),
    [
        (["home/.nova", "home", "etc/nova", "etc"], "home/.nova"),
        (["home", "etc/nova", "etc"], "home"),
        (["etc/nova", "etc"], "etc/nova"),
        (["etc"], "etc"),
    ],
)
def test_search_order_home_dot_nova_home_etc_nova_etc(roots, tmp_path, places, winner):
    for place in places:
        roots.write("nova.conf", root=tmp_path / place)
        roots.write("nova.conf.d/x.conf", root=tmp_path / place)
    assert roots.files() == [str(tmp_path / winner / "nova.conf"), str(tmp_path / winner / "nova.conf.d/x.conf")]


def test_file_and_dir_are_found_independently(roots):
    """The first nova.conf and the first nova.conf.d need not be in the same place."""
    conf = roots.write("nova.conf")
    piece = roots.write("nova.conf.d/x.conf", root=roots.home / ".nova")
    assert roots.files() == [conf, piece]


def test_snap_places_come_last_and_only_when_set(roots, tmp_path):
    common = roots.write("etc/nova/nova.conf", root=tmp_path / "snap_common")
    roots.write("etc/nova/nova.conf", root=tmp_path / "snap")
    piece = roots.write("etc/nova/nova.conf.d/x.conf", root=tmp_path / "snap")
    assert roots.files() == []
    roots.environ.update(SNAP_COMMON=str(tmp_path / "snap_common"), SNAP=str(tmp_path / "snap"))
    assert roots.files() == [common, piece]
    roots.environ["SNAP_COMMON"] = ""
    assert roots.files() == [str(tmp_path / "snap/etc/nova/nova.conf"), piece]
    etc = roots.write("nova/nova.conf")
    assert roots.files() == [etc, piece]


def test_sorted_like_glob_only_visible_dot_conf(roots, tmp_path):
    d = tmp_path / "d"
    names = ["b.conf", "a.conf", "10.conf", "9.conf", "A.conf", "x.conf.bak", "x.txt", ".hidden.conf", "X.CONF", "conf"]
    for name in names:
        roots.write(name, root=d)
    (d / "sub").mkdir()
    roots.write("sub/deep.conf", root=d)
    expected = [str(d / n) for n in ["10.conf", "9.conf", "A.conf", "a.conf", "b.conf"]]
    assert roots.files([("dir", str(d))], use_defaults=False) == expected
    assert expected == sorted(glob.glob(os.path.join(str(d), "*.conf")))  # what oslo.config reads


def test_command_line_order_interleaved(roots, tmp_path):
    """Every --config-file and --config-dir at its place; given both, neither default is read."""
    roots.write("nova/nova.conf")
    roots.write("nova/nova.conf.d/x.conf")
    d1, d2 = tmp_path / "d1", tmp_path / "d2"
    d1_files = [roots.write("b.conf", root=d1), roots.write("a.conf", root=d1)][::-1]
    d2_files = [roots.write("z.conf", root=d2)]
    f1, f2 = str(tmp_path / "f1.conf"), str(tmp_path / "f2.conf")  # need not exist yet: read_nova_conf says so
    sources = [("dir", str(d1)), ("file", f1), ("dir", str(d2)), ("file", f2), ("dir", str(d1))]
    assert roots.files(sources) == [*d1_files, f1, *d2_files, f2, *d1_files]


def test_only_config_dir_still_reads_the_default_file_first(roots, tmp_path):
    conf = roots.write("nova/nova.conf")
    roots.write("nova/nova.conf.d/never.conf")
    mine = roots.write("mine.conf", root=tmp_path / "d")
    assert roots.files([("dir", str(tmp_path / "d"))]) == [conf, mine]


def test_only_config_file_reads_the_default_dir_before_it(roots, tmp_path):
    """oslo.config parses the default nova.conf.d before any command-line file, so the command line wins."""
    roots.write("nova/nova.conf")
    piece = roots.write("nova/nova.conf.d/x.conf")
    mine = str(tmp_path / "mine.conf")
    assert roots.files([("file", mine)]) == [piece, mine]


def test_without_defaults_only_the_command_line(roots, tmp_path):
    roots.write("nova/nova.conf")
    roots.write("nova/nova.conf.d/x.conf")
    assert roots.files(use_defaults=False) == []
    mine = roots.write("mine.conf", root=tmp_path / "d")
    assert roots.files([("dir", str(tmp_path / "d"))], use_defaults=False) == [mine]


def test_tilde_is_our_home(roots):
    piece = roots.write("conf.d/x.conf", root=roots.home)
    assert roots.files([("dir", "~/conf.d"), ("file", "~/f.conf")], use_defaults=False) == [
        piece,
        str(roots.home / "f.conf"),
    ]


def test_missing_config_dir_is_an_error_even_beside_defaults(roots, tmp_path):
    roots.write("nova/nova.conf")
    with pytest.raises(ConfigError, match=f"^config directory {tmp_path}/nope not found$"):
        roots.files([("dir", str(tmp_path / "nope"))])
    afile = roots.write("afile.conf", root=tmp_path)
    with pytest.raises(ConfigError, match=f"^config directory {afile}/sub not found$"):
        roots.files([("dir", f"{afile}/sub")], use_defaults=False)
    # An existing non-directory is no error for oslo.config: it holds no *.conf.
    assert roots.files([("dir", afile)], use_defaults=False) == []


def test_missing_default_dir_is_skipped_an_empty_one_reads_nothing(roots):
    conf = roots.write("nova/nova.conf")
    assert roots.files() == [conf]
    (roots.etc / "nova/nova.conf.d").mkdir()
    roots.write("nova.conf.d/never.conf")  # /etc/nova/nova.conf.d exists, empty: it is the one
    assert roots.files() == [conf]


def _denied(monkeypatch, function: str, path: str) -> None:
    """os.<function>(path) fails with EACCES (the tests may run as root, where chmod denies nothing)."""
    real = getattr(os, function)

    def fake(p, *args, **kwargs):
        if os.fspath(p) == path:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
        return real(p, *args, **kwargs)

    monkeypatch.setattr(os, function, fake)


def test_default_file_we_cannot_look_at_is_an_error(roots, monkeypatch):
    """Not oslo.config's "absent, take the next": Nova, another user, may read it."""
    roots.write("nova.conf")
    denied = str(roots.etc / "nova/nova.conf")
    _denied(monkeypatch, "stat", denied)
    with pytest.raises(ConfigError, match=f"^cannot read config file {denied}: Permission denied$"):
        roots.files()
    # Not searched at all when a --config-file is given.
    assert roots.files([("file", "/x.conf")]) == ["/x.conf"]


def test_default_dir_we_cannot_look_at_is_skipped_one_we_cannot_list_is_an_error(roots, monkeypatch):
    conf = roots.write("nova/nova.conf")
    piece = roots.write("nova.conf.d/x.conf")
    unlisted_dir = os.path.dirname(roots.write("nova/nova.conf.d/y.conf"))
    _denied(monkeypatch, "stat", unlisted_dir)
    assert roots.files() == [conf, piece]  # as oslo.config's os.path.exists: not there, the next one
    monkeypatch.undo()
    _denied(monkeypatch, "listdir", unlisted_dir)
    with pytest.raises(ConfigError, match=f"^cannot read config directory {unlisted_dir}: Permission denied$"):
        roots.files()
    with pytest.raises(ConfigError, match=f"^cannot read config directory {unlisted_dir}: Permission denied$"):
        roots.files([("dir", unlisted_dir)], use_defaults=False)


def test_later_files_win(roots, tmp_path):
    roots.write(
        "nova/nova.conf", "[DEFAULT]\nservice_down_time = 60\nreport_interval = 5\n[database]\nconnection = sqlite:///a\n"
    )
    roots.write("nova/nova.conf.d/10.conf", "[DEFAULT]\nservice_down_time = 70\n")
    roots.write("nova/nova.conf.d/20.conf", "[DEFAULT]\nservice_down_time = 80\n[database]\nconnection = sqlite:///b\n")
    conf = read_nova_conf(roots.files())
    assert (conf.service_down_time, conf.report_interval, conf.database_connection) == (80, 5, "sqlite:///b")
    override = roots.write("cli/override.conf", "[DEFAULT]\nservice_down_time = 90\n", root=tmp_path)
    conf = read_nova_conf(roots.files([("file", str(roots.etc / "nova/nova.conf")), ("dir", os.path.dirname(override))]))
    assert (conf.service_down_time, conf.database_connection) == (90, "sqlite:///a")


# --------------------------------------------------------------------------- the real plugin


@pytest.fixture
def cells(tmp_path):
    """Two SQLite cells: 'calm' with every compute up, 'late' with one 26 s old heartbeat."""
    calm, late = tmp_path / "calm.sqlite", tmp_path / "late.sqlite"
    write_cell(f"sqlite:///{calm}", [service("c1", "nova-compute", NOW, age=5.0), service("c2", "nova-compute", NOW, age=5.0)])
    write_cell(
        f"sqlite:///{late}", [service("c1", "nova-compute", NOW, age=20.0), service("c2", "nova-compute", NOW, age=26.0)]
    )
    return f"sqlite:///{calm}", f"sqlite:///{late}"


OK_LINE = "NOVA_SERVICES OK - 2 of 2 services up: nova-compute 2/2"
DOWN_LINE = "NOVA_SERVICES WARNING - nova-compute 1/2 down: c2 (26s)"


def test_config_dir_after_config_file_overrides_it(tmp_path, cells):
    calm, late = cells
    base = tmp_path / "nova.conf"
    base.write_text(f"[DEFAULT]\nservice_down_time = 60\n[database]\nconnection = {calm}\n")
    d = tmp_path / "nova.conf.d"
    d.mkdir()
    (d / "10-cell.conf").write_text(f"[database]\nconnection = {late}\n")
    # service_down_time <= report_interval: Nova uses int(2.5 * report_interval) = 25; 20 wins over 10 (sorted)
    (d / "20-down-time.conf").write_text("[DEFAULT]\nservice_down_time = 10\nreport_interval = 10\n")
    (d / "10-down-time.conf.disabled").write_text("[DEFAULT]\nreport_interval = 100\n")
    (d / "05-down-time.conf").write_text("[DEFAULT]\nreport_interval = 100\n")
    run = run_check("--config-file", str(base), "--config-dir", str(d), CLOCK, "--age-warning", "0")
    assert (run.status, run.code, run.stderr) == (DOWN_LINE, 1, "")
    assert run.perfdata["nova-compute_max_age"] == "26.0s;;;0"
    # The other way round the file comes last and wins: the calm cell, service_down_time 60.
    run = run_check("--config-dir", str(d), "--config-file", str(base), CLOCK, "--age-warning", "0")
    assert (run.status, run.code, run.stderr) == (OK_LINE, 0, "")
    assert run.perfdata["nova-compute_max_age"] == "5.0s;;;0"
    run = run_check("--config-file", str(base), f"--config-dir={d}", "--config-file", str(base), CLOCK, "--age-warning", "0")
    assert (run.status, run.code) == (OK_LINE, 0)


def test_missing_config_dir_is_unknown(tmp_path, cells):
    calm, _ = cells
    run = run_check("--db-url", calm, "--config-dir", str(tmp_path / "nope"), CLOCK)
    assert (run.stdout, run.stderr, run.code) == (
        f"NOVA_SERVICES UNKNOWN - config directory {tmp_path}/nope not found\n",
        "",
        3,
    )


@pytest.fixture
def home(tmp_path):
    """A HOME with ~/.nova/nova.conf: the first place oslo.config looks, whatever /etc holds."""
    home = tmp_path / "home"
    (home / ".nova/nova.conf.d").mkdir(parents=True)
    return home


def test_default_nova_conf_d_is_read(home, cells):
    calm, late = cells
    (home / ".nova/nova.conf").write_text(f"[database]\nconnection = {calm}\n")
    env = clean_env(HOME=str(home))
    run = run_check(CLOCK, "--age-warning", "0", env=env)
    assert (run.status, run.code, run.stderr) == (OK_LINE, 0, "")
    assert run.perfdata["nova-compute_max_age"] == "5.0s;;;0"
    (home / ".nova/nova.conf.d/50-cell.conf").write_text(f"[database]\nconnection = {late}\n")
    (home / ".nova/nova.conf.d/60-down-time.conf").write_text("[DEFAULT]\nservice_down_time = 10\nreport_interval = 10\n")
    run = run_check(CLOCK, "--age-warning", "0", env=env)
    assert (run.status, run.code, run.stderr) == (DOWN_LINE, 1, "")
    assert run.perfdata["nova-compute_max_age"] == "26.0s;;;0"
    # A --config-file replaces the default nova.conf, not nova.conf.d, and comes after it.
    mine = home / "mine.conf"
    mine.write_text("[DEFAULT]\nservice_down_time = 30\n")
    run = run_check("--config-file", str(mine), CLOCK, "--age-warning", "0", env=env)
    assert (run.status, run.code) == ("NOVA_SERVICES OK - 2 of 2 services up: nova-compute 2/2", 0)
    assert run.perfdata["nova-compute_max_age"] == "26.0s;;;0"
    # A --config-dir replaces nova.conf.d; the default nova.conf is still read first.
    other = home / "other.d"
    other.mkdir()
    run = run_check("--config-dir", str(other), CLOCK, "--age-warning", "0", env=env)
    assert (run.status, run.code) == (OK_LINE, 0)
    assert run.perfdata["nova-compute_max_age"] == "5.0s;;;0"


def test_url_without_config_option_reads_no_file(home, cells):
    calm, _ = cells
    (home / ".nova/nova.conf").write_text("no section header\n")
    (home / ".nova/nova.conf.d/x.conf").write_text("no section header either\n")
    env = clean_env(HOME=str(home))
    run = run_check("--db-url", calm, CLOCK, env=env)
    assert (run.status, run.code) == (OK_LINE, 0)
    run = run_check(CLOCK, env=clean_env(HOME=str(home), NOVA_SERVICES_DB_URL=calm))
    assert (run.status, run.code) == (OK_LINE, 0)
    # Any config option brings the defaults oslo.config reads along with it.
    empty = home / "empty.d"
    empty.mkdir()
    run = run_check("--db-url", calm, "--config-dir", str(empty), CLOCK, env=env)
    assert run.stdout.startswith(
        f"NOVA_SERVICES UNKNOWN - cannot parse config file {home}/.nova/nova.conf: File contains no section headers."
    )
    assert run.code == 3


def test_nothing_found_names_the_places(home):
    if any(os.path.exists(p) for p in ("/etc/nova/nova.conf", "/etc/nova.conf", "/etc/nova/nova.conf.d", "/etc/nova.conf.d")):
        pytest.skip("this machine has a nova.conf or nova.conf.d in /etc")
    run = run_check(CLOCK, env=clean_env(HOME=str(home)))
    assert (run.stdout, run.stderr, run.code) == (
        "NOVA_SERVICES UNKNOWN - no database to check: give --db-url, --api-db-url, NOVA_SERVICES_DB_URL or "
        "--config-file (no nova.conf in ~/.nova, ~, /etc/nova or /etc, no *.conf in nova.conf.d)\n",
        "",
        3,
    )


def test_no_database_to_check_names_the_config_dir_that_was_searched(tmp_path, monkeypatch):
    """Catches ``where = "--config-dir" if any(kind == "dir" ...)`` -> ``!=``."""
    monkeypatch.setenv("HOME", str(tmp_path))
    empty = tmp_path / "nova.conf.d"
    empty.mkdir()
    args = build_parser().parse_args(["--config-dir", str(empty)])
    with pytest.raises(ConfigError) as raised:
        build_settings(args, Deadline.after(10), environ={})
    assert str(raised.value) == (
        "no database to check: give --db-url, --api-db-url, NOVA_SERVICES_DB_URL or --config-file "
        "(no nova.conf in ~/.nova, ~, /etc/nova or /etc, no *.conf in --config-dir)"
    )


def test_nova_conf_is_read_only_when_no_url_is_given_or_a_config_option_is(tmp_path, monkeypatch):
    """Catches build_settings' ``use_defaults=bool(sources) or not given`` -> ``and`` and with its ``not``
    removed: without a URL the default nova.conf is where the database
    is; with one and no --config-* option, nova.conf is not read (it need not even be readable)."""
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".nova").mkdir()
    (tmp_path / ".nova/nova.conf").write_text(
        "[database]\nconnection = sqlite:///from-nova-conf.sqlite\n[DEFAULT]\nservice_down_time = 120\n"
    )
    found = build_settings(build_parser().parse_args([]), Deadline.after(10), environ={})
    assert (found.source.db_url.database, found.policy.down_time) == ("from-nova-conf.sqlite", 120)
    given = settings_of()
    assert (given.source.db_url.database, given.policy.down_time) == ("unused.sqlite", 60)


def test_no_database_to_check_names_nova_conf_d_without_a_config_dir(tmp_path, monkeypatch):
    """Catches ``any(kind == "dir" ...)`` -> ``all``: with no --config-* option at all,
    the default nova.conf.d is the directory that was searched."""
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(ConfigError) as raised:
        build_settings(build_parser().parse_args([]), Deadline.after(10), environ={})
    assert str(raised.value).endswith("(no nova.conf in ~/.nova, ~, /etc/nova or /etc, no *.conf in nova.conf.d)")

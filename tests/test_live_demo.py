"""``check_nova_services_demo --live``: the demo's story stays true while it runs, events change it.

The live demo runs as a real process (``python -m check_nova_services.demo --live``), the check as
Icinga runs it; the rule is shortened (service_down_time 4 s, report_interval 1 s) so that two
service down times pass in seconds, not minutes.  Real MariaDB from the suite's fixture, and SQLite.
"""

from __future__ import annotations

import datetime as dt
import queue
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from check_nova_services.demo.schema import cell_metadata
from check_nova_services.demo.writer import demo_rows, write_cell
from check_nova_services.shared.timestamps import utc_now
from tests.conftest import Run, clean_env, run_check
from tests.test_demo_safety import NOVA_SERVICE_ROW, NOVA_SERVICES_DDL, REFUSED, demo, nova_sqlite

DOWN_TIME = 4
#: The check's rule for these tests: a service is down 4 s after its last heartbeat, late after 2.5 s.
RULE = ("--service-down-time", str(DOWN_TIME), "--report-interval", "1")
#: The live demo's heartbeats: MariaDB keeps whole seconds (as Nova's DATETIME columns do), so a
#: heartbeat reads up to a second older than it is; every 0.5 s keeps it clear of late on a loaded machine.
INTERVAL = "0.5"
PROG = "check_nova_services_demo"

#: One log line: UTC time to the millisecond, then what was done.
LOG_LINE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (.*)")
AGE = r"(\d+s|\d+m\d\ds|\d+h\d\dm)"

#: The demo's story, as the README tells it: WARNING, 4 computes down (cmp007 dead, cmp013 forced
#: down, cmp029 disabled by Nova, cmp034 never reported), cmp021 and cmp029 disabled.
STORY = (
    "NOVA_SERVICES WARNING - nova-compute 4/36 down: cmp007 ({age}), cmp013 (forced down), "
    "cmp029 (AUTO: Connection to libvirt lost: 1), cmp034 (never reported, created {age} ago); 2 disabled"
)
CONDUCTOR_LATE = (
    "NOVA_SERVICES WARNING - nova-compute 4/36 down: cmp007 ({age}), cmp013 (forced down), "
    "cmp029 (AUTO: Connection to libvirt lost: 1) +1 more; 1 heartbeat late: nova-conductor@ctl1 ({age}); 2 disabled"
)
#: The static demo two service down times after it was written: everything that heartbeats is down.
CRITICAL_STALE = "NOVA_SERVICES CRITICAL - nova-conductor: all 2 down; nova-scheduler: all 2 down; nova-compute 35/36 down: "
STORY_DOWN = {"nova-compute_down": "4;0;18;0;36", "nova-conductor_down": "0;0;0;0;2", "nova-scheduler_down": "0;0;0;0;2"}
DEAD = "nova-compute@cmp007, nova-compute@cmp021, nova-compute@cmp034"
#: report_count of a demo row written 30 days after its creation, one report every 10 s.
DEMO_REPORT_COUNT = 86400 * 30 // 10


def heartbeating(count: int = 37, interval: str = INTERVAL) -> str:
    return (
        f"heartbeating {count} services every {interval}s as Nova does; not heartbeating (dead in the demo): {DEAD}; "
        "stop with SIGINT (Ctrl-C) or SIGTERM"
    )


def stopped(name: str, beats: int) -> str:
    return f"stopped on {name}: {beats} heartbeat{'' if beats == 1 else 's'} written, disconnected"


def ages(template: str, text: str) -> list[str]:
    """``text`` must be ``template`` exactly, each ``{age}`` standing for one age as the check writes it."""
    pattern = re.escape(template).replace(re.escape("{age}"), AGE)
    match = re.fullmatch(pattern, text)
    assert match, f"{text!r}\n does not read\n{template!r}"
    return list(match.groups())


def seconds(age: str) -> int:
    """5m12s -> 312 (whole units the check shows)."""
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([dhms])", age))


def shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def check(url: str) -> Run:
    return run_check("--db-url", url, *RULE)


def assert_story(run: Run) -> int:
    """The check tells the demo's story; returns cmp007's age in seconds."""
    assert (run.code, run.stderr) == (1, ""), run
    age, _ = ages(STORY, run.status)
    assert {key: run.perfdata[key] for key in STORY_DOWN} == STORY_DOWN
    assert run.perfdata["nova-compute_late"] == "0;0;;0;36"
    return seconds(age)


class Live:
    """A live demo process; its stdout read as it comes."""

    def __init__(self, url: str, *args: str, interval: str = INTERVAL) -> None:
        command = [sys.executable, "-m", "check_nova_services.demo", "--live", "--db-url", url]
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [*command, "--report-interval", interval, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=clean_env(),
        )
        self.lines: list[str] = []
        self.seen: dict[str, float] = {}
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line)
        self._queue.put(None)

    def _take(self, timeout: float) -> str | None:
        line = self._queue.get(timeout=timeout)
        if line is not None:
            self.lines.append(line)
            text = self.text(line)
            self.seen.setdefault(text, time.monotonic())
        return line

    @staticmethod
    def text(line: str) -> str:
        match = LOG_LINE.fullmatch(line.rstrip("\n"))
        assert match, f"not a log line: {line!r}"
        return match.group(1)

    @property
    def texts(self) -> list[str]:
        return [self.text(line) for line in self.lines]

    def wait_for(self, text: str, timeout: float = 60) -> float:
        """Until the live demo logs ``text``; when it did (monotonic)."""
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            try:
                if self._take(max(deadline - time.monotonic(), 0.01)) is None:
                    raise AssertionError(f"the live demo ended before logging {text!r}: {self.texts}")
            except queue.Empty:
                raise AssertionError(f"no {text!r} in {timeout}s: {self.texts}") from None
        return self.seen[text]

    def stop(self, number: int = signal.SIGTERM) -> Run:
        self.proc.send_signal(number)
        return self.finish()

    def finish(self) -> Run:
        code = self.proc.wait(30)
        while self._take(30) is not None:
            pass
        assert self.proc.stderr is not None
        return Run(code, "".join(self.lines), self.proc.stderr.read())

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def live():
    started: list[Live] = []

    def start(url: str, *args: str, **kwargs: str) -> Live:
        started.append(Live(url, *args, **kwargs))
        return started[-1]

    yield start
    for process in started:
        process.kill()


@pytest.fixture(params=["sqlite", "mariadb"])
def place(request, tmp_path):
    """``place(name)``: the URL of a database that does not exist (SQLite) or is empty (MariaDB)."""
    if request.param == "sqlite":
        return lambda name: f"sqlite:///{tmp_path}/{name}.sqlite"
    mariadb = request.getfixturevalue("mariadb")
    test = request.node.originalname.removeprefix("test_")[:30]
    return lambda name: mariadb.create_database(f"live_{test}_{name}").render_as_string(hide_password=False)


def services(url: str) -> dict[str, dict]:
    """Every row of the services table, by binary@host."""
    engine = create_engine(url, poolclass=NullPool)
    table = cell_metadata().tables["services"]
    try:
        with engine.connect() as conn:
            return {f"{row.binary}@{row.host}": row._asdict() for row in conn.execute(select(table))}
    finally:
        engine.dispose()


# --- the story holds ---------------------------------------------------------------------------


@pytest.mark.slow  # real time: it waits out service down times, whatever the Python (run once, in the whole suite)
def test_live_demo_holds_warning_across_two_down_times_while_the_static_demo_goes_critical(place, live):
    static, url = place("static"), place("live")
    assert demo("--db-url", static).code == 0
    before = time.monotonic()
    player = live(url)
    first = player.wait_for("heartbeat: 37 services")
    assert player.texts[:2] == [f"wrote 45 service rows to {shown(url)}", heartbeating()]
    for moment in (0, DOWN_TIME + 0.5, 2 * DOWN_TIME + 1):  # the last one two service down times after the start
        time.sleep(max(first + moment - time.monotonic(), 0))
        asked = time.monotonic()
        age = assert_story(check(url))
        # cmp007 died 312 s before the demo was written, and stays dead
        assert 312 + int(asked - player.seen[f"wrote 45 service rows to {shown(url)}"]) - 1 <= age
        assert age <= 312 + int(time.monotonic() - before) + 1
    stale = check(static)
    assert (stale.code, stale.stderr) == (2, "")
    assert stale.status.startswith(CRITICAL_STALE)
    assert {key: stale.perfdata[key] for key in STORY_DOWN} == {
        "nova-compute_down": "35;0;18;0;36",
        "nova-conductor_down": "2;0;0;0;2",
        "nova-scheduler_down": "2;0;0;0;2",
    }
    run = player.stop()
    assert (run.code, run.stderr) == (0, "")
    beats = player.texts[2:-1]
    assert len(beats) >= 2 * DOWN_TIME + 1 and set(beats) == {"heartbeat: 37 services"}
    assert player.texts[-1] == stopped("SIGTERM", len(beats))
    # what Nova's state report writes, on the running services only
    rows = services(url)
    written = utc_now() - dt.timedelta(seconds=time.monotonic() - before)
    for name in ("nova-compute@cmp001", "nova-conductor@ctl1", "nova-compute@cmp013", "nova-compute@cmp029"):
        row = rows[name]
        assert row["report_count"] == DEMO_REPORT_COUNT + len(beats), name
        assert row["updated_at"] == row["last_seen_up"] > written + dt.timedelta(seconds=2 * DOWN_TIME), name
    assert (rows["nova-compute@cmp013"]["forced_down"], rows["nova-compute@cmp013"]["disabled"]) == (True, False)
    cmp029 = rows["nova-compute@cmp029"]
    assert (cmp029["disabled"], cmp029["disabled_reason"]) == (True, "AUTO: Connection to libvirt lost: 1")
    for name in ("nova-compute@cmp007", "nova-compute@cmp021"):  # dead: heartbeat as written
        assert rows[name]["report_count"] == DEMO_REPORT_COUNT
        assert rows[name]["last_seen_up"] < written - dt.timedelta(seconds=300)
    assert (rows["nova-compute@cmp021"]["disabled"], rows["nova-compute@cmp034"]["last_seen_up"]) == (True, None)
    api = rows["nova-osapi_compute@ctl1"]
    assert (api["report_count"], api["last_seen_up"]) == (0, None)


def test_a_stale_demo_of_its_own_is_reused_and_comes_back_as_written(place, live):
    url = place("stale")
    write_cell(url, demo_rows(utc_now() - dt.timedelta(hours=1)))
    assert check(url).status.startswith(CRITICAL_STALE)
    player = live(url)
    player.wait_for("heartbeat: 37 services")
    assert player.texts[:2] == [f"reusing the demo in {shown(url)}", heartbeating()]
    # 312 s before a heartbeat written an hour ago, created 600 s before that
    assert ages(STORY, check(url).status) == ["1h05m", "1h10m"]
    assert player.stop(signal.SIGINT).code == 0


# --- events ------------------------------------------------------------------------------------


@pytest.mark.slow  # real time: it waits out service down times, whatever the Python (run once, in the whole suite)
def test_a_stopped_conductor_turns_it_critical_and_its_revival_back(place, live):
    url = place("events")
    player = live(url, "--event", "1:stop:nova-conductor@ctl1", "--event", "10:revive:nova-conductor@ctl1")
    first = player.wait_for("heartbeat: 37 services")
    assert_story(check(url))
    stop_seen = player.wait_for("event at 1s: nova-conductor@ctl1 stopped heartbeating")
    assert player.texts[-1] == "event at 1s: nova-conductor@ctl1 stopped heartbeating"
    while True:  # up for Nova until service_down_time has passed since its last heartbeat, at the start
        run = check(url)
        if run.code != 1:
            break
        # its heartbeat is late first (older than --age-warning, 2.5 s here), then it is down
        ages(CONDUCTOR_LATE if "late" in run.status else STORY, run.status)
        assert time.monotonic() < stop_seen + DOWN_TIME + 5, "still WARNING"
    assert time.monotonic() > first + DOWN_TIME - 1  # - 1: MariaDB's whole seconds
    assert (run.code, run.stderr) == (2, "")
    conductor, cmp007 = ages(
        "NOVA_SERVICES CRITICAL - nova-conductor 1/2 down: ctl1 ({age}); nova-compute 4/36 down: cmp007 ({age}), "
        "cmp013 (forced down), cmp029 (AUTO: Connection to libvirt lost: 1) +1 more; 2 disabled",
        run.status,
    )
    assert DOWN_TIME <= seconds(conductor) < 10 and seconds(cmp007) > 312
    assert run.perfdata["nova-conductor_down"] == "1;0;0;0;2"
    player.wait_for("event at 10s: nova-conductor@ctl1 revived: enabled, forced_down false, heartbeating again")
    assert_story(check(url))  # at once: the revival is a heartbeat
    run = player.stop()
    assert (run.code, run.stderr) == (0, "")
    beats = [text for text in player.texts if text.startswith("heartbeat: ")]
    assert set(beats) == {"heartbeat: 37 services", "heartbeat: 36 services"}
    assert [text for text in player.texts if text not in beats] == [
        f"wrote 45 service rows to {shown(url)}",
        heartbeating(),
        "event at 1s: nova-conductor@ctl1 stopped heartbeating",
        "event at 10s: nova-conductor@ctl1 revived: enabled, forced_down false, heartbeating again",
        stopped("SIGTERM", len(beats)),
    ]


def sqlite_rows(path) -> dict[str, tuple]:
    with sqlite3.connect(path) as conn:
        found = conn.execute(
            "SELECT binary, host, disabled, disabled_reason, forced_down, report_count, last_seen_up = updated_at "
            "FROM services WHERE host IN ('cmp001', 'cmp002', 'cmp003', 'cmp004', 'cmp007')"
        ).fetchall()
    conn.close()
    return {f"{b}@{h}": tuple(rest) for b, h, *rest in found}


@pytest.mark.slow  # real time: it waits out service down times, whatever the Python (run once, in the whole suite)
def test_every_event_writes_what_nova_writes(tmp_path, live):
    """Nova's report_interval and service_down_time: no heartbeat between the first (0 s) and 10 s."""
    path = tmp_path / "events.sqlite"
    url = f"sqlite:///{path}"
    player = live(
        url,
        *("--event", "0:force-down:cmp001"),
        *("--event", "0:disable:nova-compute@cmp002:RAM swap: ticket 4711"),
        *("--event", "0:auto-disable:nova-compute@cmp003"),
        *("--event", "0:stop:nova-compute@cmp004"),
        *("--event", "6:revive:cmp001", "--event", "6:revive:cmp002", "--event", "6:revive:nova-compute@cmp003"),
        *("--event", "6:revive:cmp004", "--event", "6:revive:cmp007"),
        interval="10",
    )
    player.wait_for("heartbeat: 36 services")
    assert player.texts == [
        f"wrote 45 service rows to {url}",
        heartbeating(interval="10"),
        "event at 0s: nova-compute@cmp001 forced down",
        "event at 0s: nova-compute@cmp002 disabled by an operator, reason: RAM swap: ticket 4711",
        "event at 0s: nova-compute@cmp003 disabled by Nova, reason: AUTO: Connection to libvirt lost: 1",
        "event at 0s: nova-compute@cmp004 stopped heartbeating",
        "heartbeat: 36 services",
    ]
    beat = DEMO_REPORT_COUNT + 1
    assert sqlite_rows(path) == {
        # forced down, disabled: the process still reports, the flags stay
        "nova-compute@cmp001": (0, None, 1, beat, 1),
        "nova-compute@cmp002": (1, "RAM swap: ticket 4711", 0, beat, 1),
        "nova-compute@cmp003": (1, "AUTO: Connection to libvirt lost: 1", 0, beat, 1),
        # stopped before its first heartbeat, dead in the demo: nothing written
        "nova-compute@cmp004": (0, None, 0, DEMO_REPORT_COUNT, 1),
        "nova-compute@cmp007": (0, None, 0, DEMO_REPORT_COUNT, 1),
    }
    run = run_check("--db-url", url)
    assert (run.code, run.stderr) == (1, "")
    ages(
        "NOVA_SERVICES WARNING - nova-compute 6/36 down: cmp001 (forced down), "
        "cmp003 (AUTO: Connection to libvirt lost: 1), cmp007 ({age}), cmp013 (forced down) +2 more; 4 disabled",
        run.status,
    )
    player.wait_for("event at 6s: nova-compute@cmp007 revived: enabled, forced_down false, heartbeating again")
    revived = {
        1: "event at 6s: nova-compute@cmp001 revived: enabled, forced_down false, heartbeating again",
        2: "event at 6s: nova-compute@cmp002 revived: enabled, forced_down false, heartbeating again",
        3: "event at 6s: nova-compute@cmp003 revived: enabled, forced_down false, heartbeating again",
        4: "event at 6s: nova-compute@cmp004 revived: enabled, forced_down false, heartbeating again",
        7: "event at 6s: nova-compute@cmp007 revived: enabled, forced_down false, heartbeating again",
    }
    assert player.texts[-5:] == list(revived.values())
    rows = sqlite_rows(path)
    assert {name: row[:3] for name, row in rows.items()} == dict.fromkeys(rows, (0, None, 0))
    assert rows["nova-compute@cmp004"][3:] == rows["nova-compute@cmp007"][3:] == (DEMO_REPORT_COUNT + 1, 1)
    run = run_check("--db-url", url)
    assert (run.code, run.stderr) == (1, "")
    ages(
        "NOVA_SERVICES WARNING - nova-compute 3/36 down: cmp013 (forced down), "
        "cmp029 (AUTO: Connection to libvirt lost: 1), cmp034 (never reported, created {age} ago); 2 disabled",
        run.status,
    )
    player.wait_for("heartbeat: 38 services")
    assert player.stop().code == 0


def test_a_deployment_with_cells_is_kept_alive_too(tmp_path, live):
    base = f"sqlite:///{tmp_path}/dep.sqlite"
    api = f"sqlite:///{tmp_path}/dep-api.sqlite"
    hint = f"check them all with: check_nova_services --api-db-url {api}"
    for verb in ("wrote an", "reusing the demo's"):
        player = live(base, "--cells", "2")
        player.wait_for("heartbeat: 39 services")
        assert player.texts[:2] == [f"{verb} API database and 3 cells; {hint}", heartbeating(39)]
        run = run_check("--api-db-url", api, *RULE)
        assert (run.code, run.stderr) == (1, "")
        ages(STORY, run.status)  # the cells' conductors are up
        assert player.stop().code == 0


# --- stopping ----------------------------------------------------------------------------------


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_sigterm_and_sigint_stop_it_cleanly(place, live, request, number):
    url = place("stop")
    mariadb = request.getfixturevalue("mariadb") if url.startswith("mysql") else None
    aborted = mariadb.execute("SHOW GLOBAL STATUS LIKE 'Aborted_clients'") if mariadb else None
    player = live(url)
    player.wait_for("heartbeat: 37 services")
    time.sleep(0.2)  # between two heartbeats, asleep
    asked = time.monotonic()
    run = player.stop(number)
    assert time.monotonic() - asked < 5
    assert (run.code, run.stderr) == (0, ""), run
    beats = player.texts[2:-1]
    assert player.texts[:2] == [f"wrote 45 service rows to {shown(url)}", heartbeating()]
    assert beats and set(beats) == {"heartbeat: 37 services"}
    name = signal.Signals(number).name
    assert player.texts[-1] == stopped(name, len(beats))
    if mariadb:  # every connection closed, none dropped
        connected = f"SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = '{make_url(url).database}'"
        deadline = time.monotonic() + 10
        while mariadb.execute(connected) != [(0,)] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert mariadb.execute(connected) == [(0,)]
        assert mariadb.execute("SHOW GLOBAL STATUS LIKE 'Aborted_clients'") == aborted


# --- safety and usage --------------------------------------------------------------------------


def test_mariadb_nova_database_is_refused_and_untouched(mariadb, live):
    url = mariadb.create_database("live_refused_nova")
    mariadb.execute(NOVA_SERVICES_DDL, NOVA_SERVICE_ROW, database="live_refused_nova")
    before = mariadb.execute("SELECT * FROM services", database="live_refused_nova")
    run = live(url.render_as_string(hide_password=False)).finish()
    assert run == Run(1, "", REFUSED.format(url=shown(str(url)), held="services: 1 row"))
    assert mariadb.execute("SELECT * FROM services", database="live_refused_nova") == before
    assert mariadb.execute("SHOW TABLES", database="live_refused_nova") == [("services",)]


def test_sqlite_nova_file_is_refused_and_untouched(tmp_path, live):
    path = tmp_path / "nova.sqlite"
    nova_sqlite(path)
    before = path.read_bytes()
    url = f"sqlite:///{path}"
    run = live(url, "--event", "3:stop:compute-17.prod").finish()
    assert run == Run(1, "", REFUSED.format(url=url, held="services: 1 row"))
    assert path.read_bytes() == before


LONG = "x" * 256
BAD_EVENTS = {
    "30-stop-cmp001": "expected SECONDS:ACTION:TARGET[:REASON], e.g. 30:stop:nova-compute@cmp001",
    "soon:stop:cmp001": "'soon' is not a number of seconds (0 or more)",
    "-5:stop:cmp001": "'-5' is not a number of seconds (0 or more)",
    "nan:stop:cmp001": "'nan' is not a number of seconds (0 or more)",
    "30:kill:cmp001": "unknown action 'kill' (one of stop, force-down, disable, auto-disable, revive)",
    "30:stop:nova-compute@": "the target must be BINARY@HOST or HOST, not 'nova-compute@'",
    "30:stop:@cmp001": "the target must be BINARY@HOST or HOST, not '@cmp001'",
    "30:stop:cmp001:why": "only disable and auto-disable take a reason",
    "30:disable:cmp001:": "empty reason (leave out the last ':' for none)",
    f"30:disable:cmp001:{LONG}": "the reason is longer than Nova's 255 characters",
}


@pytest.mark.parametrize("event", list(BAD_EVENTS), ids=lambda event: event[:24])
def test_bad_event_syntax_is_one_line_and_touches_nothing(tmp_path, event):
    url = f"sqlite:///{tmp_path}/demo.sqlite"
    expected = Run(2, "", f"{PROG}: --event {event!r}: {BAD_EVENTS[event]}\n")
    assert demo("--live", "--db-url", url, f"--event={event}") == expected
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("interval", ["0", "-1", "often", "inf"])
def test_a_bad_report_interval_is_one_line_and_touches_nothing(tmp_path, interval):
    url = f"sqlite:///{tmp_path}/demo.sqlite"
    error = f"--report-interval {interval!r}: expected a number of seconds greater than 0"
    assert demo("--live", "--db-url", url, f"--report-interval={interval}") == Run(2, "", f"{PROG}: {error}\n")
    assert list(tmp_path.iterdir()) == []


def test_an_event_on_no_service_of_the_demo_is_one_line(tmp_path, live):
    url = f"sqlite:///{tmp_path}/demo.sqlite"
    player = live(url, "--event", "5:force-down:nova-compute@cmp999")
    run = player.finish()
    assert (run.code, player.texts) == (2, [f"wrote 45 service rows to {url}"])
    assert (
        run.stderr
        == f"{PROG}: --event '5:force-down:nova-compute@cmp999': no service in the demo matches nova-compute@cmp999\n"
    )


def test_live_options_without_live_are_one_line(tmp_path):
    url = f"sqlite:///{tmp_path}/demo.sqlite"
    expected = Run(2, "", f"{PROG}: --event and --report-interval need --live\n")
    assert demo("--db-url", url, "--event", "1:stop:cmp001") == expected
    assert demo("--db-url", url, "--report-interval", "1") == expected
    assert list(tmp_path.iterdir()) == []

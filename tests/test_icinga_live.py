"""The live demo under the real Icinga 2: a conductor stops, the on-call is paged once, it comes back.

``check_nova_services_demo --live`` keeps a demo cell database on the suite's MariaDB alive (its
story: WARNING, four computes down) and, on its own clock, stops the heartbeat of nova-conductor@ctl1,
revives it, then revives the story's broken computes.  The real ``icinga2 daemon`` runs the shipped
CheckCommand (icinga/nova_services.conf) on that database every second with Nova's rule shortened
(service_down_time 4 s, report_interval 1 s), and pages through the shipped NotificationCommand
(icinga/nova_services_page.conf, icinga/nova-services-page.sh) into a file, with the filter and the
open-pages directory of the shipped example's "page" Notification (icinga/examples/controller.conf) and
the example's three checks to a HARD state.

The paging policy (icinga/README.md, "On-call"), which this test asserts: WARNING (the story) pages no
one (the script drops it: no page is open); a CRITICAL that follows a HARD WARNING is HARD at its
first check (Icinga's rule) and pages once at once (no reminder within interval = 15m); CRITICAL
easing back to WARNING is paged, the page being open; OK sends the recovery and closes it.
"""

from __future__ import annotations

import re
import shutil
import signal
import time

import pytest

from tests.harness.daemons import ICINGA2, ICINGA_DIR, Icinga2, include_lines, need, wait_for, write_plugin
from tests.test_icinga import perfdata
from tests.test_live_demo import Live, heartbeating, shown, stopped

pytestmark = pytest.mark.slow

#: Nova's rule for the check (Icinga vars): down 4 s after the last heartbeat, late after 2.5 s.
DOWN_TIME, REPORT_INTERVAL = 4, 1
#: The live demo's heartbeats: MariaDB keeps whole seconds, so a heartbeat reads up to a second older
#: than it is; every 0.5 s keeps it clear of "late" (2.5 s) on a loaded machine (as in test_live_demo).
LIVE_INTERVAL = "0.5"
#: The events, in seconds after the live demo starts: Icinga 2 starts meanwhile (a few seconds) and
#: must see the story first; the conductor is CRITICAL from about STOP + 4 s until REVIVE.
STOP, REVIVE, REPAIR = 14, 26, 34
REPAIRED = ("cmp007", "cmp013", "cmp021", "cmp029", "cmp034")
EVENTS = [
    f"{STOP}:stop:nova-conductor@ctl1",
    f"{REVIVE}:revive:nova-conductor@ctl1",
    *(f"{REPAIR}:revive:{host}" for host in REPAIRED),
]

#: The demo's story, the first line as the plugin prints it (README: "Try it").
STORY = (
    "NOVA_SERVICES WARNING - nova-compute 4/36 down: cmp007 ({age}), cmp013 (forced down), "
    "cmp029 (AUTO: Connection to libvirt lost: 1), cmp034 (never reported, created {age} ago); 2 disabled"
)
#: The conductor down: CRITICAL, control plane first; the computes' names shortened to fit.
CRITICAL = (
    "NOVA_SERVICES CRITICAL - nova-conductor 1/2 down: ctl1 ({age}); nova-compute 4/36 down: cmp007 ({age}), "
    "cmp013 (forced down), cmp029 (AUTO: Connection to libvirt lost: 1) +1 more; 2 disabled"
)
#: -v: a line per problem service, the conductor first, the disabled ones last.
CRITICAL_LINES = [
    "down: nova-conductor@ctl1 cell={cell} status=enabled state=down heartbeat={age} ago "
    "(last_seen_up {time}) forced_down=no disabled_reason=-",
    "down: nova-compute@cmp007 cell={cell} status=enabled state=down heartbeat={age} ago "
    "(last_seen_up {time}) forced_down=no disabled_reason=-",
    "down: nova-compute@cmp013 cell={cell} status=enabled state=down heartbeat={age} ago "
    "(last_seen_up {time}) forced_down=yes disabled_reason=-",
    "disabled by Nova (AUTO): nova-compute@cmp029 cell={cell} status=disabled state=up heartbeat={age} ago "
    "(last_seen_up {time}) forced_down=no disabled_reason=AUTO: Connection to libvirt lost: 1",
    "down: nova-compute@cmp034 cell={cell} status=enabled state=down heartbeat={age} ago "
    "(created_at {time}) forced_down=no disabled_reason=-",
    "disabled, down: nova-compute@cmp021 cell={cell} status=disabled state=down heartbeat={age} ago "
    "(last_seen_up {time}) forced_down=no disabled_reason=maintenance: RAM replacement",
]
#: All up: the control plane first, as in every line of the plugin (README: "When nothing is wrong").
ALL_UP = "NOVA_SERVICES OK - 40 of 40 services up: nova-conductor 2/2, nova-scheduler 2/2, nova-compute 36/36"
#: An age as the plugin writes it (text.duration): 45s, 5m12s, 3h05m, 2d00h.
AGE = r"(\d+s|\d+m\d\ds|\d+h\d\dm|\d+d\d\dh)"
#: A page starts with DATE_TIME ($icinga.long_date_time$), then the subject.
PAGE_DATE = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}"
#: A heartbeat or creation time in the -v lines (UTC, whole seconds).
TIME = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"


def pattern(template: str, **exact: str) -> str:
    """``template`` as a regex: ``{age}`` and ``{time}`` stand for any age and timestamp the plugin
    writes (real time: they move), the other ``{name}`` for ``exact[name]``; the rest literal."""
    out = []
    for piece in re.split(r"(\{\w+\})", template):
        name = piece[1:-1] if re.fullmatch(r"\{\w+\}", piece) else None
        if name == "age":
            out.append(AGE)
        elif name == "time":
            out.append(TIME)
        elif name is not None:
            out.append(re.escape(exact[name]))
        else:
            out.append(re.escape(piece))
    return "".join(out)


def first_line_reads(template: str, output: str) -> list[str]:
    """The output's first line is ``template`` exactly but for the ages; returns the ages."""
    line = output.split("\n")[0]
    match = re.fullmatch(pattern(template), line)
    assert match, f"{line!r}\n does not read\n{template!r}"
    return list(match.groups())


def seconds(age: str) -> int:
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([dhms])", age))


def shipped_page_filter(name: str = "page") -> dict:
    """types, states, interval and vars of the shipped example's ``apply Notification NAME``, as written."""
    text = (ICINGA_DIR / "examples" / "controller.conf").read_text()
    block = re.search(rf'apply Notification "{name}" to Service \{{(.*?)\n\}}', text, re.S)
    assert block, f'no Notification "{name}" in icinga/examples/controller.conf'
    found = {key: re.search(rf"^\s*{key} = (.*)$", block.group(1), re.M) for key in ("types", "states", "interval")}
    assert all(found.values()), found
    settings = {key: match.group(1).strip() for key, match in found.items()}
    settings["vars"] = re.findall(r"^\s*vars\.(\w+ = .*)$", block.group(1), re.M)
    return settings


@pytest.fixture
def icinga(tmp_path):
    need(ICINGA2)
    daemon = Icinga2(tmp_path / "icinga2")
    yield daemon
    daemon.stop()


def test_icinga_pages_once_when_the_live_demo_stops_a_conductor_and_recovers_on_ok(icinga, mariadb, tmp_path):
    page_filter = shipped_page_filter("page")
    # The filter this test's expectations rest on (see the module docstring).
    assert page_filter == {
        "types": "[ Problem, Recovery, Acknowledgement, Custom ]",
        "states": "[ OK, Warning, Critical, Unknown ]",
        "interval": "15m",
        "vars": ['nova_services_page_open_dir = "/var/lib/icinga2/nova-services-pages"'],
    }
    open_dir = tmp_path / "open-pages"
    database = "icinga_live_demo"
    url = mariadb.create_database(database).render_as_string(hide_password=False)

    write_plugin(icinga.plugin_dir)
    plugin = str(icinga.plugin_dir / "check_nova_services")
    scripts = icinga.dirs["etc"] / "scripts"
    scripts.mkdir()
    shutil.copy(ICINGA_DIR / "nova-services-page.sh", scripts / "nova-services-page.sh")
    pages = tmp_path / "pages.log"

    player = Live(url, *(arg for event in EVENTS for arg in ("--event", event)), interval=LIVE_INTERVAL)
    try:
        player.wait_for("heartbeat: 37 services")
        assert player.texts[:2] == [f"wrote 45 service rows to {shown(url)}", heartbeating(interval=LIVE_INTERVAL)]
        icinga.start(
            include_lines([ICINGA_DIR / "nova_services.conf", ICINGA_DIR / "nova_services_page.conf"])
            + f"""
object Host "ctl1" {{
	check_command = "dummy"
}}

object Service "nova-services" {{
	host_name = "ctl1"
	check_command = "nova_services"
	check_interval = 1s
	retry_interval = 1s
	max_check_attempts = 3
	vars.nova_services_db_url = "{url}"
	vars.nova_services_service_down_time = {DOWN_TIME}
	vars.nova_services_report_interval = {REPORT_INTERVAL}
}}

object User "oncall" {{
}}

object Notification "page" {{
	host_name = "ctl1"
	service_name = "nova-services"
	command = "nova_services-page"
	users = [ "oncall" ]
	types = {page_filter["types"]}
	states = {page_filter["states"]}
	interval = {page_filter["interval"]}
	vars.nova_services_page_file = "{pages}"
	vars.nova_services_page_open_dir = "{open_dir}"
}}
"""
        )

        def result(state: int, after: float = 0.0, timeout: float = 20) -> dict:
            """The first check result in ``state`` that ended after ``after`` (Icinga's clock)."""

            def probe():
                attrs = icinga.service("ctl1", "nova-services")
                cr = attrs["last_check_result"]
                if cr and cr["execution_end"] > after and attrs["state"] == state:
                    return cr
                return None

            return wait_for(f"a check result in state {state}", probe, timeout, interval=0.1)

        def page_count() -> int:
            return pages.read_text().count("\n\n") if pages.exists() else 0

        # The story: WARNING, three checks in a row (the live demo keeps it true): HARD, nobody paged.
        story = [result(1)]
        while len(story) < 3:
            story.append(result(1, after=story[-1]["execution_end"]))
        assert story[0]["command"] == [plugin, "--report-interval", "1", "--service-down-time", "4", "--timeout", "10", "-v"]
        for cr in story:
            assert url not in str(cr)  # the URL travels in the environment
            assert cr["exit_status"] == 1
            first_line_reads(STORY, cr["output"])
            assert perfdata(cr["performance_data"])["nova-compute_down"] == "4;0;18;0;36"
        assert time.monotonic() - player.started < STOP, f"Icinga 2 started too slowly to see the story before {STOP}s"
        assert page_count() == 0

        # The conductor stops: late (still WARNING), then down: CRITICAL, paged once, with the plugin's output.
        stop_logged = f"event at {STOP}s: nova-conductor@ctl1 stopped heartbeating"
        player.wait_for(stop_logged, timeout=STOP + 10)
        cr = result(2, after=story[-1]["execution_end"], timeout=DOWN_TIME + 15)
        conductor, _ = first_line_reads(CRITICAL, cr["output"])
        assert DOWN_TIME <= seconds(conductor) < DOWN_TIME + 8
        assert cr["exit_status"] == 2
        # From a HARD WARNING, the first CRITICAL check is HARD: no three checks to confirm it (Icinga's rule).
        attrs = icinga.service("ctl1", "nova-services")
        assert (attrs["state_type"], attrs["last_hard_state_change"]) == (1, attrs["last_state_change"])
        assert perfdata(cr["performance_data"])["nova-conductor_down"] == "1;0;0;0;2"
        wait_for("the page", lambda: page_count() == 1, 20)
        cr = result(2, after=icinga.service("ctl1", "nova-services")["last_check_result"]["execution_end"])
        text = pages.read_text()  # another CRITICAL result after the page: still one page
        problem = (
            PAGE_DATE
            + re.escape(" [PROBLEM] nova-services on ctl1 is CRITICAL (was WARNING)\n")
            + "\n".join(pattern(line, cell=database) for line in [CRITICAL, *CRITICAL_LINES])
            + "\n\n"
        )
        assert re.fullmatch(problem, text), text
        notification = icinga.api("/v1/objects/notifications/ctl1!nova-services!page")["results"][0]["attrs"]
        assert notification["notification_number"] == 2  # the story's WARNING (handed over, dropped), the CRITICAL

        assert [path.name for path in open_dir.iterdir()] == ["ctl1!nova-services"]

        # It comes back: the story's WARNING again. CRITICAL -> WARNING eases the open page: the on-call hears of it
        # once, with the plugin's output.
        player.wait_for(f"event at {REVIVE}s: nova-conductor@ctl1 revived: enabled, forced_down false, heartbeating again")
        cr = result(1, after=cr["execution_end"])
        first_line_reads(STORY, cr["output"])
        wait_for("the eased page", lambda: page_count() == 2, 20)
        cr = result(1, after=icinga.service("ctl1", "nova-services")["last_check_result"]["execution_end"])
        first_line_reads(STORY, cr["output"])
        eased = pages.read_text()[len(text) :]
        eased_page = (
            PAGE_DATE
            + re.escape(" [PROBLEM] nova-services on ctl1 is WARNING (was CRITICAL)\n")
            + "\n".join(pattern(line, cell=database) for line in [STORY, *CRITICAL_LINES[1:]])
            + "\n\n"
        )
        assert re.fullmatch(eased_page, eased), eased
        text += eased

        # The computes are repaired too: OK, and the recovery reaches whoever was paged.
        repair_logged = [
            f"event at {REPAIR}s: nova-compute@{host} revived: enabled, forced_down false, heartbeating again"
            for host in REPAIRED
        ]
        player.wait_for(repair_logged[-1], timeout=REPAIR + 10)
        cr = result(0, after=cr["execution_end"])
        assert (cr["output"], cr["exit_status"]) == (ALL_UP + "\n", 0)
        wait_for("the recovery", lambda: page_count() == 3, 20)
        recovery = pages.read_text()[len(text) :]
        assert re.fullmatch(PAGE_DATE + re.escape(f" [RECOVERY] nova-services on ctl1 is OK\n{ALL_UP}\n\n"), recovery), recovery

        assert list(open_dir.iterdir()) == []  # the recovery closed the page

        # Icinga's own account: four HARD state changes (WARNING, CRITICAL, WARNING, OK), each handed to the page
        # script, which dropped the first (it followed no paged CRITICAL: the story's start, nothing in the file).
        log = icinga.log.read_text(errors="replace")
        checked = re.findall(r"Checkable 'ctl1!nova-services' has 1 notification\(s\)\. Checking filters for type '(\w+)'", log)
        sent = re.findall(r"Sending '(\w+)' notification 'ctl1!nova-services!page' for user 'oncall'", log)
        assert (checked, sent) == (["Problem", "Problem", "Problem", "Recovery"], ["Problem", "Problem", "Problem", "Recovery"])

        # SIGTERM: the live demo stops cleanly, and logged exactly what it did.
        player.wait_for("heartbeat: 40 services")
        run = player.stop(signal.SIGTERM)
        assert (run.code, run.stderr) == (0, "")
        beats = [line for line in player.texts if line.startswith("heartbeat: ")]
        assert set(beats) == {"heartbeat: 37 services", "heartbeat: 36 services", "heartbeat: 40 services"}
        assert [line for line in player.texts if line not in beats] == [
            f"wrote 45 service rows to {shown(url)}",
            heartbeating(interval=LIVE_INTERVAL),
            stop_logged,
            f"event at {REVIVE}s: nova-conductor@ctl1 revived: enabled, forced_down false, heartbeating again",
            *repair_logged,
            stopped("SIGTERM", len(beats)),
        ]
    except BaseException:
        print(icinga.log_tail(80))
        print("live demo:", *player.texts[-20:], sep="\n")
        raise
    finally:
        icinga.stop()
        player.kill()

"""Icinga 2 distributed, for real: a master schedules the nova check on an agent, and a lost agent pages (issue 32).

Two ``icinga2 daemon`` processes on loopback ports, each with its own directories, with certificates of one CA made
by ``icinga2 pki``: a master (zone "master") and an agent named as in the shipped example
(ctl1.regiontwo.example.org). Their zones are the SHIPPED files, icinga/examples/zones.conf and
zones.d/master/agent.conf, with only addresses, ports, paths and (for seconds instead of minutes) the check intervals
replaced; nova_services.conf reaches the agent through the global-templates zone (the agent's accept_config), as
icinga/README.md step 3a installs it. The agent runs the plugin of this checkout on a cell database of the suite's
MariaDB, whose services heartbeat but for one compute; the master reads the result through its REST API.

Then the agent is killed (SIGKILL: no goodbye): the shipped cluster-zone check turns CRITICAL, the shipped Dependency
makes the nova check unreachable, and the page goes out through the shipped page Notification
(icinga/examples/controller.conf) to the page script; the agent comes back, the page is closed by its recovery.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import time

import pytest
from sqlalchemy.engine import make_url

from check_nova_services.demo.writer import service
from tests.harness.daemons import ICINGA2, ICINGA_DIR, Icinga2, IcingaAgent, IcingaCA, free_port, need, wait_for, write_plugin
from tests.test_icinga import PERF_OK, Heartbeats, perfdata, utcnow, without_max_age

pytestmark = pytest.mark.slow

#: The shipped example's names, kept: the agent's Endpoint, Zone and Host are one name.
AGENT = "ctl1.regiontwo.example.org"
AGENT_ADDRESS = "192.0.2.21"
MASTER = "icinga-master"
NOVA, AGENT_CHECK = "nova-services", "nova-services-agent"
EXAMPLES = ICINGA_DIR / "examples"
#: The shipped intervals (1m, 20s) in seconds, so that the test takes seconds: what the test replaces, and by what.
INTERVALS = {"check_interval = 1m": "check_interval = 2s", "retry_interval = 20s": "retry_interval = 1s"}
#: A page as the page script writes it: DATE_TIME first.
PAGE_DATE = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}"
#: The agent's ApiListener (icinga/README.md, step 3a).
AGENT_LISTENER = "accept_commands = true\naccept_config = true\n"


def replaced(text: str, replacements: dict[str, str], counts: dict[str, int]) -> str:
    """``text`` with each key replaced, which must occur exactly ``counts[key]`` times: a shipped file that changes
    shape fails here, not somewhere later."""
    for old, new in replacements.items():
        assert text.count(old) == counts[old], (old, text)
        text = text.replace(old, new)
    return text


def shipped_block(path, head: str) -> str:
    """The block of ``path`` that starts with the line ``head {`` and ends at the next line ``}``, as shipped."""
    match = re.search(rf"^{re.escape(head)} \{{\n.*?^\}}\n", path.read_text(), re.M | re.S)
    assert match, f"no {head} in {path}"
    return match.group()


def without_api_requests(log: str) -> list[str]:
    """The daemon's log lines but those of the test's own REST requests, which poll many times a second."""
    noise = ("information/HttpServerConnection: ", "(no client certificate)")
    return [line for line in log.splitlines() if not any(word in line for word in noise)]


@pytest.fixture
def cluster(tmp_path):
    need(ICINGA2)
    ca = IcingaCA(tmp_path / "ca")
    master = Icinga2(tmp_path / "master", node=MASTER)
    agent = IcingaAgent(tmp_path / "agent", AGENT, parent=MASTER)
    for node in (master, agent):
        node.certify(ca)
    yield master, agent
    agent.stop()
    master.stop()


def test_the_master_gets_the_agents_result_and_pages_a_lost_agent(cluster, mariadb, cell_db, tmp_path):
    master, agent = cluster
    now = utcnow()
    rows = [service(host, binary, now, age=0.0) for host in ("ctl1", "ctl2") for binary in ("nova-conductor", "nova-scheduler")]
    rows += [service(f"cmp{n}", "nova-compute", now, age=0.0) for n in (1, 2, 3)]
    admin_url = make_url(cell_db(rows))
    database = admin_url.database
    user, password = mariadb.services_reader(database)
    credentials = tmp_path / "nova-services.conf"  # the agent's own credentials file, the SELECT-only user
    reader_url = admin_url.set(username=user, password=password).render_as_string(hide_password=False)
    credentials.write_text(f"[database]\nconnection = {reader_url}\n")
    heartbeats = Heartbeats(mariadb, database, {(r["host"], r["binary"]) for r in rows})
    heartbeats.start()
    cmp2_seen = (utcnow() - dt.timedelta(hours=3, seconds=30)).replace(microsecond=0)
    heartbeats.die("cmp2", "nova-compute", cmp2_seen)

    # The shipped zone files: the master connects to the agent (the Endpoint's host, a loopback port); the agent to
    # the master as well, as `icinga2 node wizard` sets it up (at once after its reload, the master only every 10 s).
    agent.port, master.port = free_port(), free_port()
    agent.parent_port = master.port
    zones_conf = replaced(
        (EXAMPLES / "zones.conf").read_text(),
        {f'host = "{AGENT_ADDRESS}"': f'host = "127.0.0.1"\n\tport = "{agent.port}"'},
        {f'host = "{AGENT_ADDRESS}"': 1},
    )
    agent_conf = replaced(
        (EXAMPLES / "zones.d" / "master" / "agent.conf").read_text(),
        {
            f'address = "{AGENT_ADDRESS}"': 'address = "127.0.0.1"',
            "/etc/icinga2/nova-services.conf": str(credentials),
            **INTERVALS,
        },
        {f'address = "{AGENT_ADDRESS}"': 1, "/etc/icinga2/nova-services.conf": 1, **dict.fromkeys(INTERVALS, 2)},
    )
    global_zone = 'object Zone "global-templates" {\n\tglobal = true\n}\n'

    # The master's configuration: nova_services.conf in the global zone, the agent's host and services in its own
    # zone, the NotificationCommand and the shipped page Notification (its open-pages directory, a file to page to).
    zones_d = master.dirs["etc"] / "zones.d"
    (zones_d / "master").mkdir(parents=True)
    (zones_d / "master" / "agent.conf").write_text(agent_conf)
    (zones_d / "global-templates").mkdir()
    shutil.copy(ICINGA_DIR / "nova_services.conf", zones_d / "global-templates" / "nova_services.conf")
    scripts = master.dirs["etc"] / "scripts"
    scripts.mkdir()
    shutil.copy(ICINGA_DIR / "nova-services-page.sh", scripts / "nova-services-page.sh")
    pages, open_dir = tmp_path / "pages.log", tmp_path / "open-pages"
    page_rule = replaced(
        shipped_block(EXAMPLES / "controller.conf", 'apply Notification "page" to Service'),
        {
            "/var/lib/icinga2/nova-services-pages": str(open_dir),
            "\tinterval = 15m\n": f'\tinterval = 15m\n\tvars.nova_services_page_file = "{pages}"\n',
        },
        {"/var/lib/icinga2/nova-services-pages": 1, "\tinterval = 15m\n": 1},
    )
    master_body = (
        global_zone
        + zones_conf
        + f'include "{ICINGA_DIR / "nova_services_page.conf"}"\n'
        + 'object User "nova-oncall" {\n}\n'  # the shipped one's pager address would be mailed
        + page_rule
    )

    write_plugin(agent.plugin_dir)
    try:
        started = time.monotonic()
        agent.start(global_zone + zones_conf, listener=AGENT_LISTENER)
        master.start(master_body)

        def result(name: str, state: int, after: float = 0.0, timeout: float = 60) -> dict:
            def probe():
                attrs = master.service(AGENT, name)
                cr = attrs["last_check_result"]
                if cr and cr["execution_end"] > after and attrs["state"] == state:
                    return attrs
                return None

            return wait_for(f"a result of {name} in state {state} after {after}", probe, timeout, interval=0.05)

        # The master hands nova_services.conf to the agent (global-templates), which reloads with it. A check the master
        # sent to the agent before or during that reload is lost, and the master would wait the CheckCommand's timeout
        # + 30 s before the next: once the agent has the command, check now (Icinga Web's "Check now").
        def agent_has_the_command():
            try:
                return agent.api("/v1/objects/checkcommands/nova_services")["results"]
            except OSError:  # 404 before the reload, refused during it
                return None

        wait_for("nova_services.conf synced to the agent", agent_has_the_command, 60)
        master.api(
            "/v1/actions/reschedule-check", post={"type": "Service", "filter": f'service.name == "{NOVA}"', "force": True}
        )

        # The agent ran the plugin; the master has the result: WARNING, the exact output, the perfdata, from the agent.
        attrs = result(NOVA, 1, timeout=30)
        cr = attrs["last_check_result"]
        configured = time.monotonic() - started
        assert cr["check_source"] == AGENT
        assert cr["output"].split("\n") == [
            "NOVA_SERVICES WARNING - nova-compute 1/3 down: cmp2 (3h00m)",
            f"down: nova-compute@cmp2 cell={database} status=enabled state=down heartbeat=3h00m ago "
            f"(last_seen_up {cmp2_seen}) forced_down=no disabled_reason=-",
            "",
        ]
        assert cr["exit_status"] == 1
        assert cr["command"] == [
            str(agent.plugin_dir / "check_nova_services"),
            "--cell-credentials", "api",
            "--config-file", str(credentials),
            "--timeout", "10",
            "-v",
        ]  # fmt: skip
        assert password not in str(cr)
        perf = perfdata(cr["performance_data"])
        compute_age = re.fullmatch(r"([0-9.]+)s;;;0", perf.pop("nova-compute_max_age"))  # cmp2's 3 hours, and moving
        assert compute_age and 3 * 3600 + 30 <= float(compute_age.group(1)) < 3 * 3600 + 90, compute_age
        assert without_max_age(perf) == {**PERF_OK, "nova-compute_down": "1;0;1.5;0;3"}
        agent_check = result(AGENT_CHECK, 0)["last_check_result"]
        assert agent_check["check_source"] == MASTER  # the cluster-zone check runs on the master
        assert re.fullmatch(rf"Zone '{re.escape(AGENT)}' is connected\. Log lag: .*", agent_check["output"])
        dependency = master.api(f"/v1/objects/dependencies/{AGENT}!{NOVA}!{AGENT_CHECK}")["results"][0]["attrs"]
        assert (dependency["parent_service_name"], dependency["states"]) == (AGENT_CHECK, ["OK"])
        assert (dependency["disable_checks"], dependency["disable_notifications"]) == (False, True)
        assert not pages.exists(), pages.read_text()

        # The agent dies right after a result (a check in flight at that moment would wait for its answer for the
        # CheckCommand's timeout + 30 s before the master schedules it again).
        latest = master.service(AGENT, NOVA)["last_check_result"]["execution_end"]
        fresh = result(NOVA, 1, after=latest)["last_check_result"]
        agent.kill()
        killed = time.monotonic()

        # The master: the agent's zone CRITICAL, HARD after three checks, and paged as the root cause.
        lost = wait_for(
            "the cluster-zone check HARD CRITICAL",
            lambda: (attrs := master.service(AGENT, AGENT_CHECK))["state"] == 2 and attrs["state_type"] == 1 and attrs,
            30,
            interval=0.05,
        )
        critical_after = time.monotonic() - killed
        lost_output = lost["last_check_result"]["output"]
        assert re.fullmatch(rf"Zone '{re.escape(AGENT)}' is not connected\. Log lag: .*", lost_output), lost_output
        wait_for("the page", lambda: pages.exists() and pages.read_text().endswith("\n\n"), 30, interval=0.05)
        paged_after = time.monotonic() - killed
        page = pages.read_text()
        assert re.fullmatch(
            PAGE_DATE + re.escape(f" [PROBLEM] {AGENT_CHECK} on {AGENT} is CRITICAL\n{lost_output}\n\n"), page
        ), page
        assert [path.name for path in open_dir.iterdir()] == [f"{AGENT}!{AGENT_CHECK}"]

        # The nova check: unreachable at its next scheduled check; Icinga 2 keeps its last result (no UNKNOWN within
        # five minutes of the master's start), and nothing of it pages.
        unreachable = wait_for(
            "the nova check unreachable",
            lambda: not (attrs := master.service(AGENT, NOVA))["last_reachable"] and attrs,
            30,
            interval=0.05,
        )
        unreachable_after = time.monotonic() - killed
        assert unreachable["last_check_result"]["execution_end"] == fresh["execution_end"]
        assert (unreachable["state"], unreachable["last_check_result"]["output"]) == (1, fresh["output"])
        time.sleep(3)  # more scheduled checks of both: still the one page
        assert master.service(AGENT, NOVA)["last_check_result"]["execution_end"] == fresh["execution_end"]
        assert pages.read_text() == page
        print(
            f"\nconfigured and first result after {configured:.1f}s; after SIGKILL: cluster-zone HARD CRITICAL "
            f"{critical_after:.1f}s, paged {paged_after:.1f}s, nova check unreachable {unreachable_after:.1f}s"
        )

        # The agent comes back: the zone is OK again and the page closed by its recovery; the nova check reachable.
        agent.start(global_zone + zones_conf, listener=AGENT_LISTENER)
        result(AGENT_CHECK, 0, after=lost["last_check_result"]["execution_end"])
        wait_for("the recovery", lambda: pages.read_text().count("\n\n") == 2, 30, interval=0.05)
        recovery = pages.read_text()[len(page) :]
        assert re.fullmatch(PAGE_DATE + re.escape(f" [RECOVERY] {AGENT_CHECK} on {AGENT} is OK\n") + r"Zone .*\n\n", recovery)
        assert list(open_dir.iterdir()) == []
        # The nova check's first result after the agent's return may still be marked unreachable (Icinga sets it as
        # the result is processed, beside the parent's own); the next one is reachable again, from the agent.
        back = wait_for(
            "the nova check reachable again, run by the agent",
            lambda: (a := result(NOVA, 1, after=fresh["execution_end"]))["last_reachable"] and a,
            60,
            interval=0.2,
        )
        assert back["last_check_result"]["check_source"] == AGENT
    except BaseException:
        for name, node in (("master", master), ("agent", agent)):
            print(f"{name}:", *without_api_requests(node.log_tail(600))[-80:], sep="\n")
        raise
    finally:
        agent.stop()
        master.stop()
        heartbeats.stop()

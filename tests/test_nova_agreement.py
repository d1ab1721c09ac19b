"""Agreement with Nova itself: the plugin and Nova's own code judge the same deployment.

Nova (the PyPI release in tests/nova_env.py) is installed into a virtual
environment of its own; a real deployment's databases are built on the test
MariaDB by nova-manage (API DB, cell0, cell1, and cell2 and a disabled cell3
behind template URLs); services and availability-zone aggregates are written
with Nova's objects (tests/harness/nova_scripts/write_scenario.py); then
Nova's ``GET /os-services`` code (ServiceController.index -> HostAPI.service_get_all
-> servicegroup.API.service_is_up) gives its verdict, and check_nova_services reads
the same databases through the same nova.conf (tests/harness/nova_scripts/verdict.py
is Nova's side).  Per service (cell, host, binary)
state, status and zone must agree, and per binary the down count must follow; the service list
(``--list --format json``) must agree with Nova's list service by service.

Two clocks: the real one (both sides use this host's UTC clock, a verdict is
taken before and after the plugin runs, and every age stays clear of the
boundary), and a fixed one (oslo's time override for Nova, --clock for the
plugin), which lets rows sit exactly on the boundary.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from collections import Counter
from dataclasses import dataclass

import pytest

from check_nova_services.rule.releases import RELEASES, SERVICE_VERSION_ALIASES
from check_nova_services.shared.text import label
from tests.conftest import clean_env, run_check
from tests.harness import nova_env

pytestmark = pytest.mark.slow

AUTO = "AUTO: Connection to libvirt lost: 1"
NEW_DISABLED = "New compute service disabled due to config option."
LINE = re.compile(
    r"^(?P<standing>[^:]+): (?P<binary>\S+)@(?P<host>\S+) cell=(?P<cell>\S+)(?: zone=(?P<zone>\S+))? "
    r"status=(?P<status>\w+) state=(?P<state>\w+) heartbeat=.* forced_down=(?P<forced_down>yes|no) "
    r"disabled_reason=(?P<reason>.*)$"
)
PERF = re.compile(r"'([^']+)'=([^;\s]*)")
#: A zone's capacity items (issue 30): unquoted where the label needs no quotes.
ZONE_PERF = re.compile(r"(?:^|\s)'?(az_[^'=\s]+)'?=([^;\s]*)")
#: The internal zone's names in the scenarios: no capacity (the plugin counts topic compute only, as Nova zones them).
INTERNAL_ZONES = {"internal", "zone-internal"}


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def nova_python():
    return nova_env.nova_venv()


@pytest.fixture(scope="module")
def deployment(nova_python, mariadb, tmp_path_factory):
    return nova_env.NovaDeployment.build(nova_python, tmp_path_factory.mktemp("nova"), mariadb)


# --- the plugin's answer --------------------------------------------------------------------------


@dataclass
class PluginAnswer:
    services: dict[tuple[str, str, str], dict]
    #: None for --list, which has no perfdata.
    perfdata: dict[str, str] | None
    stdout: str


def ask_plugin(confs, *args: str, env: dict[str, str] | None = None, also_counted: bool = True) -> PluginAnswer:
    conf_args = [arg for conf in confs for arg in ("--config-file", str(conf))]
    run = run_check(*conf_args, "-vv", "-t", "60", *args, env=env, timeout=120)
    assert run.code in (0, 1, 2), run.stdout + run.stderr
    assert run.stderr == ""
    services, perf_text = {}, []
    first, *rest = run.lines
    perf_text.append(first.partition("|")[2])
    for line in rest:
        if line.startswith("|"):
            perf_text.append(line[1:])
            continue
        if line.startswith(("note: ", "clock skew: ", "too old: ")):  # facts about the run, after the list
            continue
        match = LINE.match(line)
        assert match, f"not a -vv service line: {line!r}\n{run.stdout}"
        key = (match["cell"], match["host"], match["binary"])
        assert key not in services, f"{key} twice:\n{run.stdout}"
        services[key] = match.groupdict()
    listed = {name: value for text in perf_text for name, value in perf_items(text)}
    if not also_counted:
        return PluginAnswer(services, listed, run.stdout)
    # Without -vv the database counts (the SQL form of the rule): its perfdata is what is compared
    # with Nova, and it must be the list view's.
    counted = run_check(*conf_args, "-t", "60", *args, env=env, timeout=120)
    assert counted.stderr == ""
    perfdata = dict(perf_items(counted.stdout.partition("|")[2]))
    # On the real clock the two runs are a moment apart: heartbeat ages and late ones may move (the scenarios keep
    # a margin around Nova's boundary only), what Nova decides may not.
    assert (counted.code, decided(perfdata)) == (run.code, decided(listed)), counted.stdout
    return PluginAnswer(services, perfdata, run.stdout)


def perf_items(text: str) -> list[tuple[str, str]]:
    """Each perfdata item's label and value: the binaries' (quoted) and the zones' (quoted where they must be)."""
    return [*PERF.findall(text), *((name, value) for name, value in ZONE_PERF.findall(text) if not name.endswith("'"))]


def ask_list(confs, *args: str) -> PluginAnswer:
    """--list --format json: the service list, service by service, as the check reads it."""
    conf_args = [arg for conf in confs for arg in ("--config-file", str(conf))]
    run = run_check(*conf_args, "--list", "--format", "json", "-t", "60", *args, timeout=120)
    assert (run.code, run.stderr) == (0, ""), run.stdout + run.stderr
    document = json.loads(run.stdout)
    assert document["errors"] == []
    services: dict[tuple[str, str, str], dict] = {}
    for s in document["services"]:
        key = (s["cell"], s["host"], s["binary"])
        assert key not in services, f"{key} twice in the list"
        services[key] = {
            "state": s["state"],
            "status": s["status"],
            "zone": s["zone"],
            "forced_down": "yes" if s["forced_down"] else "no",
        }
    return PluginAnswer(services, None, run.stdout)


def decided(perfdata: dict[str, str]) -> dict[str, str]:
    """The perfdata Nova's verdict fixes: down, total, disabled, the service versions."""
    fixed = ("_down", "_total", "_disabled", "_version_min", "_version_max")
    return {name: value for name, value in perfdata.items() if name.endswith(fixed)}


# --- comparing ------------------------------------------------------------------------------------


def by_key(verdict: dict) -> dict[tuple[str, str, str], dict]:
    out = {}
    for service in verdict["services"]:
        key = (service["cell"], service["host"], service["binary"])
        assert key not in out, f"Nova lists {key} twice"
        out[key] = service
    return out


def zones(text: str | None) -> set[str]:
    """Nova joins several zones with commas in set order: compare as sets."""
    return set((text or "").split(","))


def auto_disabled(service: dict) -> bool:
    return service["status"] == "disabled" and (service["disabled_reason"] or "").startswith("AUTO:")


def expected_down(nova: dict, binary: str, count_disabled: bool) -> int:
    return sum(
        1
        for s in nova.values()
        if s["binary"] == binary
        and (auto_disabled(s) or (s["state"] == "down" and (count_disabled or s["status"] == "enabled")))
    )


def assert_agrees(verdict: dict, plugin: PluginAnswer, count_disabled: bool, where: str = "") -> None:
    nova = by_key(verdict)
    problems = []
    for key in sorted(nova.keys() - plugin.services.keys()):
        problems.append(f"only Nova lists {key}: {nova[key]}")
    for key in sorted(plugin.services.keys() - nova.keys()):
        problems.append(f"only the plugin lists {key}: {plugin.services[key]}")
    for key in sorted(nova.keys() & plugin.services.keys()):
        ours, theirs = plugin.services[key], nova[key]
        for field in ("state", "status"):
            if ours[field] != theirs[field]:
                problems.append(f"{key}: {field} plugin={ours[field]} Nova={theirs[field]}; Nova's row: {theirs}")
        if zones(ours["zone"]) != zones(theirs["zone"]):
            problems.append(f"{key}: zone plugin={ours['zone']} Nova={theirs['zone']}")
        if (ours["forced_down"] == "yes") != theirs["forced_down"]:
            problems.append(f"{key}: forced_down plugin={ours['forced_down']} Nova={theirs['forced_down']}")
    totals = Counter(s["binary"] for s in nova.values())
    for binary, total in sorted(totals.items() if plugin.perfdata is not None else ()):
        down = expected_down(nova, binary, count_disabled)
        disabled = sum(1 for s in nova.values() if s["binary"] == binary and s["status"] == "disabled")
        for metric, want in (("down", down), ("total", total), ("disabled", disabled)):
            got = plugin.perfdata.get(f"{binary}_{metric}") if plugin.perfdata is not None else None
            if got != str(want):
                problems.append(f"perfdata {binary}_{metric}: plugin={got} Nova-derived={want}")
    if plugin.perfdata is not None:
        problems += capacity_disagreements(nova, plugin.perfdata)
    assert not problems, (
        f"plugin and Nova {nova_env.NOVA_RELEASE} disagree{where}:\n"
        + "\n".join(problems)
        + (f"\n--- plugin output\n{plugin.stdout}")
    )


def capacity_disagreements(nova: dict, perfdata: dict[str, str]) -> list[str]:
    """Per zone, Nova's usable computes (a nova-compute Nova shows up and enabled, in each of its zones) and all of
    them, against the plugin's az_<zone>_usable and az_<zone>_total; and no zone of the plugin's that Nova lacks."""
    usable: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for s in nova.values():
        if s["binary"] != "nova-compute" or s["zone"] in INTERNAL_ZONES:
            continue
        for zone in zones(s["zone"]):
            total[zone] += 1
            usable[zone] += s["state"] == "up" and s["status"] == "enabled"
    problems = []
    for zone in sorted(total):
        for metric, want in (("usable", usable[zone]), ("total", total[zone])):
            got = perfdata.get(f"az_{label(zone)}_{metric}")
            if got != str(want):
                problems.append(f"perfdata az_{label(zone)}_{metric}: plugin={got} Nova-derived={want}")
    ours = {name for name in perfdata if name.startswith("az_") and name.endswith("_total")}
    problems += [
        f"perfdata {name}: a zone Nova has no compute in" for name in sorted(ours - {f"az_{label(z)}_total" for z in total})
    ]
    return problems


def states(verdict: dict) -> dict:
    return {key: s["state"] for key, s in by_key(verdict).items()}


# --- scenarios ------------------------------------------------------------------------------------


def svc(cell: str, host: str, binary: str = "nova-compute", *, created: float | None = None, seen=None, **extra):
    """One service: created ``created`` seconds ago (default: a day, or before its first heartbeat)."""
    heartbeats = [] if seen is None else list(seen) if isinstance(seen, list | tuple) else [seen]
    if created is None:
        created = max([86400.0, *(age + 100 for age in heartbeats)])
    spec = {"cell": cell, "host": host, "binary": binary, "created": created}
    if heartbeats:
        spec["seen"] = heartbeats
    spec.update(extra)
    return spec


def admin(age: float, **fields) -> dict:
    return {"age": age, **fields}


def every_state(sdt: float, margin: float) -> dict:
    """Every state Nova's rule tells apart, ``margin`` seconds clear of the boundary ``sdt``."""
    fresh, stale = max(0.0, sdt - margin), sdt + margin
    services = [
        # cell0 holds the super-conductor and scheduler (DevStack's superconductor layout) and the API rows
        svc("cell0", "ctl1", "nova-conductor", seen=fresh),
        svc("cell0", "ctl1", "nova-scheduler", seen=fresh / 2),
        svc("cell0", "ctl2", "nova-conductor", seen=stale),
        svc("cell0", "ctl2", "nova-scheduler", created=stale * 10),  # never reported, created long ago
        svc("cell0", "ctl3", "nova-scheduler", created=fresh / 3),  # never reported, just created
        svc("cell0", "ctl1", "nova-osapi_compute", topic=None),  # WSGI rows: never heartbeat, Nova hides them
        svc("cell0", "ctl1", "nova-metadata", topic=None),
        svc("cell0", "ctl4", "nova-scheduler", seen=fresh, deleted=fresh / 4),  # soft-deleted: not listed
        svc("cell0", "cmp-in-cell0", seen=fresh),  # misplaced compute: Nova lists it (with a warning)
        # cell1: its conductor and computes in every state
        svc("cell1", "cond1", "nova-conductor", seen=fresh),
        svc("cell1", "cmp-fresh", seen=[stale * 3, fresh]),
        svc("cell1", "cmp-stale", seen=stale),
        svc("cell1", "cmp-ancient", seen=3 * 86400 + 7),
        svc("cell1", "cmp-never-old", created=stale * 5),
        svc("cell1", "cmp-never-new", created=fresh),
        svc("cell1", "cmp-never-ahead", created=-fresh),  # created_at in the future, within the limit
        svc("cell1", "cmp-never-far-ahead", created=-stale),
        svc("cell1", "cmp-ahead", seen=-fresh),  # heartbeat in the future (writer's clock ahead)
        svc("cell1", "cmp-far-ahead", seen=-stale),
        svc("cell1", "cmp-forced", seen=fresh, admin=[admin(fresh, forced_down=True)]),
        svc("cell1", "cmp-forced-stale", seen=stale * 2, admin=[admin(stale, forced_down=True)]),
        svc(
            "cell1",
            "cmp-unforced",
            seen=fresh,
            admin=[  # forced down, then back
                admin(stale, forced_down=True),
                admin(fresh, forced_down=False),
            ],
        ),
        # an admin's disable + enable bumps updated_at, not last_seen_up: still down
        svc("cell1", "cmp-touched", seen=stale * 4, admin=[admin(2, disabled=True), admin(1, disabled=False)]),
        svc("cell1", "cmp-maint", seen=fresh, admin=[admin(86400, disabled=True, disabled_reason="RAM swap")]),
        svc("cell1", "cmp-maint-down", seen=stale * 50, admin=[admin(86400, disabled=True, disabled_reason=None)]),
        svc("cell1", "cmp-auto-up", seen=fresh, admin=[admin(stale, disabled=True, disabled_reason=AUTO)]),
        svc("cell1", "cmp-auto-down", seen=stale, admin=[admin(stale + 1, disabled=True, disabled_reason=AUTO)]),
        svc(
            "cell1",
            "cmp-auto-back",
            seen=fresh,
            admin=[  # libvirt back: Nova re-enables it, reason cleared
                admin(stale * 3, disabled=True, disabled_reason=AUTO),
                admin(stale * 2, disabled=False, disabled_reason=None),
            ],
        ),
        svc("cell1", "cmp-gone", seen=fresh, deleted=fresh / 2),
        # deleted, then the same host registered again (Nova's unique keys include `deleted`)
        svc("cell1", "cmp-reborn", created=9000, seen=8000, deleted=7000),
        svc("cell1", "cmp-reborn", created=stale * 2, seen=fresh),
        svc("cell1", "shared", seen=fresh),
        # cell2, reached through a template URL: the same host name as in cell1, other states
        svc("cell2", "cond2", "nova-conductor", seen=stale),
        svc("cell2", "shared", seen=stale),
        svc("cell2", "cmp-az2", seen=fresh, admin=[admin(60, disabled=True, disabled_reason=NEW_DISABLED)]),
        svc("cell2", "cmp-az3", seen=fresh),
        svc("cell2", "cmp-auto-ahead", seen=-stale, admin=[admin(stale * 2, disabled=True, disabled_reason=AUTO)]),
        # zones: Nova matches aggregate hosts to services in Python (exact), the metadata key in SQL
        # (MariaDB's collation: any case); the zone follows the topic, not the binary
        svc("cell2", "CMP-Case", seen=fresh),
        svc("cell2", "cmp-pad", seen=fresh),
        svc("cell2", "cmp-keycase", seen=fresh),
        svc("cell1", "cmp-no-topic", topic=None, seen=fresh),
        svc("cell2", "odd-topic", "nova-conductor", topic="compute", seen=fresh),
        # cell3: a disabled cell (no new instances) is still asked about its services
        svc("cell3", "cond3", "nova-conductor", seen=fresh),
        svc("cell3", "shared", seen=fresh / 2),
        svc("cell3", "cmp-c3", created=stale * 3),
    ]
    aggregates = [
        {"name": "agg-az1", "zone": "az1", "hosts": ["cmp-fresh", "shared", "cmp-in-cell0", "ctl1"]},
        {"name": "agg-az2", "zone": "az2", "hosts": ["shared", "cmp-az2"]},  # `shared` is in two zones
        {"name": "agg-az3a", "zone": "az3", "hosts": ["cmp-az3"]},
        {"name": "agg-az3b", "zone": "az3", "hosts": ["cmp-az3", "cmp-stale"]},  # one zone, two aggregates
        {"name": "agg-ssd", "metadata": {"ssd": "true"}, "hosts": ["cmp-maint", "cmp-fresh"]},  # no zone
        {"name": "agg-case", "zone": "az-case", "hosts": ["cmp-case", "cmp-pad "]},
        {"name": "agg-keycase", "metadata": {"Availability_Zone": "az-keycase"}, "hosts": ["cmp-keycase"]},
        {"name": "agg-topic", "zone": "az-topic", "hosts": ["cmp-no-topic", "odd-topic"]},
    ]
    return {"services": services, "aggregates": aggregates}


def random_services(seed: int, sdt: float, margin: float, count: int = 60) -> dict:
    """Random services from a fixed seed: ages anywhere except within ``margin`` of the boundary."""
    rng = random.Random(seed)

    def age(kind: str) -> float:
        if kind == "fresh":
            return rng.uniform(0, max(0.0, sdt - margin))
        if kind == "stale":
            return sdt + margin + rng.expovariate(1 / 3600)
        if kind == "ahead":
            return -rng.uniform(0, max(0.0, sdt - margin))
        return -(sdt + margin + rng.expovariate(1 / 600))  # far ahead

    kinds = ("fresh", "fresh", "fresh", "stale", "stale", "ahead", "far-ahead")
    reasons = (None, "maintenance", AUTO, "AUTO: Connection to libvirt lost: 2", "auto: lower case is no AUTO")
    services, taken = [], set()
    while len(services) < count:
        cell = rng.choice(("cell0", "cell1", "cell1", "cell2", "cell2", "cell3"))
        host = f"r{rng.randrange(20):02d}"
        binary = rng.choice(("nova-compute",) * 5 + ("nova-conductor", "nova-scheduler"))
        if (cell, host, binary) in taken:
            continue
        heartbeats = sorted((age(rng.choice(kinds)) for _ in range(rng.choice((0, 1, 1, 2)))), reverse=True)
        created = max([sdt + margin + rng.uniform(0, 86400), *heartbeats]) if heartbeats else age(rng.choice(kinds))
        spec = svc(cell, host, binary, created=created, seen=heartbeats or None)
        latest = min([created, *heartbeats])
        actions = []
        if rng.random() < 0.25:
            actions.append(admin(latest, disabled=True, disabled_reason=rng.choice(reasons)))
        if rng.random() < 0.12:
            actions.append(admin(latest, forced_down=True))
        if actions:
            spec["admin"] = actions
        if rng.random() < 0.1:
            spec["deleted"] = latest - 1
        taken.add((cell, host, binary))
        services.append(spec)
    aggregates = [
        {"name": f"rand-{n}", "zone": f"rz{n % 3}", "hosts": sorted({f"r{rng.randrange(20):02d}" for _ in range(4)})}
        for n in range(5)
    ]
    return {"services": services, "aggregates": aggregates}


def boundary_rows(sdt: int) -> list[dict]:
    """Rows exactly on, and one second either side of, the boundary (at the fixed clock T)."""
    rows = []
    for offset in (-1, 0, 1):
        rows.append(svc("cell1", f"past{offset:+d}", seen=sdt + offset, created=sdt + offset + 100))
        rows.append(svc("cell1", f"future{offset:+d}", seen=-(sdt + offset), created=sdt + 100))
        rows.append(svc("cell2", f"never{offset:+d}", created=sdt + offset))
        rows.append(svc("cell2", f"never-future{offset:+d}", created=-(sdt + offset)))
    rows.append(svc("cell0", "ctl-edge", "nova-conductor", seen=sdt))
    rows.append(svc("cell0", "ctl-edge", "nova-scheduler", seen=sdt + 1))
    rows.append(svc("cell2", "now", seen=0))
    rows.append(svc("cell2", "now-forced", seen=0, admin=[admin(0, forced_down=True)]))
    return rows


# --- the tests ------------------------------------------------------------------------------------


def test_deployment_is_novas(deployment):
    """nova-manage built it: cell0, cell1, and cell2 whose URL Nova formats from [database]/connection."""
    assert deployment.cell_names() == ["cell0", "cell1", "cell2", "cell3"]
    raw = deployment.mariadb.execute(
        "SELECT name, database_connection, disabled FROM cell_mappings WHERE name IN ('cell2', 'cell3') ORDER BY name",
        database=deployment.databases["api"],
    )
    assert raw == [("cell2", deployment.templates["cell2"], 0), ("cell3", deployment.templates["cell3"], 1)]
    deployment.reset()
    assert deployment.verdict()["services"] == []


def test_real_clock_every_state_and_random_services(deployment):
    """Real time on both sides: every distinguishable state plus 60 random services (seed fixed)."""
    sdt, margin = 60, 25  # 25 s for the Nova verdict and the plugin runs between "before" and "after"
    scenario = every_state(sdt, margin)
    extra = random_services(20261126, sdt, margin)
    scenario["services"] += extra["services"]
    scenario["aggregates"] += extra["aggregates"]
    deployment.reset()
    deployment.write(scenario)
    before = deployment.verdict()
    assert before["service_down_time"] == sdt
    # On the real clock every extra run eats into the margin around Nova's boundary: the counted path is
    # compared with Nova at fixed instants, in the other tests.
    plain = ask_plugin([deployment.conf], also_counted=False)
    # far from UTC: "now" must be UTC whatever the local time zone (Nova's is)
    counting = ask_plugin([deployment.conf], "--count-disabled", env=clean_env(TZ="Pacific/Kiritimati"), also_counted=False)
    after = deployment.verdict()
    assert states(before) == states(after), "a service crossed Nova's boundary while the test ran: widen the margin"
    assert_agrees(before, plain, count_disabled=False)
    assert_agrees(before, counting, count_disabled=True, where=" (--count-disabled)")
    # the scenario did reach every state it is meant to cover
    seen = Counter((s["state"], s["status"]) for s in before["services"])
    assert all(seen[(state, status)] for state in ("up", "down") for status in ("enabled", "disabled")), seen
    nova = by_key(before)
    assert zones(nova[("cell1", "shared", "nova-compute")]["zone"]) == {"az1", "az2"}
    assert ("cell1", "cmp-gone", "nova-compute") not in nova
    assert ("cell0", "ctl1", "nova-osapi_compute") not in nova
    assert [nova[("cell2", host, "nova-compute")]["zone"] for host in ("CMP-Case", "cmp-pad", "cmp-keycase")] == [
        "nova",
        "nova",
        "az-keycase",
    ]
    assert nova[("cell1", "cmp-no-topic", "nova-compute")]["zone"] == "internal"
    assert nova[("cell2", "odd-topic", "nova-conductor")]["zone"] == "az-topic"


CONF_VARIANTS = {
    "defaults": ({}, 60),
    "down_time_25_custom_zones": (
        {
            "service_down_time": 25,
            "report_interval": 10,
            "default_availability_zone": "zone-default",
            "internal_service_availability_zone": "zone-internal",
        },
        25,
    ),
    # service_down_time <= report_interval: Nova uses int(report_interval * 2.5)
    "down_time_raised_to_17": ({"service_down_time": 7, "report_interval": 7}, 17),
    "down_time_zero": ({"service_down_time": 0, "report_interval": 0}, 0),
}
T = dt.datetime(2026, 11, 26, 12, 0, 0)


@pytest.mark.parametrize("variant", sorted(CONF_VARIANTS))
def test_fixed_clock_on_the_boundary(deployment, variant):
    """A fixed 'now' for both (oslo time override, --clock): rows exactly at service_down_time and 1s either side."""
    defaults, sdt = CONF_VARIANTS[variant]
    # a second file overriding [DEFAULT] only: both Nova and the plugin read the two in order
    rule_conf = deployment.directory / f"rule-{variant}.conf"
    rule_conf.write_text("[DEFAULT]\n" + "".join(f"{key} = {value}\n" for key, value in defaults.items()))
    confs = [deployment.conf, rule_conf]
    scenario = every_state(sdt, margin=min(5, sdt))
    scenario["services"] += boundary_rows(sdt)
    deployment.reset()
    deployment.write(scenario | {"now": T.isoformat()}, confs)
    # MariaDB keeps whole seconds: a row written at T - sdt is exactly sdt old at T, and older by any fraction after
    for clock in (T, T + dt.timedelta(microseconds=1), T + dt.timedelta(seconds=0.5), T + dt.timedelta(seconds=1)):
        stamp = clock.isoformat(timespec="microseconds")
        verdict = deployment.verdict(confs, now=stamp)
        assert verdict["service_down_time"] == sdt
        assert verdict["now"] == clock.isoformat(sep=" ", timespec="microseconds").removesuffix(".000000")
        for count_disabled in (False, True):
            extra = ("--count-disabled",) if count_disabled else ()
            plugin = ask_plugin(confs, f"--clock={stamp}", *extra)
            assert_agrees(verdict, plugin, count_disabled, where=f" ({variant}, clock {stamp}{' '.join(('', *extra))})")
        # the service list, service by service (state, status, zone, forced_down), with Nova's GET /os-services
        assert_agrees(verdict, ask_list(confs, f"--clock={stamp}"), False, where=f" (--list, {variant}, clock {stamp})")
    # the edge itself, as Nova sees it at T: exactly service_down_time old is still up, a second more is down
    # (with service_down_time 0, "1s younger" is 1s in the future: down too)
    at_t = by_key(deployment.verdict(confs, now=T.isoformat()))
    edge = ["up" if sdt > 0 else "down", "up", "down"]
    assert [at_t[("cell1", f"past{o:+d}", "nova-compute")]["state"] for o in (-1, 0, 1)] == edge
    assert [at_t[("cell1", f"future{o:+d}", "nova-compute")]["state"] for o in (-1, 0, 1)] == edge
    assert [at_t[("cell2", f"never{o:+d}", "nova-compute")]["state"] for o in (-1, 0, 1)] == edge


# How nova.conf is read: oslo.config strips a matching pair of quotes around a value and turns "$$" into "$"
# (it substitutes "$name" with other options).  Nova reads these files fine; the plugin must read them alike.
OSLO_SYNTAX = {
    "quoted_values": dict(quote=True, defaults={"service_down_time": 25, "default_availability_zone": "zone-quoted"}, sdt=25),
    "dollar_in_password": dict(user="nova_dollar", password="pa$word$", defaults={}, sdt=60),
}


@pytest.mark.parametrize("variant", sorted(OSLO_SYNTAX))
def test_nova_conf_read_as_oslo_config_reads_it(deployment, variant):
    options = dict(OSLO_SYNTAX[variant])
    sdt = options.pop("sdt")
    if "user" in options:
        deployment.create_user(options["user"], options["password"])
    conf = deployment.directory / f"oslo-{variant}.conf"
    deployment.write_conf(conf, deployment.databases["cell0"], **options)
    deployment.reset()
    deployment.write(every_state(sdt, margin=5) | {"now": T.isoformat()})
    verdict = deployment.verdict([conf], now=T.isoformat())
    assert verdict["service_down_time"] == sdt
    assert_agrees(verdict, ask_plugin([conf], f"--clock={T.isoformat()}"), count_disabled=False, where=f" ({variant})")


#: Versions a compute row may carry: Nova 34's own, the supported window, older releases, 0 and NULL.
COMPUTE_VERSIONS = (74, 74, 73, 72, 72, 71, 70, 68, 66, 57, 0, None)
TOO_OLD = re.compile(r"\bservices_too_old=(\d+)")


@pytest.mark.parametrize("seed", [11, 12, 13, 14, 15, 16])
def test_minimum_versions_and_the_too_old_verdict_agree_with_novas(deployment, seed):
    """Random service versions over random rows in four cells (deleted, forced-down and disabled ones among them):
    the plugin's minimum per binary is Nova's get_minimum_version_all_cells, and it names computes too old
    exactly when Nova's raise_if_old_compute would stop a conductor, a scheduler or the API from starting."""
    rng = random.Random(seed)
    scenario = random_services(seed, 60, 25, count=30)
    # A conductor of this Nova (34, Hibiscus, version 74) in cell0: the floor is the one its startup check applies.
    scenario["services"].append(svc("cell0", "ctl-versions", "nova-conductor", seen=1))
    deployment.reset()
    deployment.write(scenario)
    for cell in nova_env.CELLS:
        rows = deployment.mariadb.execute("SELECT id, `binary`, host FROM services", database=deployment.databases[cell])
        for row_id, binary, host in rows:
            if host == "ctl-versions":
                continue
            version = rng.choice(COMPUTE_VERSIONS) if binary == "nova-compute" else rng.choice((74, 73, 72))
            deployment.mariadb.execute(
                f"UPDATE services SET version = {'NULL' if version is None else version} WHERE id = {row_id}",
                database=deployment.databases[cell],
            )
    nova = deployment.verdict()
    assert nova["oldest_supported"] == 72 and nova["service_version"] == 74
    answer = ask_plugin([deployment.conf])
    for binary, minimum in nova["minimum_versions"].items():
        assert int(answer.perfdata.get(f"{binary}_version_min", "0")) == minimum, (binary, answer.stdout)
    too_old = int(TOO_OLD.search(answer.stdout).group(1))
    assert (too_old > 0) == (nova["too_old"] is not None), (nova["too_old"], answer.stdout)
    first = answer.stdout.splitlines()[0]
    if nova["too_old"] is not None:
        assert f"{too_old} nova-compute older than Gazpacho (72)" in first
    else:
        assert "older than" not in first


def test_the_release_table_is_novas(deployment):
    """rule/releases.py carries the alias table of the Nova installed here: a new Nova release fails this
    until its alias and row are added."""
    deployment.reset()
    nova = deployment.verdict()
    assert SERVICE_VERSION_ALIASES == nova["version_aliases"]
    newest = RELEASES[-1]
    assert (newest.service_version, SERVICE_VERSION_ALIASES[newest.oldest_supported]) == (
        nova["service_version"],
        nova["oldest_supported"],
    )


def test_the_minimum_at_its_edges_is_novas(deployment):
    """A NULL forced_down and a binary the cell's collation compares equal to nova-compute, against Nova's own
    get_minimum_version_all_cells and raise_if_old_compute (plain SQL: Nova's Service objects cannot load a NULL
    forced_down, so its service list is not asked here), on both of the plugin's paths (issue 28)."""
    scenario = {
        "services": [
            svc("cell0", "ctl-versions", "nova-conductor", seen=1),
            svc("cell1", "cmp-new", seen=1),
            svc("cell1", "cmp-null", seen=1),
            svc("cell2", "cmp-odd", seen=1),
        ],
        "aggregates": [],
    }
    deployment.reset()
    deployment.write(scenario)

    def update(cell: str, assignments: str, host: str) -> None:
        deployment.mariadb.execute(
            f"UPDATE services SET {assignments} WHERE host = '{host}'", database=deployment.databases[cell]
        )

    update("cell1", "version = 57, forced_down = NULL", "cmp-null")
    update("cell2", "version = 74", "cmp-odd")
    conf_args = ["--config-file", str(deployment.conf), "-t", "60"]
    for case, too_old in (("NULL forced_down", 0), ("Nova-Compute ", 1)):
        if case == "Nova-Compute ":
            update("cell2", "version = 57, `binary` = 'Nova-Compute '", "cmp-odd")
        nova = deployment.minimums()
        assert (nova["too_old"] is not None) == bool(too_old), (case, nova)
        for verbosity in ([], ["-vv"]):
            run = run_check(*conf_args, *verbosity, timeout=120)
            assert run.stderr == "", run.stderr
            perfdata = dict(PERF.findall(run.stdout))
            assert perfdata["nova-compute_version_min"] == str(nova["minimum_versions"]["nova-compute"]), (case, run.stdout)
            assert int(TOO_OLD.search(run.stdout).group(1)) == too_old, (case, run.stdout)

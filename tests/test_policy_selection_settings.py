"""The layers under the Summary, in process and exact: the policy on top of Nova's rule, the tallies,
the selection, and the settings builder (command line > environment > config files > Nova's defaults)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest

from check_nova_services.cli.options import build_parser
from check_nova_services.rule.policy import PROBLEM_LIMIT, Policy, Standing, TallyBuilder, assess
from check_nova_services.rule.selection import Selection
from check_nova_services.settings import build_settings
from check_nova_services.shared.deadline import Deadline
from check_nova_services.shared.errors import ConfigError
from tests.harness.factories import NOW, check, controllers, row, settings_of
from tests.harness.factories import NOW as FACTORY_NOW

POLICY = Policy(down_time=60, age_warning=35)


@pytest.mark.parametrize(
    ("service", "policy", "standing"),
    [
        (row("c", age=35.0), POLICY, Standing.UP),  # exactly at the age warning: not late yet
        (row("c", age=35.001), POLICY, Standing.LATE),
        (row("c", age=-35.001), POLICY, Standing.LATE),  # by distance, as Nova's abs()
        (row("c", age=60.0), POLICY, Standing.LATE),  # still up for Nova
        (row("c", age=60.001), POLICY, Standing.DOWN),
        (row("c", age=40.0), Policy(60, None), Standing.UP),  # no age warning: never late
        (row("c", forced_down=True), POLICY, Standing.DOWN),
        (row("c", age=None, created_age=10.0), POLICY, Standing.UP),  # new, never reported, within the limit
        (row("c", reason="AUTO: Connection to libvirt lost: 1"), POLICY, Standing.AUTO_DISABLED),
        (row("c", reason="maintenance"), POLICY, Standing.DISABLED),
        (row("c", age=400.0, reason="maintenance"), POLICY, Standing.DISABLED_DOWN),
        (row("c", age=400.0, reason="maintenance"), Policy(60, 35, count_disabled=True), Standing.DOWN),
        (row("c", age=50.0, reason="maintenance"), Policy(60, 35, count_disabled=True), Standing.LATE),
    ],
)
def test_assess(service, policy, standing):
    assert assess(service, "cell1", NOW, policy).standing is standing


def test_tallies_count_and_max_age_watches_the_down_but_not_maintenance():
    builder = TallyBuilder(Policy(60, 35, ahead_after=10), problem_limit=3)
    for service in [
        row("a", age=5.0),
        row("b", age=312.0),
        row("c", age=40.0),
        row("d", age=9000.0, reason="maintenance"),
        row("e", age=-20.0),
        row("f", forced_down=True, age=2.0),
        row("ctl", "nova-conductor", age=100.0),
    ]:
        builder.add(assess(service, "cell1", NOW, builder.policy))
    compute = builder.tallies["nova-compute"]
    assert (compute.total, compute.up, compute.down, compute.late, compute.disabled, compute.problems, compute.ahead) == (
        6,
        3,
        2,
        1,
        1,
        4,
        1,
    )
    assert compute.max_age == 312.0  # the maintenance host's 9000 s is not watched
    assert builder.furthest_ahead is not None and builder.furthest_ahead.row.host == "e"
    # problems kept in the order the first line needs: down first, the control plane before the computes
    assert [a.row.host for a in builder.kept_problems()] == ["ctl", "b", "f"]


def test_selection():
    selection = Selection(hosts=("cmp1",), zones=("az1",), exclude=(re.compile("@cmp1$"),))
    assert selection.keeps(row("cmp1"), "az1,az2")
    assert not selection.keeps(row("CMP1"), "az1")  # exact, as Nova's ?host=
    assert not selection.keeps(row("cmp1"), "az2")
    assert not selection.keeps(row("cmp1"), None)
    assert selection.excludes(row("cmp1")) and not selection.excludes(row("cmp10"))
    assert selection.narrowed and not selection.needs_rows  # zones and this pattern: the database applies both
    assert Selection(exclude=(re.compile("\\d"),)).needs_rows  # \d is Unicode in Python, ASCII in MariaDB
    assert not Selection(exclude=(re.compile("x"),)).narrowed
    assert Selection(cells=("cell1",)).narrowed and not Selection(cells=("cell1",)).needs_rows


def settings_with_conf(tmp_path, *argv: str, conf: str | None = None, environ: dict[str, str] | None = None):
    args = list(argv)
    if conf is not None:
        path = tmp_path / "nova.conf"
        path.write_text(conf)
        args += ["--config-file", str(path)]
    return build_settings(build_parser().parse_args(args), Deadline.after(10), environ or {})


def test_settings_precedence_and_novas_arithmetic(tmp_path):
    conf = "[database]\nconnection = mysql://nova:pw@db1/nova\n[DEFAULT]\nservice_down_time = 10\nreport_interval = 10\n"
    from_conf = settings_with_conf(tmp_path, conf=conf)
    assert (from_conf.service_down_time, from_conf.report_interval, from_conf.policy.down_time) == (10, 10, 25)
    assert from_conf.policy.age_warning == 17.5  # halfway from report_interval to the *effective* down time
    assert from_conf.judgement.skew_warning == 7.5
    assert from_conf.source.db_url.host == "db1" and from_conf.source.db_url.drivername == "mysql+pymysql"
    environ = {"NOVA_SERVICES_DB_URL": "mysql+pymysql://mon@db2/nova", "NOVA_SERVICES_DB_PASSWORD": "Env-Secret"}
    from_env = settings_with_conf(tmp_path, "--service-down-time", "90", conf=conf, environ=environ)
    assert from_env.source.db_url.host == "db2" and from_env.source.db_url.password == "Env-Secret"
    assert (from_env.policy.down_time, from_env.policy.age_warning) == (90, 50.0)
    assert "Env-Secret" in from_env.secrets
    from_cli = settings_with_conf(
        tmp_path, "--db-url", "mysql+pymysql://mon@db3/nova", "--age-warning", "0", conf=conf, environ=environ
    )
    assert from_cli.source.db_url.host == "db3" and from_cli.policy.age_warning is None


def test_settings_refusals(tmp_path):
    with pytest.raises(ConfigError, match="servicegroup_driver = mc"):
        settings_with_conf(tmp_path, conf="[DEFAULT]\nservicegroup_driver = mc\n[database]\nconnection = mysql://h/nova\n")
    with pytest.raises(ConfigError, match=r"^--cell and --zone need the API database"):
        settings_with_conf(tmp_path, "--db-url", "mysql://h/nova", "--cell", "cell1")
    with pytest.raises(ConfigError) as refused:
        settings_with_conf(tmp_path, "--db-url", "mysql://u:Hidden-Pass@h/nova", "--exclude", "Hidden-Pass(")
    assert "Hidden-Pass" not in str(refused.value) and "***" in str(refused.value)


def test_a_heartbeat_exactly_at_the_age_warning_is_not_late():
    """Catches policy.assess ``abs(age) > policy.age_warning`` -> ``>=``."""
    assert POLICY.age_warning == 35
    run = check({"cell1": controllers("ctl1") + [row("cmp1", age=35.0), row("cmp2", age=5.0)]}, verbosity=1)
    assert run.line == "NOVA_SERVICES OK - 4 of 4 services up: nova-conductor 1/1, nova-scheduler 1/1, nova-compute 2/2"
    assert (run.code, run.long, run.perfdata["nova-compute_late"]) == (0, [], "0;0;;0;2")
    late = check({"cell1": controllers("ctl1") + [row("cmp1", age=35.000001), row("cmp2", age=5.0)]})
    assert late.line == "NOVA_SERVICES WARNING - 1 heartbeat late: nova-compute@cmp1 (35s)"
    assert late.code == 1


def test_a_clock_with_an_offset_is_converted_to_naive_utc():
    """Catches dropping the offset conversion of --clock."""
    assert settings_of("--clock", "2026-11-26T14:00:00+02:00").clock == dt.datetime(2026, 11, 26, 12, 0, 0)
    assert settings_of("--clock", "2026-11-26T08:30:00-03:30").clock == dt.datetime(2026, 11, 26, 12, 0, 0)
    assert settings_of("--clock", "2026-11-26T12:00:00Z").clock == dt.datetime(2026, 11, 26, 12, 0, 0)


def test_the_default_age_warning_comes_from_the_effective_down_time():
    """Catches build_settings computing the default --age-warning from the configured service_down_time
    instead of the effective one: 10 and 10 make Nova use 25 s, so the warning is at 17.5 s."""
    settings = settings_of("--service-down-time", "10", "--report-interval", "10")
    assert (settings.service_down_time, settings.report_interval) == (10, 10)
    assert (settings.policy.down_time, settings.policy.age_warning) == (25, 17.5)
    run = check({"cell1": [row("cmp1", age=15.0)]}, policy=Policy(down_time=25, age_warning=settings.policy.age_warning))
    assert (run.line, run.code) == ("NOVA_SERVICES OK - 1 of 1 services up: nova-compute 1/1", 0)


def problems(n: int, binary: str = "nova-compute", age: float = 95.0, prefix: str = "h") -> list:
    """``n`` assessed services of one binary, down (95 s) by default, with increasing row ids."""
    return [assess(row(f"{prefix}{i:04d}", binary, age=age), "cell1", FACTORY_NOW, POLICY) for i in range(n)]


def test_a_cell_hands_over_its_first_100_problems_most_important_first():
    """Catches policy PROBLEM_LIMIT = 100 -> 101: each cell hands over at most 100
    problem services, the first 100 in problem order, whatever the order they were read in."""
    services = problems(150)
    builder = TallyBuilder(POLICY)
    for a in reversed(services):
        builder.add(a)
    assert builder.kept_problems() == services[:100]
    assert builder.tallies["nova-compute"].down == 150


def test_a_cell_never_holds_more_than_twice_the_problems_it_hands_over():
    """Catches removing TallyBuilder.add's ``self._trim()`` and ``2 * problem_limit`` -> ``3 *``: memory is bounded by
    what can be shown, not by the size of the outage."""
    builder = TallyBuilder(POLICY)
    most = 0
    for a in problems(1000):
        builder.add(a)
        most = max(most, len(builder.problems))
    assert most == 2 * PROBLEM_LIMIT
    assert len(builder.kept_problems()) == PROBLEM_LIMIT


def test_the_cut_keeps_a_dead_conductor_before_dead_schedulers():
    """Catches binary_rank's nova-conductor 0 -> 1: under the cut of 100 problems, a dead
    conductor read after 100 dead schedulers is kept (it explains them), not dropped by row id."""
    builder = TallyBuilder(POLICY)
    for a in problems(100, "nova-scheduler") + problems(1, "nova-conductor", prefix="ctl"):
        builder.add(a)
    kept = builder.kept_problems()
    assert [a.row.binary for a in kept[:2]] == ["nova-conductor", "nova-scheduler"]
    assert len(kept) == 100


def test_the_cut_keeps_an_unjudgeable_service_before_late_ones():
    """Catches PROBLEM_RANK's UNREADABLE 0 -> 1: a service that cannot be judged counts as
    down, so under the cut it ranks with the down ones, before 100 late heartbeats read before it."""
    late = problems(100, age=40.0)
    unreadable = dataclasses.replace(
        row("zero", age=None), last_seen_up=None, unreadable=(("last_seen_up", "0000-00-00 00:00:00"),)
    )  # read after the late ones: a higher row id
    builder = TallyBuilder(POLICY)
    for a in [*late, assess(unreadable, "cell1", FACTORY_NOW, POLICY)]:
        builder.add(a)
    kept = builder.kept_problems()
    assert (kept[0].row.host, kept[0].standing, kept[1].standing) == ("zero", Standing.UNREADABLE, Standing.LATE)


def test_a_heartbeat_of_this_very_instant_is_never_late():
    """Catches policy.assess ``abs(verdict.age or 0.0)`` -> ``or 1.0``: with an age
    warning under a second, a heartbeat written exactly now (age 0) is up, not late."""
    run = check({"cell1": [row("cmp1", age=0.0)]}, policy=Policy(down_time=60, age_warning=0.5))
    assert (run.line, run.code) == ("NOVA_SERVICES OK - 1 of 1 services up: nova-compute 1/1", 0)


def test_settings_keep_their_secrets_out_of_their_repr():
    """Catches Settings.secrets ``field(repr=False)`` -> ``repr=True``: a Settings
    printed in a debugger, a log line or a traceback must not carry the password."""
    settings = settings_of("--db-url", "mysql+pymysql://nova:Repr-Secret-1@db.example.org/nova")
    assert settings.secrets == ("Repr-Secret-1",)
    assert "Repr-Secret-1" not in repr(settings)


def test_the_debug_lines_name_the_api_database_and_the_template_base():
    """Catches removing Settings.debug_lines' API database line: -vvv says which API
    database the cells came from, and which URL the cell templates are formatted from."""
    settings = settings_of("--api-db-url", "sqlite:///api.sqlite")
    assert settings.debug_lines() == [
        "config files read: none",
        "service_down_time 60s (configured 60, report_interval 10); age warning 35.0; skew warning 25.0; clock local",
        "API database sqlite:///api.sqlite; cell template base sqlite:///unused.sqlite",
    ]


def test_the_zones_default_to_novas_names(tmp_path):
    """Catches ``conf.internal_service_availability_zone or "internal"`` -> ``and``:
    without the option in nova.conf, the control plane's zone is Nova's default, internal."""
    source = settings_of().source
    assert (source.default_zone, source.internal_zone) == ("nova", "internal")
    conf = tmp_path / "nova.conf"
    conf.write_text("[DEFAULT]\ninternal_service_availability_zone = ops\ndefault_availability_zone = az0\n")
    source = settings_of("--config-file", str(conf)).source
    assert (source.default_zone, source.internal_zone) == ("az0", "ops")


def test_a_given_skew_warning_is_used_and_zero_turns_it_off():
    """Catches default_skew_warning's ``return given or None`` -> ``given and None``."""
    assert [settings_of(*given).judgement.skew_warning for given in ((), ("--skew-warning", "5"), ("--skew-warning", "0"))] == [
        25.0,
        5.0,
        None,
    ]


def test_filters_up_to_120_characters_are_quoted_longer_ones_counted():
    """Catches ``len(" ".join(filters)) > 120`` -> ``>=`` and 120 -> 121:
    "no services matched (...)" quotes the filters up to 120 characters, and counts them beyond."""
    at_limit = settings_of("--host", "a" * 52, "--host", "b" * 53).selection.text
    assert at_limit == f" (--host {'a' * 52} --host {'b' * 53})"
    assert len(at_limit) == len(" ()") + 120
    assert settings_of("--host", "a" * 52, "--host", "b" * 54).selection.text == " (2 --host)"


def test_a_binary_filter_keeps_exact_matches_only():
    """Catches Selection.keeps' binary test ``return False`` -> ``return True``: --binary
    is an exact match in Python too, as Nova's ?binary= is (the SQL filter is exact as well)."""
    selection = Selection(binaries=("nova-compute",))
    rows = [row("cmp1"), row("cmp2", "Nova-Compute"), row("cmp3", "nova-compute "), row("ctl1", "nova-conductor")]
    assert [r.host for r in rows if selection.keeps(r, None)] == ["cmp1"]


def test_only_exclusions_the_database_cannot_apply_need_the_rows_and_any_exclusion_excludes():
    """Catches Selection.needs_rows' ``and not`` -> ``or`` and excludes' ``any`` -> ``all``: zones and portable
    patterns are counted by the database (issue 29), one pattern it reads otherwise sends every row to Python, and
    each --exclude counts."""
    exclude = (re.compile("^nova-compute@cmp1$"), re.compile("@cmp2$"))
    unportable = (re.compile("@cmp1$"), re.compile("(?i)@CMP2$"))
    needs = [Selection(zones=("az1",)), Selection(exclude=exclude), Selection(exclude=unportable), Selection()]
    assert [s.needs_rows for s in needs] == [False, False, True, False]
    assert Selection(exclude=exclude).exclude_in_database == ("^nova-compute@cmp1$", "@cmp2$")
    assert Selection(exclude=unportable).exclude_in_database == ()
    assert [Selection(exclude=exclude).excludes(row(h)) for h in ("cmp1", "cmp2", "cmp3")] == [True, True, False]


def test_cell_credentials_api_reads_the_cells_as_the_api_databases_user():
    """Catches ``own_credentials=args.cell_credentials == "api"`` -> ``!=``."""
    api = ("--api-db-url", "sqlite:///api.sqlite")
    assert settings_of(*api).source.own_credentials is False
    assert settings_of(*api, "--cell-credentials", "api").source.own_credentials is True

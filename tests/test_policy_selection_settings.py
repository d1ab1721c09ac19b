"""The layers under the Summary, in process and exact: the policy on top of Nova's rule, the tallies,
the selection, and the settings builder (command line > environment > config files > Nova's defaults)."""

from __future__ import annotations

import re

import pytest

from check_nova_services.cli.options import build_parser
from check_nova_services.rule.policy import Policy, Standing, TallyBuilder, assess
from check_nova_services.rule.selection import Selection
from check_nova_services.settings import build_settings
from check_nova_services.shared.deadline import Deadline
from check_nova_services.shared.errors import ConfigError
from tests.factories import NOW, row

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
    assert selection.narrowed and selection.needs_rows
    assert not Selection(exclude=(re.compile("x"),)).narrowed
    assert Selection(cells=("cell1",)).narrowed and not Selection(cells=("cell1",)).needs_rows


def settings_of(tmp_path, *argv: str, conf: str | None = None, environ: dict[str, str] | None = None):
    args = list(argv)
    if conf is not None:
        path = tmp_path / "nova.conf"
        path.write_text(conf)
        args += ["--config-file", str(path)]
    return build_settings(build_parser().parse_args(args), Deadline.after(10), environ or {})


def test_settings_precedence_and_novas_arithmetic(tmp_path):
    conf = "[database]\nconnection = mysql://nova:pw@db1/nova\n[DEFAULT]\nservice_down_time = 10\nreport_interval = 10\n"
    from_conf = settings_of(tmp_path, conf=conf)
    assert (from_conf.service_down_time, from_conf.report_interval, from_conf.policy.down_time) == (10, 10, 25)
    assert from_conf.policy.age_warning == 17.5  # halfway from report_interval to the *effective* down time
    assert from_conf.judgement.skew_warning == 7.5
    assert from_conf.source.db_url.host == "db1" and from_conf.source.db_url.drivername == "mysql+pymysql"
    environ = {"NOVA_SERVICES_DB_URL": "mysql+pymysql://mon@db2/nova", "NOVA_SERVICES_DB_PASSWORD": "Env-Secret"}
    from_env = settings_of(tmp_path, "--service-down-time", "90", conf=conf, environ=environ)
    assert from_env.source.db_url.host == "db2" and from_env.source.db_url.password == "Env-Secret"
    assert (from_env.policy.down_time, from_env.policy.age_warning) == (90, 50.0)
    assert "Env-Secret" in from_env.secrets
    from_cli = settings_of(
        tmp_path, "--db-url", "mysql+pymysql://mon@db3/nova", "--age-warning", "0", conf=conf, environ=environ
    )
    assert from_cli.source.db_url.host == "db3" and from_cli.policy.age_warning is None


def test_settings_refusals(tmp_path):
    with pytest.raises(ConfigError, match="servicegroup_driver = mc"):
        settings_of(tmp_path, conf="[DEFAULT]\nservicegroup_driver = mc\n[database]\nconnection = mysql://h/nova\n")
    with pytest.raises(ConfigError, match=r"^--cell and --zone need the API database"):
        settings_of(tmp_path, "--db-url", "mysql://h/nova", "--cell", "cell1")
    with pytest.raises(ConfigError) as refused:
        settings_of(tmp_path, "--db-url", "mysql://u:Hidden-Pass@h/nova", "--exclude", "Hidden-Pass(")
    assert "Hidden-Pass" not in str(refused.value) and "***" in str(refused.value)

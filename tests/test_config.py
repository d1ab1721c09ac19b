"""nova.conf read the way oslo.config reads it (Nova's own parser), without Nova."""

from __future__ import annotations

from check_nova_services.sources.config import read_nova_conf


def test_quotes_dollars_and_substitution(tmp_path):
    first = tmp_path / "nova.conf"
    first.write_text(
        "[DEFAULT]\n"
        'service_down_time = "25"\n'
        "report_interval = '5'\n"
        "my_zone = az-$$1\n"
        "default_availability_zone = $my_zone\n"
        "[database]\n"
        "connection = mysql+pymysql://nova:pa$$word$$@db/nova\n"
        "[api_database]\n"
        "connection = ${database.connection}_api\n"
    )
    second = tmp_path / "override.conf"
    second.write_text('[DEFAULT]\ninternal_service_availability_zone = "inner ${unknown} \\$HOME"\n')
    conf = read_nova_conf([str(first), str(second)])
    assert (conf.service_down_time, conf.report_interval) == (25, 5)
    assert conf.default_availability_zone == "az-$1"
    assert conf.database_connection == "mysql+pymysql://nova:pa$word$@db/nova"
    assert conf.api_database_connection == "mysql+pymysql://nova:pa$word$@db/nova_api"
    assert conf.internal_service_availability_zone == "inner ${unknown} $HOME"
    assert conf.files == [str(first), str(second)]


def test_default_section_does_not_leak_into_others(tmp_path):
    path = tmp_path / "nova.conf"
    path.write_text("[DEFAULT]\nconnection = sqlite:///wrong\n[database]\nmax_retries = 3\n")
    assert read_nova_conf([str(path)]).database_connection is None

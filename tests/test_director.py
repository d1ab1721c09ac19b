"""icinga/director/: the Icinga Director basket matches the CheckCommand and --help, and Director imports it.

Fast: the basket against icinga/nova_services.conf (read as text) and the plugin's options. Slow: Debian's
Director (icingaweb2-module-director, icingacli) against a database on the suite's private MariaDB, with an
Icinga Web 2 configuration of its own (ICINGAWEB_CONFIGDIR): the basket restored for real, dumped back,
rendered, validated by icinga2 and run by it against a cell database whose password is only in the config file.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from check_nova_services.cli.options import build_parser
from check_nova_services.demo.writer import service
from check_nova_services.settings import parse_clock
from check_nova_services.shared.errors import UsageError
from tests.harness.daemons import ICINGA2, ICINGA_DIR, Icinga2, help_options, need, wait_for, write_plugin
from tests.test_icinga import checkcommand_arguments, option_of, repeatable_options, utcnow

BASKET = ICINGA_DIR / "director" / "nova_services-basket.json"
CHECKCOMMAND = ICINGA_DIR / "nova_services.conf"

#: The object types of a basket that Director 1.10 restores (BasketSnapshot::$typeClasses).
DIRECTOR_TYPES = {
    "DatafieldCategory", "Datafield", "TimePeriod", "CommandTemplate", "ExternalCommand", "Command", "HostGroup",
    "IcingaTemplateChoiceHost", "HostTemplate", "ServiceGroup", "IcingaTemplateChoiceService", "ServiceTemplate",
    "ServiceSet", "UserGroup", "UserTemplate", "User", "NotificationTemplate", "Notification", "DataList",
    "Dependency", "ImportSource", "SyncRule", "DirectorJob", "Basket",
}  # fmt: skip
DATATYPE = "Icinga\\Module\\Director\\DataType\\DataType"

#: Director gives a command no `env` (icingaweb2-module-director #2754): the two URL arguments say so
#: instead of the CheckCommand's promise of the environment. Every other description is the CheckCommand's.
ENV_PROMISE = "; otherwise the URL reaches the plugin through its environment ({}), out of the process list."
NO_ENV = (
    ". Director gives a command no environment: name the databases in the config file (nova_services_config_file) "
    "instead, and never put a password into this URL."
)
URL_ARGUMENTS = {"--db-url": "NOVA_SERVICES_DB_URL", "--api-db-url": "NOVA_SERVICES_API_DB_URL"}


def basket() -> dict:
    return json.loads(BASKET.read_text())


def command() -> dict:
    return basket()["Command"]["nova_services"]


def template() -> dict:
    return basket()["ServiceTemplate"]["nova-services"]


# --------------------------------------------------------------------------- icinga/nova_services.conf as text


def _conf_value(text: str):
    """An attribute value of nova_services.conf: a string, boolean, number, duration or {{ lambda }}."""
    text = re.sub(r"\s*/\*.*?\*/$", "", text.strip())  # a trailing comment
    if text.startswith("{{") and text.endswith("}}"):
        return {"lambda": text[2:-2].strip()}
    if text in ("true", "false"):
        return text == "true"
    duration = re.fullmatch(r"(\d+)s", text)
    if duration:
        return int(duration.group(1))
    return json.loads(text)  # the file's strings and numbers are JSON's too


def conf_checkcommand() -> tuple[dict[str, dict], dict]:
    """The CheckCommand's arguments {key: {attribute: value}} and its other top-level attributes, read from the file.

    The file's layout (tabs, one attribute a line) is what is parsed; a layout this does not read fails loudly.
    test_icinga.py checks the same file through icinga2 itself.
    """
    text = CHECKCOMMAND.read_text()
    block = re.search(r"\n\targuments = \{\n(.*?)\n\t\}\n", text, re.S)
    assert block, "no arguments block in nova_services.conf"
    arguments = {}
    for match in re.finditer(r'^\t\t"([^"]+)" = \{\n(.*?)\n\t\t\}$', block.group(1), re.S | re.M):
        attributes = {}
        for line in match.group(2).splitlines():
            name, sep, value = line.strip().partition(" = ")
            assert sep and re.fullmatch(r"\w+", name), line
            attributes[name] = _conf_value(value)
        arguments[match.group(1)] = attributes
    assert len(arguments) == block.group(1).count(" = {\n"), "an argument of nova_services.conf was not read"
    top = {name: _conf_value(value) for name, value in re.findall(r"^\t(vars\.\w+|timeout) = (.+)$", text, re.M)}
    return arguments, top


def director_description(key: str, conf_description: str) -> str:
    """What the basket's argument must say: the CheckCommand's description, without the environment for URLs."""
    if key not in URL_ARGUMENTS:
        return conf_description
    promise = ENV_PROMISE.format(URL_ARGUMENTS[key])
    assert conf_description.endswith(promise), key
    return conf_description[: -len(promise)] + NO_ENV


# --------------------------------------------------------------------------- the plugin's options


def parser_actions() -> dict[str, object]:
    return {max(a.option_strings, key=len): a for a in build_parser()._actions if a.option_strings}


def choice_options() -> dict[str, list[str]]:
    """Options whose metavar in --help lists fixed words (``mapping|api``; ``local|db|TIMESTAMP`` has two)."""
    out = {}
    for name, action in parser_actions().items():
        metavar = action.metavar or ""
        words = [word for word in metavar.split("|") if re.fullmatch(r"[a-z]+", word)]
        if "|" in metavar and words:
            out[name] = words
    return out


def variable(name: str) -> str:
    """The Icinga variable of an option, as nova_services.conf names it (--per-server: nova_services_per_server)."""
    return "nova_services_" + name.lstrip("-").replace("-", "_")


def variables_of(argument: dict) -> set[str]:
    """The $nova_services_...$ macros an argument of the basket reads, in its value and its set_if."""
    return set(re.findall(r"\$(nova_services_\w+)\$", json.dumps([argument.get("value"), argument.get("set_if")])))


def datafields_by_varname() -> dict[str, dict]:
    fields = basket()["Datafield"]
    by_name = {field["varname"]: field for field in fields.values()}
    assert len(by_name) == len(fields), "two datafields for one variable"
    return by_name


def expected_datatype(var: str, actions: dict, choices: dict) -> str:
    """Array for repeatable options, Boolean for flags, Datalist for fixed choices, Number for numbers, else String."""
    option = next((name for name in actions if variable(name) == var), None)
    if var == "nova_services_url_in_argv":
        return "Boolean"
    if var == "nova_services_verbose":
        return "Number"  # -v counted: 0 to 3
    assert option, f"{var} is no option's variable"
    action = actions[option]
    if option in repeatable_options():
        return "Array"
    if action.nargs == 0:
        return "Boolean"
    if option in choices:
        return "Datalist"
    if action.type is not None:
        return "Number"
    return "String"


# --------------------------------------------------------------------------- fast: the file


def test_basket_is_json_of_director_types():
    data = basket()
    assert sorted(data) == ["Command", "DataList", "Datafield", "DatafieldCategory", "ServiceTemplate"]
    assert set(data) <= DIRECTOR_TYPES
    assert list(data["Command"]) == ["nova_services"]
    assert list(data["ServiceTemplate"]) == ["nova-services"]
    # Written as Director writes it (4 spaces, UTF-8), so that a download from Director diffs cleanly.
    assert BASKET.read_text() == json.dumps(data, indent=4, ensure_ascii=False) + "\n"


def test_arguments_are_the_checkcommands():
    """Same keys, values, set_if, repeat_key and order as nova_services.conf; descriptions too, but for the URLs'."""
    conf, _ = conf_checkcommand()
    arguments = command()["arguments"]
    assert sorted(arguments) == sorted(conf)
    assert len(arguments) == 31
    for key, want in conf.items():
        got = arguments[key]
        assert got["description"] == director_description(key, want["description"]), key
        assert got.get("value") == want.get("value"), key
        assert got.get("repeat_key", False) is want.get("repeat_key", False), key
        assert got.get("order") == (str(want["order"]) if "order" in want else None), key
        if isinstance(want.get("set_if"), dict):  # the -v lambdas: the same expression, as Director stores one
            assert (got["set_if"], got["set_if_format"]) == (want["set_if"]["lambda"], "expression"), key
        elif "set_if" in want:
            assert (got["set_if"], got["set_if_format"]) == (want["set_if"], "string"), key
        else:
            assert "set_if" not in got and "set_if_format" not in got, key
        assert set(got) <= {"description", "value", "set_if", "set_if_format", "repeat_key", "order"}, key
    assert arguments["--db-url"]["description"] == (
        "SQLAlchemy URL of one cell database (mysql+pymysql://USER@HOST/nova or sqlite:///PATH). On the command line "
        "only if nova_services_url_in_argv is true. Director gives a command no environment: name the databases in "
        "the config file (nova_services_config_file) instead, and never put a password into this URL."
    )


def test_every_argument_is_a_plugin_option():
    options = help_options()
    arguments = command()["arguments"]
    assert [key for key in arguments if option_of(key, options) is None] == []
    for key, argument in arguments.items():
        assert argument["description"].startswith(options[option_of(key, options)]["help"]), key
    covered = {option_of(key, options) for key in arguments}
    assert set(options) - covered == {"--help", "--version", "--list", "--format", "--textfile"}


def test_command_timeout_and_defaults_are_the_checkcommands():
    """Icinga's limit above the plugin's --timeout by at least 10 s, as nova_services.conf keeps them."""
    _, conf = conf_checkcommand()
    cmd = command()
    assert (cmd["object_type"], cmd["methods_execute"]) == ("object", "PluginCheck")
    assert cmd["command"] == "PluginContribDir + /check_nova_services"
    assert int(cmd["timeout"]) == conf["timeout"] == 30
    assert cmd["vars"] == {name[len("vars.") :]: value for name, value in conf.items() if name.startswith("vars.")}
    assert cmd["vars"] == {
        "nova_services_count_disabled": False,
        "nova_services_timeout": 10,
        "nova_services_url_in_argv": False,
        "nova_services_verbose": 1,
    }
    assert int(cmd["timeout"]) - cmd["vars"]["nova_services_timeout"] >= 10
    assert "env" not in cmd


def test_service_template_defaults():
    tpl = template()
    assert {k: v for k, v in tpl.items() if k != "fields"} == {
        "check_command": "nova_services",
        "check_interval": "60",
        "max_check_attempts": "3",
        "object_name": "nova-services",
        "object_type": "template",
        "retry_interval": "20",
        "vars": {
            "nova_services_cell_credentials": "api",
            "nova_services_config_file": ["/etc/icinga2/nova-services.conf"],
        },
    }
    # No check_timeout: the command's 30 s governs, above the plugin's 10 s.
    assert "check_timeout" not in tpl
    # The template's defaults are choices its own fields offer.
    lists = basket()["DataList"]
    assert tpl["vars"]["nova_services_cell_credentials"] in [
        e["entry_name"] for e in lists["nova_services_cell_credentials"]["entries"]
    ]


def test_a_datafield_for_every_variable_and_none_else():
    fields = datafields_by_varname()
    used = set().union(*(variables_of(a) for a in command()["arguments"].values()))
    assert used == set(fields)
    assert len(fields) == 30
    # Every option the CheckCommand passes has its field, of the type its values need.
    actions, choices = parser_actions(), choice_options()
    for var, field in fields.items():
        assert field["datatype"] == DATATYPE + expected_datatype(var, actions, choices), var
    assert sorted(v for v, f in fields.items() if f["datatype"].endswith("Datalist")) == [
        "nova_services_cell_credentials",
        "nova_services_clock",
        "nova_services_too_old_compute_state",
        "nova_services_unreachable_cell_state",
    ]
    # A field's help is the argument's description; the two that are no option's say what they do.
    for argument in command()["arguments"].values():
        for var in variables_of(argument) - {"nova_services_url_in_argv", "nova_services_verbose"}:
            assert fields[var]["description"] == argument["description"], var
    captions = [f["caption"] for f in fields.values()]
    assert len(set(captions)) == len(captions) and all(captions)
    categories = basket()["DatafieldCategory"]
    assert {f["category"] for f in fields.values()} == set(categories) == {"check_nova_services"}


def test_every_referenced_datafield_exists():
    data = basket()
    ids = set(data["Datafield"])
    assert all(key == field["originalId"] for key, field in data["Datafield"].items())
    cmd_refs = [str(ref["datafield_id"]) for ref in command()["fields"]]
    tpl_refs = [str(ref["datafield_id"]) for ref in template()["fields"]]
    assert sorted(cmd_refs) == sorted(ids)  # the command offers every field, once
    assert len(set(tpl_refs)) == len(tpl_refs) and set(tpl_refs) <= ids
    names = {data["Datafield"][i]["varname"] for i in tpl_refs}
    assert names == {"nova_services_config_file", "nova_services_cell_credentials"}
    for ref in command()["fields"] + template()["fields"]:
        assert (ref["is_required"], ref["var_filter"]) == ("n", None)
    # Every datalist a field names is in the basket, and every list of the basket is some field's.
    named = {f["settings"]["datalist"] for f in data["Datafield"].values() if f["datatype"] == DATATYPE + "Datalist"}
    assert named == set(data["DataList"])
    assert all(name == data["DataList"][name]["list_name"] for name in named)


def test_choice_options_are_found_in_help():
    """The options of fixed words, from the metavars --help shows: all of them are datalists but --list's format."""
    assert choice_options() == {
        "--cell-credentials": ["mapping", "api"],
        "--clock": ["local", "db"],
        "--too-old-compute-state": ["warning", "critical"],
        "--unreachable-cell-state": ["unknown", "critical"],
        "--format": ["text", "json", "openmetrics"],
    }


def test_datalist_entries_are_choices_the_plugin_accepts():
    fields = datafields_by_varname()
    actions = parser_actions()
    for option, words in choice_options().items():
        if option == "--format":
            continue  # --list's and the metrics', not the check's
        field = fields[variable(option)]
        entries = basket()["DataList"][field["settings"]["datalist"]]["entries"]
        assert sorted(e["entry_name"] for e in entries) == sorted(words), option
        assert all(e["format"] == "string" and e["allowed_roles"] is None for e in entries), option
        assert all(e["entry_value"].startswith(e["entry_name"]) for e in entries), option
        for entry in entries:
            parsed = build_parser().parse_args([option, entry["entry_name"]])
            assert getattr(parsed, actions[option].dest) == entry["entry_name"], (option, entry)
        # A word off the list is refused by the plugin: the acceptance above means something.
        if option != "--clock":
            with pytest.raises(UsageError):
                build_parser().parse_args([option, "sometimes"])
        # Strict lists, but --clock also takes a timestamp: its list only suggests.
        behavior = "suggest_optional" if option == "--clock" else "strict"
        assert field["settings"] == {"behavior": behavior, "data_type": "string", "datalist": variable(option)}, option
    # --clock's words are its modes, not timestamps it would parse.
    assert [parse_clock(e["entry_name"]) for e in basket()["DataList"]["nova_services_clock"]["entries"]] == ["db", "local"]


def strings(data, key: str = "") -> list[tuple[str, str]]:
    """Every key and string value in a JSON document, with the key it is under (a key under its parent's)."""
    if isinstance(data, dict):
        return [pair for k, v in data.items() for pair in [(key, k), *strings(v, k)]]
    if isinstance(data, list):
        return [pair for item in data for pair in strings(item, key)]
    return [(key, data)] if isinstance(data, str) else []


def test_no_password_and_no_environment():
    # Outside the words shown to people (descriptions, captions), nothing names a password or an environment.
    words = [(key, text) for key, text in strings(basket()) if key not in ("description", "caption")]
    assert len(words) > 500
    assert [text for _, text in words if re.search(r"[Pp]assword|NOVA_SERVICES_|\benv\b", text)] == []
    cmd = command()
    for key, argument in cmd["arguments"].items():
        assert not re.search(r"pass|secret|token", json.dumps([argument.get("value"), argument.get("set_if")]), re.I), key
    # The URLs reach the command line only on request, off by default; the template names a file, no URL.
    assert {k for k, a in cmd["arguments"].items() if "url" in str(a.get("value"))} == set(URL_ARGUMENTS)
    assert all(cmd["arguments"][k]["set_if"] == "$nova_services_url_in_argv$" for k in URL_ARGUMENTS)
    assert cmd["vars"]["nova_services_url_in_argv"] is False
    assert "://" not in json.dumps(template()["vars"])
    # No field is a hidden string (Director's kind for secrets): nothing secret is asked for.
    assert [f["varname"] for f in basket()["Datafield"].values() if f["settings"].get("visibility") == "hidden"] == []


# --------------------------------------------------------------------------- slow: Director 1.10 for real

ICINGACLI = shutil.which("icingacli") or "/usr/bin/icingacli"
PHP = shutil.which("php") or "/usr/bin/php"
MODULES = Path("/usr/share/icingaweb2/modules")
RESTORED = "Objects from Basket Snapshot have been restored\n"


class Director:
    """icingacli director with an Icinga Web 2 configuration of its own, on a database of the test MariaDB."""

    def __init__(self, root: Path, mariadb, database: str):
        self.mariadb, self.database = mariadb, database
        self.config_dir = root / "icingaweb2"
        enabled = self.config_dir / "enabledModules"
        enabled.mkdir(parents=True)
        for module in ("director", "incubator", "reactbundle"):  # Director and what its module.info depends on
            (enabled / module).symlink_to(MODULES / module)
        (self.config_dir / "config.ini").write_text(f'[global]\nmodule_path = "{MODULES}"\n\n[logging]\nlog = "none"\n')
        admin = mariadb.admin
        (self.config_dir / "resources.ini").write_text(
            "[director_db]\n"
            'type = "db"\n'
            'db = "mysql"\n'
            f'host = "{admin.host}"\n'
            f'port = "{admin.port or 3306}"\n'
            f'dbname = "{database}"\n'
            f'username = "{admin.username}"\n'
            f'password = "{admin.password or ""}"\n'
            'charset = "utf8"\n'
        )
        (self.config_dir / "modules" / "director").mkdir(parents=True)
        (self.config_dir / "modules" / "director" / "config.ini").write_text('[db]\nresource = "director_db"\n')

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [ICINGACLI, "director", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env={**os.environ, "ICINGAWEB_CONFIGDIR": str(self.config_dir)},
            timeout=120,
        )

    def restore(self, text: str) -> subprocess.CompletedProcess:
        return self.cli("basket", "restore", stdin=text)

    def count(self, table: str, where: str = "1=1") -> int:
        return self.mariadb.execute(f"SELECT COUNT(*) FROM `{table}` WHERE {where}", database=self.database)[0][0]

    def render(self) -> tuple[str, dict[str, str]]:
        """Render the configuration: its checksum and its files {path: text}, as Director stores them."""
        run = self.cli("config", "render")
        assert run.returncode == 0, run.stdout + run.stderr
        match = re.fullmatch(
            r"(?:New config|Config) with checksum ([0-9a-f]{40}) (?:has been generated|already exists)\n", run.stdout
        )
        assert match, run.stdout
        rows = self.mariadb.execute(
            "SELECT f.file_path, g.content FROM director_generated_config_file f "
            "JOIN director_generated_file g ON g.checksum = f.file_checksum "
            f"WHERE f.config_checksum = UNHEX('{match.group(1)}') ORDER BY f.file_path",
            database=self.database,
        )
        return match.group(1), {path: content for path, content in rows}


def need_director() -> None:
    need(ICINGACLI, PHP, str(MODULES / "director"), str(MODULES / "incubator"), ICINGA2)
    probe = subprocess.run([PHP, "-r", "exit(extension_loaded('pdo_mysql') ? 0 : 1);"], capture_output=True, timeout=60)
    if probe.returncode != 0:
        pytest.skip("not installed: PHP's pdo_mysql (php-mysql; bash tests/run installs it)")


@pytest.fixture(scope="module")
def director(request, tmp_path_factory):
    """Director with its schema, the basket restored once."""
    need_director()
    mariadb = request.getfixturevalue("mariadb")  # started only when Director is there
    database = f"director_{secrets.token_hex(4)}"
    mariadb.create_database(database)
    try:
        director = Director(tmp_path_factory.mktemp("director"), mariadb, database)
        migrated = director.cli("migration", "run")
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        pending = director.cli("migration", "pending")
        assert (pending.returncode, pending.stdout) == (1, ""), pending  # exit 1: nothing pending
        restored = director.restore(BASKET.read_text())
        assert (restored.returncode, restored.stdout, restored.stderr) == (0, RESTORED, "")
        yield director
    finally:
        mariadb.execute(f"DROP DATABASE IF EXISTS `{database}`")


def normalized(data: dict) -> dict:
    """A basket with datafields keyed by variable instead of by id, as two databases number them differently."""
    data = json.loads(json.dumps(data))
    names = {str(key): field["varname"] for key, field in data["Datafield"].items()}
    data["Datafield"] = {f["varname"]: {k: v for k, v in f.items() if k != "originalId"} for f in data["Datafield"].values()}
    for category in data["DatafieldCategory"].values():
        category.pop("originalId")
    for kind in ("Command", "ServiceTemplate"):
        for obj in data[kind].values():
            obj["fields"] = sorted(
                (names[str(ref["datafield_id"])], ref["is_required"], ref["var_filter"]) for ref in obj["fields"]
            )
    return data


@pytest.mark.slow
def test_director_holds_exactly_what_the_basket_says(director):
    """A basket of the restored objects, dumped by Director itself, is the shipped basket."""
    dump_basket = {
        "Basket": {
            "nova_services check": {
                "basket_name": "nova_services check",
                "objects": {"Command": ["nova_services"], "ServiceTemplate": ["nova-services"], "DataList": True},
                "owner_type": "user",
                "owner_value": "test",
            }
        }
    }
    assert director.restore(json.dumps(dump_basket)).returncode == 0
    dump = director.cli("basket", "dump", "--name", "nova_services check")
    assert dump.returncode == 0, dump.stderr
    assert normalized(json.loads(dump.stdout)) == normalized(basket())
    # And what Director shows for the command has every argument, in Director's own words.
    shown = director.cli("command", "show", "nova_services", "--json")
    assert shown.returncode == 0, shown.stderr
    assert sorted(json.loads(shown.stdout)["arguments"]) == sorted(command()["arguments"])


@pytest.mark.slow
def test_restoring_again_changes_nothing(director):
    """Importing the basket a second time (an upgrade) duplicates no field and changes no configuration."""
    checksum, _ = director.render()
    counts = {
        "director_datafield": 30,
        "director_datafield_category": 1,
        "director_datalist": 4,
        "director_datalist_entry": 8,
        "icinga_command_argument": 31,
        "icinga_command_field": 30,
        "icinga_command_var": 4,
        "icinga_service_field": 2,
        "icinga_service_var": 2,
    }
    assert {table: director.count(table) for table in counts} == counts
    restored = director.restore(BASKET.read_text())
    assert (restored.returncode, restored.stdout) == (0, RESTORED)
    assert {table: director.count(table) for table in counts} == counts
    assert director.render()[0] == checksum


@pytest.mark.slow
def test_a_broken_basket_is_refused_and_leaves_nothing(director):
    """The restore can fail: a datafield naming a list that exists nowhere is refused, in one transaction."""
    broken = basket()
    clock = next(f for f in broken["Datafield"].values() if f["varname"] == "nova_services_clock")
    clock["varname"] = "nova_services_clock_broken"
    clock["settings"]["datalist"] = "nova_services_no_such_list"
    before = director.count("director_datafield"), director.count("director_datalist")
    run = director.restore(json.dumps(broken))
    assert run.returncode == 1
    assert 'Failed to load director_datalist "nova_services_no_such_list"' in run.stdout + run.stderr
    assert (director.count("director_datafield"), director.count("director_datalist")) == before
    assert director.count("director_datafield", "varname = 'nova_services_clock_broken'") == 0


def director_icinga(root: Path, files: dict[str, str]) -> Icinga2:
    """An Icinga 2 with Director's rendered files where a deployment puts them, zones.d/<zone>/."""
    icinga = Icinga2(root)
    zoned: dict[str, list[Path]] = {}
    staged = root / "rendered"
    for relative, content in files.items():
        path = staged / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        assert path.parts[-3] == "zones.d", relative
        zoned.setdefault(path.parts[-2], []).append(path)
    assert sorted(zoned) == ["director-global"]
    icinga.install_zones_d(zoned)
    return icinga


GLOBAL_ZONE = 'object Zone "director-global" { global = true }\n'


@pytest.mark.slow
def test_rendered_configuration_validates_and_is_the_checkcommand(director, tmp_path):
    """icinga2 daemon -C accepts Director's configuration; its CheckCommand is the shipped one, without env."""
    _, files = director.render()
    assert sorted(files) == [
        "zones.d/director-global/001-director-basics.conf",
        "zones.d/director-global/commands.conf",
        "zones.d/director-global/service_templates.conf",
    ]
    assert 'template Service "nova-services" {' in files["zones.d/director-global/service_templates.conf"]
    icinga = director_icinga(tmp_path / "director-icinga", files)
    run = icinga.validate(
        GLOBAL_ZONE + 'object Host "ctl1" { check_command = "dummy" }\n'
        'object Service "nova-services" { import "nova-services"\n host_name = "ctl1" }\n'
    )
    assert run.returncode == 0, run.stdout + run.stderr
    rendered = icinga.find("CheckCommand", "nova_services")

    shipped_icinga = Icinga2(tmp_path / "shipped-icinga")
    shipped = checkcommand_arguments(shipped_icinga)  # test_icinga's: nova_services.conf through icinga2
    shipped_command = shipped_icinga.find("CheckCommand", "nova_services")
    assert sorted(rendered["arguments"]) == sorted(shipped)
    for key, argument in shipped.items():
        want = {**argument, "description": director_description(key, argument["description"])}
        assert rendered["arguments"][key] == want, key
    # Each Icinga has its own PluginContribDir: the same plugin under it.
    assert rendered["command"] == [f"{icinga.plugin_dir}/check_nova_services"]
    assert shipped_command["command"] == [f"{shipped_icinga.plugin_dir}/check_nova_services"]
    assert (rendered["timeout"], rendered["vars"]) == (shipped_command["timeout"], shipped_command["vars"])
    assert shipped_command["env"] and rendered["env"] is None
    # Director imports the ITL's plugin-check-command, which Icinga imports into every CheckCommand anyway.
    assert set(rendered["templates"]) == set(shipped_command["templates"]) == {"nova_services", "plugin-check-command"}

    svc = icinga.find("Service", "ctl1!nova-services")
    assert (svc["check_command"], svc["check_interval"], svc["retry_interval"], svc["max_check_attempts"]) == (
        "nova_services",
        60,
        20,
        3,
    )
    assert svc["check_timeout"] is None  # the command's 30 s, above the plugin's 10 s
    assert svc["vars"] == {
        "nova_services_cell_credentials": "api",
        "nova_services_config_file": ["/etc/icinga2/nova-services.conf"],
    }


@pytest.mark.slow
def test_icinga_runs_the_director_check_with_the_password_only_in_the_file(director, mariadb, cell_db, tmp_path):
    """Director's command and template, run by Icinga 2: the config file carries the credentials, nothing else does."""
    now = utcnow()
    rows = [service(host, binary, now, age=0.0) for host in ("ctl1", "ctl2") for binary in ("nova-conductor", "nova-scheduler")]
    rows += [service(f"cmp{n}", "nova-compute", now, age=0.0) for n in (1, 2)]
    admin_url = make_url(cell_db(rows))
    user, password = mariadb.services_reader(admin_url.database)
    url = admin_url.set(username=user, password=password).render_as_string(hide_password=False)
    credentials = tmp_path / "nova-services.conf"
    credentials.write_text(f"[database]\nconnection = {url.replace('$', '$$')}\n")
    credentials.chmod(0o600)

    _, files = director.render()
    icinga = director_icinga(tmp_path / "icinga2", files)
    write_plugin(icinga.plugin_dir)
    try:
        icinga.start(
            GLOBAL_ZONE
            + 'object Host "ctl1" { check_command = "dummy" }\n'
            + 'object Service "nova-services" {\n import "nova-services"\n host_name = "ctl1"\n'
            + f' check_interval = 1s\n retry_interval = 1s\n vars.nova_services_config_file = [ "{credentials}" ]\n}}\n'
        )

        def checked():
            cr = icinga.service("ctl1", "nova-services")["last_check_result"]
            return cr if cr else None

        cr = wait_for("a check result of nova-services", checked, 30)
    finally:
        icinga.stop()
    plugin = str(icinga.plugin_dir / "check_nova_services")
    assert cr["command"] == [plugin, "--cell-credentials", "api", "--config-file", str(credentials), "--timeout", "10", "-v"]
    assert cr["output"] == "NOVA_SERVICES OK - 6 of 6 services up: nova-conductor 2/2, nova-scheduler 2/2, nova-compute 2/2\n"
    assert (cr["exit_status"], cr["state"]) == (0, 0)
    assert password not in json.dumps(cr) and user not in json.dumps(cr)

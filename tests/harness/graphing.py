"""What Icinga Web's Graphite module and Grafana make of the paths Icinga 2's GraphiteWriter writes.

The test of icinga/graphite/nova_services.ini and icinga/grafana/nova_services-graphite.json runs their
metric filters and queries against real paths. Nothing here renders: it finds the series each graph draws.

- The Graphite module (icingaweb2-module-graphite, library/Graphite/Util/MacroTemplate.php and
  Graphing/{Templates,Template,MetricsQuery}.php), its decisions on what is drawn re-implemented here:
  a metric filter's $service_name_template$ becomes the GraphiteWriter's default template, the object's
  own macros ($host.name$, $service.name$, $service.check_command$) its names with the module's
  escaping, every other macro a ``*`` (or its wildcard); Graphite expands that glob; each path found is
  read back into the macros' values; the curves' paths are combined into charts where their shared
  macros agree, the template's first curve that found any path deciding which charts there are.
- Graphite's globs (``*``, ``?``, ``[...]``, ``{a,b}``, never across a dot) and its find API.
- Grafana: template variables (``$x``, ``${x}``, ``[[x]]``; several values as Graphite's ``{a,b}``) and
  the two Graphite functions the dashboard uses, alias and aliasSub.
"""

from __future__ import annotations

import ast
import configparser
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from check_nova_services.rule.metrics import BINARY_METRICS

#: Icinga 2's GraphiteWriter defaults (lib/perfdata/graphitewriter.ti), which the module assumes unless configured.
HOST_NAME_TEMPLATE = "icinga2.$host.name$.host.$host.check_command$"
SERVICE_NAME_TEMPLATE = "icinga2.$host.name$.services.$service.name$.$service.check_command$"

SECTION = re.compile(r"\A(.+)\.(graph|metrics_filters|urlparams|functions)\Z")


# --------------------------------------------------------------------------- the module's MacroTemplate


class MacroTemplate:
    """MacroTemplate.php: text with ``$macro$`` parts; ``$macro:glob$`` gives a macro a wildcard of its own."""

    def __init__(self, template: str, char: str = "$") -> None:
        self.original = template
        self.char = char
        self.parts = template.split(char)
        self.wildcards: dict[str, str] = {}
        for index, part in enumerate(self.parts):
            # As the module does, on every part, macro or not: a colon in the text splits it too.
            match = re.search(r"([^:]+):(.+)", part)
            if match:
                self.parts[index] = match.group(1)
                self.wildcards[match.group(1)] = match.group(2)
        if len(self.parts) % 2 == 0:
            raise ValueError(f"template contains odd number of {char!r}s: {template!r}")

    def macros(self) -> list[str]:
        return list(dict.fromkeys(part for part in self.parts[1::2] if part != ""))

    def resolve(self, variables: dict[str, str], default: str | None = None) -> str:
        out = []
        for index, part in enumerate(self.parts):
            if index % 2 == 0:
                out.append(part)
            elif variables.get(part) is not None:
                out.append(variables[part])
            elif part == "":
                out.append(self.char)
            elif default is None:
                out += [self.char, part, ":" + self.wildcards[part] if part in self.wildcards else "", self.char]
            else:
                out.append(self.wildcards.get(part, default))
        return "".join(out)

    def _pattern(self) -> re.Pattern[str]:
        out, groups = [r"\A"], {}
        for index, part in enumerate(self.parts):
            if index % 2 == 0:
                out.append(re.escape(part))
            elif part in groups:
                out.append(f"(?P={groups[part]})")
            else:
                groups[part] = f"m{len(groups)}"
                out.append(f"(?P<{groups[part]}>.*)")
        out.append(r"\Z")
        self._groups = groups
        return re.compile("".join(out), re.DOTALL)

    def reverse_resolve(self, resolved: str) -> dict[str, str] | None:
        match = self._pattern().match(resolved)
        if not match:
            return None
        return {macro: match.group(group) for macro, group in self._groups.items()}


# --------------------------------------------------------------------------- Graphite


def _glob_node(node: str) -> str:
    out, i = [], 0
    while i < len(node):
        char = node[i]
        if char == "*":
            out.append("[^.]*")
        elif char == "?":
            out.append("[^.]")
        elif char == "[":
            end = node.index("]", i)
            out.append("[" + node[i + 1 : end].replace("\\", "\\\\") + "]")
            i = end
        elif char == "{":
            end = node.index("}", i)
            out.append("(?:" + "|".join(_glob_node(choice) for choice in node[i + 1 : end].split(",")) + ")")
            i = end
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A Graphite path pattern: globs never match across a dot, so the path has as many nodes as the pattern."""
    return re.compile(r"\.".join(_glob_node(node) for node in pattern.split(".")) + r"\Z")


def expand(pattern: str, paths: Iterable[str]) -> list[str]:
    """Graphite's metrics/expand on leaves: the paths the pattern matches, sorted."""
    regex = glob_regex(pattern)
    return sorted(path for path in paths if regex.match(path))


def find(pattern: str, paths: Iterable[str]) -> list[str]:
    """Graphite's metrics/find (what Grafana's variable queries ask): the last node of every branch or
    leaf the pattern matches, once each."""
    depth = pattern.count(".") + 1
    regex = glob_regex(pattern)
    prefixes = {".".join(path.split(".")[:depth]) for path in paths if path.count(".") + 1 >= depth}
    return sorted({prefix.rpartition(".")[2] for prefix in prefixes if regex.match(prefix)})


def writer_escape(name: str) -> str:
    """GraphiteWriter::EscapeMetric, for host and service names in a path."""
    for char in (" ", ".", "\\", "/"):
        name = name.replace(char, "_")
    return name


# --------------------------------------------------------------------------- the Graphite module's templates


@dataclass
class Curve:
    name: str
    metrics_filter: MacroTemplate
    function: MacroTemplate


@dataclass
class GraphTemplate:
    name: str
    check_commands: list[str]
    curves: dict[str, Curve]
    urlparams: dict[str, MacroTemplate]

    def full_curve(self, curve: Curve) -> MacroTemplate:
        """Template::getFullCurves: the object name templates put in, every other macro kept."""
        return MacroTemplate(
            curve.metrics_filter.resolve(
                {"host_name_template": HOST_NAME_TEMPLATE, "service_name_template": SERVICE_NAME_TEMPLATE, "": "$$"}
            )
        )


def read_ini(path: Path) -> configparser.ConfigParser:
    """The file as configparser reads it: case kept, no interpolation, duplicates refused; values still quoted."""
    parser = configparser.ConfigParser(interpolation=None, strict=True, empty_lines_in_values=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
    return parser


def unquote(value: str) -> str:
    assert len(value) >= 2 and value[0] == value[-1] == '"', value
    return value[1:-1]


def load_templates(path: Path) -> dict[str, GraphTemplate]:
    """Templates::loadIni: sections ``<template>.<graph|metrics_filters|urlparams|functions>``."""
    parser = read_ini(path)
    raw: dict[str, dict[str, dict[str, str]]] = {}
    for section in parser.sections():
        match = SECTION.match(section)
        if not match:
            raise ValueError(f"Bad section name {section!r}")
        raw.setdefault(match.group(1), {})[match.group(2)] = {key: unquote(value) for key, value in parser[section].items()}
    templates = {}
    for name, parts in raw.items():
        graph = dict(parts.get("graph", {}))
        commands = [command for command in re.split(r"\s*,\s*", graph.pop("check_command", "")) if command]
        if graph:
            raise ValueError(f"Bad options for template {name!r}: {sorted(graph)}")
        functions = dict(parts.get("functions", {}))
        curves = {}
        for curve, metrics_filter in parts.get("metrics_filters", {}).items():
            template = MacroTemplate(metrics_filter)
            if len({"host_name_template", "service_name_template"} & set(template.macros())) != 1:
                raise ValueError(f"metrics filter {metrics_filter!r}: needs $host_name_template$ or $service_name_template$")
            curves[curve] = Curve(curve, template, MacroTemplate(functions.pop(curve, "$metric$")))
        if functions:
            raise ValueError(f"Metrics filter for curves of template {name!r} missing: {sorted(functions)}")
        params = {key: MacroTemplate(value) for key, value in parts.get("urlparams", {}).items()}
        templates[name] = GraphTemplate(name, commands, curves, params)
    return templates


def escape_metric_step(step: str) -> str:
    """MetricsQuery::escapeMetricStep: how the module puts an object's name into a query."""
    return re.sub(r"[^a-zA-Z0-9*\-:^\[\]$#%']", "_", step)


@dataclass(frozen=True)
class MonitoredService:
    host: str
    name: str
    check_command: str

    def macro(self, name: str) -> str | None:
        return {"host.name": self.host, "service.name": self.name, "service.check_command": self.check_command}.get(name)


def fetch_column(full: MacroTemplate, service: MonitoredService, paths: Iterable[str]) -> list[str]:
    """MetricsQuery::fetchColumn: the object's macros filled in, the rest ``*`` (or their wildcard), expanded."""
    known = {}
    for macro in full.macros():
        if "." in macro and service.macro(macro) is not None:
            known[macro] = escape_metric_step(service.macro(macro))  # type: ignore[arg-type]
    return expand(full.resolve(known, "*"), paths)


def _combine(metrics, possible, out, current=None) -> None:
    """Template::combineMetrics."""
    if not current:
        first = next(iter(metrics))
        for metric in metrics[first]:
            _combine(metrics, possible, out, {first: metric})
        return
    if len(current) == len(metrics):
        out.append(current)
        return
    next_curve = next(curve for curve in metrics if curve not in current)
    allowed_per_curve = {}
    for curve, metric in current.items():
        allowed = possible.get(curve, {}).get(next_curve, {}).get(metric)
        if allowed is None:
            out.append(current)
            return
        allowed_per_curve[curve] = allowed
    allowed_next = dict(allowed_per_curve.pop(list(current)[-1]))
    for allowed in allowed_per_curve.values():
        allowed_next = {metric: True for metric in allowed_next if metric in allowed}
    for metric in allowed_next:
        _combine(metrics, possible, out, {**current, next_curve: metric})


@dataclass
class Chart:
    template: GraphTemplate
    #: curve -> the path it draws
    metrics: dict[str, str]

    def variables(self) -> dict[str, str]:
        """Chart::getMetricVariables: every macro's value, read back from the chart's paths."""
        out: dict[str, str] = {}
        for curve, metric in self.metrics.items():
            out.update(self.template.full_curve(self.template.curves[curve]).reverse_resolve(metric) or {})
        return out

    def url_params(self) -> dict[str, str]:
        return {key: value.resolve(self.variables()) for key, value in self.template.urlparams.items()}

    def targets(self) -> list[str]:
        """GraphImage: each curve's function with $metric$ and the template's own macros filled in."""
        variables: dict[str, str] = {}
        for curve, metric in self.metrics.items():
            variables.update(self.template.curves[curve].metrics_filter.reverse_resolve(metric) or {})
        return [
            self.template.curves[curve].function.resolve({**variables, "metric": metric})
            for curve, metric in self.metrics.items()
        ]


def charts(template: GraphTemplate, service: MonitoredService, paths: Iterable[str]) -> list[Chart]:
    """Template::getCharts for one service: the charts the module draws and the path of each curve in each."""
    paths = list(paths)
    metrics: dict[str, dict[str, dict[str, str]]] = {}
    for name, curve in template.curves.items():
        full = template.full_curve(curve)
        for metric in fetch_column(full, service, paths):
            variables = full.reverse_resolve(metric)
            if variables is not None:
                metrics.setdefault(name, {})[metric] = variables
    if not metrics:
        return []
    if len(metrics) == 1:
        ((name, found),) = metrics.items()
        return [Chart(template, {name: metric}) for metric in found]
    possible: dict = {}
    handled = set()
    for curve1, metrics1 in metrics.items():
        handled.add(curve1)
        for curve2, metrics2 in metrics.items():
            if curve2 in handled:
                continue
            for metric1, vars1 in metrics1.items():
                for metric2, vars2 in metrics2.items():
                    shared = vars1.keys() & vars2.keys()
                    if all(vars1[key] == vars2[key] for key in shared):
                        possible.setdefault(curve1, {}).setdefault(curve2, {}).setdefault(metric1, {})[metric2] = True
    combinations: list[dict[str, str]] = []
    _combine(metrics, possible, combinations)
    return [Chart(template, combination) for combination in combinations]


def default_template_paths(templates: Iterable[GraphTemplate], service: MonitoredService, paths: Iterable[str]) -> list[str]:
    """The ``.value`` paths the module leaves to its default template (one plain graph each): those no
    curve of the check command's templates matches (Graphs::getGraphsList's excluded metrics)."""
    excluded = [curve.metrics_filter for template in templates for curve in template.curves.values()]
    default = MacroTemplate("$service_name_template$.perfdata.$perfdata$.value")
    full = MacroTemplate(
        default.resolve({"host_name_template": HOST_NAME_TEMPLATE, "service_name_template": SERVICE_NAME_TEMPLATE, "": "$$"})
    )
    return [
        metric
        for metric in fetch_column(full, service, paths)
        if not any(template.reverse_resolve(metric) is not None for template in excluded)
    ]


# --------------------------------------------------------------------------- Grafana and Graphite's functions


@dataclass
class Call:
    function: str
    args: list


@dataclass
class PathExpression:
    pattern: str


@dataclass
class Literal:
    value: str | float


def parse_target(text: str):
    """A Graphite target: calls, quoted strings, numbers and path expressions (whose braces hold commas)."""
    position = 0

    def skip() -> None:
        nonlocal position
        while position < len(text) and text[position] == " ":
            position += 1

    def expression():
        nonlocal position
        skip()
        if text[position] in "'\"":
            quote = text[position]
            end = text.index(quote, position + 1)
            value = text[position + 1 : end]
            position = end + 1
            return Literal(value)
        number = re.compile(r"-?\d+(?:\.\d+)?(?=\s*[,)])").match(text, position)
        if number:
            position = number.end()
            return Literal(float(number.group()))
        call = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\(").match(text, position)
        if call:
            position = call.end()
            args = []
            while True:
                args.append(expression())
                skip()
                if text[position] == ")":
                    position += 1
                    return Call(call.group(1), args)
                assert text[position] == ",", (text, position)
                position += 1
        start, depth = position, 0
        while position < len(text) and (depth or text[position] not in ",) "):
            depth += {"{": 1, "}": -1}.get(text[position], 0)
            position += 1
        assert position > start, (text, start)
        return PathExpression(text[start:position])

    tree = expression()
    skip()
    assert position == len(text), f"left over in {text!r}: {text[position:]!r}"
    return tree


def path_patterns(tree) -> list[str]:
    if isinstance(tree, PathExpression):
        return [tree.pattern]
    if isinstance(tree, Call):
        return [pattern for arg in tree.args for pattern in path_patterns(arg)]
    return []


def functions_of(tree) -> set[str]:
    if isinstance(tree, Call):
        return {tree.function} | {name for arg in tree.args for name in functions_of(arg)}
    return set()


def series(tree, paths: Iterable[str]) -> list[tuple[str, str]]:
    """(path, name) of each series the target draws. Only alias and aliasSub are known: anything else fails."""
    if isinstance(tree, PathExpression):
        return [(path, path) for path in expand(tree.pattern, paths)]
    assert isinstance(tree, Call), tree
    inner = series(tree.args[0], paths)
    if tree.function == "alias":
        (name,) = (arg.value for arg in tree.args[1:])
        return [(path, str(name)) for path, _ in inner]
    if tree.function == "aliasSub":
        search, replace = (str(arg.value) for arg in tree.args[1:])
        return [(path, re.sub(search, replace, shown)) for path, shown in inner]
    raise AssertionError(f"a Graphite function this test does not know: {tree.function}")


GRAFANA_VARIABLE = re.compile(r"\$(\w+)|\[\[(\w+?)\]\]|\$\{(\w+)\}")


def variables_used(text: str) -> set[str]:
    return {next(group for group in match.groups() if group) for match in GRAFANA_VARIABLE.finditer(text)}


def interpolate(text: str, values: dict[str, list[str]]) -> str:
    """Grafana's template variables in a Graphite query: one value as it is, several as ``{a,b}``."""

    def value(match: re.Match[str]) -> str:
        chosen = values[next(group for group in match.groups() if group)]
        return chosen[0] if len(chosen) == 1 else "{" + ",".join(chosen) + "}"

    return GRAFANA_VARIABLE.sub(value, text)


def variable_values(variable: dict, values: dict[str, list[str]], paths: Iterable[str]) -> list[str]:
    """A Graphite query variable's options: the nodes its query finds, through its regex (group 1 if any)."""
    found = find(interpolate(variable["query"], values), paths)
    if not variable.get("regex"):
        return found
    regex = re.compile(variable["regex"].strip("/"))
    out = []
    for text in found:
        match = regex.search(text)
        if match:
            out.append(match.group(1) if regex.groups else text)
    return out


# --------------------------------------------------------------------------- the plugin's perfdata


def metric_kinds(resource: Path) -> set[str]:
    """Every perfdata label the plugin's resource can yield, a binary's prefix as ``<binary>``: each binary's from
    the table the resource loops over (rule/metrics.py), the check's own from the names of its
    nagiosplugin.Metric(...) calls, read from the source; a zone's or an aggregate's (a pool's), named
    ``f"{name}_usable"`` there, as ``<pool>_usable``."""
    kinds = {"<binary>" + metric.suffix for metric in BINARY_METRICS}
    named_by_table = []
    for node in ast.walk(ast.parse(resource.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "Metric":
            name = node.args[0]
            if isinstance(name, ast.Constant):
                kinds.add(name.value)
            elif isinstance(name, ast.JoinedStr) and ast.unparse(name).startswith("f'{name}"):
                kinds.add("<pool>" + ast.unparse(name)[len("f'{name}") : -1])
            else:
                named_by_table.append(ast.unparse(name))
    # One call names its Metric from elsewhere: the table's loop, each row's suffix after the binary's label.
    assert named_by_table == ["name"], named_by_table
    return kinds


def kind_of(label: str, binaries: Iterable[str]) -> str:
    """The kind of a printed label: ``<binary>_down`` for ``nova-compute_down``, the label itself for the check's own."""
    for binary in sorted(binaries, key=len, reverse=True):
        if label.startswith(binary + "_"):
            return "<binary>" + label[len(binary) :]
    return label

"""Mutation testing of the core, on demand: does the fast suite notice when the code is wrong?

Each mutant is one small change to one module (an operator swapped, a constant changed, a call
removed, a ``not`` dropped, a procedure returning early ...), found with :mod:`ast` and written into a
temporary COPY of ``check_nova_services/`` and ``tests/`` (the working tree is never touched). The
chosen test files then run there with ``pytest -x -q -m "not slow"``: a failure kills the mutant, a
pass lets it survive, a run over the time limit is a timeout (counted as killed: the suite noticed).

    .venv/bin/python tools/mutate.py                       # every core module, the default fast tests
    .venv/bin/python tools/mutate.py --modules rule/policy,rule/heartbeat --limit 40
    .venv/bin/python tools/mutate.py --rev HEAD            # a commit's code and tests, not the working tree
    .venv/bin/python tools/mutate.py --list                # the mutants, without running anything
    .venv/bin/python tools/mutate.py @tools/in_process_tests.txt   # the in-process tests: 2 to 10 s a mutant
    .venv/bin/python tools/mutate.py --only rule/policy:12 --only sources/cells:3

Tests that already fail on the unmutated copy (a tree in the middle of a change) are named on stderr
and left out of every run. Ctrl-C or SIGTERM stops the run, removes the copy and reports what was
measured so far. Not collected by pytest (no ``test_`` prefix). Exit code 0 when every mutant was
killed, 1 when some survived, 2 when the unmutated copy fails to run, 130 when stopped before the
first mutant.
"""

from __future__ import annotations

import argparse
import ast
import io
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "check_nova_services"
CORE = (
    "rule/heartbeat",
    "rule/nodes",
    "rule/policy",
    "rule/thresholds",
    "rule/selection",
    "readings",
    "settings",
    "sources/cells",
    "sources/discovery",
    "sources/urls",
    "output/pager",
    "output/fit",
    "output/words",
    "output/long_output",
    "plugin/contexts",
)
#: Fast test files (no MariaDB, nothing slow), quickest first: with -x a killed mutant stops early.
FAST_TESTS = (
    "tests/test_heartbeat.py",
    "tests/test_database_truth.py",
    "tests/test_policy_selection_settings.py",
    "tests/test_thresholds.py",
    "tests/test_url_templates.py",
    "tests/test_config.py",
    "tests/test_pager.py",
    "tests/test_pager_edges.py",
    "tests/test_config_dirs.py",
    "tests/test_secrets_in_errors.py",
    "tests/test_cli.py",
)

_COMPARE_SWAPS = {
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
_BINOP_SWAPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Mult}
_BOOLOP_SWAPS = {ast.And: ast.Or, ast.Or: ast.And}
_NAME_SWAPS = {"min": "max", "max": "min", "any": "all", "all": "any"}
_SYMBOLS = {
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.And: "and",
    ast.Or: "or",
}


@dataclass(frozen=True)
class Mutant:
    module: str
    index: int
    line: int
    what: str
    #: (start, end) character offsets in the module's source, and the text that replaces them.
    start: int
    end: int
    text: str

    @property
    def ident(self) -> str:
        return f"{self.module}:{self.index}"

    def apply(self, source: str) -> str:
        return source[: self.start] + self.text + source[self.end :]


class _Offsets:
    """ast positions (line, UTF-8 byte column) as offsets into the source text."""

    def __init__(self, source: str):
        self.lines = source.splitlines(keepends=True)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))

    def at(self, line: int, byte_col: int) -> int:
        text = self.lines[line - 1]
        return self.starts[line - 1] + len(text.encode("utf-8")[:byte_col].decode("utf-8"))

    def span(self, node: ast.AST) -> tuple[int, int]:
        return self.at(node.lineno, node.col_offset), self.at(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]


def _skipped_nodes(tree: ast.AST) -> set[int]:
    """Nodes not worth mutating: docstrings, annotations (never evaluated here), decorators, f-string
    parts (their positions are unreliable before Python 3.12), ``__all__``, TYPE_CHECKING blocks and
    ``log.debug(...)`` calls."""
    skipped: set[int] = set()

    def skip(node: ast.AST | None) -> None:
        if node is not None:
            skipped.update(id(n) for n in ast.walk(node))

    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            if isinstance(body[0].value.value, str):
                skip(body[0])
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for decorator in node.decorator_list:  # @dataclass(frozen=True): nothing the tests should see
                skip(decorator)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            skip(node.returns)
            for arg in [*node.args.args, *node.args.kwonlyargs, *node.args.posonlyargs, node.args.vararg, node.args.kwarg]:
                if arg is not None:
                    skip(arg.annotation)
        elif isinstance(node, ast.AnnAssign):
            skip(node.annotation)
        elif isinstance(node, ast.JoinedStr):
            skip(node)
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            skip(node)
        elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip(node)
        elif isinstance(node, ast.Expr) and _is_log_call(node.value):
            skip(node)  # log.debug(...) removed or changed: only -vvv would tell
    return skipped


def _is_log_call(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in ("log", "logger", "logging")
    )


def _is_procedure(node: ast.FunctionDef) -> bool:
    """A function that returns nothing (no ``return value``, no ``yield``): returning early is a plausible bug."""
    for inner in ast.walk(node):
        if isinstance(inner, (ast.Yield, ast.YieldFrom)):
            return False
        if isinstance(inner, ast.Return) and inner.value is not None:
            return False
    return True


def mutants_of(module: str, source: str) -> list[Mutant]:
    tree = ast.parse(source)
    offsets = _Offsets(source)
    skipped = _skipped_nodes(tree)
    found: list[tuple[int, int, str, int, int, str]] = []

    def add(node: ast.AST, what: str, text: str, span: tuple[int, int] | None = None) -> None:
        start, end = span or offsets.span(node)
        found.append((start, node.lineno, what, start, end, text))  # type: ignore[attr-defined]

    def expression(node: ast.expr) -> str:
        return f"({ast.unparse(node)})"

    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Compare):
            for position, op in enumerate(node.ops):
                swap = _COMPARE_SWAPS.get(type(op))
                if swap is not None:
                    mutated = ast.Compare(node.left, list(node.ops), node.comparators)
                    mutated.ops[position] = swap()
                    add(node, f"{_SYMBOLS[type(op)]} -> {_SYMBOLS[swap]}", expression(mutated))
        elif isinstance(node, ast.BoolOp):
            swap = _BOOLOP_SWAPS[type(node.op)]
            add(node, f"{_SYMBOLS[type(node.op)]} -> {_SYMBOLS[swap]}", expression(ast.BoolOp(swap(), node.values)))
        elif isinstance(node, ast.BinOp) and type(node.op) in _BINOP_SWAPS:
            if isinstance(node.op, ast.Add) and any(_is_text(side) for side in (node.left, node.right)):
                continue  # "a" + "b" -> "a" - "b" is a TypeError at once, not a mutant worth a run
            swap = _BINOP_SWAPS[type(node.op)]
            add(node, f"{_SYMBOLS[type(node.op)]} -> {_SYMBOLS[swap]}", expression(ast.BinOp(node.left, swap(), node.right)))
        elif isinstance(node, ast.AugAssign) and type(node.op) in _BINOP_SWAPS:
            swap = _BINOP_SWAPS[type(node.op)]
            mutated = ast.AugAssign(node.target, swap(), node.value)
            add(node, f"{_SYMBOLS[type(node.op)]}= -> {_SYMBOLS[swap]}=", ast.unparse(mutated))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            add(node, "not removed", expression(node.operand))
        elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
            add(node, f"{node.value} -> {not node.value}", repr(not node.value))
        elif isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            changed = node.value + 1
            add(node, f"{node.value!r} -> {changed!r}", f"({changed!r})")
        elif isinstance(node, ast.Name) and node.id in _NAME_SWAPS and isinstance(node.ctx, ast.Load):
            add(node, f"{node.id} -> {_NAME_SWAPS[node.id]}", _NAME_SWAPS[node.id])
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            add(node, f"call removed: {ast.unparse(node.value.func)}(...)", "pass")
        elif isinstance(node, ast.Continue):
            add(node, "continue -> break", "break")
        elif isinstance(node, ast.Break):
            add(node, "break -> continue", "continue")
        elif isinstance(node, ast.FunctionDef) and _is_procedure(node):
            body = [s for s in node.body if id(s) not in skipped] or node.body
            first = body[0]
            if first.lineno > node.lineno and id(first) not in skipped:
                at = offsets.at(first.lineno, first.col_offset)
                indent = " " * first.col_offset
                add(first, f"{node.name}() returns early", f"return\n{indent}", (at, at))
    found.sort()
    mutants = []
    for index, (_, line, what, start, end, text) in enumerate(found, start=1):
        mutant = Mutant(module, index, line, what, start, end, text)
        try:
            compile(mutant.apply(source), module, "exec")
        except SyntaxError:
            continue
        mutants.append(mutant)
    return mutants


def _is_text(node: ast.expr) -> bool:
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)))


def spread(items: list[Mutant], limit: int | None) -> list[Mutant]:
    """At most ``limit`` mutants, evenly spread over the list (so every module keeps its share)."""
    if limit is None or limit >= len(items):
        return items
    step = len(items) / limit
    return [items[int(i * step)] for i in range(limit)]


@dataclass
class Outcome:
    mutant: Mutant
    verdict: str  # killed, survived, timeout
    seconds: float
    detail: str


class Sandbox:
    """A temporary copy of the package and the tests, where one mutant at a time is written: of the
    working tree, or of a git revision (``rev``) for a score that belongs to a commit."""

    def __init__(self, root: Path, rev: str | None = None):
        self.dir = Path(tempfile.mkdtemp(prefix="mutate-"))
        if rev is not None:
            names = [PACKAGE, "tests", *(n for n in ("pyproject.toml", "setup.cfg", "README.md") if (root / n).exists())]
            archive = subprocess.run(["git", "-C", str(root), "archive", "--format=tar", rev, *names], capture_output=True)
            if archive.returncode != 0:
                self.remove()
                raise SystemExit(f"git archive {rev}: {archive.stderr.decode(errors='replace').strip()}")
            with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
                tar.extractall(self.dir)  # noqa: S202 - our own repository's files
        else:
            shutil.copytree(root / PACKAGE, self.dir / PACKAGE, ignore=shutil.ignore_patterns("__pycache__"))
            shutil.copytree(root / "tests", self.dir / "tests", ignore=shutil.ignore_patterns("__pycache__", ".hypothesis"))
            for name in ("pyproject.toml", "setup.cfg", "README.md"):
                if (root / name).exists():
                    shutil.copy(root / name, self.dir / name)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("NOVA_SERVICES_", "PYTEST_"))}
        self.env["PYTHONPATH"] = str(self.dir)
        self.env["PYTHONDONTWRITEBYTECODE"] = "1"
        self.deselected: list[str] = []
        self.current: subprocess.Popen | None = None

    def source(self, module: str) -> Path:
        return self.dir / PACKAGE / f"{module}.py"

    def pytest(self, tests: list[str], timeout: float, stop_first: bool = True) -> tuple[str, float, list[str]]:
        """('passed'|'failed'|'timeout', seconds, pytest's output lines). Tests in ``self.deselected`` are left out."""
        begun = time.monotonic()
        command = [sys.executable, "-m", "pytest", "-q", "-rf", "-m", "not slow", "-p", "no:cacheprovider"]
        command += ["-x"] if stop_first else []
        command += [f"--deselect={node}" for node in self.deselected] + tests
        proc = subprocess.Popen(
            command,
            cwd=self.dir,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.current = proc
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            return "timeout", time.monotonic() - begun, [f"over {timeout:.0f}s"]
        except BaseException:  # interrupted: nothing of the run may be left behind
            self.stop()
            raise
        finally:
            self.current = None
        lines = [line for line in out.strip().splitlines() if line.strip()] or [""]
        return ("passed" if proc.returncode == 0 else "failed"), time.monotonic() - begun, lines

    def baseline(self, tests: list[str]) -> tuple[bool, float, str]:
        """The unmutated copy's run. Tests that already fail there (a tree in the middle of a change) are
        deselected for every mutant, and named: they cannot tell a mutant from the code as it is."""
        result, _, lines = self.pytest(tests, timeout=3600, stop_first=False)
        if result == "failed":
            self.deselected = [line.split()[1] for line in lines if line.startswith("FAILED ")]
            for node in self.deselected:
                print(f"fails unmutated, left out: {node}", file=sys.stderr)
        result, seconds, lines = self.pytest(tests, timeout=3600)
        return result == "passed" and bool(lines[-1]), seconds, lines[-1]

    def run(self, mutant: Mutant, original: str, tests: list[str], timeout: float) -> Outcome:
        path = self.source(mutant.module)
        path.write_text(mutant.apply(original))
        try:
            result, seconds, lines = self.pytest(tests, timeout)
        finally:
            path.write_text(original)
        verdict = {"passed": "survived", "failed": "killed", "timeout": "timeout"}[result]
        return Outcome(mutant, verdict, seconds, lines[-1])

    def stop(self) -> None:
        """End the running pytest and the plugin processes it started (its own process group)."""
        proc = self.current
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        fromfile_prefix_chars="@",  # @tools/in_process_tests.txt: arguments from a file, one per line
    )
    parser.add_argument(
        "--modules",
        default=",".join(CORE),
        help=f"comma-separated modules of {PACKAGE}, as paths without .py (default: {','.join(CORE)})",
    )
    parser.add_argument("--limit", type=int, help="run at most this many mutants, spread evenly over the modules")
    parser.add_argument("--tests", nargs="+", default=list(FAST_TESTS), help="test files to run (default: the fast ones)")
    parser.add_argument("--timeout", type=float, help="seconds per mutant (default: 3 times the unmutated run, at least 30)")
    parser.add_argument("--only", action="append", default=[], metavar="MODULE:N", help="just this mutant (repeatable)")
    parser.add_argument("--rev", help="mutate this git revision's package and tests (default: the working tree)")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    return parser.parse_args(argv)


def collect(sandbox: Sandbox, modules: list[str]) -> tuple[dict[str, str], list[Mutant]]:
    sources, mutants = {}, []
    for module in modules:
        path = sandbox.source(module)
        if not path.is_file():
            raise SystemExit(f"no module {PACKAGE}/{module}.py")
        sources[module] = path.read_text(encoding="utf-8")
        mutants += mutants_of(module, sources[module])
    return sources, mutants


def describe(m: Mutant, source: str) -> str:
    line = source.splitlines()[m.line - 1].strip()
    return f"{m.ident:<26} line {m.line:<4} {m.what:<40} {line[:90]}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Ctrl-C and kill end the run cleanly (the copy removed), also when started in the background.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    modules = [m.strip() for m in args.modules.split(",") if m.strip()]
    sandbox = Sandbox(ROOT, args.rev)
    try:
        sources, mutants = collect(sandbox, modules)
        if args.only:
            wanted = set(args.only)
            mutants = [m for m in mutants if m.ident in wanted]
        mutants = spread(mutants, args.limit)
        if args.list:
            for m in mutants:
                print(describe(m, sources[m.module]))
            print(f"{len(mutants)} mutants")
            return 0
        # A file or a pytest node id (tests/test_cells.py::test_x): its file must be in the copy.
        tests = [name for name in args.tests if (sandbox.dir / name.split("::")[0]).exists()]
        missing = sorted(set(args.tests) - set(tests))
        if missing:
            print(f"left out, not in the copy: {' '.join(missing)}", file=sys.stderr)
        passed, seconds, last = sandbox.baseline(tests)
        if not passed:
            print(f"the unmutated copy does not pass its tests ({last}): nothing to measure", file=sys.stderr)
            return 2
        timeout = args.timeout or max(30.0, 3 * seconds)
        print(f"{len(mutants)} mutants of {', '.join(modules)}; tests {' '.join(tests)}")
        print(f"unmutated run {seconds:.1f}s ({last}); {timeout:.0f}s per mutant at most", flush=True)
        outcomes = []
        try:
            for number, mutant in enumerate(mutants, start=1):
                outcome = sandbox.run(mutant, sources[mutant.module], tests, timeout)
                outcomes.append(outcome)
                where = describe(mutant, sources[mutant.module])
                print(f"[{number}/{len(mutants)}] {outcome.verdict:<8} {outcome.seconds:5.1f}s {where}", flush=True)
        except KeyboardInterrupt:
            print(f"interrupted: the score below is of the first {len(outcomes)} mutants", flush=True)
    except KeyboardInterrupt:
        print("interrupted before the first mutant", file=sys.stderr)
        return 130
    finally:
        sandbox.remove()
    return report(outcomes)


def report(outcomes: list[Outcome]) -> int:
    counts = {verdict: sum(o.verdict == verdict for o in outcomes) for verdict in ("killed", "timeout", "survived")}
    total = len(outcomes)
    print()
    for module in dict.fromkeys(o.mutant.module for o in outcomes):
        mine = [o for o in outcomes if o.mutant.module == module]
        dead = sum(o.verdict != "survived" for o in mine)
        print(f"{module:<20} {dead}/{len(mine)} killed")
    score = 100 * (counts["killed"] + counts["timeout"]) / total if total else 100.0
    print(
        f"score {score:.1f} %: {counts['killed']} killed, {counts['timeout']} timeout, {counts['survived']} survived of {total}"
    )
    survivors = [o for o in outcomes if o.verdict == "survived"]
    if survivors:
        print("survivors:")
        for o in survivors:
            print(f"  {o.mutant.ident} line {o.mutant.line}: {o.mutant.what}")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())

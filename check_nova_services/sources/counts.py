"""Nova's rule and the plugin's policy as SQL: one aggregate per binary and the first problem rows, per cell."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar, cast

from pymysql.constants import SERVER_STATUS
from sqlalchemy import (
    Connection,
    DateTime,
    LargeBinary,
    and_,
    case,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
)
from sqlalchemy.engine import URL, CursorResult, RowMapping
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.elements import BindParameter, ColumnClause

from check_nova_services.readings import CellCounts, ListedBlocks, ZoneNames
from check_nova_services.rule.heartbeat import within
from check_nova_services.rule.nodes import lag_tolerance
from check_nova_services.rule.policy import BINARY_RANK, OLDEST_COMPUTES, OTHER_BINARY_RANK, PROBLEM_RANK, BinaryTally, Standing
from check_nova_services.rule.selection import COMPUTE_TOPIC, ServiceFilter
from check_nova_services.rule.versions import COMPUTE, VersionCounts, merge
from check_nova_services.shared.deadline import Deadline
from check_nova_services.sources.services_table import (
    READABLE,
    ExcludedBy,
    ServerClock,
    as_datetime,
    checked_row,
    counted_as,
    exact,
    name_defect,
    row_id,
    server_clock,
    services,
    text_of,
    version_of,
    wanted,
)
from check_nova_services.sources.sessions import Link, is_sqlite
from check_nova_services.sources.snapshot import read_in_snapshot

if TYPE_CHECKING:
    import pymysql.connections
    import pymysql.cursors
    from typing_extensions import Unpack

    from check_nova_services.sources.services_table import AnyRow, AnySelect

#: A truth value of policy_logic: a SQL condition, or a plain bool.
Truth = TypeVar("Truth")


@dataclass(frozen=True)
class TallyQuery:
    """The policy, as the database applies it to one cell's table."""

    where: ServiceFilter
    down_time: float
    age_warning: float | None
    count_disabled: bool
    problem_limit: int
    #: A fixed "now"; None: the database server's own UTC clock.
    now: dt.datetime | None = None
    #: Heartbeats further in the future than this are counted as ``ahead`` (Policy.ahead_after).
    ahead_after: float | None = None
    #: A cell with a nova-compute below this version names its oldest computes (versions.naming_bound).
    name_below: int = 0
    #: --exclude's patterns, applied by the database (services_table.ExcludedBy): out of the counts, not of the minimum.
    exclude: tuple[str, ...] = ()
    #: The hosts of the wanted nova-compute services, usable or not, are read too (capacity per zone).
    computes: bool = False


@dataclass(frozen=True)
class Listing:
    """The list view (--list, -vv) asked of the database too: every wanted row, judged by the same SQL as the counts."""

    cell_name: str
    #: Each host's zone (None: zones unknown).
    zones: ZoneNames | None = None


def read_counts(url: URL, query: TallyQuery, deadline: Deadline, listing: Listing | None = None) -> CellCounts:
    """:func:`read_counts_on` over a connection of its own."""
    link = Link(url, deadline)
    try:
        return read_counts_on(link, url, query, listing)
    finally:
        link.close()


def read_counts_on(link: Link, url: URL, query: TallyQuery, listing: Listing | None = None) -> CellCounts:
    """Nova's rule and the plugin's policy applied by the database: one row per binary, whatever the
    number of services, and the first ``problem_limit`` problem rows in :attr:`Assessed.problem_key` order,
    in one read-only snapshot with the node's own state (a node that casts doubt is not counted). With a
    ``listing``, every wanted row too, in the list's order, judged by the same SQL (:meth:`_RuleSql.listing`).

    The rule in SQL is heartbeat.judge's interval form (:func:`heartbeat.within`): bounds are computed
    here to the microsecond and bound as parameters, so no date arithmetic happens in the database.
    """

    def read(conn: Connection) -> _ReadInSnapshot:
        columns = set(conn.execute(select(literal_column("*")).select_from(services).limit(0)).keys())
        clock = server_clock(conn, url) if query.now is None or not is_sqlite(url) else None
        now = query.now if query.now is not None else clock.now if clock else None
        assert now is not None
        asked = _within_cell(conn, query)
        rule = _RuleSql(columns, now, asked)
        shape = (frozenset(columns), now, asked)
        # MySQL/MariaDB: the computes' hosts come with the aggregate, in the same scan (rows on SQLite, _compute_hosts).
        with_hosts = query.computes and conn.dialect.name == "mysql"
        if with_hosts:
            conn.exec_driver_sql("SET SESSION group_concat_max_len = 4294967295")
        rows: list[AnyRow] = list(_execute(conn, ("aggregate", with_hosts, *shape), lambda: rule.aggregate(with_hosts)))
        groups = [_Group.of(tuple(row)[:-3] if with_hosts else tuple(row), list(rule.atoms)) for row in rows]
        problems = [row._mapping for row in _execute(conn, ("problems", *shape), rule.problems)]
        ahead = None
        if query.ahead_after is not None and any(group.atoms["ahead"] for group in groups):
            ahead = conn.execute(rule.furthest_ahead()).first()
        oldest_rows = []
        if rule.versioned and _worth_naming(groups, query.name_below):
            oldest_rows = [row._mapping for row in _execute(conn, ("oldest", *shape), rule.oldest_computes)]
        computes = _hosts_of_groups(rows, groups, query.count_disabled) if with_hosts else None
        if query.computes and computes is None:
            computes = _compute_hosts(conn, rule)
        listed = None
        if listing is not None:  # last: its rows stream in as they are judged, none held but in ListedBlocks
            listed = _listed(_execute(conn, ("listing", *shape), rule.listing, stream=True), rule, now, listing)
        return _ReadInSnapshot(clock, now, rule, groups, problems, ahead, oldest_rows, listed, computes)

    node, result = read_in_snapshot(link, url, read, lag_tolerance(query.down_time, query.ahead_after))
    if result is None:
        return CellCounts({}, [], query.now, node=node)
    clock, now, rule, groups, problems, ahead, oldest_rows, listed, computes = result
    tallied = _Tallied.of(groups, now, query.count_disabled)
    furthest = None if ahead is None else checked_row(ahead._mapping)
    return CellCounts(
        tallied.tallies,
        [checked_row(m) for m in problems],
        now,
        clock.skew if clock else None,
        furthest,
        tallied.newest_age,
        node,
        [checked_row(m) for m in oldest_rows],
        tallied.nova_versions,
        tallied.excluded,
        frozenset(checked_row(m).id for m in oldest_rows if m[EXCLUDED]),
        listed,
        computes,
    )


class _ReadInSnapshot(NamedTuple):
    """What read_counts_on read of one cell in its snapshot, before it is made into CellCounts."""

    clock: ServerClock | None
    now: dt.datetime
    rule: _RuleSql
    groups: Sequence[_Group]
    problems: list[RowMapping]
    ahead: AnyRow | None
    oldest_rows: list[RowMapping]
    listed: ListedBlocks | None
    computes: tuple[list[str], list[str]] | None


#: A zone host set this large (the default zone's: every aggregated host) is cut down to each cell's own computes
#: before it is sent: 100,000 host names in each statement of each cell cost the server more than a cell's hosts.
NARROW_FROM = 20_000


def _within_cell(conn: Connection, query: TallyQuery) -> TallyQuery:
    """``query`` with a large zone host set cut down to the hosts of this cell's computes, read in the same snapshot
    (ZoneHosts.within: the same rows are kept, proven by tests/test_zone_sql.py)."""
    zones = query.where.zones
    if zones is None or zones.size < NARROW_FROM:
        return query
    s = services.c
    compute_hosts = select(exact(s.host)).where(s.deleted == 0, exact(s.topic) == COMPUTE_TOPIC.encode()).distinct()
    hosts = frozenset(bytes(h).decode("utf-8", "surrogateescape") for (h,) in conn.execute(compute_hosts) if h is not None)
    return replace(query, where=replace(query.where, zones=zones.within(hosts)))


def _hosts_of_groups(
    rows: Sequence[AnyRow], groups: Sequence[_Group], count_disabled: bool
) -> tuple[list[str], list[str]] | None:
    """The hosts of the wanted computes, usable and not, from the aggregate's last three columns (the count, length in
    characters and text of each group's compute hosts: _RuleSql.aggregate); None when a name holds the separator or
    a text was cut (group_concat_max_len), as the count and the length tell: then they are read as rows."""
    usable: list[str] = []
    other: list[str] = []
    for row, group in zip(rows, groups):
        count, length, joined = row[-3:]
        atoms = group.atoms
        if not count or group.binary != COMPUTE or atoms["defect"] or atoms["excluded"]:
            continue
        hosts = text_of(joined).split("\n")
        if len(hosts) != count or sum(map(len, hosts)) != length:
            return None
        (usable if logic_of(atoms, count_disabled)["up"] and not atoms["disabled"] else other).extend(hosts)
    return usable, other


def _compute_hosts(conn: Connection, rule: _RuleSql) -> tuple[list[str], list[str]]:
    """The hosts of the wanted nova-compute services, usable and not, row by row (SQLite; or a host name the
    aggregate's texts could not carry)."""
    usable: list[str] = []
    other: list[str] = []
    for flag, host in _execute(conn, ("compute rows", rule.shape), rule.computes, stream=True):
        (usable if flag else other).append(text_of(host))
    return usable, other


class _Group(NamedTuple):
    """One row of the aggregate (_RuleSql.aggregate): a binary and one combination of atoms, its count, version and
    heartbeat bounds, the columns named."""

    binary: str
    atoms: dict[str, bool]
    version: int | None
    #: The Nova binary the database compares the binary equal to (services_table.counted_as).
    nova_binary: str | None
    #: Rows in the group.
    services: int
    oldest: object
    latest: object

    @classmethod
    def of(cls, row: tuple[Any, ...], names: list[str]) -> _Group:
        binary, *flags, version, nova_binary, count, oldest, latest = row
        return cls(
            text_of(binary),
            {name: bool(flag) for name, flag in zip(names, flags)},
            None if version is None else int(version),
            None if nova_binary is None else text_of(nova_binary),
            int(count),
            oldest,
            latest,
        )


@dataclass
class _Tallied:
    """A cell's aggregate rows added up: per binary, Nova's minimum per Nova binary, the excluded, the newest age."""

    tallies: dict[str, BinaryTally]
    nova_versions: dict[str, VersionCounts]
    excluded: int
    newest_age: float | None

    @classmethod
    def of(cls, groups: Sequence[_Group], now: dt.datetime, count_disabled: bool) -> _Tallied:
        tallied = cls({}, {}, 0, None)
        newest: list[dt.datetime] = []
        for group in groups:
            tally = _group_tally(group, now, count_disabled)
            if group.version is not None and group.atoms["in_minimum"]:  # what Nova's minimum looks at
                tally = replace(tally, versions=((group.version, group.services),), min_version=group.version)
                if group.nova_binary is not None:  # and whose minimum: the binary as the database compares it
                    key = group.nova_binary
                    tallied.nova_versions[key] = merge(tallied.nova_versions.get(key, ()), tally.versions)
            if group.atoms["excluded"]:  # out of the counts; Nova's minimum above still has it
                tallied.excluded += group.services
                continue
            known = tallied.tallies.get(group.binary)  # NULL and '' are both ""
            tallied.tallies[group.binary] = tally if known is None else known.plus(tally)
            stamp = as_datetime(group.latest) if group.atoms["readable"] and not group.atoms["defect"] else None
            if stamp is not None:
                newest.append(stamp)
        tallied.newest_age = round((now - max(newest)).total_seconds(), 6) if newest else None
        return tallied


def _worth_naming(groups: Sequence[_Group], name_below: int) -> bool:
    """A nova-compute that Nova's minimum looks at runs an older version than another service of the cell, or
    than the highest floor a control plane may apply: then the cell's oldest computes are fetched, to be named
    if they turn out too old (the floor is known only once every cell is read)."""
    versions = [(g.nova_binary, g.version) for g in groups if g.atoms["in_minimum"] and g.version is not None]
    computes = [v for b, v in versions if b == COMPUTE and v is not None]
    return bool(computes) and (min(computes) < max(v for _, v in versions if v is not None) or min(computes) < name_below)


#: The label of the oldest computes' column that says --exclude left the row out.
EXCLUDED = "excluded"


#: Statements compiled for one server flavour, shared by every cell of the run: each cell has an engine of
#: its own (its own URL), so SQLAlchemy's per-engine cache would compile the same statement once per cell.
_COMPILED: dict[tuple[Hashable, Hashable], str] = {}


_COMPILED_LIMIT = 64


def _execute(
    conn: Connection, key: tuple[Hashable, ...], build: Callable[[], AnySelect], stream: bool = False
) -> CursorResult[Unpack[tuple[Any, ...]]]:
    """``conn.execute(build())``, compiling once per run for all MySQL/MariaDB cells that ask the same thing;
    ``stream``: through an unbuffered cursor, the rows read as they are used.

    Only where the driver takes the values as they are (PyMySQL: no bind processors for our types);
    SQLite's datetimes need SQLAlchemy's processing, so SQLite goes the usual way."""
    dialect = conn.dialect
    options = {"stream_results": True} if stream else None
    if dialect.driver != "pymysql":
        return conn.execute(build(), execution_options=options or {})
    driver = cast("pymysql.connections.Connection[pymysql.cursors.Cursor]", conn.connection.dbapi_connection)
    flavour = (
        dialect.server_version_info,
        dialect.identifier_preparer.initial_quote,
        getattr(dialect, "is_mariadb", None),
        # how the driver escapes the values into the text: the server's NO_BACKSLASH_ESCAPES, the connection's charset
        driver.server_status & SERVER_STATUS.SERVER_STATUS_NO_BACKSLASH_ESCAPES,  # type: ignore[attr-defined]  # not in types-PyMySQL
        driver.encoding,
    )
    statement = _COMPILED.get((flavour, key))
    if statement is None:
        compiled = build().compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
        params = compiled.construct_params()
        values = tuple(params[name] for name in compiled.positiontup or ()) if compiled.positional else params
        # The values escaped into the text once: PyMySQL would escape each of them again for every cell (the
        # hosts of --zone: 100,000 of them for the default zone, 20 times).
        cursor = driver.cursor()
        try:
            statement = cursor.mogrify(compiled.string, values)
        finally:
            cursor.close()
        if len(_COMPILED) >= _COMPILED_LIMIT:
            _COMPILED.clear()
        _COMPILED[(flavour, key)] = statement
    return conn.exec_driver_sql(statement, execution_options=options)


def _distance(now: dt.datetime, *stamps: object) -> float | None:
    """The largest |now - stamp|, as Nova measures a heartbeat's age."""
    ages = []
    for stamp in stamps:
        try:
            moment = as_datetime(stamp)
        except (TypeError, ValueError, OverflowError):
            return None
        if moment is not None:
            ages.append(abs((now - moment).total_seconds()))
    return round(max(ages), 6) if ages else None


class _RuleSql:
    """heartbeat.judge and policy.assess as SQL over one cell's services table.

    The per-row facts (atoms) are computed once, in a derived table, and the aggregate combines them:
    the same logic written over the raw expressions would make the database evaluate each of them
    many times per row (five times slower on MariaDB)."""

    def __init__(self, columns: set[str], now: dt.datetime, query: TallyQuery):
        s = services.c
        self.query = query
        legacy = "last_seen_up" not in columns
        beat = func.coalesce(s.updated_at, s.created_at) if legacy else func.coalesce(s.last_seen_up, s.created_at)
        earliest, latest = within(now, query.down_time)
        readable = and_(beat.is_not(None), beat >= _stamp(READABLE[0]), beat <= _stamp(READABLE[1]))
        disabled = func.coalesce(s.disabled, 0) != 0
        # Empty as Python sees it: every byte compared (SQLite's length() stops at a NUL, MySQL's = ignores trailing spaces).
        nothing = literal(b"", LargeBinary)
        defect = or_(s.host.is_(None), exact(s.host) == nothing, s.binary.is_(None), exact(s.binary) == nothing)
        ahead_bound = now + dt.timedelta(seconds=query.ahead_after or 0)
        late_window: ColumnElement[bool] = false()
        if query.age_warning is not None:
            early, tardy = within(now, query.age_warning)
            late_window = or_(beat < _stamp(early), beat > _stamp(tardy))
        self.atoms: dict[str, ColumnElement[bool]] = {
            "defect": defect,
            "unreadable": and_(beat.is_not(None), not_(readable)),
            "readable": readable,
            "forced": false() if legacy else func.coalesce(s.forced_down, 0) != 0,
            # Nova's minimum version: forced_down = false, which a NULL is not (the rule above reads NULL as not forced)
            "in_minimum": false() if legacy else s.forced_down == false(),
            "disabled": disabled,
            "auto": and_(
                disabled, exact(func.substr(func.coalesce(s.disabled_reason, ""), 1, 5)) == literal(b"AUTO:", LargeBinary)
            ),
            "in_window": and_(beat >= _stamp(earliest), beat <= _stamp(latest)),
            "late_window": late_window,
            "ahead": false() if query.ahead_after is None else and_(not_(defect), readable, beat > _stamp(ahead_bound)),
            "excluded": ExcludedBy(query.exclude) if query.exclude else false(),
        }
        self.beat = beat
        #: The columns the heartbeat is taken from, in heartbeat.heartbeat_of's order.
        self.sources = ("updated_at", "created_at") if legacy else ("last_seen_up", "created_at")
        #: The listing's facts of a row beyond the atoms, as bits of one number with them (:meth:`listing`).
        self.facts: dict[str, ColumnElement[bool]] = {
            **self.atoms,
            "compute": exact(s.topic) == COMPUTE_TOPIC.encode(),
            "second_source": getattr(s, self.sources[0]).is_(None),
        }
        #: What makes a statement of this rule differ from cell to cell: the key of its compiled text (counts._execute).
        self.shape = (frozenset(columns), now, query)
        self.has_uuid = "uuid" in columns
        self.binary = exact(s.binary)
        #: The table has Nova's version column (since Liberty).
        self.versioned = "version" in columns

    def aggregate(self, with_hosts: bool = False) -> AnySelect:
        """One row per binary and combination of atoms (a handful): the database evaluates each atom once
        per row, and :func:`policy_logic` combines them per group in Python. ``with_hosts`` (MySQL/MariaDB): each
        group's hosts of topic compute too, their count, length in characters and the hosts joined by a line break
        (capacity: :func:`_hosts_of_groups`), in the same scan."""
        flags = [case((cond, 1), else_=0) for cond in self.atoms.values()]
        # The version is grouped on too (a few per cell): the counts of each version, Nova's minimum with them; and the
        # Nova binary the database compares the binary equal to (one per binary: it adds no group).
        version = services.c.version if self.versioned else literal(None)
        columns: list[ColumnElement[Any]] = [
            self.binary,
            *flags,
            version,
            counted_as(),
            func.count(),
            func.min(self.beat),
            func.max(self.beat),
        ]
        if with_hosts:
            host = case((self.facts["compute"], services.c.host))
            columns += [func.count(host), func.sum(func.char_length(host)), func.aggregate_strings(host, "\n")]
        grouped = [1, *range(2, len(flags) + 2), *([len(flags) + 2] if self.versioned else []), len(flags) + 3]
        # GROUP BY 1, 2, ...: the select's columns by position
        positions: list[ColumnClause[Any]] = [literal_column(str(n)) for n in grouped]
        return select(*columns).select_from(services).where(*wanted(self.query.where)).group_by(*positions)

    def oldest_computes(self) -> AnySelect:
        """The nova-compute rows of lowest version that Nova's minimum looks at (asked when versions differ): binaries
        compared as Nova's filter compares them, under the column's collation; forced_down = false, not NULL."""
        s = services.c
        excluded = case((self.atoms["excluded"], 1), else_=0).label(EXCLUDED)
        return (
            select(literal_column("services.*"), counted_as(), excluded)
            .select_from(services)
            .where(
                *wanted(self.query.where),
                s.binary == COMPUTE,
                s.forced_down == false(),
                s.version.is_not(None),
            )
            .order_by(s.version, s.id)
            .limit(OLDEST_COMPUTES)
        )

    def furthest_ahead(self) -> AnySelect:
        """The row whose heartbeat lies furthest in the future (only asked when the aggregate counted one)."""
        return (
            select(literal_column("services.*"))
            .select_from(services)
            .where(*wanted(self.query.where), self.atoms["ahead"], not_(self.atoms["excluded"]))
            .order_by(self.beat.desc(), services.c.id)
            .limit(1)
        )

    def listing(self) -> AnySelect:
        """Every wanted row in the list's order (binary, host: as Python orders text, by code point, which is UTF-8's
        byte order; then id), with what the list shows of it and its facts as the bits of one number."""
        s = services.c
        facts = sum((case((fact, 1 << bit), else_=0) for bit, fact in enumerate(self.facts.values())), literal(0))
        return (
            select(
                s.binary,
                s.host,
                facts,
                self.beat,
                s.disabled_reason,
                s.id,
                s.uuid if self.has_uuid else literal(None),
                s.version if self.versioned else literal(None),
            )
            .select_from(services)
            .where(*wanted(self.query.where))
            .order_by(self.binary, exact(s.host), s.id)
        )

    def _usable_compute(self) -> tuple[ColumnElement[int], list[ColumnElement[bool]]]:
        """A wanted nova-compute that can take instances (up by Nova's rule and enabled: 1, else 0), and what makes a
        row such a compute: binary nova-compute with topic compute and a host, not left out by --exclude."""
        logic = self._logic()
        usable = case((and_(logic["up"], not_(self.atoms["disabled"])), 1), else_=0)
        compute = [
            *wanted(self.query.where),
            self.binary == COMPUTE.encode(),
            self.facts["compute"],
            not_(self.atoms["defect"]),
            not_(self.atoms["excluded"]),
        ]
        return usable, compute

    def computes(self) -> AnySelect:
        """Each wanted compute's host and whether it is usable (the aggregate's texts, as rows)."""
        usable, compute = self._usable_compute()
        return select(usable, services.c.host).select_from(services).where(*compute)

    def _logic(self) -> dict[str, ColumnElement[bool]]:
        """policy_logic as SQL over the atoms."""
        no_clause: ColumnElement[bool] = false()  # typed as the atoms are: policy_logic's Truth is not false()'s own False_
        return policy_logic(self.atoms.__getitem__, and_, or_, not_, no_clause, self.query.count_disabled)

    def problems(self) -> AnySelect:
        logic = self._logic()
        # Assessed.problem_key's order, built from the policy's own ranks: down, late, disabled and down, disabled.
        rank = case(
            (logic["down"], PROBLEM_RANK[Standing.DOWN]),
            (logic["late"], PROBLEM_RANK[Standing.LATE]),
            (not_(logic["up"]), PROBLEM_RANK[Standing.DISABLED_DOWN]),
            else_=PROBLEM_RANK[Standing.DISABLED],
        )
        binary_rank = case(
            *((self.binary == name.encode(), rank) for name, rank in BINARY_RANK.items()), else_=OTHER_BINARY_RANK
        )
        return (
            select(literal_column("services.*"))
            .select_from(services)
            .where(*wanted(self.query.where), logic["problem"], not_(self.atoms["excluded"]))
            .order_by(rank, binary_rank, services.c.id)
            .limit(self.query.problem_limit)
        )


def policy_logic(
    atom: Callable[[str], Truth],
    all_: Callable[..., Truth],
    any_: Callable[..., Truth],
    no: Callable[[Truth], Truth],
    false_: Truth,
    count_disabled: bool,
) -> dict[str, Truth]:
    """policy.assess over the atoms, written once for both uses: SQL (and_, or_, not_) for the problem
    rows, plain booleans for the aggregate's groups."""
    defect, auto = atom("defect"), atom("auto")
    broken = any_(defect, atom("unreadable"))
    quiet = false_ if count_disabled else all_(atom("disabled"), no(auto))  # operator-disabled, not alarmed
    up = all_(no(defect), no(atom("forced")), atom("readable"), atom("in_window"))
    late = all_(up, no(auto), no(quiet), atom("late_window"))
    down = any_(broken, auto, all_(no(up), no(quiet)))
    return {
        "up": up,
        "down": down,
        "late": late,
        "disabled": atom("disabled"),
        "problem": any_(broken, auto, no(up), quiet, late),
        "watched": all_(no(quiet), no(defect), atom("readable")),
        "quiet": quiet,
    }


def logic_of(atoms: dict[str, bool], count_disabled: bool) -> dict[str, bool]:
    """policy_logic over one combination of atoms as plain booleans (an aggregate's group, a listed row's kind)."""
    return policy_logic(atoms.__getitem__, lambda *x: all(x), lambda *x: any(x), lambda x: not x, False, count_disabled)


def _group_tally(group: _Group, now: dt.datetime, count_disabled: bool) -> BinaryTally:
    atoms, count = group.atoms, group.services
    logic = logic_of(atoms, count_disabled)
    return BinaryTally(
        group.binary,
        total=count,
        up=count * logic["up"],
        down=count * logic["down"],
        late=count * logic["late"],
        disabled=count * logic["disabled"],
        ahead=count * atoms["ahead"],
        problems=count * logic["problem"],
        max_age=_distance(now, group.oldest, group.latest) if logic["watched"] else None,
    )


def _stamp(moment: dt.datetime) -> BindParameter[dt.datetime]:
    return literal(moment, DateTime())


@dataclass(frozen=True)
class _Kind:
    """What a combination of a row's facts means for the list: decided once per combination (a handful per cell)
    with the policy's own logic, not once per row."""

    standing: Standing
    up: bool
    disabled: bool
    forced: bool
    excluded: bool
    compute: bool
    defect: bool
    unreadable: bool
    second_source: bool

    @classmethod
    def of(cls, facts: dict[str, bool], count_disabled: bool) -> _Kind:
        logic = logic_of(facts, count_disabled)
        return cls(
            standing_of(facts, logic),
            logic["up"],
            facts["disabled"],
            facts["forced"],
            facts["excluded"],
            facts["compute"],
            facts["defect"],
            facts["unreadable"],
            facts["second_source"],
        )


def standing_of(facts: dict[str, bool], logic: dict[str, bool]) -> Standing:
    """policy.assess's standing, from the atoms of one row and their policy_logic."""
    quiet = logic["quiet"]
    if facts["defect"] or facts["unreadable"]:
        return Standing.UNREADABLE
    if facts["auto"]:
        return Standing.AUTO_DISABLED
    if not logic["up"]:
        return Standing.DISABLED_DOWN if quiet else Standing.DOWN
    if quiet:
        return Standing.DISABLED
    return Standing.LATE if logic["late"] else Standing.UP


def _listed(rows: Iterable[AnyRow], rule: _RuleSql, now: dt.datetime, listing: Listing) -> ListedBlocks:
    """The listing's rows as readings.ListedService's plain values, kept compressed as they arrive."""
    listed = ListedBlocks()
    kinds: dict[int, _Kind] = {}
    names = list(rule.facts)
    for binary, host, facts, beat, reason, service_id, uuid, version in rows:
        kind = kinds.get(facts)
        if kind is None:
            bits = {name: bool(facts >> bit & 1) for bit, name in enumerate(names)}
            kind = kinds[facts] = _Kind.of(bits, rule.query.count_disabled)
        host_name = text_of(host)
        source = None if kind.defect or beat is None else rule.sources[kind.second_source]
        listed.append_values(
            (
                text_of(binary),
                host_name,
                listing.cell_name,
                None if listing.zones is None else listing.zones.of(host_name, kind.compute),
                kind.disabled,
                kind.up,
                kind.standing.value,
                kind.forced,
                None if reason is None else text_of(reason),
                *_heartbeat(kind, source, beat, now),
                row_id(service_id),
                None if uuid is None else text_of(uuid),
                version_of(version),
                kind.excluded,
                *_problem(kind, source, beat, binary, host),
                kind.defect,
            )
        )
    return listed


def _heartbeat(kind: _Kind, source: str | None, beat: object, now: dt.datetime) -> tuple[str | None, str | None, float | None]:
    """ListedService's heartbeat (ISO text), its source column and its age, as heartbeat.judge reads them."""
    if kind.defect or kind.unreadable:
        return (None, source, None)
    stamp = as_datetime(beat)
    if stamp is None:
        return (None, None, None)
    return (stamp.isoformat(timespec="microseconds"), source, (now - stamp).total_seconds())


def _problem(kind: _Kind, source: str | None, beat: object, binary: object, host: object) -> tuple[str | None, str | None]:
    """ListedService's problem (heartbeat.Verdict.problem) and the stored text of an unreadable heartbeat."""
    if kind.defect:
        return (name_defect("host", host) or name_defect("binary", binary), None)
    if kind.unreadable:
        return (f"{source} unreadable", text_of(beat))
    return (None, None)

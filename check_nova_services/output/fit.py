"""The first line's budget: facts fitted in their order, each keeping at least its count; names are
shortened ("…", "+N more") before a fact loses words, and words before binaries merge into one count.
Nothing is cut inside a word: the last resort ends the line at a fact. Text only."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

#: Characters of the first line after "NOVA_SERVICES CRITICAL - " and before " | ": about 200 in all.
SUMMARY_BUDGET = 175


SEPARATOR = "; "

#: What the last resort puts for the facts it leaves out, after the last one that fits whole.
MORE_FACTS = "…"


@dataclass
class Fact:
    """One thing the on-call person must read: ``head`` carries the count and always shows; ``items``
    are names, most important first, as many as fit; ``count`` is how many the items stand for."""

    head: str
    items: list[str] = field(default_factory=list)
    count: int = 0
    #: The same head shorter (a cell's uuid cut), used when the full heads leave no room.
    short_head: str | None = None
    #: The fewest words that keep the count ("2 cells unreachable"): for the last facts first, when even the
    #: short heads overflow, before any binary merges.
    terse: str | None = None
    #: Down services of one binary: when the heads alone overflow, the last such facts merge into one.
    binary: bool = False
    #: A binary of the control plane (conductor, scheduler): it keeps its own count until every other binary merged.
    control_plane: bool = False
    #: Its one item is a sentence (an unreachable cell's reason): after every fact's first name, whole or cut at a word.
    prose: bool = False
    #: The same fact before its head went terse: its words come back when the binaries' merge left room.
    fuller: Fact | None = field(default=None, repr=False, compare=False)
    #: Left out, head and all, when none of its items fits (a reason several cells share: their names say enough).
    optional: bool = False
    #: Its one item is a detail of the head (", newest heartbeat 5m12s ago"): after the reasons, whole or not at all.
    detail: bool = False

    @property
    def joiner(self) -> str:
        return ", " if self.detail else ": "

    def head_for(self, short: bool) -> str:
        return self.short_head if short and self.short_head is not None else self.head

    @property
    def names(self) -> bool:
        """Its items are names, shared out one by one (not a reason or a detail, which show whole or cut)."""
        return not self.prose and not self.detail


def heads_fit(facts: list[Fact], budget: int) -> bool:
    """Whether every fact's (short) head fits: the least a line of these facts says."""
    return len(SEPARATOR.join(fact.head_for(True) for fact in facts if not fact.optional)) <= budget


def fit(facts: list[Fact], budget: int) -> str:
    """Every fact's head; then, in fact order, each fact's first name; then more names in fact order
    while room remains. Earlier facts are the root cause, but no later fact loses all its names to them.
    When the heads alone overflow, the last facts say their count in fewer words, then the last binaries'
    down counts merge into one ("+N down in K binaries"); if even that overflows, the line ends at a fact."""
    candidate = facts
    for candidate in _candidates(facts):
        if heads_fit(candidate, budget):
            return _fit_names(_words_back(candidate, budget), budget)
    return _cut_at_a_fact(candidate, budget)


def _candidates(facts: list[Fact]) -> Iterator[list[Fact]]:
    """The facts as they are; then the last ones terse, one more each time; then, all terse, the binaries
    outside the control plane merged from the last, and last of all with it. Each says less than the one
    before, every count kept (a merged one in the sum)."""
    yield facts
    for index in reversed([i for i, fact in enumerate(facts) if fact.terse is not None]):
        facts = [*facts[:index], _tersely(facts[index]), *facts[index + 1 :]]
        yield facts
    mergeable = [i for i, fact in enumerate(facts) if fact.binary and not fact.control_plane]
    for keep in range(len(mergeable) - 1, -1, -1):
        merge = mergeable[keep:]
        others = any(fact.binary for i, fact in enumerate(facts) if i not in merge)
        yield _merge_binaries(facts, merge, after_others=others)
    every_binary = [i for i, fact in enumerate(facts) if fact.binary]
    if any(facts[i].control_plane for i in every_binary):  # the control plane last, its count kept in the sum
        yield _merge_binaries(facts, every_binary, after_others=False)


def _tersely(fact: Fact) -> Fact:
    return dataclasses.replace(fact, head=fact.terse or fact.head, short_head=None, terse=None, fuller=fact)


def _words_back(facts: list[Fact], budget: int) -> list[Fact]:
    """Terse facts given their words back, the first first, while every head still fits: a merge of binaries
    may have made the room that going terse could not."""
    for index, fact in enumerate(facts):
        if fact.fuller is not None:
            fuller = [*facts[:index], fact.fuller, *facts[index + 1 :]]
            facts = fuller if heads_fit(fuller, budget) else facts
    return facts


def _merge_binaries(facts: list[Fact], merge: list[int], after_others: bool) -> list[Fact]:
    """The binaries at ``merge`` as one fact that keeps their count of down services."""
    down = sum(facts[i].count for i in merge)
    binaries = f"{len(merge)} {'more ' if after_others else ''}binar{'ies' if len(merge) > 1 else 'y'}"
    result = [fact for i, fact in enumerate(facts) if i not in merge]
    result.insert(merge[0], Fact(f"{down} down in {binaries}", count=down))
    return result


def _cut_at_a_fact(facts: list[Fact], budget: int) -> str:
    """The last resort, when even the fewest words overflow: the heads in order while they fit whole, then "…"
    for the rest; when not even the first head fits beside it, the line is cut after its last whole word."""
    heads = [fact.head_for(True) for fact in facts if not fact.optional]
    kept: list[str] = []
    for head in heads:
        if len(SEPARATOR.join([*kept, head, MORE_FACTS])) > budget:
            break
        kept.append(head)
    if not kept:
        return cut_between_words(SEPARATOR.join(heads), budget)
    return SEPARATOR.join([*kept, MORE_FACTS])


class _Layout:
    """One line being filled: the heads in one form, how many names of each fact show, a reason cut to fit."""

    def __init__(self, facts: list[Fact], short: bool, budget: int) -> None:
        self.facts = facts
        self.budget = budget
        self.heads = [fact.head_for(short) for fact in facts]
        self.shown = [0] * len(facts)
        self.cut: list[str | None] = [None] * len(facts)

    def line(self) -> str:
        """The facts with the first ``shown[i]`` names of each (or the ``cut`` form of the first), "+N more" for the
        rest; an optional fact only with a name."""
        pieces = []
        for fact, head, first, short in zip(self.facts, self.heads, self.shown, self.cut):
            names = [short] if short is not None else fact.items[:first]
            if fact.optional and not names:
                continue
            hidden = fact.count - len(names)
            listing = ", ".join(names) + (f" +{hidden} more" if hidden > 0 else "")
            pieces.append(f"{head}{fact.joiner}{listing}" if names else head)
        return SEPARATOR.join(pieces)

    def fits(self) -> bool:
        return len(self.line()) <= self.budget

    def show_one_more(self, index: int) -> bool:
        """One more name of fact ``index`` if the line still fits; whether it did."""
        self.shown[index] += 1
        if self.fits():
            return True
        self.shown[index] -= 1
        return False

    def show_all_that_fit(self, index: int) -> None:
        """More names of fact ``index`` while the line still fits."""
        while self.shown[index] < len(self.facts[index].items) and self.show_one_more(index):
            pass

    def cut_first(self, index: int) -> None:
        """The fact's first item whole if it fits in the room left, else cut at a word; nothing if even that
        does not fit (an optional head is not in the line yet: its room is taken too)."""
        absent = len(SEPARATOR + self.heads[index]) if self.facts[index].optional else 0
        room = self.budget - len(self.line()) - absent - len(": ")
        self.cut[index] = cut_at_word(self.facts[index].items[0], room) or None
        if not self.fits():  # never past the budget, whatever the arithmetic above
            self.cut[index] = None


def _fit_names(facts: list[Fact], budget: int) -> str:
    """Names into a line whose short heads fit (full heads if they fit too): a first name each, in fact order;
    then each reason, whole or cut at a word; then details, whole or not at all; then as many more names as
    fit, in order; last, a lone name too long for the room left, cut at a word."""
    layout = _Layout(facts, short=False, budget=budget)
    if not layout.fits():
        layout = _Layout(facts, short=True, budget=budget)
    with_items = [index for index, fact in enumerate(facts) if fact.items]
    for index in (i for i in with_items if facts[i].names):
        layout.show_one_more(index)
    for index in (i for i in with_items if facts[i].prose):
        layout.cut_first(index)
    for index in (i for i in with_items if facts[i].detail):
        layout.show_one_more(index)
    for index in (i for i in with_items if facts[i].names):
        layout.show_all_that_fit(index)
    for index in (i for i in with_items if facts[i].count == 1):
        if not layout.shown[index] and layout.cut[index] is None:
            layout.cut_first(index)
    return layout.line()


def cut_at_word(text: str, room: int) -> str:
    """``text`` in at most ``room`` characters, ending with "…" after the last whole word that fits: a word is a
    run of letters and digits, so a long host name may end after a whole part of it ("cmp-rack12…"), never
    inside one (issue 28); nothing rather than a stub in less than 12 characters."""
    if len(text) <= room:
        return text
    if room < 12:
        return ""
    head = text[: room - 1]
    if _WORD.match(text[room - 1]):  # the last word is not whole: back to where it starts
        head = _WORD_END.sub("", head)
    head = head.rstrip(" ,:;(@-_./'\"")
    return head + "…" if head else ""


#: Letters and digits (of any script), not "_": what a word is made of.
_WORD = re.compile(r"[^\W_]")
_WORD_END = re.compile(r"[^\W_]+\Z")


def cut_between_words(text: str, room: int) -> str:
    """``text`` in at most ``room`` characters, ending with "…" after the last whole word that fits, however far
    back it is; "…" alone if not even the first word fits."""
    if len(text) <= room:
        return text
    if room < 1:
        return ""
    head = text[: room - 1]
    if text[room - 1] != " ":  # the last word is not whole: back to the space before it
        head = head[: max(head.rfind(" "), 0)]
    return head.rstrip(" ,:;(") + "…"

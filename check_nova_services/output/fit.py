"""The first line's budget: facts fitted in their order, each keeping at least its count; names are
shortened ("…", "+N more") before a fact is dropped. Text only."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from check_nova_services.shared.text import safe

#: Characters of the first line after "NOVA_SERVICES CRITICAL - " and before " | ": about 200 in all.
SUMMARY_BUDGET = 175


SEPARATOR = "; "


@dataclass
class Fact:
    """One thing the on-call person must read: ``head`` carries the count and always shows; ``items``
    are names, most important first, as many as fit; ``count`` is how many the items stand for."""

    head: str
    items: list[str] = field(default_factory=list)
    count: int = 0
    #: The same head shorter (a cell's uuid cut), used when the full heads leave no room.
    short_head: str | None = None
    #: Down services of one binary: when the heads alone overflow, the last such facts merge into one.
    binary: bool = False
    #: Its one item is a sentence (an unreachable cell's reason): after every fact's first name, whole or cut at a word.
    prose: bool = False
    #: Left out, head and all, when none of its items fits (a reason several cells share: their names say enough).
    optional: bool = False
    #: Its one item is a detail of the head (", newest heartbeat 5m12s ago"): after the reasons, whole or not at all.
    detail: bool = False

    @property
    def joiner(self) -> str:
        return ", " if self.detail else ": "

    def head_for(self, short: bool) -> str:
        return self.short_head if short and self.short_head is not None else self.head


def fit(facts: list[Fact], budget: int) -> str:
    """Every fact's head; then, in fact order, each fact's first name; then more names in fact order
    while room remains. Earlier facts are the root cause, but no later fact loses all its names to them.
    When the heads alone overflow, the last binaries' down counts merge into one ("+N down in K binaries")."""
    groups = [index for index, fact in enumerate(facts) if fact.binary]
    for keep in range(len(groups), -1, -1):
        merged = _merge_binaries(facts, groups[keep:], after_others=keep > 0) if keep < len(groups) else facts
        if len(SEPARATOR.join(fact.head_for(True) for fact in merged if not fact.optional)) <= budget or keep == 0:
            return _fit_names(merged, budget)
    raise AssertionError("unreachable")


def _merge_binaries(facts: list[Fact], merge: list[int], after_others: bool) -> list[Fact]:
    """The binaries at ``merge`` as one fact that keeps their count of down services."""
    down = sum(facts[i].count for i in merge)
    binaries = f"{len(merge)} {'more ' if after_others else ''}binar{'ies' if len(merge) > 1 else 'y'}"
    result = [fact for i, fact in enumerate(facts) if i not in merge]
    result.insert(merge[0], Fact(f"{down} down in {binaries}", count=down))
    return result


def _fit_names(facts: list[Fact], budget: int) -> str:
    lists = [fact.items for fact in facts]
    for short in (False, True):
        heads = [fact.head_for(short) for fact in facts]
        shown = [0] * len(facts)
        cut: list[str | None] = [None] * len(facts)
        optional = [fact.optional for fact in facts]
        joiners = [fact.joiner for fact in facts]
        line = partial(_line, heads, lists, [fact.count for fact in facts], shown, cut, optional, joiners)
        if len(line()) > budget:
            continue
        for index in range(len(facts)):  # a first name each
            if lists[index] and not facts[index].prose and not facts[index].detail:
                shown[index] = 1
                if len(line()) > budget:
                    shown[index] = 0
        for index in range(len(facts)):  # a reason: whole if it fits, else cut at a word
            if lists[index] and facts[index].prose:
                absent = len(SEPARATOR + heads[index]) if optional[index] else 0  # an optional head is not in line() yet
                cut[index] = cut_at_word(lists[index][0], budget - len(line()) - absent - len(": ")) or None
        for index in range(len(facts)):  # details: whole if they fit
            if lists[index] and facts[index].detail:
                shown[index] = 1
                if len(line()) > budget:
                    shown[index] = 0
        for index in range(len(facts)):  # then as many names as fit, in order
            while not facts[index].prose and not facts[index].detail and shown[index] < len(lists[index]):
                shown[index] += 1
                if len(line()) > budget:
                    shown[index] -= 1
                    break
        for index in range(len(facts)):  # a lone name too long for the room left: cut at a word
            if lists[index] and not shown[index] and cut[index] is None and facts[index].count == 1:
                absent = len(SEPARATOR + heads[index]) if optional[index] else 0
                cut[index] = cut_at_word(lists[index][0], budget - len(line()) - absent - len(": ")) or None
                if len(line()) > budget:  # never past the budget, whatever the arithmetic above
                    cut[index] = None
        return line()
    return safe(SEPARATOR.join(fact.head_for(True) for fact in facts if not fact.optional), budget)  # heads alone overflow: cut


def _line(
    heads: list[str],
    lists: list[list[str]],
    counts: list[int],
    shown: list[int],
    cut: list[str | None],
    optional: list[bool],
    joiners: list[str],
) -> str:
    """The facts with the first ``shown[i]`` names of each (or the ``cut`` form of the first), "+N more" for the rest;
    an optional fact only with a name."""
    pieces = []
    for head, names, count, first, short, maybe, joiner in zip(heads, lists, counts, shown, cut, optional, joiners):
        names = [short] if short is not None else names[:first]
        if maybe and not names:
            continue
        hidden = count - len(names)
        listing = ", ".join(names) + (f" +{hidden} more" if hidden > 0 else "")
        pieces.append(f"{head}{joiner}{listing}" if names else head)
    return SEPARATOR.join(pieces)


def cut_at_word(text: str, room: int) -> str:
    """``text`` in at most ``room`` characters, ending with "…" after the last whole word that fits."""
    if len(text) <= room:
        return text
    if room < 12:
        return ""
    head = text[: room - 1]
    if text[room - 1] != " ":  # the last word is not whole: back to the space before it
        space = head.rfind(" ")
        head = head[:space] if space > room // 2 else head
    return head.rstrip(" ,:;(") + "…"

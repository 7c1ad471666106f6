"""``companion cleanup --no-browser``: the review in the terminal, for people without a desktop
browser and for scripts.

The groups are listed by category, numbered; the answer is read from standard input as one line
of numbers, category names, ``all`` or ``none`` (so ``echo all | companion cleanup --no-browser``
works), and the confirmation is the word shown, typed (or ``COMPANION_YES=1``). Questions and
lists go to standard error: standard output keeps the command's result.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import typer

from companion.cleanup.plan import Decision, Group, Plan
from companion.cli.common import human_bytes, printable

YES_ENV = "COMPANION_YES"
WORD = "REMOVE"
_TRIES = 3  # answers that name nothing known, before the review gives up (cancelled)


def _say(line: str = "") -> None:
    typer.echo(line, err=True)


def _line(number: int, group: Group) -> str:
    when = group.primary.captured_at.date().isoformat() if group.primary.captured_at else "?"
    why = group.findings[0].explanation if group.findings else ""
    extra = f" (+{len(group.members) - 1} files)" if len(group.members) > 1 else ""
    name = printable(group.primary.name)
    return f"  {number:>3}. {name}{extra}  {when}  {human_bytes(group.size)}  {printable(why)}"


def numbered(plan: Plan) -> dict[int, Group]:
    """The ready groups, numbered from 1 in the order they are shown."""
    return dict(enumerate(plan.ready(), start=1))


def show(plan: Plan) -> dict[int, Group]:
    """List the plan on the terminal; return the numbers of the groups that can be chosen."""
    numbers = numbered(plan)
    by_key = {g.key: n for n, g in numbers.items()}
    for category, groups in plan.by_category().items():
        ready = [g for g in groups if g.ready]
        if ready:
            _say(f"{category} ({len(ready)}):")
            for g in ready:
                _say(_line(by_key[g.key], g))
    waiting = [g for g in plan.groups if not g.ready]
    if waiting:
        _say(f"Not ready, back up and verify first ({len(waiting)}):")
        for g in waiting:
            _say(f"    -  {printable(g.primary.name)}: {printable(g.why_not())}")
    return numbers


def parse_choice(answer: str, plan: Plan, numbers: dict[int, Group]) -> frozenset[str] | str:
    """The keys an answer chooses, or a one-line reason it names something unknown."""
    chosen: set[str] = set()
    categories = plan.by_category()
    for word in answer.replace(",", " ").split():
        said = word.strip().lower()
        if said == "none":
            return frozenset()
        if said == "all":
            chosen.update(g.key for g in numbers.values())
        elif said.isdigit() and int(said) in numbers:
            chosen.add(numbers[int(said)].key)
        elif said in categories:
            chosen.update(g.key for g in categories[said] if g.ready)
        else:
            return f"{word!r} is no number shown, category, 'all' or 'none'"
    return frozenset(chosen)


def review_in_terminal(
    plan: Plan,
    describe: Callable[[Group], str],
    *,
    read_line: Callable[[], str] | None = None,
) -> Decision:
    """Ask which ready groups to remove, then for the typed confirmation; answers are read with
    ``read_line`` (default: a line of standard input)."""
    read_line = read_line or sys.stdin.readline  # looked up now: stdin may have been replaced
    numbers = show(plan)
    if not numbers:
        return Decision(frozenset())
    for _ in range(_TRIES):
        _say("Remove which? Numbers (1 3), category names, all, or none:")
        answer = read_line()
        if not answer:  # end of input: nobody to answer
            return Decision(frozenset(), cancelled=True)
        choice = parse_choice(answer, plan, numbers)
        if isinstance(choice, str):
            _say(f"error: {choice}")
            continue
        if not choice:
            return Decision(frozenset())
        return _confirm(plan, choice, describe, read_line)
    return Decision(frozenset(), cancelled=True)


def _confirm(
    plan: Plan,
    chosen: frozenset[str],
    describe: Callable[[Group], str],
    read_line: Callable[[], str],
) -> Decision:
    groups = [g for g in plan.groups if g.key in chosen]
    _say(f"{len(groups)} photos and videos, {human_bytes(plan.space(chosen))}:")
    for g in groups:
        _say(f"  {printable(describe(g))}")
    if os.environ.get(YES_ENV) == "1":
        return Decision(chosen)
    _say(f"Type {WORD} to go on (anything else cancels):")
    if read_line().strip() != WORD:
        _say("Cancelled: nothing was removed.")
        return Decision(frozenset(), cancelled=True)
    return Decision(chosen)

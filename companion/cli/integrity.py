"""What a command learnt about the vault's catalogue while it ran, reported at its end.

A damaged, missing or rolled-back catalogue segment must not stop ``ls`` or ``restore`` (the
other segments' photos are still there), nor go unsaid: each vault a command opens tells
``seen`` its problems, and the command line's error boundary ends the command with exit 13
(``IntegrityError``) once its work is done.
"""

from __future__ import annotations

from companion.errors import IntegrityError
from companion.vault.health import SegmentProblem

HINT = (
    "Run 'companion verify --full --repair': damaged segments are set aside (kept) and the "
    "files they listed come back under recovered/. See docs/security.md."
)
_SHOWN = 3  # problems named in the one-line error; the rest are counted

_seen: dict[tuple[str, str], SegmentProblem] = {}


def seen(problems: tuple[SegmentProblem, ...]) -> None:
    for problem in problems:
        _seen[problem.segment, problem.trouble.value] = problem


def forget() -> None:
    """A new command starts with nothing seen (commands may run in one process: tests)."""
    _seen.clear()


def taken() -> list[SegmentProblem]:
    """Every problem seen since ``forget``, once."""
    found = sorted(_seen.values(), key=lambda p: (p.segment, p.trouble.value))
    _seen.clear()
    return found


def as_error(problems: list[SegmentProblem]) -> IntegrityError:
    named = "; ".join(p.describe() for p in problems[:_SHOWN])
    more = f"; and {len(problems) - _SHOWN} more" if len(problems) > _SHOWN else ""
    return IntegrityError(f"the vault's catalogue is damaged: {named}{more}", HINT)

"""Small rooms: every module of the package stays under the size one reader can hold in mind.

A module that grows past it does more than one job; split it along its seams (as the vault is:
lifecycle, index cache, record queue, holdings) rather than raise the limit.
"""

from __future__ import annotations

from pathlib import Path

import companion

LIMIT = 400  # lines


def _lines(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(1 for _line in fh)


def test_every_module_stays_under_the_limit() -> None:
    package = Path(companion.__file__).parent
    sizes = {
        path.relative_to(package.parent).as_posix(): _lines(path) for path in package.rglob("*.py")
    }
    assert sizes, "no modules found"
    over = sorted(f"{name} ({lines} lines)" for name, lines in sizes.items() if lines >= LIMIT)
    assert not over, f"modules of {LIMIT} lines or more, to split: " + ", ".join(over)

"""The catalogue's health: which segments are damaged, missing or rolled back.

Segments are numbered from 00000001 with no gap, so a number missing below the highest is a lost
segment. A lost *newest* segment leaves no gap; to notice it, this computer keeps, per vault, a
high-water mark in companion's private state folder (``companion.state``): the highest segment
it has seen and that segment's MAC. A vault whose newest segments were removed or put back from
an older copy is reported as rolled back; one whose newest segment was swapped for another is
reported as replaced. A copy of the vault opened on another computer (or in another folder) has
no mark there, so the mark protects against what happens to the vault's folder, not against an
attacker who also controls this user's state folder (docs/security.md says what is detected).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from companion.portable import durable
from companion.state import FILE_MODE, private_dir
from companion.vault.catalogue import Seal, number, segment_name

log = logging.getLogger(__name__)


class Trouble(StrEnum):
    DAMAGED = "damaged"  # cannot be decrypted or authenticated (or is empty)
    MISSING = "missing"  # a number below the highest is absent
    ROLLED_BACK = "rolled back"  # newer segments this computer saw are gone
    REPLACED = "replaced"  # the newest segment this computer saw has another MAC now


@dataclass(frozen=True, slots=True)
class SegmentProblem:
    segment: str  # file name under catalogue/, e.g. "00000002.age"
    trouble: Trouble
    detail: str

    def describe(self) -> str:
        return f"catalogue/{self.segment} {self.trouble.value}: {self.detail}"


def gaps(names: Iterable[str]) -> list[SegmentProblem]:
    """A problem for every number missing between 1 and the highest segment on disk."""
    present = {number(name) for name in names}
    highest = max(present, default=0)
    return [
        SegmentProblem(segment_name(seq), Trouble.MISSING, "gone, though later segments are here")
        for seq in range(1, highest)
        if seq not in present
    ]


class HighWater:
    """This computer's high-water mark for the vault at ``root`` with this public recipient.

    Keyed by both: a copy of the vault in another folder (a second drive kept by hand) has its
    own mark, so a copy that lags is not taken for a rollback of the first.
    """

    def __init__(self, recipient: str, root: Path) -> None:
        where = f"{recipient}\0{root.resolve()}".encode("utf-8", "surrogateescape")
        self._name = hashlib.sha256(where).hexdigest()[:32] + ".json"

    def _path(self) -> Path:
        return private_dir("vaults") / self._name

    def read(self) -> tuple[int, str] | None:
        try:
            data = json.loads(self._path().read_text("utf-8"))
            return int(data["segment"]), str(data["mac"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("this computer's record of the vault's catalogue is unreadable: %s", exc)
            return None

    def write(self, seal: Seal) -> None:
        """Record ``seal`` as the highest segment seen. Best effort: a read-only home folder
        loses the rollback check, not the command."""
        text = json.dumps({"segment": seal.number, "mac": seal.mac}).encode("utf-8")
        try:
            path = self._path()
            temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
            with os.fdopen(fd, "wb") as fh:
                fh.write(text)
                fh.flush()
                durable.sync(fh.fileno())
            temp.replace(path)
        except OSError as exc:
            log.warning("could not record the vault's catalogue state on this computer: %s", exc)
            with contextlib.suppress(OSError, UnboundLocalError):
                temp.unlink()

    def problems(self, seals: Mapping[str, Seal], on_disk: Iterable[str]) -> list[SegmentProblem]:
        """What the mark says is wrong, given the segments read (``seals``) and the names on
        disk; then the mark is raised to the newest segment read, if it is higher."""
        names = sorted(on_disk)
        highest = number(names[-1]) if names else 0
        mark = self.read()
        found: list[SegmentProblem] = []
        if mark is not None:
            seen, mac = mark
            if seen > highest:
                first = segment_name(highest + 1)
                found.append(
                    SegmentProblem(
                        segment_name(seen),
                        Trouble.ROLLED_BACK,
                        f"this computer saw the catalogue up to {segment_name(seen)}, it now ends "
                        f"at {names[-1] if names else 'nothing'} ({first} onwards are gone)",
                    )
                )
            else:
                seal = seals.get(segment_name(seen))
                if seal is not None and seal.mac != mac:
                    found.append(
                        SegmentProblem(
                            seal.name,
                            Trouble.REPLACED,
                            "it is not the segment this computer saw under that number",
                        )
                    )
        newest = max(seals.values(), key=lambda s: s.number, default=None)
        if not found and newest is not None and (mark is None or newest.number > mark[0]):
            self.write(newest)
        return found

    def reset(self, newest: Seal | None) -> None:
        """After a repair: the catalogue as it now is becomes what this computer saw."""
        if newest is None:
            with contextlib.suppress(OSError):
                self._path().unlink()
            return
        self.write(newest)

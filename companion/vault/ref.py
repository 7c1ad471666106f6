"""Where a vault is, and how its passphrase is had: what a use case needs to open it when, and
only if, it must.

A command reads its ``--vault`` and ``--passphrase-file`` options into one ``VaultRef``; the demo
builds one around its own passphrase. The passphrase is asked for only when the vault is opened
(a dry run against a folder that holds no vault yet asks nothing); only a ref made by
``asking_once`` keeps it, for the length of one run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from companion.vault.health import SegmentProblem
from companion.vault.vault import Vault

Seen = Callable[[tuple[SegmentProblem, ...]], None]


@dataclass(frozen=True, slots=True)
class VaultRef:
    root: Path
    passphrase: Callable[[], str]  # asked at each open: a prompt, a file, an environment variable
    # told, at each open, what is wrong with the catalogue (a command reports it at its end)
    seen: Seen | None = None

    def exists(self) -> bool:
        """Whether a vault is there (a folder without the vault's marker is not one)."""
        return Vault.exists(self.root)

    def open(self, *, write: bool = False) -> Vault:
        """Unlock the vault (``Vault.open``): read-only unless ``write``."""
        opened = Vault.open(self.root, self.passphrase(), write=write)
        if opened.catalogue_problems and self.seen is not None:
            self.seen(opened.catalogue_problems)
        return opened

    def asking_once(self) -> VaultRef:
        """The same vault, its passphrase asked at the first open only: for a use case that
        opens the vault several times in one run (read-only to review, then to write), so the
        person types it once. What was typed lives as long as the returned ref."""
        given: list[str] = []

        def passphrase() -> str:
            if not given:
                given.append(self.passphrase())
            return given[0]

        return VaultRef(self.root, passphrase, self.seen)

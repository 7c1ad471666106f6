"""The index cache, ``cache/index.age``: how an open vault gets its index without decrypting
every catalogue segment (docs/design/vault-format.md, section 6).

The catalogue is the truth and the cache is disposable: a cache that is missing, unreadable,
forged, of another schema, or that names a segment that is gone is ignored and the index is
rebuilt from the segments. A cache a few segments behind (a writer killed before saving it)
catches up by ingesting the segments it lacks. A segment that cannot be read is skipped and
reported (``Loaded.unreadable``): the other segments' photos stay listed and restorable.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from pathlib import Path

from companion.errors import IntegrityError, VaultError
from companion.vault import crypto
from companion.vault.catalogue import Catalogue
from companion.vault.fsio import atomic_write
from companion.vault.health import SegmentProblem, Trouble
from companion.vault.index import Index

log = logging.getLogger(__name__)


class IndexCache:
    """The cache file at ``path``, encrypted to ``recipient`` and authenticated with ``key``
    (``K_cache``). ``load`` never fails because of the cache; ``save`` is best effort."""

    def __init__(
        self, path: Path, tmp: Path, recipient: str, identity: crypto.Identity, key: bytes
    ) -> None:
        self.path = path
        self._tmp = tmp
        self._recipient = recipient
        self._identity = identity
        self._key = key

    def load(self, catalogue: Catalogue) -> Loaded:
        """The index of every readable segment in ``catalogue``: the cache, caught up, or a
        rebuild; with the segments that could not be read (each skipped, never fatal: a damaged
        segment must not hide the photos the others describe).

        The cache is used only while every segment it was built from is still on disk with the
        same size; otherwise the segments, which are the truth, are read again.
        """
        on_disk = catalogue.segment_sizes()
        names = sorted(on_disk)
        index = self._read()
        if index is not None and any(
            on_disk.get(name) != size for name, (size, _mac) in index.segment_seals().items()
        ):
            log.info("index cache names segments that are gone or changed; rebuilding")
            index.close()
            index = None
        if index is None:
            index = Index.empty()
        known = set(index.segments())
        newest = max(known) if known else ""
        if any(name < newest for name in names if name not in known):
            # A segment older than what the cache holds: order broken (or one skipped before).
            index.close()
            index, known = Index.empty(), set()
        problems = [_ingest(index, catalogue, name) for name in names if name not in known]
        return Loaded(index, [p for p in problems if p is not None])

    def _read(self) -> Index | None:
        try:
            data = crypto.decrypt_bytes(self.path.read_bytes(), self._identity, "the index cache")
        except FileNotFoundError:
            return None
        except (IntegrityError, OSError) as exc:
            log.info("index cache unreadable (%s); rebuilding from the catalogue", exc)
            return None
        # Like a segment, the cache is encrypted to a public recipient: its MAC (the first 32
        # bytes of the plaintext) shows that this vault's owner wrote it.
        mac, database = data[:32], data[32:]
        if not hmac.compare_digest(mac, hmac.digest(self._key, database, "sha256")):
            log.warning("index cache failed authentication; rebuilding from the catalogue")
            return None
        return Index.from_bytes(database)

    def save(self, index: Index) -> None:
        """Best effort: a vault on read-only media still opens, it just rebuilds each time.
        Nothing is written when the cache on disk is already up to date."""
        if not index.changed:
            return
        try:
            database = index.to_bytes()
            mac = hmac.digest(self._key, database, "sha256")
            data = crypto.encrypt_bytes(mac + database, self._recipient, "the index cache")
            self.path.parent.mkdir(exist_ok=True)
            self._tmp.mkdir(exist_ok=True)
            atomic_write(self.path, data, self._tmp)
        except (VaultError, OSError) as exc:
            log.warning("could not save the index cache: %s", exc)


@dataclass(frozen=True, slots=True)
class Loaded:
    index: Index
    unreadable: list[SegmentProblem]  # segments skipped: damaged, forged, unreadable


def _ingest(index: Index, catalogue: Catalogue, name: str) -> SegmentProblem | None:
    try:
        seal, records = catalogue.read_sealed(name)
        index.ingest(name, records, size=seal.size, mac=seal.mac)
    except IntegrityError as exc:
        return SegmentProblem(name, Trouble.DAMAGED, _reason(exc.message))
    except OSError as exc:
        return SegmentProblem(name, Trouble.DAMAGED, f"cannot be read: {exc.strerror or exc}")
    return None


def _reason(message: str) -> str:
    """Why a segment could not be used, without repeating its name."""
    if "not written with this vault's key" in message:
        return "its MAC does not match: it was changed or not written by this vault's owner"
    if "malformed" in message or "JSON" in message or "header" in message:
        return f"its contents do not parse ({message})"
    return "cannot be decrypted: damaged, truncated or empty"

"""What an open vault holds, read back: the current version of each asset with the latest full
check of its object, whether a file a backup meets is already held, which listed files are held
and fully verified (``held``), scans and places, and an asset's plaintext.

Questions about what is stored and how recently it was proved intact (say, which groups of
assets their latest full check found whole) belong here: the index already holds each object's
latest check (``StoredAsset.verified_at`` and ``verified_ok``).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from companion.errors import IntegrityError
from companion.model import Asset, Place, ScanRecord, StoredAsset, VaultEvent
from companion.vault import crypto
from companion.vault.agefile import AgeReader, digest_of
from companion.vault.index import Checked, Fingerprint, Index
from companion.vault.objects import ObjectStore, check_plaintext


@dataclass(frozen=True, slots=True)
class Held:
    """One file as a source lists it now, against what the vault holds at its (source, path).

    The facts only; what they mean for taking the file off its source is the cleanup's rule
    (``companion.cleanup.plan.assess``).
    """

    asset: Asset  # as listed now
    stored: StoredAsset | None  # the current version, with the latest full check of its object
    present: bool  # the object file is there (verify moves a damaged one aside)
    checked_after_record: bool  # that check came after the record, in catalogue order

    @property
    def damaged(self) -> bool:
        """Held, but the object is missing or its latest full check since the record failed."""
        return self.stored is not None and (not self.present or self.stored.verified_ok is False)

    @property
    def unchanged(self) -> bool:
        """Held with the size and modification time the source lists now."""
        if self.stored is None:
            return False
        held, listed = self.stored.asset, self.asset
        return (held.size, held.mtime_ns) == (listed.size, listed.mtime_ns)

    @property
    def verified(self) -> bool:
        """Fully verified: held unchanged, the object here, and its latest full check (decrypt,
        re-hash against the SHA-256 taken while the file was read) made after the record and
        found it whole."""
        return (
            self.stored is not None
            and self.unchanged
            and self.present
            and self.stored.verified_ok is True
            and self.checked_after_record
        )


class Holdings:
    """Reads ``index`` and ``objects``; never writes. ``forget`` must be called whenever the
    index ingests a segment, since ``holds_unchanged`` remembers what it asked the index."""

    def __init__(self, index: Index, objects: ObjectStore, identity: crypto.Identity) -> None:
        self._index = index
        self._objects = objects
        self._identity = identity
        self._fingerprints: dict[str, dict[str, Fingerprint]] = {}  # per source

    def forget(self) -> None:
        """Drop what was learnt from the index (it has changed)."""
        self._fingerprints.clear()

    def lookup(self, asset: Asset) -> StoredAsset | None:
        """The stored version of (source, path), if any."""
        return self._index.lookup(asset.source, asset.path)

    def holds_unchanged(self, asset: Asset) -> bool:
        """True if the vault holds (source, path) with this size and modification stamp, and
        its bytes are really here: the object file exists and no full check since the record
        found it damaged (verify moves damaged objects aside). False makes a backup store the
        asset again, which writes a fresh object: a backup repairs what verify found.

        One ``stat`` per asset, no object read; the index is asked once per source.
        """
        prints = self._fingerprints.get(asset.source)
        if prints is None:
            prints = self._fingerprints[asset.source] = self._index.fingerprints(asset.source)
        known = prints.get(asset.path)
        return (
            known is not None
            and (known.size, known.mtime_ns) == (asset.size, asset.mtime_ns)
            and not known.damaged
            and self._objects.stored_size(known.object_id) is not None
        )

    def held(self, assets: Iterable[Asset]) -> list[Held]:
        """Each of ``assets`` (as its source lists it now) against the vault, in the same order:
        which of them are fully verified (``Held.verified``), and if not, what is known.

        One index query per source (one per file would work out every object's latest check
        again each time) and one ``stat`` per held file; no object is read.
        """
        wanted = list(assets)
        known: dict[str, dict[str, Checked]] = {}
        for source in dict.fromkeys(a.source for a in wanted):
            paths = [a.path for a in wanted if a.source == source]
            known[source] = self._index.checked(source, paths[0] if len(paths) == 1 else None)
        return [self._held(asset, known[asset.source].get(asset.path)) for asset in wanted]

    def _held(self, asset: Asset, checked: Checked | None) -> Held:
        if checked is None:
            return Held(asset, None, present=False, checked_after_record=False)
        present = self._objects.stored_size(checked.stored.object_id) is not None
        return Held(asset, checked.stored, present, checked.after_record)

    def get(self, asset_id: str) -> StoredAsset | None:
        return self._index.get(asset_id)

    def assets(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> Iterator[StoredAsset]:
        """Current version of every asset in [since, until), oldest first, with the latest full
        check of its object (see ``Index.assets``)."""
        return self._index.assets(since, until)

    def scans(self) -> dict[str, ScanRecord]:
        """The latest scan of every scanned object, by object id."""
        return self._index.scans()

    def removal_events(self, source: str) -> list[VaultEvent]:
        """Cleanup's audit trail for ``source`` (planned, removed, confirmed, refused), oldest
        first; each event names the asset by ``asset_id``."""
        return self._index.removal_events(source)

    def places(self) -> list[Place]:
        """The private places declared, by name."""
        return self._index.places()

    def plaintext(self, stored: StoredAsset) -> bytes:
        """An asset's bytes in memory, checked against its recorded SHA-256 and size."""
        buffer = io.BytesIO()
        self.decrypt_to(stored, buffer)
        data = buffer.getvalue()
        check_plaintext(data, stored.sha256, stored.asset.size, stored.asset.path)
        return data

    @contextlib.contextmanager
    def reader(self, stored: StoredAsset) -> Iterator[AgeReader]:
        """An asset's plaintext, seekable, decrypted a chunk at a time in memory, checked first
        against its recorded SHA-256 and size (one pass, nothing kept), on the same open file."""
        with self._objects.opened(stored.object_id, stored.asset.path) as fh:
            reader = AgeReader(fh, self._identity, stored.asset.path)
            size, digest = digest_of(reader)
            if size != stored.asset.size or digest != stored.sha256:
                raise IntegrityError(f"{stored.asset.path} decrypts to other bytes than recorded")
            yield reader

    def decrypt_to(self, stored: StoredAsset, writer: crypto.Writable) -> None:
        """Write an asset's plaintext into ``writer`` (which may receive a damaged prefix)."""
        self._objects.decrypt_to(stored.object_id, writer, self._identity, stored.asset.path)

"""What an open vault holds, read back: the current version of each asset with the latest full
check of its object, whether a file a backup meets is already held, scans and places, and an
asset's plaintext.

Questions about what is stored and how recently it was proved intact (say, which groups of
assets their latest full check found whole) belong here: the index already holds each object's
latest check (``StoredAsset.verified_at`` and ``verified_ok``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from companion.model import Asset, Place, ScanRecord, StoredAsset
from companion.vault import crypto
from companion.vault.index import Fingerprint, Index
from companion.vault.objects import ObjectStore


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

    def places(self) -> list[Place]:
        """The private places declared, by name."""
        return self._index.places()

    def decrypt_to(self, stored: StoredAsset, writer: crypto.Writable) -> None:
        """Write an asset's plaintext into ``writer`` (which may receive a damaged prefix)."""
        self._objects.decrypt_to(stored.object_id, writer, self._identity, stored.asset.path)

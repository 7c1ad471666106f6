"""The index cache, ``cache/index.age``: how an open vault gets its index without decrypting
every catalogue segment (docs/design/vault-format.md, section 6).

The catalogue is the truth and the cache is disposable: a cache that is missing, unreadable,
forged, of another schema, or that names a segment that is gone is ignored and the index is
rebuilt from the segments. A cache a few segments behind (a writer killed before saving it)
catches up by ingesting the segments it lacks.
"""

from __future__ import annotations

import hmac
import logging
from pathlib import Path

from companion.errors import IntegrityError, VaultError
from companion.vault import crypto
from companion.vault.catalogue import Catalogue
from companion.vault.fsio import atomic_write
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

    def load(self, catalogue: Catalogue) -> Index:
        """The index of every segment in ``catalogue``: the cache, caught up, or a rebuild.

        Raises what reading a segment raises (``IntegrityError`` for a forged or damaged one):
        the segments are the truth, so there is nothing to fall back on.
        """
        names = catalogue.segment_names()
        index = self._read()
        if index is not None and not set(index.segments()) <= set(names):
            log.info("index cache names segments that are gone; rebuilding")
            index.close()
            index = None
        if index is None:
            index = Index.empty()
        known = set(index.segments())
        newest = max(known) if known else ""
        for name in names:
            if name in known:
                continue
            if name < newest:  # a segment older than what the cache holds: order broken
                index.close()
                return _rebuild(catalogue, names)
            index.ingest(name, catalogue.read(name))
        return index

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


def _rebuild(catalogue: Catalogue, names: list[str]) -> Index:
    index = Index.empty()
    for name in names:
        index.ingest(name, catalogue.read(name))
    return index

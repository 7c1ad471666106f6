"""Records on their way to the catalogue: queued by a writer, published as one segment at a
time (docs/design/vault-format.md, section 5), then added to the open index.

Every asset record references an object that is already durable, so a queued record can be
published at any moment, and a record lost in a crash only makes a resume read its file again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from companion.vault.catalogue import Catalogue, Record, Seal
from companion.vault.index import Index


@dataclass(frozen=True, slots=True)
class FlushPolicy:
    """When pending records become a segment: after this many records or seconds.

    Small segments bound what a crash can make a resume re-read; large ones keep the catalogue
    compact. Objects are durable before their record is queued, so either way nothing is lost.
    """

    records: int = 256
    seconds: float = 10.0


class RecordQueue:
    """The records queued since the last segment. Needs the vault lock (single writer).

    ``add`` queues one record and publishes the queue when ``policy`` says it is due. ``flush``
    publishes every queued record as one segment, ingests them into ``index``, then calls
    ``published`` with the new segment's seal (what was learnt from the index before is
    dropped, the high-water mark raised). If publishing fails, nothing is ingested and the
    records stay queued in order, ahead of later ones: the next flush tries them again.
    """

    def __init__(
        self,
        catalogue: Catalogue,
        index: Index,
        policy: FlushPolicy,
        published: Callable[[Seal], None],
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._catalogue = catalogue
        self._index = index
        self._policy = policy
        self._published = published
        self._monotonic = monotonic
        self._pending: list[Record] = []
        self._last_flush = monotonic()

    def add(self, record: Record) -> None:
        self._pending.append(record)
        if (
            len(self._pending) >= self._policy.records
            or self._monotonic() - self._last_flush >= self._policy.seconds
        ):
            self.flush()

    def flush(self) -> None:
        """Publish queued records as one segment, then add them to the index."""
        self._last_flush = self._monotonic()
        if not self._pending:
            return
        records, self._pending = self._pending, []
        try:
            seal = self._catalogue.publish(records)
        except BaseException:
            self._pending = records + self._pending
            raise
        self._index.ingest(seal.name, records, size=seal.size, mac=seal.mac)
        self._published(seal)

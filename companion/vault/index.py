"""The index: a SQLite cache of the catalogue, so that lookups do not decrypt every segment.

It is only a cache. It lives in memory while a vault is open and is saved encrypted (an age file
holding the serialized SQLite database) as ``cache/index.age``; it never touches the disk in
plaintext, because it holds file names and dates. It remembers which segments it has ingested:
on open, segments it lacks are ingested; if it names a segment that is gone, if it cannot be
decrypted or read, or if its schema is older, it is rebuilt from the segments, which are the truth.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sqlite3
from collections.abc import Iterator
from datetime import datetime

from companion.model import EventKind, Place, ScanRecord, StoredAsset, VaultEvent
from companion.vault.catalogue import (
    Record,
    decode_asset,
    decode_event,
    decode_place,
    decode_scan,
)
from companion.vault.index_schema import CURRENT, FINGERPRINTS, SCHEMA, SCHEMA_VERSION

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class Fingerprint:
    size: int
    mtime_ns: int
    object_id: str
    damaged: bool  # a full check after the asset's record found its object damaged


def _text(value: str) -> str:
    """A name as SQLite can hold it: device names may carry lone surrogates (undecodable bytes),
    which SQLite's UTF-8 cannot store. JSON escaping is injective, so lookups stay exact."""
    return json.dumps(value)


@dataclasses.dataclass(frozen=True, slots=True)
class Checked:
    stored: StoredAsset  # the current version, with the latest full check of its object
    after_record: bool  # that check came after this record, in catalogue order (not by clock)


def _current(row: tuple[str, int | None, str | None, int | None]) -> StoredAsset:
    record, ok, at, after_record = row
    stored = decode_asset(json.loads(record))
    if ok is None or at is None or (not ok and not after_record):
        return stored
    return dataclasses.replace(stored, verified_at=datetime.fromisoformat(at), verified_ok=bool(ok))


_REMOVAL_KINDS = (
    EventKind.REMOVAL_PLANNED,
    EventKind.REMOVED,
    EventKind.REMOVAL_CONFIRMED,
    EventKind.REMOVAL_REFUSED,
)

_SAVE_AFTER_SEGMENTS = 8  # segments the saved cache may lack before it is rewritten
_SAVE_AFTER_RECORDS = 256  # or records


class Index:
    def __init__(self, conn: sqlite3.Connection, *, changed: bool) -> None:
        self._db = conn
        self._fresh = changed  # built from the catalogue, not loaded from the cache
        self._unsaved_segments = 0
        self._unsaved_records = 0

    @property
    def changed(self) -> bool:
        """Worth saving: built anew, or enough ingested since the cache was read.

        A cache that lacks a few small segments is still good: opening ingests the segments it
        does not name (they are newer). So a backup that only adds its "backup" event, or a few
        records, does not rewrite the whole cache, which grows with the number of assets.
        """
        return (
            self._fresh
            or self._unsaved_segments >= _SAVE_AFTER_SEGMENTS
            or self._unsaved_records >= _SAVE_AFTER_RECORDS
        )

    @classmethod
    def empty(cls) -> Index:
        conn = sqlite3.connect(":memory:")
        conn.executescript(SCHEMA)
        conn.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        conn.commit()
        return cls(conn, changed=True)

    @classmethod
    def from_bytes(cls, data: bytes) -> Index | None:
        """Load a saved cache; None if it is unreadable or of another schema (then rebuild)."""
        conn = sqlite3.connect(":memory:")
        try:
            conn.deserialize(data)
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            conn.execute("SELECT count(*) FROM assets").fetchone()
        except sqlite3.Error as exc:
            log.info("index cache unreadable (%s); rebuilding from the catalogue", exc)
            conn.close()
            return None
        if row is None or row[0] != SCHEMA_VERSION:
            conn.close()
            return None
        return cls(conn, changed=False)

    def to_bytes(self) -> bytes:
        """The database, to be saved as the cache (from now on nothing is unsaved)."""
        self._db.commit()
        self._fresh = False
        self._unsaved_segments = self._unsaved_records = 0
        return self._db.serialize()

    def close(self) -> None:
        self._db.close()

    def segments(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT name FROM segments ORDER BY name")]

    def segment_seals(self) -> dict[str, tuple[int, str]]:
        """Each ingested segment's file size and MAC, by name: what the cache was built from."""
        rows = self._db.execute("SELECT name, size, mac FROM segments")
        return {name: (size, mac) for name, size, mac in rows}

    def ingest(self, segment: str, records: list[Record], *, size: int, mac: str) -> None:
        """Add one segment's records (its file's ``size`` and header ``mac`` are kept, to notice
        a segment changed under the cache). Segments must be ingested in name order. A record
        that does not decode adds nothing of the segment (``IntegrityError``)."""
        try:
            self._ingest_records(segment, records)
        except BaseException:
            self._db.rollback()
            raise
        self._db.execute("INSERT INTO segments VALUES (?, ?, ?)", (segment, size, mac))
        self._db.commit()
        self._unsaved_segments += 1
        self._unsaved_records += len(records)

    def _ingest_records(self, segment: str, records: list[Record]) -> None:
        db = self._db
        for line, record in enumerate(records):
            kind = record.get("t")
            if kind == "asset":
                self._ingest_asset(segment, line, record)
            elif kind == "scan":
                scan = decode_scan(record)  # validates first
                db.execute(
                    "INSERT OR REPLACE INTO scans VALUES (?, ?, ?, ?)",
                    (scan.object_id, json.dumps(record, sort_keys=True), segment, line),
                )
            elif kind == "place":
                place = decode_place(record)
                name = _text(str(record.get("name")))
                if place is None:
                    db.execute("DELETE FROM places WHERE name = ?", (name,))
                else:
                    db.execute(
                        "INSERT OR REPLACE INTO places VALUES (?, ?)",
                        (name, json.dumps(record, sort_keys=True)),
                    )
            elif kind == "event":
                event = decode_event(record)
                if event is not None:
                    db.execute(
                        "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            segment,
                            line,
                            event.kind.value,
                            event.at.isoformat(),
                            event.object_id,
                            event.asset_id,
                            None if event.ok is None else int(event.ok),
                            json.dumps(record, sort_keys=True),
                        ),
                    )

    def _ingest_asset(self, segment: str, line: int, record: Record) -> None:
        stored = decode_asset(record)  # validates before anything is inserted
        text = json.dumps(record, sort_keys=True)
        captured = stored.asset.captured_at
        self._db.execute(
            "INSERT INTO versions VALUES (?, ?, ?, ?, ?)",
            (stored.asset_id, segment, line, stored.object_id, text),
        )
        self._db.execute(
            "INSERT OR REPLACE INTO assets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                stored.asset_id,
                _text(stored.asset.source),
                _text(stored.asset.path),
                stored.asset.size,
                stored.asset.mtime_ns,
                captured.timestamp() if captured else None,
                stored.object_id,
                text,
                segment,
                line,
            ),
        )

    def lookup(self, source: str, path: str) -> StoredAsset | None:
        row = self._db.execute(
            CURRENT + " WHERE a.source = ? AND a.path = ?", (_text(source), _text(path))
        ).fetchone()
        return _current(row) if row else None

    def fingerprints(self, source: str) -> dict[str, Fingerprint]:
        """For every current asset of ``source``, by path: what the incremental check compares.

        One query for the whole source instead of one per file: a backup of a large camera roll
        with nothing new must stay fast.
        """
        rows = self._db.execute(FINGERPRINTS, (_text(source),)).fetchall()
        return {
            json.loads(path): Fingerprint(size, mtime_ns, object_id, bool(damaged))
            for path, size, mtime_ns, object_id, damaged in rows
        }

    def checked(self, source: str, path: str | None = None) -> dict[str, Checked]:
        """Every current asset of ``source`` (or only the one at ``path``), by path, with the
        latest full check of its object and whether it came after the asset's record.

        One query for many files: the latest check of every object is worked out once, not once
        per file as ``lookup`` does.
        """
        query, args = CURRENT + " WHERE a.source = ?", [_text(source)]
        if path is not None:
            query, args = query + " AND a.path = ?", [*args, _text(path)]
        found = {}
        for row in self._db.execute(query, args).fetchall():
            stored = _current(row)
            found[stored.asset.path] = Checked(stored, bool(row[3]))
        return found

    def get(self, asset_id: str) -> StoredAsset | None:
        row = self._db.execute(CURRENT + " WHERE a.asset_id = ?", (asset_id,)).fetchone()
        return _current(row) if row else None

    def assets(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> Iterator[StoredAsset]:
        """Current version of every asset in [since, until), oldest first, then by path.

        An asset's date is its capture time or, when the file records none (a photo saved from
        a messaging app, an edit), the modification time the source reported.
        """
        when = "coalesce(a.captured_utc, a.mtime_ns / 1e9)"
        query = CURRENT + " WHERE 1=1"
        args: list[float] = []
        if since is not None:
            query += f" AND {when} >= ?"
            args.append(since.timestamp())
        if until is not None:
            query += f" AND {when} < ?"
            args.append(until.timestamp())
        query += f" ORDER BY {when}, a.source, a.path"
        for row in self._db.execute(query, args).fetchall():
            yield _current(row)

    def objects(self) -> Iterator[tuple[str, str, int, int, str]]:
        """Every object any version references, described by its newest record:
        (object_id, sha256, size, stored_size, path)."""
        rows = self._db.execute(
            "SELECT object_id, record FROM (SELECT object_id, record, row_number() OVER ("
            "PARTITION BY object_id ORDER BY segment DESC, line DESC) AS newest FROM versions) "
            "WHERE newest = 1 ORDER BY object_id"
        ).fetchall()
        for object_id, text in rows:
            r = json.loads(text)
            yield object_id, r["sha256"], int(r["size"]), int(r["stored_size"]), r["path"]

    def events(self, kind: EventKind) -> Iterator[VaultEvent]:
        for (text,) in self._db.execute(
            "SELECT record FROM events WHERE kind = ? ORDER BY segment, line", (kind.value,)
        ).fetchall():
            event = decode_event(json.loads(text))
            if event is not None:
                yield event

    def removal_events(self, source: str) -> list[VaultEvent]:
        """Cleanup's audit trail for ``source``: its ``removal_*`` events, oldest first. The
        source is inside each record (events have no column for it): these events are few."""
        kinds = tuple(kind.value for kind in _REMOVAL_KINDS)
        rows = self._db.execute(
            "SELECT record FROM events WHERE kind IN (?, ?, ?, ?) ORDER BY segment, line", kinds
        ).fetchall()
        events = (decode_event(json.loads(text)) for (text,) in rows)
        return [e for e in events if e is not None and e.source == source]

    def stored_since_last_backup(self) -> list[StoredAsset]:
        """Asset records written after the newest backup event (all of them when there is
        none): what a backup run stored before it stopped without finishing. A finished run
        records its event after its last asset, so this is empty after one."""
        last = self._db.execute(
            "SELECT segment, line FROM events WHERE kind = 'backup' "
            "ORDER BY segment DESC, line DESC LIMIT 1"
        ).fetchone()
        segment, line = last if last else ("", -1)
        rows = self._db.execute(
            "SELECT record FROM versions WHERE segment > ? OR (segment = ? AND line > ?) "
            "ORDER BY segment, line",
            (segment, segment, line),
        ).fetchall()
        return [decode_asset(json.loads(text)) for (text,) in rows]

    def last_verified(self, object_id: str) -> tuple[str, bool] | None:
        row = self._db.execute(
            "SELECT at, ok FROM events WHERE object_id = ? AND kind = 'verified' "
            "ORDER BY segment DESC, line DESC LIMIT 1",
            (object_id,),
        ).fetchone()
        return (row[0], bool(row[1])) if row else None

    def dump(self) -> list[tuple[object, ...]]:
        """Every row of every table in a fixed order: equal dumps mean equal indexes."""
        rows: list[tuple[object, ...]] = []
        for table, order in (
            ("segments", "1"),
            ("versions", "2, 3"),
            ("assets", "1"),
            ("events", "1, 2"),
            ("scans", "1"),
            ("places", "1"),
        ):
            query = f"SELECT * FROM {table} ORDER BY {order}"
            rows += [(table, *r) for r in self._db.execute(query)]
        return rows

    def scans(self) -> dict[str, ScanRecord]:
        """The latest scan of every scanned object, by object id."""
        rows = self._db.execute("SELECT record FROM scans").fetchall()
        records = (decode_scan(json.loads(text)) for (text,) in rows)
        return {scan.object_id: scan for scan in records}

    def places(self) -> list[Place]:
        rows = self._db.execute("SELECT record FROM places ORDER BY name").fetchall()
        return [p for (text,) in rows if (p := decode_place(json.loads(text))) is not None]

    def paths_for_object(self, object_id: str) -> list[str]:
        """Paths of every current asset whose bytes live in ``object_id`` (for damage reports)."""
        rows = self._db.execute(
            "SELECT record FROM assets WHERE object_id = ? ORDER BY path", (object_id,)
        ).fetchall()
        return [json.loads(r[0])["path"] for r in rows]

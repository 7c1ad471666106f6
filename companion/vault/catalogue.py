"""The catalogue: append-only, encrypted segments of JSON lines (normative: vault-format.md).

A segment is ``catalogue/<8-digit sequence>.age``, an age file whose plaintext is UTF-8 JSON
lines: a header line ``{"t": "segment", "format": 1, "mac": ...}`` then records, each a JSON
object with a ``t`` field (``asset`` or ``event``). The MAC authenticates the records and the
segment's name under a key only the identity gives. Segments are never modified; later records
win. Readers skip record types and event kinds they do not know, so newer writers stay readable.
"""

from __future__ import annotations

import hmac
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from companion.errors import IntegrityError
from companion.model import (
    Asset,
    AssetKind,
    DetectorRun,
    EventKind,
    Finding,
    Place,
    ScanRecord,
    StoredAsset,
    VaultEvent,
)
from companion.vault import crypto
from companion.vault.fsio import atomic_write, fsync_dir

FORMAT = 1
_SUFFIX = ".age"

Record = dict[str, Any]


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse_time(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def encode_asset(stored: StoredAsset) -> Record:
    a = stored.asset
    return {
        "t": "asset",
        "asset": stored.asset_id,
        "object": stored.object_id,
        "sha256": stored.sha256,
        "stored_size": stored.stored_size,
        "at": _time(stored.recorded_at),
        "source": a.source,
        "path": a.path,
        "name": a.name,
        "size": a.size,
        "mtime_ns": a.mtime_ns,
        "kind": a.kind.value,
        "captured_at": _time(a.captured_at),
        "live_group": a.live_group,
        "edited_of": a.edited_of,
        "sidecar_of": a.sidecar_of,
        "albums": list(a.albums),
        "hidden": a.hidden,
        "favourite": a.favourite,
        "screenshot": a.screenshot,
        "uid": a.uid,
    } | ({"cloud_id": a.cloud_id} if a.cloud_id else {})


def _original_name(r: Record) -> str | None:
    """The recorded name when it is not simply the last component of the path."""
    name = r.get("name")
    if not isinstance(name, str) or name == str(r.get("path", "")).rsplit("/", 1)[-1]:
        return None
    return name


def decode_asset(r: Record) -> StoredAsset:
    try:
        kind = (
            AssetKind(r["kind"])
            if r.get("kind") in AssetKind._value2member_map_
            else (AssetKind.OTHER)
        )
        asset = Asset(
            source=r["source"],
            path=r["path"],
            size=int(r["size"]),
            mtime_ns=int(r["mtime_ns"]),
            kind=kind,
            captured_at=_parse_time(r.get("captured_at")),
            live_group=r.get("live_group"),
            edited_of=r.get("edited_of"),
            sidecar_of=r.get("sidecar_of"),
            albums=tuple(r.get("albums") or ()),
            hidden=r.get("hidden"),
            favourite=r.get("favourite"),
            screenshot=r.get("screenshot"),
            uid=r.get("uid"),
            original_name=_original_name(r),
            cloud_id=r.get("cloud_id"),
        )
        recorded = _parse_time(r["at"])
        if recorded is None:
            raise ValueError("no time")
        return StoredAsset(
            asset_id=r["asset"],
            asset=asset,
            object_id=r["object"],
            sha256=r["sha256"],
            stored_size=int(r["stored_size"]),
            recorded_at=recorded,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise IntegrityError(f"a catalogue record is malformed: {exc}") from exc


def encode_event(event: VaultEvent) -> Record:
    record: Record = {"t": "event", "event": event.kind.value, "at": _time(event.at)}
    for key, value in (
        ("object", event.object_id),
        ("asset", event.asset_id),
        ("ok", event.ok),
        ("detail", event.detail),
        ("source", event.source),
    ):
        if value is not None:
            record[key] = value
    if event.counts:
        record["counts"] = dict(event.counts)
    return record


def decode_event(r: Record) -> VaultEvent | None:
    """The event, or None for a kind this version does not know."""
    if r.get("event") not in EventKind._value2member_map_:
        return None
    at = _parse_time(r.get("at"))
    if at is None:
        raise IntegrityError("a catalogue event has no time")
    counts = r.get("counts") or {}
    return VaultEvent(
        kind=EventKind(r["event"]),
        at=at,
        object_id=r.get("object"),
        asset_id=r.get("asset"),
        ok=r.get("ok"),
        detail=r.get("detail"),
        source=r.get("source"),
        counts=tuple(sorted((str(k), int(v)) for k, v in counts.items())),
    )


def encode_scan(scan: ScanRecord) -> Record:
    return {
        "t": "scan",
        "object": scan.object_id,
        "at": _time(scan.at),
        "runs": [
            {
                "detector": run.detector,
                "version": run.version,
                "note": run.note,
                "findings": [
                    {
                        "category": f.category,
                        "detector": f.detector,
                        "confidence": f.confidence,
                        "explanation": f.explanation,
                    }
                    for f in run.findings
                ],
            }
            for run in scan.runs
        ],
    }


def decode_scan(r: Record) -> ScanRecord:
    try:
        at = _parse_time(r["at"])
        if at is None:
            raise ValueError("no time")
        runs = tuple(
            DetectorRun(
                str(run["detector"]),
                str(run["version"]),
                tuple(
                    Finding(
                        str(f["category"]),
                        str(f["detector"]),
                        float(f["confidence"]),
                        str(f["explanation"]),
                    )
                    for f in run.get("findings") or ()
                ),
                str(run.get("note") or ""),
            )
            for run in r["runs"]
        )
        return ScanRecord(str(r["object"]), at, runs)
    except (KeyError, TypeError, ValueError) as exc:
        raise IntegrityError(f"a catalogue scan record is malformed: {exc}") from exc


def encode_place(place: Place | None, name: str, at: datetime) -> Record:
    """A private place set (or, with ``place`` None, removed) at ``at``."""
    if place is None:
        return {"t": "place", "name": name, "at": _time(at), "removed": True}
    return {
        "t": "place",
        "name": place.name,
        "at": _time(at),
        "lat": place.lat,
        "lon": place.lon,
        "radius_m": place.radius_m,
    }


def decode_place(r: Record) -> Place | None:
    """The place, or None when the record removes it."""
    try:
        if r.get("removed"):
            return None
        return Place(str(r["name"]), float(r["lat"]), float(r["lon"]), float(r["radius_m"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise IntegrityError(f"a catalogue place record is malformed: {exc}") from exc


def segment_mac(key: bytes, name: str, body: bytes) -> str:
    """HMAC-SHA256 under the catalogue key of the segment's file name and its record lines.

    age encrypts to a public recipient, so anyone who can write to the vault folder could add
    a well-formed segment (the recipient is in the marker). The MAC, keyed by the identity, is
    what makes a segment the owner's; binding the name stops segments being swapped or renamed.
    """
    return hmac.new(key, name.encode("ascii") + b"\n" + body, "sha256").hexdigest()


@dataclass(frozen=True, slots=True)
class Seal:
    """What identifies one published segment: its file name, its file's size, its MAC."""

    name: str
    size: int
    mac: str

    @property
    def number(self) -> int:
        return number(self.name)


def number(name: str) -> int:
    """A segment's sequence number, from its file name."""
    return int(name[: -len(_SUFFIX)])


def segment_name(seq: int) -> str:
    return f"{seq:08d}{_SUFFIX}"


DAMAGED_DIR = "damaged"  # catalogue/damaged/: segments a repair set aside (kept, never deleted)


class Catalogue:
    """Reads and publishes segments. Publishing requires the vault lock (single writer)."""

    def __init__(self, root: Path, tmp_dir: Path, recipient: str, identity: crypto.Identity):
        self.root = root
        self.tmp_dir = tmp_dir
        self._recipient = recipient
        self._identity = identity
        self._mac_key = identity.derive_key("catalogue-mac")

    def segment_names(self) -> list[str]:
        """Published segments, oldest first. Temporary files never carry the ``.age`` name here."""
        return sorted(self.segment_sizes())

    def segment_sizes(self) -> dict[str, int]:
        """Every published segment's file size, by name (one ``stat`` each, nothing read)."""
        if not self.root.is_dir():
            return {}
        sizes = {}
        with os.scandir(self.root) as entries:
            for entry in entries:
                name = entry.name
                if name.endswith(_SUFFIX) and name[: -len(_SUFFIX)].isdigit():
                    try:
                        sizes[name] = entry.stat(follow_symlinks=False).st_size
                    except FileNotFoundError:
                        continue
        return sizes

    def read(self, name: str) -> list[Record]:
        """The records of segment ``name``, decrypted and authenticated (``IntegrityError``
        when it is damaged, forged or not this vault's; ``OSError`` when it cannot be read)."""
        return self.read_sealed(name)[1]

    def read_sealed(self, name: str) -> tuple[Seal, list[Record]]:
        """``read``, with the segment's seal (size and MAC) as read."""
        raw = (self.root / name).read_bytes()
        data = crypto.decrypt_bytes(raw, self._identity, f"catalogue segment {name}")
        first, _, body = data.partition(b"\n")
        try:
            header = json.loads(first)
            records = [json.loads(line) for line in body.decode("utf-8").splitlines() if line]
        except ValueError as exc:
            raise IntegrityError(f"catalogue segment {name} is not valid JSON lines") from exc
        if not isinstance(header, dict) or header.get("t") != "segment":
            raise IntegrityError(f"catalogue segment {name} has no segment header")
        if header.get("format") != FORMAT:
            raise IntegrityError(f"catalogue segment {name} has format {header.get('format')}")
        mac = header.get("mac")
        if not isinstance(mac, str) or not hmac.compare_digest(
            mac, segment_mac(self._mac_key, name, body)
        ):
            raise IntegrityError(
                f"catalogue segment {name} was not written with this vault's key",
                hint=f"Someone or something changed catalogue/{name}. Run "
                "'companion verify --full --repair' to set it aside and recover its photos.",
            )
        return Seal(name, len(raw), mac), [r for r in records if isinstance(r, dict)]

    def publish(self, records: list[Record], *, seq: int | None = None) -> Seal:
        """Write ``records`` as the next segment (or as number ``seq``, which must be free: a
        repair filling a gap): temp file, fsync, rename, fsync directory."""
        if seq is None:
            names = self.segment_names()
            seq = number(names[-1]) + 1 if names else 1
        name = segment_name(seq)
        body = "".join(json.dumps(r, sort_keys=True) + "\n" for r in records).encode("utf-8")
        mac = segment_mac(self._mac_key, name, body)
        header = {"t": "segment", "format": FORMAT, "mac": mac}
        plaintext = json.dumps(header).encode("utf-8") + b"\n" + body
        data = crypto.encrypt_bytes(plaintext, self._recipient, "the catalogue")
        atomic_write(self.root / name, data, self.tmp_dir, overwrite=False)
        return Seal(name, len(data), mac)

    def set_aside(self, name: str) -> Path:
        """Move a damaged segment into ``catalogue/damaged/`` (never deleted: a person or a
        later version may still get something out of it). Returns where it went."""
        aside = self.root / DAMAGED_DIR
        aside.mkdir(exist_ok=True)
        target = aside / name
        serial = 1
        while target.exists():
            serial += 1
            target = aside / f"{name}.{serial}"
        (self.root / name).rename(target)
        fsync_dir(self.root)
        fsync_dir(aside)
        return target

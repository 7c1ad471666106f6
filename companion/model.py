"""Plain data shared by every part of companion. Standard library only."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

T = TypeVar("T")


class AssetKind(StrEnum):
    """What an asset's payload is. Closed set; stored in the vault catalogue by value."""

    PHOTO = "photo"
    VIDEO = "video"
    SIDECAR = "sidecar"  # an .AAE edit recipe, kept so an edit can be replayed
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Asset:
    """One file as a source lists it.

    ``source`` and ``path`` together identify the asset: ``path`` is relative to the source's root,
    POSIX-separated, exactly as the source spells it (it may be hostile: never join it to a local
    folder without ``companion.vault.restore.safe_components``). ``size`` and ``mtime_ns`` are
    what the source reports before any byte is read; a backup trusts them to skip unchanged files.
    """

    source: str
    path: str
    size: int
    mtime_ns: int
    kind: AssetKind
    captured_at: datetime | None = None
    live_group: str | None = None
    edited_of: str | None = None
    sidecar_of: str | None = None
    albums: tuple[str, ...] = ()
    hidden: bool | None = None
    favourite: bool | None = None
    screenshot: bool | None = None
    uid: str | None = None
    original_name: str | None = None  # when the source names the file other than its path does
    cloud_id: str | None = None  # its identity in iCloud Photos, where the source knows it

    @property
    def name(self) -> str:
        """The original file name: ``original_name`` if the source gave one, else the last
        component of ``path``."""
        return self.original_name or self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """What a source says about itself."""

    source: str
    name: str
    model: str | None = None
    os_version: str | None = None
    identifier: str | None = None
    product_type: str | None = None  # Apple's model identifier, e.g. "iPhone15,2"
    trusted: bool | None = None  # paired with this computer (None: the source has no such notion)
    locked: bool | None = None  # passcode-locked, so it tells nothing more


@dataclass(frozen=True, slots=True)
class AppInfo:
    """An installed app and what its Info.plist says it wants to use.

    The usage strings are the app's own words shown in the permission prompt; an app that does
    not declare ``photo_usage`` cannot ask to read the photo library at all. The access actually
    granted is not readable from outside the phone.
    """

    bundle_id: str
    name: str
    version: str | None = None
    system: bool = False
    photo_usage: str | None = None  # NSPhotoLibraryUsageDescription: read (and write)
    photo_add_usage: str | None = None  # NSPhotoLibraryAddUsageDescription: add only
    camera_usage: str | None = None  # NSCameraUsageDescription
    location_usage: str | None = None  # NSLocationWhenInUseUsageDescription
    prevents_limited_prompt: bool = False  # PHPhotoLibraryPreventAutomaticLimitedAccessAlert


@dataclass(frozen=True, slots=True)
class StoredAsset:
    """An asset as the vault holds it: the source's description plus where its bytes live."""

    asset_id: str
    asset: Asset
    object_id: str
    sha256: str
    stored_size: int
    recorded_at: datetime
    verified_at: datetime | None = None
    verified_ok: bool | None = None


@dataclass(frozen=True, slots=True)
class BackupReport:
    """What one backup run did. ``failed`` maps an asset path to a one-line reason it was not
    stored; ``warnings`` maps a stored asset's path to what was odd about it (a size that the
    source's listing got wrong, bytes that are not a readable picture). ``left_out`` counts the
    photos and videos the source saw but did not list (beside a folder's ``DCIM/``), by folder
    relative to the source (``""``: its top), most first."""

    source: str
    new: int = 0
    skipped: int = 0
    deduplicated: int = 0
    bytes_read: int = 0
    dry_run: bool = False
    failed: dict[str, str] = field(default_factory=dict)
    warnings: dict[str, str] = field(default_factory=dict)
    would_store: tuple[str, ...] = ()
    left_out: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Finding:
    """Why an asset looks private, as one detector saw it.

    ``category`` is one of the stable names of ``companion.sensitivity.base.CATEGORIES``;
    ``confidence`` is in [0, 1]; ``explanation`` is a short sentence for a person that never
    holds the secret itself in full ("card number 4539 •••• •••• 6467 passes the Luhn check").
    """

    category: str
    detector: str
    confidence: float
    explanation: str


# Categories that say what a shot is, not that it is private: a scan shows them, but they never
# flag a shot on their own (``is_flagged``).
CONTEXT_CATEGORIES = ("screenshot", "hidden", "faces")


@dataclass(frozen=True, slots=True)
class Place:
    """A private place the person declared: photos taken within ``radius_m`` of it are flagged."""

    name: str
    lat: float
    lon: float
    radius_m: float


@dataclass(frozen=True, slots=True)
class DetectorRun:
    """What one detector (at one version) said about one stored object."""

    detector: str
    version: str
    findings: tuple[Finding, ...] = ()
    note: str = ""


def is_flagged(runs: Iterable[DetectorRun], only: Sequence[str] | None = None) -> bool:
    """The one rule for a flagged shot: a run found something that is not context (not one of
    ``CONTEXT_CATEGORIES``). ``only``: look at these categories alone, as ``scan --only`` does."""
    return any(
        finding.category not in CONTEXT_CATEGORIES and (not only or finding.category in only)
        for run in runs
        for finding in run.findings
    )


@dataclass(frozen=True, slots=True)
class ScanRecord:
    """The latest scan of one stored object (the same bytes give the same verdicts, so every
    asset whose bytes live in that object shares it)."""

    object_id: str
    at: datetime
    runs: tuple[DetectorRun, ...]

    def findings(self) -> list[Finding]:
        return [finding for run in self.runs for finding in run.findings]

    def run(self, detector: str) -> DetectorRun | None:
        return next((r for r in self.runs if r.detector == detector), None)

    def flagged(self, only: Sequence[str] | None = None) -> bool:
        return is_flagged(self.runs, only)


class EventKind(StrEnum):
    """Things that happen to assets after they are stored. Readers ignore kinds they don't know."""

    BACKUP = "backup"  # one per backup run, with counts
    VERIFIED = "verified"  # an object was decrypted and re-hashed (ok or not)
    # cleanup's audit trail, one per asset of a chosen group (``detail``: the method)
    REMOVAL_PLANNED = "removal_planned"  # chosen in a review, about to be removed
    REMOVED = "removed"  # taken off the source (moved to a quarantine folder, deleted)
    REMOVAL_CONFIRMED = "removal_confirmed"  # the source was read again: it is gone or trashed
    REMOVAL_REFUSED = "removal_refused"  # not removed: the vault's copy was not verified whole
    REPAIRED = "repaired"  # the catalogue was made whole again (``detail``: what was done)
    # a source held only a preview of this file, its original in iCloud (``detail``: how the
    # source's library names it, for matching with an iCloud backup: vault/cloudonly.py)
    CLOUD_ONLY = "cloud_only"


@dataclass(frozen=True, slots=True)
class VaultEvent:
    kind: EventKind
    at: datetime
    object_id: str | None = None
    asset_id: str | None = None
    ok: bool | None = None
    detail: str | None = None
    source: str | None = None
    counts: tuple[tuple[str, int], ...] = ()


def library_items(assets: Sequence[Asset]) -> list[tuple[Asset, ...]]:
    """``assets`` by library item, as ``items_of`` groups them."""
    return items_of(assets, _itself)


def _itself(asset: Asset) -> Asset:
    return asset


def items_of(files: Sequence[T], asset_of: Callable[[T], Asset]) -> list[tuple[T, ...]]:
    """``files`` by library item (the photo or video the person sees, with its Live Photo movie,
    its edited renders and its edit recipes), each item's primary first, then by role and path;
    items in the order of their first file in ``files``. ``asset_of`` gives each file's asset.

    Files of one source are linked by a shared ``live_group`` and by the original an
    ``edited_of`` or ``sidecar_of`` names, transitively: an edited Live Photo's movie is the edit
    of the original movie, which shares its ``live_group`` with the photo. The cleanup removes
    items whole; a share writes one file of each.
    """
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def root(node: tuple[str, str]) -> tuple[str, str]:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def link(a: tuple[str, str], b: tuple[str, str]) -> None:
        parent[root(a)] = root(b)

    for file in files:
        asset = asset_of(file)
        node = (asset.source, "file:" + asset.path)
        root(node)
        if asset.live_group is not None:
            link(node, (asset.source, "live:" + asset.live_group))
        for original in (asset.edited_of, asset.sidecar_of):
            if original is not None:
                link(node, (asset.source, "file:" + original))
    items: dict[tuple[str, str], list[T]] = {}
    for file in files:
        asset = asset_of(file)
        items.setdefault(root((asset.source, "file:" + asset.path)), []).append(file)
    return [_primary_first(item, asset_of) for item in items.values()]


def item_role(asset: Asset) -> int:
    """0: what the person sees (a photo or video), 1: a Live Photo's movie, 2: an edited render,
    3: an edit recipe."""
    if asset.sidecar_of is not None or asset.kind is AssetKind.SIDECAR:
        return 3
    if asset.edited_of is not None:
        return 2
    if asset.live_group is not None and asset.kind is AssetKind.VIDEO:
        return 1
    return 0


def _primary_first(item: list[T], asset_of: Callable[[T], Asset]) -> tuple[T, ...]:
    """The item's files: the primary (the original, a photo before a video), then by role and
    path."""

    def key(file: T) -> tuple[int, bool, str]:
        asset = asset_of(file)
        return item_role(asset), asset.kind is not AssetKind.PHOTO, asset.path

    primary = min(item, key=key)
    rest = sorted((f for f in item if f is not primary), key=lambda f: (key(f)[0], key(f)[2]))
    return (primary, *rest)

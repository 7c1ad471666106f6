"""The tour's iCloud step: the phone's library in a simulated iCloud, backed up into the vault.

With "Optimize iPhone Storage" on, an iPhone keeps only previews of some photos and leaves their
originals in iCloud: the USB backup cannot read those (it lists them as failed). The simulated
iCloud (``companion.simulator.icloud``, a real HTTPS server on 127.0.0.1) holds the phone's
whole library, every original with the name and capture time the phone's Photos library
records, as iCloud Photos would. The tour signs in the way a person does (the Apple ID's
password, then the two-factor code the simulated trusted device shows), through the unmodified
pyicloud, and backs up ``icloud:``: what the vault already holds from the phone is stored once
(the same bytes), the originals the phone could not give arrive, and ``status`` counts them.
Its session is kept in the tour's folder, not in the person's own iCloud sessions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from companion.connectors import ConnectOptions
from companion.connectors.icloud import Endpoints, IcloudOptions
from companion.connectors.icloud.connector import IcloudConnector
from companion.connectors.usb.photosdb import PhotoRecord, read_library
from companion.model import BackupReport
from companion.simulator.icloud import SimulatedICloud
from companion.simulator.media import MediaItem
from companion.simulator.phone import icloud_original
from companion.usecases.backup import back_up_into
from companion.vault import Vault
from companion.vault.cloudonly import CloudOnlyFiles, summarize

Narrate = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class IcloudStep:
    """What the iCloud step did: the backup, and where the phone's previews' originals are."""

    apple_id: str
    backup: BackupReport
    previews: tuple[CloudOnlyFiles, ...]


def phone_library(media_root: Path) -> tuple[list[MediaItem], dict[str, str]]:
    """The phone's photos and videos as iCloud Photos holds them: originals (a Live Photo's
    movie beside its photo), each with the capture time its Photos library records; what is in
    Recently Deleted is left out, and so are the newest, which the phone has not uploaded yet
    (no iCloud identity in its library). And each picture's iCloud identity as the phone's
    library records it (``ZCLOUDASSETGUID``), by path: the simulated iCloud's record names."""
    photo_data = media_root / "PhotoData"
    wal = photo_data / "Photos.sqlite-wal"
    records = read_library(
        (photo_data / "Photos.sqlite").read_bytes(), wal.read_bytes() if wal.is_file() else b""
    )
    names = {r.path: r.cloud_guid for r in records.values() if r.cloud_guid}
    uploaded = [r for r in records.values() if r.cloud_guid or not names]  # not the newest
    return list(_items(media_root, uploaded)), names


def _items(media_root: Path, records: Iterable[PhotoRecord]) -> Iterator[MediaItem]:
    for record in sorted(records, key=lambda r: r.path):
        original = media_root / record.path
        if not original.is_file():  # a cloud-only photo: only iCloud has its original
            original = icloud_original(media_root, record.path)
        if record.trashed or record.captured_at is None or not original.is_file():
            continue
        stem = PurePosixPath(record.path).with_suffix("")
        group = f"{stem}" if record.live else None
        yield MediaItem(
            path=record.path,
            data=original.read_bytes(),
            captured_at=record.captured_at,
            kind="video" if record.video else "photo",
            screenshot=record.screenshot,
            live_group=group,
        )
        movie = original.with_suffix(".MOV")
        if record.live and movie.is_file():
            yield MediaItem(
                path=f"{stem}.MOV",
                data=movie.read_bytes(),
                captured_at=record.captured_at,
                kind="video",
                live_group=group,
            )


def back_up_from_icloud(
    vault: Vault, media_root: Path, sessions: Path, narrate: Narrate
) -> IcloudStep:
    """Serve the phone's library as a simulated iCloud, sign in to it and back it up."""
    items, record_names = phone_library(media_root)
    with SimulatedICloud(items, record_names=record_names) as icloud:
        narrate(f"    signing in as {icloud.apple_id}; the simulated iPhone shows the code")

        def answer(question: str, *, secret: bool = False) -> str:
            return icloud.password if secret else icloud.code

        options = ConnectOptions(
            notify=narrate,
            prompt=answer,
            per_connector=(
                IcloudOptions(
                    endpoints=Endpoints(
                        idmsa=icloud.idmsa_endpoint,
                        auth=icloud.auth_endpoint,
                        home=icloud.home_endpoint,
                        setup=icloud.setup_endpoint,
                    ),
                    ca_path=icloud.ca_path,
                    session_dir=sessions,
                ),
            ),
        )
        connector = IcloudConnector(icloud.apple_id, options)
        with connector:
            report = back_up_into(connector, vault)
        apple_id = icloud.apple_id
    vault.flush()
    return IcloudStep(apple_id, report, summarize(vault, list(vault.assets())))

"""Shared set-up for tests of the iCloud connector against the simulated iCloud.

The simulated iCloud is a real HTTPS server on 127.0.0.1 (``companion.simulator.icloud``); the
connector reaches it through the unmodified pyicloud, pointed at it by ``IcloudOptions`` (its
four endpoints, its certificate authority). Sessions go to a folder of the test's own.

Three changes to the simulated iCloud have no public switch yet and reach into its private
parts (under its lock): ``rewrite`` (a file's bytes change, as after an edit of the same
picture), ``expunge`` (a picture leaves iCloud for good, after Recently Deleted) and
``expire_links`` (every download link handed out so far stops working, as after an hour).
"""

from __future__ import annotations

import dataclasses
import functools
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from keyring.backend import KeyringBackend

from companion.connectors import ConnectOptions
from companion.connectors.icloud import Endpoints, IcloudOptions
from companion.connectors.icloud.connector import IcloudConnector
from companion.model import Asset
from companion.simulator.icloud import CloudAsset, SimulatedICloud
from companion.simulator.media import MediaItem, generate_camera_roll

ROLES = {"original": "original", "live": "live_movie", "edit": "render"}


@functools.cache
def camera_roll(seed: int = 7, count: int = 24) -> tuple[MediaItem, ...]:
    """A small camera roll (Live Photo, edit, videos, screenshots), made once per session."""
    return tuple(generate_camera_roll(seed, count, image_size=(320, 240)))


def settings(icloud: SimulatedICloud, sessions: Path, code: str | None = None) -> IcloudOptions:
    """What points the connector at ``icloud``, with sessions kept in ``sessions``."""
    endpoints = Endpoints(
        idmsa=icloud.idmsa_endpoint,
        auth=icloud.auth_endpoint,
        home=icloud.home_endpoint,
        setup=icloud.setup_endpoint,
    )
    return IcloudOptions(
        endpoints=endpoints, ca_path=icloud.ca_path, session_dir=sessions, code=code
    )


class Person:
    """Answers the connector's questions as a person at a terminal would, and notes them."""

    def __init__(self, password: str, codes: Iterable[str] = ()) -> None:
        self.password = password
        self.codes = list(codes)
        self.asked: list[tuple[str, bool]] = []

    def __call__(self, question: str, *, secret: bool = False) -> str:
        self.asked.append((question, secret))
        if secret:
            return self.password
        return self.codes.pop(0)


class Sleeps:
    """The waits the connector asked for (it is told how to wait; the tests do not wait)."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def connector(
    icloud: SimulatedICloud,
    sessions: Path,
    prompt: Any = None,
    *,
    code: str | None = None,
    sleep: Any = None,
    albums: tuple[str, ...] = (),
    shared: bool = True,
    **options: Any,
) -> IcloudConnector:
    """An iCloud connector to ``icloud``'s account; ``prompt`` None: nobody to ask."""
    chosen = dataclasses.replace(settings(icloud, sessions, code), albums=albums, shared=shared)
    connect_options = ConnectOptions(prompt=prompt, per_connector=(chosen,), **options)
    return IcloudConnector(icloud.apple_id, connect_options, sleep=sleep or Sleeps())


def cloud_files(icloud: SimulatedICloud, assets: Iterable[Asset]) -> dict[str, tuple[str, str]]:
    """Each listed path -> (the simulated asset's record name, which of its files it is)."""
    listed = list(assets)
    originals = {a.path: a.uid for a in listed if a.uid is not None}
    found: dict[str, tuple[str, str]] = {}
    for asset in listed:
        if asset.uid is not None:
            found[asset.path] = (asset.uid, "original")
        elif asset.edited_of is not None:
            found[asset.path] = (str(originals[asset.edited_of]), "edit")
        else:
            owner = next(
                uid for path, uid in originals.items() if path.rsplit(".", 1)[0] == asset.live_group
            )
            found[asset.path] = (str(owner), "live")
    return found


def expected_bytes(icloud: SimulatedICloud, assets: Iterable[Asset]) -> dict[str, bytes]:
    """Each listed path -> the bytes the simulated iCloud holds for it."""
    by_name = {a.asset_name: a for a in icloud.assets}
    return {
        path: getattr(by_name[record], ROLES[role]).data
        for path, (record, role) in cloud_files(icloud, assets).items()
    }


def _cloud_asset(icloud: SimulatedICloud, record: str) -> CloudAsset:
    return next(a for a in icloud.assets if a.asset_name == record)


def rewrite(icloud: SimulatedICloud, record: str, role: str, data: bytes) -> None:
    """The file ``role`` of the picture ``record`` now holds ``data`` (its record says so too)."""
    with icloud.lock:
        picture = _cloud_asset(icloud, record)
        old = getattr(picture, ROLES[role])
        new = dataclasses.replace(old, data=data)
        setattr(picture, ROLES[role], new)
        icloud._library.resources[old.key] = new  # private: see the module docstring


def expunge(icloud: SimulatedICloud, record: str) -> None:
    """The picture ``record`` is gone from iCloud: no record, no download."""
    with icloud.lock:
        library = icloud._library  # private: see the module docstring
        picture = library.by_asset.pop(record)
        library.by_master.pop(picture.master_name, None)
        library.assets.remove(picture)
        for resource in picture.resources:
            library.resources.pop(resource.key, None)


def expire_links(icloud: SimulatedICloud) -> None:
    """Every download link handed out so far is refused (403), as when it expires; links in
    records read from now on work."""
    with icloud.lock:
        icloud._links._secret = secrets.token_bytes(32)  # private: see the module docstring


class MemoryKeyring(KeyringBackend):
    """A system keyring as the tests need one: it keeps secrets (in memory), unlike a file."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.saved: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.saved.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.saved[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.saved.pop((service, username), None)

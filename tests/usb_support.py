"""Shared set-up for tests that talk to the simulated iPhone over its real protocols.

The sample phone is built once per test session and copied for each test that changes it
(copying a small phone is much faster than making one). Pair records go to a folder of the
test's own, never to the home folder.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from companion.connectors import ConnectOptions
from companion.connectors.usb import UsbOptions
from companion.connectors.usb.connector import UsbConnector
from companion.simulator import Faults, Simulator
from companion.simulator.phone import ICLOUD_ORIGINALS, SamplePhone, build_phone

SEED = 11


IOS_VERSIONS = ("16.7.8", "17.5.1", "17.6.1", "18.1")
"""One iOS version per Photos.sqlite schema the simulated phone offers (17.5.1 is the default)."""


@functools.cache
def _built(seed: int, cloud_only: int, ios: str | None) -> SamplePhone:
    root = Path(tempfile.mkdtemp(prefix="companion-test-phone-"))
    atexit.register(shutil.rmtree, root, True)  # built once per test session, then removed
    return build_phone(root / "phone", seed=seed, size="small", cloud_only=cloud_only, ios=ios)


def phone_copy(
    where: Path, seed: int = SEED, cloud_only: int = 0, ios: str | None = None
) -> SamplePhone:
    """A private copy of the session's sample phone under ``where`` (safe to change), running
    ``ios`` (the default release if None)."""
    built = _built(seed, cloud_only, ios)
    target = where / "media"
    shutil.copytree(built.media_root, target, copy_function=shutil.copy2)
    originals = built.media_root.parent / ICLOUD_ORIGINALS  # what only iCloud has
    if originals.is_dir():
        shutil.copytree(originals, where / ICLOUD_ORIGINALS, copy_function=shutil.copy2)
    return replace(built, media_root=target)


@contextmanager
def usb(
    phone: SamplePhone, tmp_path: Path, faults: Faults | None = None, **options: object
) -> Iterator[tuple[Simulator, UsbConnector]]:
    """A running simulated iPhone and a USB connector to it; both closed afterwards."""
    with Simulator(phone, faults=faults) as simulator:
        settings = UsbOptions(
            usbmux_address=simulator.address,
            pair_records=tmp_path / "pair-records",
            trust_timeout=5,
        )
        connect_options = ConnectOptions(
            per_connector=(settings,),
            **options,  # type: ignore[arg-type]
        )
        connector = UsbConnector(None, connect_options)
        try:
            yield simulator, connector
        finally:
            connector.close()


def media_files(root: Path) -> dict[str, bytes]:
    """Every camera-roll file of a phone's media root: originals (the camera's and iCloud
    Photos') and the edit renders."""
    found = {}
    for top in ("DCIM", "PhotoData/CPLAssets", "PhotoData/Mutations"):
        for path in sorted((root / top).rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                found[path.relative_to(root).as_posix()] = path.read_bytes()
    return found

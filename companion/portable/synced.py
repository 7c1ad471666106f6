"""Whether a folder is one that a cloud client uploads: iCloud Drive, Dropbox, OneDrive, Google
Drive, Nextcloud (and ownCloud, Syncthing, pCloud, MEGA, Box).

A restore or a share writes photos in clear: into such a folder, they would be uploaded as soon
as they land, the very thing a person backing up before trusting an app wants to avoid. A vault
there is fine (its files are encrypted), and ``status`` says where it is.

Recognised, on every platform, from the folder and each folder above it:
- the clients' marker files and folders (Dropbox's ``.dropbox``/``.dropbox.cache``, Nextcloud's
  and ownCloud's ``.sync_*.db``/``.owncloudsync.log``, Syncthing's ``.stfolder``, Google Drive's
  ``.tmp.drivedownload``, pCloud's ``.pcloud``, MEGA's ``.megaignore``...);
- their usual locations: iCloud Drive (``~/Library/Mobile Documents`` on macOS, ``~/iCloudDrive``
  on Windows), macOS's File Provider folders (``~/Library/CloudStorage/<Client>-...``), and the
  folders named after a client right in the home folder (``~/Dropbox``, ``~/OneDrive``,
  ``~/OneDrive - <organisation>``, ``~/Google Drive``, ``~/Nextcloud``, ``~/pCloud Drive``,
  ``~/MEGA``, ``~/Box``), and the locations OneDrive announces in ``OneDrive`` /
  ``OneDriveConsumer`` / ``OneDriveCommercial`` on Windows.
A folder synced some other way (a client installed elsewhere, a network share mirrored by hand)
is not recognised: the warning is a help, not a guarantee (docs/security.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path

_MARKERS: dict[str, str] = {
    ".dropbox": "Dropbox",
    ".dropbox.cache": "Dropbox",
    ".owncloudsync.log": "Nextcloud or ownCloud",
    ".sync_journal.db": "Nextcloud or ownCloud",
    ".stfolder": "Syncthing",
    ".tmp.drivedownload": "Google Drive",
    ".tmp.driveupload": "Google Drive",
    ".pcloud": "pCloud",
    ".megaignore": "MEGA",
}
_MARKER_PREFIXES = {".sync_": "Nextcloud or ownCloud"}  # .sync_<hash>.db
_HOME_NAMES: dict[str, str] = {
    "dropbox": "Dropbox",
    "onedrive": "OneDrive",
    "google drive": "Google Drive",
    "googledrive": "Google Drive",
    "my drive": "Google Drive",
    "nextcloud": "Nextcloud",
    "owncloud": "ownCloud",
    "pcloud drive": "pCloud",
    "mega": "MEGA",
    "box": "Box",
    "icloud drive": "iCloud Drive",
    "iclouddrive": "iCloud Drive",
}
_CLOUD_STORAGE = {  # macOS File Provider folders: ~/Library/CloudStorage/<Client>-<account>
    "dropbox": "Dropbox",
    "onedrive": "OneDrive",
    "googledrive": "Google Drive",
    "box": "Box",
    "nextcloud": "Nextcloud",
}
_ONEDRIVE_VARIABLES = ("OneDrive", "OneDriveConsumer", "OneDriveCommercial")


def sync_client(
    folder: Path, *, home: Path | None = None, environ: Mapping[str, str] | None = None
) -> str | None:
    """The cloud client that uploads ``folder`` (or a folder above it), or None. ``home`` and
    ``environ`` default to this user's; the folder need not exist yet (its nearest existing
    parent is looked at)."""
    home = (home or Path.home()).resolve()
    environ = os.environ if environ is None else environ
    target = folder.resolve()  # a link into a synced folder leads there
    for place in (target, *target.parents):
        found = _by_location(place, home, environ) or _by_marker(place)
        if found is not None:
            return found
    return None


def _by_location(place: Path, home: Path, environ: Mapping[str, str]) -> str | None:
    for variable in _ONEDRIVE_VARIABLES:
        announced = environ.get(variable)
        if announced and _same(place, Path(announced)):
            return "OneDrive"
    if _same(place, home / "Library" / "Mobile Documents"):
        return "iCloud Drive"
    if _same(place.parent, home / "Library" / "CloudStorage"):
        client = place.name.split("-", 1)[0].replace(" ", "").lower()
        return _CLOUD_STORAGE.get(client, place.name.split("-", 1)[0])
    if _same(place.parent, home):
        name = place.name.lower()
        if name in _HOME_NAMES:
            return _HOME_NAMES[name]
        if name.startswith("onedrive - "):
            return "OneDrive"
    return None


def _by_marker(place: Path) -> str | None:
    for name in _children(place):
        if name in _MARKERS:
            return _MARKERS[name]
        for prefix, client in _MARKER_PREFIXES.items():
            if name.startswith(prefix) and name.endswith(".db"):
                return client
    return None


def _children(place: Path) -> Iterator[str]:
    try:
        with os.scandir(place) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    yield entry.name
    except OSError:  # absent, not a folder, or not ours to read: nothing known there
        return


def _same(a: Path, b: Path) -> bool:
    return os.path.normcase(str(a)) == os.path.normcase(str(b.resolve()))

"""The apps installed on the simulated iPhone, as installation_proxy ``Browse`` returns them.

Each entry is the subset of an app's ``Info.plist`` (plus the install paths) that a privacy
review reads: which apps declare access to the photo library, the camera or the location. The
usage strings are plausible neutral wording written for this project, not the vendors' text.
The bundle identifiers and names are the real ones, so a reader's catalogue can be exercised.
Paths and containers carry UUIDs derived from the seed, as every phone has its own.
"""

from __future__ import annotations

import uuid
from random import Random
from types import MappingProxyType
from typing import Final

_PHOTOS_READ: Final = "NSPhotoLibraryUsageDescription"
_PHOTOS_ADD: Final = "NSPhotoLibraryAddUsageDescription"
_CAMERA: Final = "NSCameraUsageDescription"
_LOCATION: Final = "NSLocationWhenInUseUsageDescription"
_NO_LIMITED_ALERT: Final = "PHPhotoLibraryPreventAutomaticLimitedAccessAlert"

# (bundle id, display name, executable name, short version, build, declared keys)
_USER_APPS: Final[tuple[tuple[str, str, str, str, str, dict[str, object]], ...]] = (
    (
        "com.facebook.Facebook",
        "Facebook",
        "Facebook",
        "468.0.0",
        "612054782",
        {
            _PHOTOS_READ: "Lets you choose photos and videos from your library to post and share.",
            _PHOTOS_ADD: "Lets you save photos and videos to your library.",
            _CAMERA: "Lets you take photos and videos to share.",
            _LOCATION: "Lets you tag places and see what is nearby.",
        },
    ),
    (
        "com.burbn.instagram",
        "Instagram",
        "Instagram",
        "339.0.0",
        "617163042",
        {
            _PHOTOS_READ: "Lets you pick photos and videos from your library to share.",
            _PHOTOS_ADD: "Lets you save photos and videos you made in the app.",
            _CAMERA: "Lets you take photos and record videos in the app.",
            _LOCATION: "Lets you add a location to posts.",
            _NO_LIMITED_ALERT: True,
        },
    ),
    (
        "net.whatsapp.WhatsApp",
        "WhatsApp",
        "WhatsApp",
        "24.13.78",
        "581017004",
        {
            _PHOTOS_READ: "Lets you send photos and videos from your library in chats.",
            _PHOTOS_ADD: "Lets you save photos and videos received in chats.",
            _CAMERA: "Lets you take photos and videos to send in chats.",
            _LOCATION: "Lets you share your location in a chat.",
        },
    ),
    (
        "com.facebook.Messenger",
        "Messenger",
        "Messenger",
        "461.0.0",
        "592612346",
        {
            _PHOTOS_READ: "Lets you send photos and videos from your library.",
            _PHOTOS_ADD: "Lets you save photos and videos from conversations.",
            _CAMERA: "Lets you take photos and make video calls.",
        },
    ),
    (
        "com.google.photos",
        "Google Photos",
        "Photos",
        "6.84",
        "640931562",
        {
            _PHOTOS_READ: "Lets the app back up and organise your photos and videos.",
            _PHOTOS_ADD: "Lets you save edited photos and videos to your library.",
            _CAMERA: "Lets you scan documents and take photos.",
            _LOCATION: "Lets the app add places to photos without a location.",
            _NO_LIMITED_ALERT: True,
        },
    ),
    (
        "com.toyopagroup.picaboo",
        "Snapchat",
        "Snapchat",
        "13.41.0",
        "13.41.0.37",
        {
            _PHOTOS_READ: "Lets you send photos and videos from your library as snaps.",
            _PHOTOS_ADD: "Lets you save snaps to your library.",
            _CAMERA: "Lets you take snaps.",
            _LOCATION: "Lets you use location filters and the map.",
        },
    ),
    (
        "org.example.scanbox",
        "ScanBox",
        "ScanBox",
        "3.2.0",
        "320014",
        # Add-only: the app saves scans to the library but never reads it.
        {
            _PHOTOS_ADD: "Lets you save scanned documents to your photo library.",
            _CAMERA: "Lets you scan documents with the camera.",
        },
    ),
    ("org.example.calcpad", "CalcPad", "CalcPad", "2.4.1", "241", {}),
    (
        "org.example.skycast",
        "SkyCast",
        "SkyCast",
        "5.0.3",
        "5030",
        {_LOCATION: "Shows the weather where you are."},
    ),
    ("org.example.podlane", "PodLane", "PodLane", "1.19", "1190", {}),
)

# (bundle id, display name, executable name, declared keys): system apps live under /Applications.
_SYSTEM_APPS: Final[tuple[tuple[str, str, str, dict[str, object]], ...]] = (
    ("com.apple.mobileslideshow", "Photos", "MobileSlideShow", {}),
    ("com.apple.camera", "Camera", "Camera", {}),
    ("com.apple.Preferences", "Settings", "Preferences", {}),
)

SYSTEM_BUILD: Final = "1.0"


def installed_apps(seed: int, product_version: str) -> tuple[MappingProxyType[str, object], ...]:
    """The phone's apps, user apps first, the same for the same seed and iOS version.

    Read-only mappings shaped like installation_proxy's ``Browse`` results, with every key that
    an app declares: a reader asking ``ReturnAttributes`` for a key filters them itself.
    """
    # Not for secrets: the install UUIDs only have to look like a phone's and repeat.
    rng = Random(f"apps-{seed}")
    apps: list[MappingProxyType[str, object]] = []
    for bundle_id, display, name, short, build, keys in _USER_APPS:
        bundle, data = _uuid(rng), _uuid(rng)
        entry: dict[str, object] = {
            "CFBundleIdentifier": bundle_id,
            "CFBundleDisplayName": display,
            "CFBundleName": name,
            "CFBundleExecutable": name,
            "CFBundleShortVersionString": short,
            "CFBundleVersion": build,
            "ApplicationType": "User",
            "Path": f"/private/var/containers/Bundle/Application/{bundle}/{name}.app",
            "Container": f"/private/var/mobile/Containers/Data/Application/{data}",
            "MinimumOSVersion": "15.0",
            **keys,
        }
        apps.append(MappingProxyType(entry))
    for bundle_id, display, name, keys in _SYSTEM_APPS:
        entry = {
            "CFBundleIdentifier": bundle_id,
            "CFBundleDisplayName": display,
            "CFBundleName": name,
            "CFBundleExecutable": name,
            "CFBundleShortVersionString": product_version,
            "CFBundleVersion": SYSTEM_BUILD,
            "ApplicationType": "System",
            "Path": f"/Applications/{name}.app",
            **keys,
        }
        apps.append(MappingProxyType(entry))
    return tuple(apps)


def _uuid(rng: Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4)).upper()

"""What a file is, from its name's suffix: the one table every connector uses."""

from __future__ import annotations

from companion.model import AssetKind

_BY_SUFFIX: dict[str, AssetKind] = {
    **dict.fromkeys(
        (".heic", ".heif", ".jpg", ".jpeg", ".png", ".gif", ".tif", ".tiff", ".dng", ".webp"),
        AssetKind.PHOTO,
    ),
    **dict.fromkeys((".mov", ".mp4", ".m4v"), AssetKind.VIDEO),
    ".aae": AssetKind.SIDECAR,  # an edit recipe, as a camera import writes it
}


def kind_of_suffix(suffix: str) -> AssetKind:
    """``".heic"`` (lower case, with its dot) -> ``AssetKind.PHOTO``; unknown -> ``OTHER``."""
    return _BY_SUFFIX.get(suffix, AssetKind.OTHER)


def kind_of(name: str) -> AssetKind:
    """What a file is, from the suffix of its name or path (case does not matter)."""
    base = name.rpartition("/")[2]
    dot = base.rfind(".")
    return kind_of_suffix(base[dot:].lower()) if dot > 0 else AssetKind.OTHER

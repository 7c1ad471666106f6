"""``companion share`` against mat2 on the same files: no tag that mat2 removes may be left by
the share, but the two docs/share.md names (the orientation, which the share keeps so the
pixels need not be encoded again, and the byte order of that minimal EXIF)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from companion.share import Options, clean_photo
from companion.share.video import remux
from tests.share_support import dirty_heic, dirty_jpeg, dirty_mov, dirty_png, exiftool

MAT2 = "/usr/bin/mat2"
KEPT_ON_PURPOSE = {"IFD0:Orientation", "File:ExifByteOrder"}  # docs/share.md
QUICKTIME_STRUCTURE = {"Track1:HandlerClass", "Track1:VendorID"}  # docs/share.md
_NOT_TAGS = ("System:", "ExifTool:", "SourceFile")

pytestmark = pytest.mark.skipif(not Path(MAT2).exists(), reason="mat2 is not installed")


def _tags(path: Path) -> set[str]:
    return {key for key in exiftool(path) if not key.startswith(_NOT_TAGS)}


def _mat2(original: Path, work: Path) -> Path | None:
    """mat2's clean copy of ``original`` (None when mat2 cannot clean it here)."""
    copy = work / original.name
    shutil.copy(original, copy)
    done = subprocess.run([MAT2, str(copy)], capture_output=True, text=True, check=False)
    cleaned = copy.with_name(f"{copy.stem}.cleaned{copy.suffix}")
    return cleaned if done.returncode == 0 and cleaned.exists() else None


@pytest.mark.parametrize("make", [dirty_jpeg, dirty_png, dirty_heic], ids=["jpeg", "png", "heic"])
def test_no_tag_mat2_removes_is_left(make: object, tmp_path: Path) -> None:
    suffix = {"dirty_jpeg": ".JPG", "dirty_png": ".PNG", "dirty_heic": ".HEIC"}
    original = make(tmp_path / f"IMG_0001{suffix[make.__name__]}")  # type: ignore[attr-defined, operator]
    (tmp_path / "mat2").mkdir()
    by_mat2 = _mat2(original, tmp_path / "mat2")
    assert by_mat2 is not None
    data, ext = clean_photo(original.read_bytes(), Options())
    ours = tmp_path / f"ours.{ext}"
    ours.write_bytes(data)
    before = _tags(original)
    removed_by_mat2 = before - _tags(by_mat2)
    assert (removed_by_mat2 & _tags(ours)) - KEPT_ON_PURPOSE == set()


def test_movie_against_mat2(tmp_path: Path) -> None:
    """mat2 cleans videos with the ffmpeg program (not a dependency of its Debian package): where
    it cannot, only the share's own copy is checked to drop what mat2's documentation says it
    removes (every metadata atom)."""
    original = dirty_mov(tmp_path / "IMG_0004.MOV")
    ours = tmp_path / "ours.mov"
    remux(original, ours, "mov", keep_date=False)
    mp4 = original.with_suffix(".mp4")  # mat2 knows MP4, not QuickTime, by its MIME type
    shutil.copy(original, mp4)
    (tmp_path / "mat2").mkdir()
    by_mat2 = _mat2(mp4, tmp_path / "mat2")
    left = _tags(ours)
    if by_mat2 is not None:
        # mat2 writes MP4, the share keeps QuickTime: a QuickTime track names its handler's
        # class, and the muxer's vendor (FFmpeg's, never the camera's) in its sample description
        assert ((_tags(original) - _tags(by_mat2)) & left) - QUICKTIME_STRUCTURE == set()
    assert exiftool(ours).get("Track1:VendorID") in (None, "FFMP")  # -n: the raw four letters
    assert not {k for k in left if k.startswith(("Keys:", "UserData:", "ItemList:"))}

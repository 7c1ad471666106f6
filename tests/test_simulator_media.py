"""The simulated camera roll: deterministic, complete, and written where it says."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from companion.simulator.media import (
    MIN_COUNT,
    MediaItem,
    generate_camera_roll,
    write_camera_roll,
)


@pytest.mark.slow
def test_camera_roll_is_deterministic_for_a_seed() -> None:
    first = generate_camera_roll(11, count=24)
    assert first == generate_camera_roll(11, count=24)
    other = generate_camera_roll(12, count=MIN_COUNT)
    assert [i.data for i in other] != [i.data for i in first[:MIN_COUNT]]
    assert len(first) == 24 and len({i.path for i in first}) == 24
    assert all(i.captured_at.tzinfo is not None for i in first)


@pytest.mark.slow
def test_camera_roll_holds_every_case() -> None:
    paths = {item.path for item in generate_camera_roll(3, count=MIN_COUNT)}
    for expected in [
        "DCIM/100APPLE/IMG_0001.JPG",
        "DCIM/100APPLE/IMG_0002.HEIC",
        "DCIM/100APPLE/IMG_0003.PNG",
        "DCIM/100APPLE/IMG_0004.MOV",
        "DCIM/100APPLE/IMG_0005.HEIC",
        "DCIM/100APPLE/IMG_0005.MOV",
        "DCIM/100APPLE/IMG_0007.JPG",
        "DCIM/100APPLE/IMG_E0007.JPG",
        "DCIM/100APPLE/IMG_0007.AAE",
        "DCIM/101APPLE/IMG_0001.JPG",
    ]:
        assert expected in paths
    with pytest.raises(ValueError, match="at least"):
        generate_camera_roll(1, count=MIN_COUNT - 1)


def test_write_camera_roll_refuses_to_climb_out(tmp_path: Path) -> None:
    item = MediaItem("../escape.JPG", b"x", datetime(2024, 1, 1, tzinfo=UTC), "photo")
    with pytest.raises(ValueError, match="outside"):
        write_camera_roll([item], tmp_path / "root")
    assert not (tmp_path / "escape.JPG").exists()


def test_files_get_their_capture_time_as_mtime(tmp_path: Path) -> None:
    items = generate_camera_roll(5, count=MIN_COUNT)
    write_camera_roll(items, tmp_path)
    for item in items:
        written = tmp_path / item.path
        assert written.read_bytes() == item.data
        assert written.stat().st_mtime == item.captured_at.timestamp()

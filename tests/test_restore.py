"""Restore: hostile names never escape, nothing is overwritten, re-runs are idempotent."""

from __future__ import annotations

import io
import unicodedata
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from companion.model import Asset, AssetKind
from companion.vault import Vault
from companion.vault.restore import restore, safe_components
from tests.support import PASSPHRASE, new_vault

HOSTILE = [
    "../../../../etc/passwd",
    "/etc/shadow",
    "DCIM/../../escape.jpg",
    "C:\\Windows\\system32\\evil.dll",
    "a\x00b.jpg",
    "line\nbreak.jpg",
    "CON.jpg",
    "DCIM/nul",
    "LPT1",
    "x" * 300 + ".HEIC",
    "é" * 200 + ".jpg",  # 400 bytes in UTF-8
    unicodedata.normalize("NFD", "DCIM/Café.jpg"),
    unicodedata.normalize("NFC", "DCIM/Café.jpg"),
    "trailing dots...",
    "..",
    "",
    "bad\udcffname.jpg",
]


def store(vault: Vault, path: str, data: bytes) -> None:
    asset = Asset(
        source="usb:hostile", path=path, size=len(data), mtime_ns=10**18, kind=AssetKind.PHOTO
    )
    vault.put(asset, io.BytesIO(data))


def inside(root: Path, path: Path) -> bool:
    return root.resolve() in path.resolve().parents


def test_hostile_names_never_escape_the_restore_root(tmp_path: Path) -> None:
    with new_vault(tmp_path / "v") as vault:
        for n, path in enumerate(HOSTILE):
            store(vault, path, f"payload {n}".encode())
    dest = tmp_path / "deep" / "dest"
    with Vault.open(tmp_path / "v", PASSPHRASE) as vault:
        report = restore(vault, dest)
    assert not report.failed
    files = [
        p
        for p in (tmp_path).rglob("*")
        if p.is_file() and "v" not in p.relative_to(tmp_path).parts[:1]
    ]
    assert len(files) == len(HOSTILE)
    assert all(inside(dest, p) for p in files)
    contents = sorted(p.read_bytes() for p in files)
    assert contents == sorted(f"payload {n}".encode() for n in range(len(HOSTILE)))
    for p in files:
        assert len(p.name.encode()) <= 255
        assert p.name.split(".")[0].upper() not in {"CON", "NUL", "LPT1"}
    # The NFC/NFD twins are two different files: both kept, neither overwritten.
    cafes = sorted(p.name for p in (dest / "DCIM").iterdir() if p.name.startswith("Caf"))
    assert cafes == ["Café (2).jpg", "Café.jpg"]


def test_never_overwrites_and_reruns_are_idempotent(tmp_path: Path) -> None:
    with new_vault(tmp_path / "v") as vault:
        store(vault, "DCIM/100APPLE/IMG_0001.HEIC", b"the real photo")
    dest = tmp_path / "out"
    (dest / "DCIM" / "100APPLE").mkdir(parents=True)
    mine = dest / "DCIM" / "100APPLE" / "IMG_0001.HEIC"
    mine.write_bytes(b"a different file the person already had")
    with Vault.open(tmp_path / "v", PASSPHRASE) as vault:
        first = restore(vault, dest)
        second = restore(vault, dest)
    assert mine.read_bytes() == b"a different file the person already had"
    assert (dest / "DCIM" / "100APPLE" / "IMG_0001 (2).HEIC").read_bytes() == b"the real photo"
    assert (first.restored, first.renamed) == (1, 1)
    assert (second.restored, second.identical) == (0, 1)
    assert not list(dest.rglob("*.part"))


def test_a_symlink_in_the_destination_is_not_followed(tmp_path: Path) -> None:
    with new_vault(tmp_path / "v") as vault:
        store(vault, "DCIM/IMG_0001.JPG", b"photo")
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "DCIM").symlink_to(outside)
    with Vault.open(tmp_path / "v", PASSPHRASE) as vault:
        report = restore(vault, dest)
    assert list(report.failed) == ["DCIM/IMG_0001.JPG"]
    assert list(outside.iterdir()) == []


@settings(max_examples=400, deadline=None)
@given(st.text(min_size=0, max_size=300))
def test_safe_components_stay_inside_any_root(path: str) -> None:
    parts = safe_components(path)
    assert parts
    for part in parts:
        assert part not in ("", ".", "..")
        assert "/" not in part and "\\" not in part and "\x00" not in part
        assert len(part.encode("utf-8")) <= 255
        assert part == unicodedata.normalize("NFC", part)
    root = Path("/restore/root")
    assert root in root.joinpath(*parts).parents


def test_restore_uses_the_original_name_when_the_source_recorded_one(tmp_path: Path) -> None:
    with new_vault(tmp_path / "v") as vault:
        asset = Asset(
            source="icloud:me",
            path="records/AbC123",
            size=5,
            mtime_ns=10**18,
            kind=AssetKind.PHOTO,
            original_name="../Holiday.JPG",
        )
        vault.put(asset, io.BytesIO(b"bytes"))
    with Vault.open(tmp_path / "v", PASSPHRASE) as vault:
        assert not restore(vault, tmp_path / "out").failed
    assert [p.name for p in (tmp_path / "out" / "records").iterdir()] == ["_Holiday.JPG"]


def test_dates_select_by_capture_time_else_by_file_time(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    def at(year: int) -> datetime:
        return datetime(year, 6, 1, 12, tzinfo=UTC)

    with new_vault(tmp_path / "v") as vault:
        for name, captured, mtime in (
            ("a.jpg", at(2020), at(2024)),  # captured 2020, copied in 2024
            ("b.jpg", None, at(2021)),  # no capture time: its file date counts
            ("c.jpg", at(2022), at(2022)),
        ):
            asset = Asset(
                source="folder:/x",
                path=name,
                size=1,
                kind=AssetKind.PHOTO,
                mtime_ns=int(mtime.timestamp() * 1e9),
                captured_at=captured,
            )
            vault.put(asset, io.BytesIO(b"x"))
    with Vault.open(tmp_path / "v", PASSPHRASE) as vault:
        picked = [
            s.asset.path for s in vault.assets(at(2019), at(2021) + (at(2022) - at(2021)) / 2)
        ]
        everything = [s.asset.path for s in vault.assets()]
    assert picked == ["a.jpg", "b.jpg"]
    assert everything == ["a.jpg", "b.jpg", "c.jpg"]


def test_refuses_to_restore_into_the_vault(tmp_path: Path) -> None:
    import pytest

    from companion.errors import UsageError

    with new_vault(tmp_path / "v") as vault:
        store(vault, "a.jpg", b"photo")
    with Vault.open(tmp_path / "v", PASSPHRASE) as vault:
        for inside in (tmp_path / "v", tmp_path / "v" / "restored", tmp_path / "v" / "tmp"):
            with pytest.raises(UsageError):
                restore(vault, inside)
    assert not (tmp_path / "v" / "restored").exists()

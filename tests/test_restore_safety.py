"""Restore writes only inside its target, whatever happens to the target while it runs.

A folder swapped for a symlink mid-restore, ``.part`` files on every way out, names with nothing
meaningful left, symlinks where folders should be: all on real vaults, real restores, real
symlinks, and the real Linux ``renameat2`` where the swap needs one.
"""

from __future__ import annotations

import ctypes
import io
import os
import secrets
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from companion.errors import StorageFull
from companion.model import Asset, AssetKind, StoredAsset
from companion.vault import Vault
from companion.vault.restore import RestoreReport, restore
from tests.support import PASSPHRASE, new_vault
from tests.test_faults import disk_filling_after

pytestmark = pytest.mark.skipif(os.name == "nt", reason="symlinks and folder handles: POSIX")

AT_FDCWD = -100
RENAME_EXCHANGE = 2
SIZE = 200_000  # several 64 KiB age chunks: a failure lands midway through a file

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"j" * 50
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"p" * 50
GIF = b"GIF89a\x01\x00\x01\x00" + b"g" * 50
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00" + b"h" * 50
HEIF = b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00" + b"f" * 50
MOV = b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00" + b"q" * 50
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00" + b"m" * 50
OTHER = b"just some bytes, not a picture"


def store(vault: Vault, path: str, data: bytes) -> StoredAsset:
    asset = Asset(
        source="usb:safety", path=path, size=len(data), mtime_ns=10**18, kind=AssetKind.PHOTO
    )
    return vault.put(asset, io.BytesIO(data)).stored


def files_under(root: Path) -> dict[str, bytes]:
    """Every regular file under ``root`` (symlinks neither followed nor listed), by path."""
    found = {}
    for folder, _dirs, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink():
                found[path.relative_to(root).as_posix()] = path.read_bytes()
    return found


def parts_under(root: Path) -> list[str]:
    return [p for p in files_under(root) if p.endswith(".part")]


def open_fds() -> int:
    listing = Path("/proc/self/fd")
    return len(list((listing if listing.is_dir() else Path("/dev/fd")).iterdir()))


def exchanger(probe: Path) -> Callable[[Path, Path], None]:
    """Swap two names at once with ``renameat2(RENAME_EXCHANGE)`` where the kernel and file
    system have it; else by three renames (the names are briefly missing)."""
    libc = ctypes.CDLL(None, use_errno=True)
    call = getattr(libc, "renameat2", None)

    def exchange(a: Path, b: Path) -> None:
        assert call is not None
        if call(AT_FDCWD, bytes(a), AT_FDCWD, bytes(b), RENAME_EXCHANGE) != 0:
            raise OSError(ctypes.get_errno(), "renameat2 failed")

    def by_renames(a: Path, b: Path) -> None:
        aside = a.rename(a.with_name(a.name + ".aside"))
        b.rename(a)
        aside.rename(b)

    if call is not None:
        call.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
        call.argtypes += [ctypes.c_uint]
        probe.mkdir()
        (probe / "a").touch()
        (probe / "b").mkdir()
        try:
            exchange(probe / "a", probe / "b")
            return exchange
        except OSError:
            pass
    return by_renames


class Flipper(threading.Thread):
    """Swaps ``folder`` and ``link`` again and again until stopped."""

    def __init__(self, swap: Callable[[Path, Path], None], folder: Path, link: Path) -> None:
        super().__init__(daemon=True)
        self.swap, self.folder, self.link = swap, folder, link
        self.stop, self.swaps = threading.Event(), 0

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.swap(self.folder, self.link)
                self.swaps += 1
            except OSError:
                pass


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A vault of 300 small photos in one folder, made once for the module."""
    root = tmp_path_factory.mktemp("many") / "v"
    with new_vault(root) as vault:
        for n in range(300):
            store(vault, f"DCIM/IMG_{n:04d}.JPG", JPEG + secrets.token_bytes(64))
    return root


def test_a_folder_swapped_for_a_symlink_mid_restore_writes_nothing_outside(
    many: Path, tmp_path: Path
) -> None:
    """A local attacker flips the folder being restored into with a symlink to a folder of
    theirs, as fast as they can, while the restore runs: nothing lands there, ever."""
    swap = exchanger(tmp_path / "probe")
    for round_ in range(3):
        target, outside = tmp_path / f"out{round_}", tmp_path / f"outside{round_}"
        outside.mkdir()
        (target / "DCIM").mkdir(parents=True)
        (target / "flip").symlink_to(outside, target_is_directory=True)
        flipper = Flipper(swap, target / "DCIM", target / "flip")
        with Vault.open(many, PASSPHRASE) as vault:
            fds = open_fds()
            flipper.start()
            try:
                report = restore(vault, target)
            finally:
                flipper.stop.set()
                flipper.join()
            assert open_fds() == fds
        assert list(outside.iterdir()) == []
        restored = files_under(target)
        assert not parts_under(target)
        assert flipper.swaps > 10
        assert len(restored) == report.restored
        assert report.restored + len(report.failed) == 300
        assert all(data.startswith(JPEG) for data in restored.values())


def test_a_symlink_where_a_folder_should_be_fails_only_that_folders_files(
    tmp_path: Path,
) -> None:
    with new_vault(tmp_path / "v") as vault:
        for path in ("DCIM/100APPLE/A.JPG", "DCIM/100APPLE/B.JPG", "DCIM/200APPLE/C.JPG", "D.JPG"):
            store(vault, path, path.encode())
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "C.JPG").write_bytes(b"DCIM/200APPLE/C.JPG")  # the same bytes, behind a link
    dest = tmp_path / "out"
    (dest / "DCIM" / "200APPLE").mkdir(parents=True)
    (dest / "DCIM" / "100APPLE").symlink_to(outside, target_is_directory=True)
    (dest / "DCIM" / "200APPLE" / "C.JPG").symlink_to(outside / "C.JPG")
    with Vault.open(tmp_path / "v", PASSPHRASE) as vault:
        fds = open_fds()
        report = restore(vault, dest)
        assert open_fds() == fds
    assert sorted(report.failed) == ["DCIM/100APPLE/A.JPG", "DCIM/100APPLE/B.JPG"]
    assert all("symbolic link" in reason for reason in report.failed.values())
    assert sorted(p.name for p in outside.iterdir()) == ["C.JPG"]
    # A symlink is never taken for the file it points to: the photo is written beside it.
    assert files_under(dest) == {
        "DCIM/200APPLE/C (2).JPG": b"DCIM/200APPLE/C.JPG",
        "D.JPG": b"D.JPG",
    }
    assert (report.restored, report.renamed, report.identical) == (2, 1, 0)


def test_names_with_nothing_left_are_named_by_id_and_content(tmp_path: Path) -> None:
    """ " " and ".." beside normal files: each its own ``unnamed-<id>.<ext>``, none taking its
    folder's place (which blocked every other file of the folder on every run)."""
    odd = {
        "DCIM/100APPLE/ ": (JPEG, "jpg"),
        "DCIM/100APPLE/..": (PNG, "png"),
        "DCIM/100APPLE/  ": (GIF, "gif"),
        "DCIM/100APPLE/...": (HEIC, "heic"),
        "DCIM/100APPLE/. .": (HEIF, "heic"),
        "DCIM/100APPLE/ . ": (MOV, "mov"),
        "DCIM/100APPLE/\u3000": (MP4, "mp4"),
        "DCIM/100APPLE/....": (OTHER, "bin"),
    }
    normal = {"DCIM/100APPLE/IMG_0001.JPG": JPEG + b"1", "DCIM/100APPLE/IMG_0002.MOV": MOV + b"2"}
    expected = dict(normal)
    with new_vault(tmp_path / "v") as vault:
        for path, (data, ext) in odd.items():
            stored = store(vault, path, data)
            expected[f"DCIM/100APPLE/unnamed-{stored.asset_id[:8]}.{ext}"] = data
        for path, data in normal.items():
            store(vault, path, data)
        everything_unsafe = store(vault, "../ /..", MOV)  # no folder, no name: at the top
        expected[f"unnamed-{everything_unsafe.asset_id[:8]}.mov"] = MOV
    dest = tmp_path / "out"
    with Vault.open(tmp_path / "v", PASSPHRASE) as vault:
        first = restore(vault, dest)
        second = restore(vault, dest)
    assert first.failed == {}
    assert (first.restored, first.renamed) == (len(expected), 0)
    assert files_under(dest) == expected
    assert (second.failed, second.restored, second.identical) == ({}, 0, len(expected))
    assert files_under(dest) == expected


def big_vault(root: Path) -> list[StoredAsset]:
    with new_vault(root) as vault:
        return [
            store(vault, f"DCIM/IMG_{n}.MOV", MOV + secrets.token_bytes(SIZE)) for n in range(3)
        ]


def test_a_damaged_object_leaves_no_part_file(tmp_path: Path) -> None:
    victim = big_vault(tmp_path / "v")[1]
    target = tmp_path / "v" / "objects" / victim.object_id[:2] / victim.object_id
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF  # the first chunks decrypt (into the .part file), then one fails
    target.write_bytes(bytes(data))
    dest = tmp_path / "out"
    with Vault.open(tmp_path / "v", PASSPHRASE) as vault:
        fds = open_fds()
        report = restore(vault, dest)
        assert open_fds() == fds
    assert list(report.failed) == [victim.asset.path] and report.damaged == 1
    assert sorted(files_under(dest)) == ["DCIM/IMG_0.MOV", "DCIM/IMG_2.MOV"]


def test_a_full_disk_midway_leaves_no_part_file(tmp_path: Path) -> None:
    big_vault(tmp_path / "v")
    dest = tmp_path / "out"
    with Vault.open(tmp_path / "v", PASSPHRASE) as vault:
        fds = open_fds()
        with disk_filling_after(SIZE + SIZE // 2), pytest.raises(StorageFull):
            restore(vault, dest)
        assert open_fds() == fds
    assert sorted(files_under(dest)) == ["DCIM/IMG_0.MOV"]


def test_an_interrupt_midway_leaves_no_part_file(tmp_path: Path) -> None:
    """Ctrl-C arrives while the second file is half written (progress is told as bytes are
    written): its .part file goes, the first file stays."""
    big_vault(tmp_path / "v")
    heard = [0]
    seen_parts: list[str] = []

    def progress(nbytes: int) -> None:
        heard[0] += nbytes
        if heard[0] > SIZE + SIZE // 2:
            seen_parts.extend(parts_under(dest))
            raise KeyboardInterrupt

    dest = tmp_path / "out"
    with Vault.open(tmp_path / "v", PASSPHRASE) as vault:
        fds = open_fds()
        with pytest.raises(KeyboardInterrupt):
            restore(vault, dest, progress=progress)
        assert open_fds() == fds
    assert seen_parts  # the interrupt did land while a .part file was there
    assert sorted(files_under(dest)) == ["DCIM/IMG_0.MOV"]


def test_without_folder_handles_restore_goes_by_path_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the platform has no ``dir_fd`` (Windows), restore still restores, renames,
    recognises what is there, names the unnamed and refuses a symlinked folder."""
    monkeypatch.setattr(os, "supports_dir_fd", set())
    with new_vault(tmp_path / "v") as vault:
        store(vault, "DCIM/A.JPG", JPEG + b"a")
        blank = store(vault, "DCIM/ ", PNG)
        store(vault, "LINKED/B.JPG", JPEG + b"b")
    dest = tmp_path / "out"
    (dest / "DCIM").mkdir(parents=True)
    (dest / "DCIM" / "A.JPG").write_bytes(b"mine")
    outside = tmp_path / "outside"
    outside.mkdir()
    (dest / "LINKED").symlink_to(outside, target_is_directory=True)
    with Vault.open(tmp_path / "v", PASSPHRASE) as vault:
        first = restore(vault, dest)
        second = restore(vault, dest)
    assert list(first.failed) == list(second.failed) == ["LINKED/B.JPG"]
    assert list(outside.iterdir()) == []
    assert files_under(dest) == {
        "DCIM/A.JPG": b"mine",
        "DCIM/A (2).JPG": JPEG + b"a",
        f"DCIM/unnamed-{blank.asset_id[:8]}.png": PNG,
    }
    assert (first.restored, first.renamed, second.restored, second.identical) == (2, 1, 0, 2)


def test_the_report_of_a_clean_restore_is_unchanged(tmp_path: Path) -> None:
    big_vault(tmp_path / "v")
    heard = [0]

    def progress(nbytes: int) -> None:
        heard[0] += nbytes

    with Vault.open(tmp_path / "v", PASSPHRASE) as vault:
        first = restore(vault, tmp_path / "out", progress=progress)
        second = restore(vault, tmp_path / "out", progress=progress)
    total = 3 * (len(MOV) + SIZE)
    assert first == RestoreReport(restored=3, bytes=total)
    assert second == RestoreReport(identical=3)
    assert heard[0] == 2 * total  # every byte told once per run, written or found

"""``companion share`` end to end: a vault holding pictures and a movie with every trace a phone
leaves, shared through the real command line; each copy read back with exiftool."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from companion.cli.app import run
from companion.model import Asset, AssetKind, DetectorRun, Finding, ScanRecord
from companion.share import Filters, Options
from companion.share.jpeg import scan_data
from companion.state import state_root
from companion.usecases.share import share as share_files
from companion.vault import Vault, VaultRef
from tests.share_support import dirty_heic, dirty_jpeg, dirty_mov, dirty_png, exiftool, traces
from tests.support import PASSPHRASE, WORK_FACTOR, new_vault

CARD = Finding("payment_card", "text", 0.97, "card number 4539 •••• 6467 passes the Luhn check")
FLAGGED, UNSCANNED = "IMG_0007.JPG", "IMG_0008.JPG"
SHARED = {"IMG_0001.JPG", "IMG_0002.PNG", "IMG_0003.HEIC", "IMG_0004.MOV", "IMG_0005.HEIC"}
SHARED |= {"IMG_0006.JPG"}


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A backed-up roll: every format, a Live Photo, an edit, one flagged, one never scanned."""
    root = tmp_path_factory.mktemp("share")
    roll = root / "roll" / "DCIM" / "100APPLE"
    roll.mkdir(parents=True)
    dirty_jpeg(roll / "IMG_0001.JPG", orientation=6)
    dirty_png(roll / "IMG_0002.PNG")
    dirty_heic(roll / "IMG_0003.HEIC")
    dirty_mov(roll / "IMG_0004.MOV")
    dirty_heic(roll / "IMG_0005.HEIC", seed=5)
    dirty_mov(roll / "IMG_0005.MOV", frames=3)
    dirty_jpeg(roll / "IMG_0006.JPG", seed=6)
    dirty_jpeg(roll / "IMG_E0006.JPG", seed=60)
    dirty_jpeg(roll / "IMG_0007.JPG", seed=7)
    dirty_jpeg(roll / "IMG_0008.JPG", seed=8)
    vault = root / "vault"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COMPANION_PASSPHRASE", PASSPHRASE)
        assert (
            run(["vault", "init", "--vault", str(vault), "--kdf-work-factor", str(WORK_FACTOR)])
            == 0
        )
        assert run(["backup", "--vault", str(vault), "--from", f"folder:{root / 'roll'}"]) == 0
    with Vault.open(vault, PASSPHRASE, write=True) as opened:
        for stored in opened.assets():
            if stored.asset.name == UNSCANNED:
                continue
            findings = (CARD,) if stored.asset.name == FLAGGED else ()
            runs = (DetectorRun("text", "1", findings),)
            opened.record_scan(ScanRecord(stored.object_id, opened.now(), runs))
    yield root


@pytest.fixture
def env(made: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COMPANION_VAULT", str(made / "vault"))
    monkeypatch.setenv("COMPANION_PASSPHRASE", PASSPHRASE)
    monkeypatch.delenv("COMPANION_YES", raising=False)
    return made


def share(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object]]:
    capsys.readouterr()
    code = run(["share", *args, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else {}


def test_copies_carry_nothing_but_the_picture(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "out"
    code, report = share(capsys, "--to", str(dest))
    assert code == 0, report
    written = {f["name"]: Path(f["path"]) for f in report["files"]}  # type: ignore[union-attr]
    assert set(written) == SHARED
    assert report["left_out"] == {
        "flagged": [FLAGGED],
        "not_scanned": [UNSCANNED],
        "unreadable": {},
    }
    assert sorted(p.name for p in dest.iterdir()) == sorted(SHARED)  # no temp file, no movie
    # the movie was remuxed straight from the vault: no plaintext copy anywhere, even for a while
    assert not (state_root() / "share").exists()
    for name, path in written.items():
        assert traces(path) == [], name
    original = (env / "roll" / "DCIM" / "100APPLE").joinpath
    # A kept JPEG: the same entropy-coded bytes, the orientation alone left in its EXIF.
    kept = written["IMG_0001.JPG"].read_bytes()
    assert scan_data(kept) == scan_data(original("IMG_0001.JPG").read_bytes())
    assert exiftool(written["IMG_0001.JPG"])["IFD0:Orientation"] == 6
    # An edited photo goes out as its edit.
    edit = original("IMG_E0006.JPG").read_bytes()
    assert scan_data(written["IMG_0006.JPG"].read_bytes()) == scan_data(edit)
    assert report["bytes"] == sum(p.stat().st_size for p in written.values())


def test_heic_without_thumbnail_and_as_jpeg(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pillow_heif

    code, report = share(capsys, "--to", str(tmp_path), "--path", "*.HEIC", "--format", "jpeg")
    assert code == 0
    for f in report["files"]:  # type: ignore[union-attr]
        path = Path(f["path"])
        assert path.suffix == ".jpg" and traces(path) == []
    code, report = share(capsys, "--to", str(tmp_path / "keep"), "--path", "IMG_0003.HEIC")
    (only,) = report["files"]  # type: ignore[misc]
    heif = pillow_heif.open_heif(only["path"])
    assert len(heif) == 1 and not heif.info.get("thumbnails") and not heif.info.get("exif")
    assert heif[0].info.get("xmp") is None


def test_keep_date_keeps_the_date_alone(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = share(capsys, "--to", str(tmp_path), "--path", "*0001.JPG", "--keep-date")
    assert code == 0
    (only,) = report["files"]  # type: ignore[misc]
    tags = exiftool(Path(only["path"]))
    assert tags["ExifIFD:DateTimeOriginal"] == "2024:06:01 12:03:22"
    assert not [k for k in tags if "GPS" in k or "Model" in k or "Serial" in k]


def test_max_side_makes_photos_smaller(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = share(capsys, "--to", str(tmp_path), "--path", "*.JPG", "--max-side", "40")
    assert code == 0
    for f in report["files"]:  # type: ignore[union-attr]
        tags = exiftool(Path(f["path"]))
        assert max(tags["File:ImageWidth"], tags["File:ImageHeight"]) == 40  # type: ignore[type-var]
        assert "IFD0:Orientation" not in tags and traces(Path(f["path"])) == []


def test_never_overwrites_and_dry_run_writes_nothing(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "IMG_0001.JPG").write_bytes(b"mine")
    code, report = share(capsys, "--to", str(dest), "--path", "*0001.JPG", "--dry-run")
    assert code == 0 and report["would_write"] == ["IMG_0001.JPG"]
    assert [p.name for p in dest.iterdir()] == ["IMG_0001.JPG"]
    share(capsys, "--to", str(dest), "--path", "*0001.JPG")
    share(capsys, "--to", str(dest), "--path", "*0001.JPG")
    assert (dest / "IMG_0001.JPG").read_bytes() == b"mine"
    assert sorted(p.name for p in dest.iterdir()) == [
        "IMG_0001 (2).JPG",
        "IMG_0001 (3).JPG",
        "IMG_0001.JPG",
    ]


def test_flagged_only_with_the_typed_word(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    dest = tmp_path / "out"
    monkeypatch.setattr("sys.stdin", io.StringIO("no\n"))
    code, _ = share(capsys, "--to", str(dest), "--include-flagged")
    assert code == 3 and not (dest.exists() and any(dest.iterdir()))
    monkeypatch.setattr("sys.stdin", io.StringIO("SHARE\n"))
    code, report = share(capsys, "--to", str(dest), "--include-flagged")
    assert code == 0 and sorted(report["included"]) == [FLAGGED, UNSCANNED]  # type: ignore[type-var]
    assert {FLAGGED, UNSCANNED} <= {p.name for p in dest.iterdir()}


def test_refuses_the_vault_and_a_mounted_phone(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert run(["share", "--to", str(env / "vault" / "out")]) == 2
    assert "inside the vault" in capsys.readouterr().err
    phone = tmp_path / "phone"
    (phone / "PhotoData").mkdir(parents=True)
    (phone / "DCIM").mkdir()
    assert run(["share", "--to", str(phone / "DCIM" / "100APPLE")]) == 2
    err = capsys.readouterr().err
    assert "mounted iPhone" in err and "hint:" in err
    assert not (env / "vault" / "out").exists() and not (phone / "DCIM" / "100APPLE").exists()


def test_a_copy_that_fails_leaves_nothing(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A movie the remuxer refuses is named as unreadable (exit 4) and leaves no file."""
    broken = tmp_path / "broken"
    (broken / "DCIM").mkdir(parents=True)
    shutil.copy(env / "roll" / "DCIM" / "100APPLE" / "IMG_0001.JPG", broken / "DCIM" / "a.JPG")
    (broken / "DCIM" / "b.MOV").write_bytes(b"\x00\x00\x00\x14ftypqt  " + bytes(64))
    vault = tmp_path / "v"
    assert run(["vault", "init", "--vault", str(vault), "--kdf-work-factor", str(WORK_FACTOR)]) == 0
    assert run(["backup", "--vault", str(vault), "--from", f"folder:{broken}"]) in (0, 4)
    with Vault.open(vault, PASSPHRASE, write=True) as opened:
        for stored in opened.assets():
            opened.record_scan(ScanRecord(stored.object_id, opened.now(), ()))
    dest = tmp_path / "out"
    code, report = share(capsys, "--vault", str(vault), "--to", str(dest))
    assert code == 4
    assert list(report["left_out"]["unreadable"]) == ["b.MOV"]  # type: ignore[index]
    assert [p.name for p in dest.iterdir()] == ["a.JPG"]


def test_a_photo_hidden_in_photos_is_left_out_like_a_flagged_one(tmp_path: Path) -> None:
    photos = {
        name: dirty_jpeg(tmp_path / name, seed=i, size=(16, 16))
        for i, name in enumerate(("IMG_0001.JPG", "IMG_0002.JPG"))
    }
    with new_vault(tmp_path / "vault") as vault:
        for name, path in photos.items():
            asset = Asset(
                "usb:phone",
                f"DCIM/100APPLE/{name}",
                path.stat().st_size,
                0,
                AssetKind.PHOTO,
                hidden=name == "IMG_0002.JPG",
            )
            with path.open("rb") as stream:
                stored = vault.put(asset, stream).stored
            vault.record_scan(
                ScanRecord(stored.object_id, vault.now(), (DetectorRun("t", "1", ()),))
            )
    ref = VaultRef(tmp_path / "vault", lambda: PASSPHRASE)
    report = share_files(ref, tmp_path / "out", Filters(), Options())
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["IMG_0001.JPG"]
    assert report.flagged == ["IMG_0002.JPG"]

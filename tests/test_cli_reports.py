"""Nothing silent: what a backup leaves out or finds odd, what a scan could not read, what status
says of an interrupted backup and of one folder backed up under two names."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import BinaryIO

import pytest
from PIL import Image

from companion.backup import VaultStore, run_backup
from companion.cli.app import run
from companion.connectors import connect
from companion.connectors.folder import FolderConnector
from companion.connectors.signature import is_known_format, unreadable
from companion.model import Asset, AssetKind
from companion.vault import Vault
from tests.support import PASSPHRASE, WORK_FACTOR, Window, digests, make_roll


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A new vault in COMPANION_VAULT, the passphrase in COMPANION_PASSPHRASE."""
    vault = tmp_path / "vault"
    monkeypatch.setenv("COMPANION_VAULT", str(vault))
    monkeypatch.setenv("COMPANION_PASSPHRASE", PASSPHRASE)
    assert run(["vault", "init", "--kdf-work-factor", str(WORK_FACTOR)]) == 0
    return vault


def call(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _jpeg() -> bytes:
    data = io.BytesIO()
    Image.new("RGB", (64, 48), (40, 90, 160)).save(data, "JPEG")
    return data.getvalue()


# --- 1. a folder holding DCIM/: what lies beside it is named ------------------------------------


def _export_with_photos_beside_dcim(root: Path) -> Path:
    make_roll(root)
    for path in ("other/holiday.jpg", "other/clip.MOV", "trips/2024/IMG_1.HEIC", "top.JPG"):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(_jpeg())
    (root / "other" / "notes.txt").write_text("not a photo")  # not counted: not a photo
    (root / "PhotoData" / "Metadata").mkdir(parents=True)  # a phone's own: not counted
    (root / "PhotoData" / "Metadata" / "IMG_0001.JPG").write_bytes(_jpeg())
    return root


def test_backup_names_the_photos_beside_dcim_it_did_not_look_at(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _export_with_photos_beside_dcim(tmp_path / "export")
    code, out, _err = call(capsys, "backup", "--from", f"folder:{root}")
    assert code == 0
    assert "4 photos and videos outside DCIM/ were not looked at" in out
    assert "other/ (2), trips/ (1), 1 at the top" in out
    assert f"companion backup --from folder:{root}/other" in out
    assert f"companion backup --from folder:{root}/trips" in out
    code, out, _err = call(capsys, "backup", "--from", f"folder:{root}", "--json")
    report = json.loads(out)
    assert code == 0 and report["skipped"] == len(digests(root / "DCIM"))
    assert report["left_out"] == {"other": 2, "trips": 1, "": 1}
    code, out, _err = call(capsys, "backup", "--from", f"folder:{root}/other", "--json")
    assert code == 0 and report["left_out"] and json.loads(out)["left_out"] == {}
    _code, out, _err = call(capsys, "backup", "--help")
    assert "only DCIM/ is backed up" in " ".join(out.split())


def test_the_count_beside_dcim_comes_from_names_alone(tmp_path: Path) -> None:
    root = _export_with_photos_beside_dcim(tmp_path / "export")
    (root / "other" / "holiday.jpg").chmod(0)  # counted without being opened
    connector = FolderConnector(str(root))
    assert connector.left_out() == {}  # nothing before a listing
    listed = list(connector.list_assets())
    assert all(a.path.startswith("DCIM/") for a in listed)
    assert connector.left_out() == {"other": 2, "trips": 1, "": 1}
    assert FolderConnector(str(root / "DCIM")).left_out() == {}


# --- 4. empty and garbage photos: stored, and named -------------------------------------------


@pytest.mark.parametrize("jobs", ["1", "2"])  # in this process, and in worker processes
def test_empty_and_garbage_photos_are_stored_and_listed_as_unreadable(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], jobs: str
) -> None:
    roll = make_roll(tmp_path / "roll")
    album = roll / "DCIM" / "100APPLE"
    odd = {
        "IMG_9001.JPG": b"",
        "IMG_9002.HEIC": b"this is no picture at all",
        "IMG_9003.MOV": b"\x00" * 64,
        "IMG_9004.PNG": b"\x89PN",  # shorter than any signature
    }
    for name, data in odd.items():
        (album / name).write_bytes(data)
    (album / "IMG_9005.AAE").write_bytes(b"")  # sidecars are not checked
    (album / "IMG_9006.TXT").write_bytes(b"")  # nor other files
    (album / "IMG_9007.JPG").write_bytes(_jpeg()[:40])  # a JPEG cut short: its start is fine
    code, out, err = call(capsys, "backup", "--from", f"folder:{roll}", "--jobs", jobs)
    assert code == 4, err
    warned = {
        line.split(": ")[1].rsplit("/", 1)[-1]: line
        for line in err.splitlines()
        if line.startswith("  warning:")
    }
    assert sorted(warned) == sorted(odd)
    assert "not a readable picture (an empty file)" in warned["IMG_9001.JPG"]
    assert "not a readable picture" in warned["IMG_9002.HEIC"]
    assert "not a readable video" in warned["IMG_9003.MOV"]
    code, out, _err = call(capsys, "ls", "--json")
    stored = {a["path"].rsplit("/", 1)[-1] for a in json.loads(out)}
    assert set(odd) | {"IMG_9005.AAE", "IMG_9006.TXT", "IMG_9007.JPG"} <= stored
    code, out, _err = call(capsys, "backup", "--from", f"folder:{roll}", "--json")
    assert code == 0 and json.loads(out)["warnings"] == {}  # nothing read again


@pytest.mark.parametrize(
    "head",
    [
        b"\xff\xd8\xff\xe1\x00\x10Exif",
        b"\x89PNG\r\n\x1a\n\x00\x00",
        b"GIF89a\x01\x00",
        b"II*\x00\x08\x00\x00\x00",
        b"MM\x00*\x00\x00\x00\x08",
        b"RIFF\x10\x00\x00\x00WEBPVP8 ",
        b"\x00\x00\x00\x18ftypheic\x00\x00",
        b"\x00\x00\x00\x14ftypqt  \x00\x00",
        b"\x00\x00\x00\x08wide\x00\x00",
    ],
)
def test_known_formats_are_told_by_their_first_bytes(head: bytes) -> None:
    assert is_known_format(head)
    assert unreadable(AssetKind.PHOTO, head, 1000) is None


def test_only_photos_and_videos_are_checked() -> None:
    assert unreadable(AssetKind.PHOTO, b"", 0) == (
        "not a readable picture (an empty file); stored as it is"
    )
    assert unreadable(AssetKind.SIDECAR, b"", 0) is None
    assert unreadable(AssetKind.OTHER, b"junk", 4) is None


# --- 3. a scan that cannot decode a file says so, in words ------------------------------------


def test_scan_counts_and_names_files_it_could_not_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    good = _jpeg()
    (folder / "IMG_0001.JPG").write_bytes(good)
    (folder / "IMG_0002.JPG").write_bytes(b"")
    (folder / "IMG_0003.HEIC").write_bytes(b"garbage named like a photo")
    (folder / "IMG_0004.JPG").write_bytes(good[: len(good) // 3])
    code, out, err = call(capsys, "scan", "--from", f"folder:{folder}", "--only", "secret_qr")
    assert code == 4, err
    assert "0 look private; 3 could not be read" in out
    reasons = dict(line.rsplit(": ", 1) for line in err.splitlines() if "not looked at" in line)
    assert reasons == {
        "not looked at: IMG_0002.JPG": "not a readable picture (an empty file)",
        "not looked at: IMG_0003.HEIC": "not a readable picture (unknown format)",
        "not looked at: IMG_0004.JPG": "the picture is cut short",
    }
    assert "BytesIO" not in out + err and "0x" not in err


def test_vault_scan_counts_files_it_could_not_read_in_this_run(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    roll = make_roll(tmp_path / "roll")
    (roll / "DCIM" / "100APPLE" / "IMG_9001.HEIC").write_bytes(b"")
    assert call(capsys, "backup", "--from", f"folder:{roll}")[0] == 4
    code, out, err = call(capsys, "scan", "--only", "secret_qr", "--jobs", "2")  # in workers
    assert code == 4, err
    assert "1 could not be read" in out
    assert "DCIM/100APPLE/IMG_9001.HEIC: not a readable picture (an empty file)" in err
    code, out, _err = call(capsys, "scan", "--only", "secret_qr")
    assert code == 0 and "could not be read" not in out  # already looked at: not again


# --- 5. status: an interrupted backup, a stable JSON shape ------------------------------------


class _Interrupted(Window):
    """Ctrl-C while the fourth file is opened."""

    def __init__(self, inner: FolderConnector) -> None:
        super().__init__(inner)
        self.opened = 0

    def open(self, asset: Asset) -> BinaryIO:
        self.opened += 1
        if self.opened == 4:
            raise KeyboardInterrupt
        return self.inner.open(asset)


def test_status_shows_an_interrupted_backup_then_its_end(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    roll = make_roll(tmp_path / "roll")
    source = f"folder:{roll}"
    with Vault.open(env, PASSPHRASE, write=True) as vault, pytest.raises(KeyboardInterrupt):
        run_backup(_Interrupted(FolderConnector(str(roll))), VaultStore(vault, jobs=1))
    code, out, _err = call(capsys, "status")
    assert code == 0
    assert "last backup interrupted at" in out
    assert f"({source}), 3 files stored; run companion backup --from {source} to finish" in out
    assert "before that" not in out
    code, out, _err = call(capsys, "status", "--json")
    status = json.loads(out)
    assert status["last_backup"] is None
    assert status["interrupted"]["files"] == 3 and status["interrupted"]["sources"] == [source]
    assert set(status["by_kind"]) == {"photo", "video", "sidecar", "other"}
    assert sum(k["count"] for k in status["by_kind"].values()) == status["assets"] == 3
    assert sum(k["bytes"] for k in status["by_kind"].values()) == status["bytes"]

    assert call(capsys, "backup", "--from", source)[0] == 0
    code, out, _err = call(capsys, "status")
    assert "interrupted" not in out and "last backup" in out and f"from {source}:" in out
    status = json.loads(call(capsys, "status", "--json")[1])
    assert status["interrupted"] is None
    last = status["last_backup"]
    assert set(last) == {"at", "source", "new", "deduplicated", "skipped", "failed"}
    assert last["source"] == source and last["skipped"] == 3 and last["failed"] == 0
    assert last["new"] + last["deduplicated"] + 3 == len(digests(roll))


def test_status_of_an_empty_vault(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = call(capsys, "status")
    assert code == 0 and "last backup never" in out and "nothing yet" in out
    status = json.loads(call(capsys, "status", "--json")[1])
    assert status["last_backup"] is None and status["interrupted"] is None
    assert status["by_kind"]["photo"] == {"count": 0, "bytes": 0}


# --- 2. one folder under two names -------------------------------------------------------------


def test_status_names_two_sources_holding_the_same_files(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_roll(tmp_path / "export")
    files = len(digests(root / "DCIM"))
    assert call(capsys, "backup", "--from", f"folder:{root}")[0] == 0
    code, out, _err = call(capsys, "backup", "--from", f"folder:{root}/DCIM", "--json")
    assert code == 0 and json.loads(out)["new"] == 0  # same bytes: nothing stored twice
    code, out, _err = call(capsys, "status")
    assert f"folder:{root} and folder:{root}/DCIM hold {files} of the same files" in out
    status = json.loads(call(capsys, "status", "--json")[1])
    assert status["shared"] == [
        {
            "sources": [f"folder:{root}", f"folder:{root}/DCIM"],
            "files": status["objects"],
            "bytes": status["bytes"] // 2,
        }
    ]
    assert status["assets"] == 2 * files  # counted under each source, as restore writes them


def test_the_same_folder_by_another_spelling_is_one_source(tmp_path: Path) -> None:
    root = make_roll(tmp_path / "export")
    (tmp_path / "link").symlink_to(root)
    spellings = (f"folder:{root}", f"folder:{tmp_path}/link", f"folder:{root}/DCIM/..")
    assert len({connect(s).source for s in spellings}) == 1

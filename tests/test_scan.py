"""The scan on real stored bytes: the simulated iPhone's camera roll backed up over USB into a
vault, then scanned with the real detectors. Every planted private shot is found, nothing else
is flagged, a second scan reads nothing, and a new private place re-runs only its detector."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from companion.backup import VaultStore, run_backup
from companion.model import Asset, AssetKind, Place
from companion.sensitivity import detectors
from companion.sensitivity.base import VERDICTS, DetectorSpec
from companion.sensitivity.scan import flagged_in_vault, scan_assets, scan_vault
from companion.simulator.planted import HOME
from companion.vault import Vault
from tests.support import PASSPHRASE, WORK_FACTOR, cli_env, companion
from tests.usb_support import phone_copy, usb


@pytest.fixture(scope="module")
def scanned_vault(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, dict[str, str]]]:
    """A vault holding the sample phone, with 'home' declared: (vault folder, planted labels)."""
    tmp = tmp_path_factory.mktemp("scan")
    phone = phone_copy(tmp)
    root = tmp / "vault"
    with (
        usb(phone, tmp) as (_simulator, connector),
        Vault.create(root, PASSPHRASE, work_factor=WORK_FACTOR) as vault,
    ):
        run_backup(connector, VaultStore(vault))
        vault.set_place(Place("home", *HOME, radius_m=150.0))
    yield root, dict(phone.planted)


def _copy(vault: Path, tmp_path: Path) -> Path:
    target = tmp_path / "vault"
    shutil.copytree(vault, target)
    return target


@pytest.mark.slow
def test_every_planted_shot_is_found_and_nothing_else(
    scanned_vault: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    root, planted = scanned_vault
    with Vault.open(_copy(root, tmp_path), PASSPHRASE, write=True) as vault:
        report = scan_vault(vault, jobs=1)
        assert not report.unavailable and not report.failed
        verdicts = {
            r.asset.path: {f.category for f in r.findings() if f.category in VERDICTS}
            for r in report.results
        }
        # a 2FA seed in a QR code is a credential too (docs/scan.md, "Categories")
        expected = {p: {c, "credentials"} if c == "secret_qr" else {c} for p, c in planted.items()}
        assert {p: c for p, c in verdicts.items() if c} == expected
        assert flagged_in_vault(vault) == len(planted)
        card = next(r for r in report.results if planted.get(r.asset.path) == "payment_card")
        explanation = card.findings(["payment_card"])[0].explanation
        assert "6467" in explanation and "4539148803436467" not in explanation.replace(" ", "")
        screenshots = {r.asset.path for r in report.results if r.findings(["screenshot"])}
        assert {p for p, c in planted.items() if c != "private_place"} <= screenshots


@pytest.mark.slow
def test_a_second_scan_reads_nothing_and_a_new_place_reruns_one_detector(
    scanned_vault: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    root, _planted = scanned_vault
    with Vault.open(_copy(root, tmp_path), PASSPHRASE, write=True) as vault:
        first = scan_vault(vault, only=["secret_qr", "private_place", "screenshot"])
        again = scan_vault(vault, only=["secret_qr", "private_place", "screenshot"])
        assert again.scanned == 0 and again.up_to_date == first.scanned > 20
        before = vault.scans()
        vault.set_place(Place("office", 48.8606, 2.3376, radius_m=80.0))
        moved = scan_vault(vault, only=["secret_qr", "private_place", "screenshot"])
        assert moved.scanned == first.scanned
        after = vault.scans()
        for object_id, scan in after.items():
            old = before[object_id]
            assert old.run("qr") == scan.run("qr")  # kept, not run again
            assert old.run("places").version != scan.run("places").version  # type: ignore[union-attr]
        # both scans are stored encrypted: reopening the vault gives the same findings
    with Vault.open(tmp_path / "vault", PASSPHRASE) as reopened:
        assert reopened.scans() == after
        assert [p.name for p in reopened.places()] == ["home", "office"]


@pytest.mark.slow
def test_parallel_workers_agree_with_one_process(
    scanned_vault: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    root, _planted = scanned_vault
    only = ["secret_qr", "private_place", "hidden", "screenshot", "nudity"]
    results = []
    for jobs, where in ((1, tmp_path / "one"), (2, tmp_path / "two")):
        where.mkdir()
        with Vault.open(_copy(root, where), PASSPHRASE, write=True) as vault:
            report = scan_vault(vault, only=only, jobs=jobs)
            results.append(sorted((r.asset.path, r.findings()) for r in report.results))
    assert results[0] == results[1]


def test_damaged_and_odd_files_are_reported_not_fatal(tmp_path: Path) -> None:
    good = io.BytesIO()
    Image.new("RGB", (64, 48), (40, 90, 160)).save(good, "JPEG")
    files = {
        "DCIM/100APPLE/IMG_0001.JPG": good.getvalue(),
        "DCIM/100APPLE/IMG_0002.HEIC": b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64,
        "DCIM/100APPLE/IMG_0003.JPG": good.getvalue()[: len(good.getvalue()) // 3],
        "DCIM/100APPLE/IMG_0004.MOV": b"\x00\x00\x00\x14ftypqt  " + b"\x00" * 32,
        "DCIM/100APPLE/IMG_0005.PNG": b"",
        "DCIM/100APPLE/IMG_0006.PNG": _bomb(),
    }
    items = [
        (
            Asset(
                "test",
                path,
                len(data),
                0,
                AssetKind.VIDEO if path.endswith("MOV") else AssetKind.PHOTO,
            ),
            (lambda d=data: d),
        )
        for path, data in files.items()
    ]
    report = scan_assets(items)
    assert report.scanned == len(files) and not report.flagged()
    notes = {r.asset.path: [run.note for run in r.runs] for r in report.results}
    assert any("not a readable picture" in n for n in notes["DCIM/100APPLE/IMG_0002.HEIC"])
    assert any("too large" in n for n in notes["DCIM/100APPLE/IMG_0006.PNG"]), notes
    assert all(not n.startswith("failed") for ns in notes.values() for n in ns), notes


def _bomb() -> bytes:
    """A PNG of a few kilobytes that would decode to 121 million pixels."""
    out = io.BytesIO()
    Image.new("1", (11_000, 11_000)).save(out, "PNG")
    assert len(out.getvalue()) < 100_000
    return out.getvalue()


@pytest.fixture
def missing_detector() -> Iterator[DetectorSpec]:
    spec = DetectorSpec(
        name="future",
        categories=("medical",),
        cost=9,
        module="companion.sensitivity.flags",
        requires=("a_model_package_that_is_not_installed",),
    )
    detectors.register(spec)
    try:
        yield spec
    finally:
        del detectors._REGISTRY[spec.name]


def test_a_detector_whose_library_is_missing_says_so_and_the_others_run(
    missing_detector: DetectorSpec,
) -> None:
    image = io.BytesIO()
    Image.new("RGB", (32, 32)).save(image, "PNG")
    data = image.getvalue()
    asset = Asset("test", "DCIM/100APPLE/IMG_0001.PNG", len(data), 0, AssetKind.PHOTO)
    report = scan_assets([(asset, lambda: data)], only=["medical", "screenshot"])
    assert "a_model_package_that_is_not_installed" in report.unavailable["future"]
    assert "companion[scan]" in report.unavailable["future"]
    assert [run.detector for run in report.results[0].runs] == ["flags", "text"]


def _env(tmp_path: Path, vault: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return cli_env(HOME=str(home), COMPANION_VAULT=str(vault), TMPDIR=str(tmp_path / "scratch"))


@pytest.mark.slow
def test_the_commands_places_scan_json_and_explain(
    scanned_vault: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    root, planted = scanned_vault
    vault = _copy(root, tmp_path)
    (tmp_path / "scratch").mkdir()
    env = _env(tmp_path, vault)
    added = companion("places", "add", "gym", "--lat", "48.85", "--lon", "2.29", env=env)
    assert added.returncode == 0, added.stderr
    listed = companion("places", "list", "--json", env=env)
    assert [p["name"] for p in json.loads(listed.stdout)] == ["gym", "home"]
    assert companion("places", "remove", "gym", env=env).returncode == 0
    assert companion("places", "remove", "gym", env=env).returncode == 2
    bad = companion("places", "add", "x", "--lat", "91", "--lon", "0", env=env)
    assert bad.returncode == 2 and "not a position" in bad.stderr
    done = companion("scan", "--json", "--only", "secret_qr,private_place", env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    wanted = {p for p, c in planted.items() if c in ("secret_qr", "private_place")}
    assert {line["asset"]["path"] for line in lines} == wanted
    assert all(set(line["findings"][0]) == {"category", "detector", "confidence", "explanation"}
               for line in lines)  # fmt: skip
    qr = next(p for p, c in planted.items() if c == "secret_qr")
    explained = companion("scan", "--explain", qr.rsplit("/", 1)[-1], env=env, timeout=300)
    assert explained.returncode == 0, explained.stderr
    for detector in ("flags", "places", "qr", "nudity", "text"):
        assert f"  {detector} " in explained.stdout
    assert "2FA secret" in explained.stdout and "JBSWY3DPEHPK3PXP" not in explained.stdout
    unknown = companion("scan", "--only", "tattoos", env=env)
    assert unknown.returncode == 2 and "unknown category" in unknown.stderr
    assert not list((tmp_path / "scratch").iterdir())  # nothing decrypted to disk


@pytest.mark.slow
def test_scanning_a_folder_stores_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "roll" / "DCIM" / "100APPLE"
    folder.mkdir(parents=True)
    import segno

    segno.make("WIFI:T:WPA;S:Home;P:a very long passphrase;;").save(
        str(folder / "IMG_0001.PNG"), scale=8
    )
    env = cli_env(HOME=str(tmp_path), COMPANION_VAULT=str(tmp_path / "no-vault"))
    done = companion("scan", "--from", f"folder:{tmp_path / 'roll'}", "--json", env=env)
    assert done.returncode == 0, done.stderr
    (line,) = [json.loads(x) for x in done.stdout.splitlines()]
    (qr,) = [f for f in line["findings"] if f["category"] == "secret_qr"]
    assert line["asset"]["id"] is None
    assert "Home" in qr["explanation"] and "passphrase" not in done.stdout
    assert not (tmp_path / "no-vault").exists()


@pytest.mark.slow
def test_findings_are_never_in_the_clear_on_disk(
    scanned_vault: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    root, _planted = scanned_vault
    vault = _copy(root, tmp_path)
    with Vault.open(vault, PASSPHRASE, write=True) as opened:
        scan_vault(opened, only=["secret_qr"])
    for path in vault.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            # markers long enough that random ciphertext never holds them by chance
            assert b"secret_qr" not in data and b"2FA secret" not in data, path


@pytest.mark.slow
def test_the_checklist_opens_with_how_many_photos_were_flagged(
    scanned_vault: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    root, planted = scanned_vault
    vault = _copy(root, tmp_path)
    with Vault.open(vault, PASSPHRASE, write=True) as opened:
        scan_vault(opened, only=["secret_qr", "private_place"])
    env = cli_env(HOME=str(tmp_path))
    args = ["--ios", "17.5", "--format", "md", "--out", "-", "--vault", str(vault)]
    done = companion("checklist", *args, env=env)
    assert done.returncode == 0, done.stderr
    expected = sum(1 for c in planted.values() if c in ("secret_qr", "private_place"))
    assert f"The scan flagged {expected} private photos on this phone" in done.stdout
    assert f"companion cleanup --vault {vault}" in done.stdout.replace("\\", "")  # Markdown escapes
    for path in planted:  # never the photos themselves
        assert path.rsplit("/", 1)[-1] not in done.stdout

"""The guided tour: the whole journey against a simulated iPhone, with no phone attached.

A simulated iPhone starts in this process and speaks usbmuxd, lockdown and AFC on a private
socket; the tour then uses exactly the code a real phone meets (``connect("usb")``): pairing,
listing the camera roll and Photos.sqlite, streaming each file into a real vault. Each step is a
real library call; ``narrate`` receives one line per step. Everything lives under one folder, so
a second tour there is incremental, like a second backup of a real phone.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from companion.backup import VaultStore, run_backup
from companion.checklist.builder import DeviceFacts, build_checklist, facts_from_device
from companion.checklist.model import LANGS, Lang
from companion.checklist.output import default_paper, render, write_document
from companion.connectors import ConnectOptions, connect
from companion.connectors.base import AppLister
from companion.errors import IntegrityError
from companion.model import BackupReport, DeviceInfo, Place
from companion.sensitivity.base import VERDICTS
from companion.sensitivity.scan import ScanReport, scan_vault
from companion.simulator import Simulator
from companion.simulator.phone import build_phone
from companion.simulator.planted import HOME
from companion.vault import Vault
from companion.vault.crypto import DEFAULT_WORK_FACTOR
from companion.vault.restore import RestoreReport, restore
from companion.vault.status import VaultStatus, summarize
from companion.vault.unlock import MARKER
from companion.vault.verify import VerifyMode, VerifyReport, verify

DEMO_PASSPHRASE = "demo passphrase"  # noqa: S105 (the tour's throwaway vault; printed to the person)


@dataclass(frozen=True, slots=True)
class DemoReport:
    workdir: Path
    phone: DeviceInfo
    vault: Path
    restored: Path
    created: bool  # a new vault (False: a second tour, the vault was already there)
    first_backup: BackupReport
    second_backup: BackupReport
    verify: VerifyReport
    restore: RestoreReport
    identical: int  # restored files byte-identical to the phone's
    status: VaultStatus
    checklists: tuple[Path, ...]  # the permission checklist, one PDF per language
    scan: ScanReport


def run_demo(
    workdir: Path,
    narrate: Callable[[str], None],
    *,
    seed: int = 7,
    work_factor: int = DEFAULT_WORK_FACTOR,
) -> DemoReport:
    """Simulate an iPhone, back it up twice, verify, restore and compare. Raises on failure."""
    vault_dir, restored = workdir / "vault", workdir / "restored"
    narrate("1/9 Making the simulated iPhone's camera roll (built once, then reused).")
    phone = build_phone(workdir / "simulated-iphone", seed=seed, size="small")
    with Simulator(phone) as simulator:
        options = ConnectOptions(
            notify=narrate,
            usbmux_address=simulator.address,
            pair_records=workdir / "pair-records",
        )
        connector = connect("usb", options)
        with contextlib.closing(connector):  # type: ignore[type-var]
            narrate("2/9 Connecting over usbmuxd and lockdown, pairing as a real iPhone asks.")
            info = connector.info()
            narrate(f"    found {info.name}: {info.model}, iOS {info.os_version}")
            created = not (vault_dir / MARKER).exists()
            if created:
                narrate(f"3/9 Creating an encrypted vault (passphrase: {DEMO_PASSPHRASE!r}).")
                vault = Vault.create(vault_dir, DEMO_PASSPHRASE, work_factor=work_factor)
            else:
                narrate("3/9 Opening the vault of the previous tour: this backup is incremental.")
                vault = Vault.open(vault_dir, DEMO_PASSPHRASE, write=True)
            if not isinstance(connector, AppLister):  # the USB connector always is
                raise TypeError("the USB connector cannot list apps")
            facts = facts_from_device(connector)
            with vault:
                narrate("4/9 Backing up over USB: each file is streamed, hashed, encrypted once.")
                first = run_backup(connector, VaultStore(vault))
                narrate("5/9 Backing up again: nothing changed on the phone, so nothing is read.")
                second = run_backup(connector, VaultStore(vault))
                narrate("6/9 Verifying: decrypting every file and comparing its fingerprint.")
                checked = verify(vault, VerifyMode.FULL)
                narrate("7/9 Restoring into a folder and comparing with the phone's files.")
                restored_report = restore(vault, restored)
                narrate("8/9 Scanning for private shots, on this computer, with 'home' declared.")
                scanned = _scan(vault, narrate)
                vault.flush()
                status = summarize(vault)
    narrate("9/9 Writing the photo-permission checklist for this iPhone's apps, in each language.")
    review = f"companion scan --vault {vault_dir}"
    flagged = len(scanned.flagged())
    checklists = tuple(_checklist(facts, workdir, lang, flagged, review) for lang in LANGS)
    identical, total = _compare(phone.media_root, restored)
    if identical != total:
        raise IntegrityError(f"only {identical} of {total} files came back identical")
    return DemoReport(
        workdir,
        info,
        vault_dir,
        restored,
        created,
        first,
        second,
        checked,
        restored_report,
        identical,
        status,
        checklists,
        scanned,
    )


def _scan(vault: Vault, narrate: Callable[[str], None]) -> ScanReport:
    """Declare the simulated owner's home, then scan; say what each planted shot was found as."""
    if not any(p.name == "home" for p in vault.places()):
        vault.set_place(Place("home", *HOME, radius_m=150.0))
    report = scan_vault(vault)
    for name, why in report.unavailable.items():
        narrate(f"    the {name} detector cannot run: {why}")
    for result in report.flagged():
        found = ", ".join(sorted({f.category for f in result.findings() if f.category in VERDICTS}))
        narrate(f"    {result.asset.name}: {found}")
    return report


def _checklist(facts: DeviceFacts, workdir: Path, lang: Lang, flagged: int, review: str) -> Path:
    document = build_checklist(
        facts, lang, today=date.today(), flagged=flagged, review_command=review
    )
    path = workdir / f"photo-checklist-{lang}.pdf"
    write_document(path, render(document, "pdf", paper=default_paper(lang)).data)
    return path


def _compare(media_root: Path, restored: Path) -> tuple[int, int]:
    """How many restored files equal the phone's file at the same path, out of all restored."""
    identical = total = 0
    for copy in sorted(p for p in restored.rglob("*") if p.is_file()):
        total += 1
        original = media_root / copy.relative_to(restored)
        if original.is_file() and _sha256(original) == _sha256(copy):
            identical += 1
    return identical, total


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()

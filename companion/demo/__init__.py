"""The guided tour: the whole journey against a simulated iPhone, with no phone attached.

A simulated iPhone starts in this process and speaks usbmuxd, lockdown and AFC on a private
socket; the tour then uses exactly the code a real phone meets (``connect("usb")``): pairing,
listing the camera roll and Photos.sqlite, streaming each file into a real vault. Each step is a
real library call; ``narrate`` receives one line per step, and a ``TourView`` (if given) the
progress of the long steps and how long each step took (library code never prints or draws).
Everything lives under one folder, so a second tour there is incremental, like a second backup
of a real phone (the simulated phone is built once, then reused).
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Protocol

from companion.checklist.builder import DeviceFacts, facts_from_device
from companion.checklist.model import LANGS, Lang
from companion.cleanup.remove import executor_for
from companion.connectors import ConnectOptions, Connector, connect
from companion.connectors.base import AppLister
from companion.connectors.usb.options import UsbOptions
from companion.demo.icloud import IcloudStep, back_up_from_icloud
from companion.errors import IntegrityError
from companion.model import Asset, BackupReport, DeviceInfo, Place
from companion.sensitivity.base import VERDICTS
from companion.sensitivity.scan import ScanReport, scan_vault
from companion.share import ShareReport
from companion.simulator import Simulator
from companion.simulator.phone import build_phone, built_phone
from companion.simulator.planted import HOME
from companion.usecases.backup import back_up_into
from companion.usecases.check import check_opened, restore_opened
from companion.usecases.checklist import choose_paper, write_checklist
from companion.usecases.cleanup import Outcome, choose_all, clean_up
from companion.usecases.share import share_ordinary
from companion.vault import Vault, VaultRef
from companion.vault.crypto import DEFAULT_WORK_FACTOR
from companion.vault.restore import RestoreReport
from companion.vault.status import VaultStatus, summarize
from companion.vault.verify import VerifyMode, VerifyReport

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
    cleanup: Outcome  # a dry run: what cleanup would do with the private shots found
    reused_phone: bool = False  # the simulated phone was built by a previous tour
    icloud: IcloudStep | None = None  # with ``icloud``: the backup from the simulated iCloud
    shared: ShareReport | None = None  # clean copies of a few ordinary photos
    timings: dict[str, float] = field(default_factory=dict)  # step (STEPS) -> seconds


Update = Callable[[int, int], None]  # (done, total): bytes, or files
STEPS = (
    "phone",
    "pair",
    "vault",
    "backup",
    "backup_again",
    "verify",
    "restore",
    "scan",
    "cleanup",
    "checklist",
)
ICLOUD_STEP = "icloud"  # one step more with ``icloud``
PREVIEWS = 3  # with ``icloud``: photos the simulated iPhone keeps only as previews


class TourView(Protocol):
    """How the tour shows itself while it runs: the CLI draws progress bars and prints each
    step's time (on a terminal); tests may record."""

    def bar(self, desc: str, *, in_bytes: bool) -> AbstractContextManager[Update]:
        """A progress bar for one long step, fed (done, total) in bytes or in files."""
        ...

    def took(self, step: str, seconds: float) -> None:
        """Step ``step`` (one of ``STEPS``) ended after ``seconds``."""
        ...


class _Quiet:
    def bar(self, desc: str, *, in_bytes: bool) -> AbstractContextManager[Update]:
        return nullcontext(_ignore)

    def took(self, step: str, seconds: float) -> None:
        pass


def _ignore(done: int, total: int) -> None:
    pass


class _Clock:
    """Times the tour's steps: each ends when the next starts (or at ``end``)."""

    def __init__(self, view: TourView) -> None:
        self.view = view
        self.times: dict[str, float] = {}
        self._step: str | None = None
        self._started = 0.0

    def start(self, step: str) -> None:
        self.end()
        self._step, self._started = step, time.perf_counter()

    def end(self) -> None:
        if self._step is not None:
            self.times[self._step] = seconds = time.perf_counter() - self._started
            self.view.took(self._step, seconds)
            self._step = None


class _BackupBar:
    """A backup's progress callbacks as (bytes read, bytes to read)."""

    def __init__(self, update: Update) -> None:
        self._update = update
        self._done = self._total = 0

    def start(self, total_bytes: int, total_items: int) -> None:
        self._done, self._total = 0, total_bytes
        self._update(0, total_bytes)

    def advance(self, nbytes: int) -> None:
        self._done += nbytes
        self._update(self._done, self._total)

    def item_done(self, asset: Asset, outcome: str) -> None:
        pass


def run_demo(
    workdir: Path,
    narrate: Callable[[str], None],
    *,
    seed: int = 7,
    work_factor: int = DEFAULT_WORK_FACTOR,
    view: TourView | None = None,
    icloud: bool = False,
) -> DemoReport:
    """Simulate an iPhone, back it up twice, verify, restore and compare, scan, plan the
    cleanup, write the checklist. With ``icloud``, the phone keeps ``PREVIEWS`` photos as
    previews only (Optimize iPhone Storage), and a last step backs up the simulated iCloud
    that holds their originals (``demo/icloud.py``). Raises on failure."""
    if icloud:
        narrate = _out_of(narrate, len(STEPS) + 1)
    vault_dir, restored = workdir / "vault", workdir / "restored"
    previews = PREVIEWS if icloud else 0
    view = view or _Quiet()
    clock = _Clock(view)
    clock.start("phone")
    phone_dir = workdir / "simulated-iphone"
    reused = built_phone(phone_dir, seed=seed, size="small", cloud_only=previews)
    if reused is not None:
        narrate("1/10 Using the simulated iPhone's camera roll from a previous run.")
    else:
        narrate("1/10 Making the simulated iPhone's camera roll (built once, then reused).")
    phone = reused or build_phone(phone_dir, seed=seed, size="small", cloud_only=previews)
    with Simulator(phone) as simulator:
        options = ConnectOptions(
            notify=narrate,
            per_connector=(
                UsbOptions(usbmux_address=simulator.address, pair_records=workdir / "pair-records"),
            ),
        )
        connector = connect("usb", options)
        with contextlib.closing(connector):  # type: ignore[type-var]
            clock.start("pair")
            narrate("2/10 Connecting over usbmuxd and lockdown, pairing as a real iPhone asks.")
            info = connector.info()
            narrate(f"    found {info.name}: {info.model}, iOS {info.os_version}")
            created = not Vault.exists(vault_dir)
            clock.start("vault")
            if created:
                narrate(f"3/10 Creating an encrypted vault (passphrase: {DEMO_PASSPHRASE!r}).")
                vault = Vault.create(vault_dir, DEMO_PASSPHRASE, work_factor=work_factor)
            else:
                narrate("3/10 Opening the vault of the previous tour: this backup is incremental.")
                vault = Vault.open(vault_dir, DEMO_PASSPHRASE, write=True)
            if not isinstance(connector, AppLister):  # the USB connector always is
                raise TypeError("the USB connector cannot list apps")
            facts = facts_from_device(connector)
            with vault:
                steps = _in_the_vault(vault, connector, restored, phone.media_root, narrate, clock)
                shared = _share(vault, workdir / "shared", narrate)
            clock.start("cleanup")
            cleanup = _cleanup(connector, VaultRef(vault_dir, lambda: DEMO_PASSPHRASE), narrate)
    clock.start("checklist")
    narrate(
        "10/10 Writing the photo-permission checklist for this iPhone's apps, in each language."
    )
    review = f"companion cleanup --vault {vault_dir}"
    flagged = len(steps.scan.flagged())
    checklists = tuple(_checklist(facts, workdir, lang, flagged, review) for lang in LANGS)
    from_icloud = None
    if icloud:
        from_icloud = _icloud_step(vault_dir, phone.media_root, workdir, narrate, clock)
    clock.end()
    return DemoReport(
        workdir,
        info,
        vault_dir,
        restored,
        created,
        steps.first,
        steps.second,
        steps.verify,
        steps.restore,
        steps.identical,
        steps.status,
        checklists,
        steps.scan,
        cleanup,
        reused_phone=reused is not None,
        timings=clock.times,
        icloud=from_icloud,
        shared=shared,
    )


def _icloud_step(
    vault_dir: Path, media_root: Path, workdir: Path, narrate: Callable[[str], None], clock: _Clock
) -> IcloudStep:
    clock.start(ICLOUD_STEP)
    narrate(
        f"11/11 Backing up from a simulated iCloud: the {PREVIEWS} originals the iPhone kept "
        "there only (Optimize iPhone Storage)."
    )
    with Vault.open(vault_dir, DEMO_PASSPHRASE, write=True) as vault:
        step = back_up_from_icloud(vault, media_root, workdir / "icloud-sessions", narrate)
    for found in step.previews:
        got = found.from_icloud_by_identifier + found.from_icloud_by_name_and_time
        narrate(
            f"    {got} of {found.recorded} originals the phone had only as previews are now in "
            f"the vault, {found.missing} missing"
        )
    return step


def _out_of(narrate: Callable[[str], None], total: int) -> Callable[[str], None]:
    """``narrate`` with each step's "N/10" counted out of ``total`` steps."""
    mark = f"/{len(STEPS)} "

    def say(line: str) -> None:
        number, found, rest = line.partition(mark)
        narrate(f"{number}/{total} {rest}" if found and number.isdigit() else line)

    return say


@dataclass(frozen=True, slots=True)
class _Steps:
    first: BackupReport
    second: BackupReport
    verify: VerifyReport
    restore: RestoreReport
    identical: int
    scan: ScanReport
    status: VaultStatus


def _in_the_vault(
    vault: Vault,
    connector: Connector,
    restored: Path,
    media_root: Path,
    narrate: Callable[[str], None],
    clock: _Clock,
) -> _Steps:
    """Steps 4 to 8: back up twice, verify, restore and compare, scan."""
    view = clock.view
    clock.start("backup")
    narrate("4/10 Backing up over USB: each file is streamed, hashed, encrypted once.")
    with view.bar("backup", in_bytes=True) as update:
        first = back_up_into(connector, vault, progress=_BackupBar(update))
    clock.start("backup_again")
    narrate("5/10 Backing up again: nothing changed on the phone, so nothing is read.")
    with view.bar("backup", in_bytes=True) as update:
        second = back_up_into(connector, vault, progress=_BackupBar(update))
    clock.start("verify")
    narrate("6/10 Verifying: decrypting every file and comparing its fingerprint.")
    with view.bar("verify", in_bytes=True) as update:
        checked = check_opened(vault, VerifyMode.FULL, progress=update)
    clock.start("restore")
    narrate("7/10 Restoring into a folder and comparing with the phone's files.")
    with view.bar("restore", in_bytes=True) as update:
        shutil.rmtree(restored, ignore_errors=True)  # the tour's own copy, from a previous tour
        restored_report = restore_opened(vault, restored, progress=update, source=first.source)
    identical, count = _compare(media_root, restored)
    if identical != count:
        raise IntegrityError(f"only {identical} of {count} files came back identical")
    clock.start("scan")
    narrate("8/10 Scanning for private shots, on this computer, with 'home' declared.")
    with view.bar("scanning", in_bytes=False) as update:
        scanned = _scan(vault, narrate, update)
    vault.flush()
    return _Steps(first, second, checked, restored_report, identical, scanned, summarize(vault))


def _scan(vault: Vault, narrate: Callable[[str], None], update: Update) -> ScanReport:
    """Declare the simulated owner's home, then scan; say what each planted shot was found as."""
    if not any(p.name == "home" for p in vault.places()):
        vault.set_place(Place("home", *HOME, radius_m=150.0))
    report = scan_vault(vault, progress=update)
    for name, why in report.unavailable.items():
        narrate(f"    the {name} detector cannot run: {why}")
    for result in report.flagged():
        found = ", ".join(sorted({f.category for f in result.findings() if f.category in VERDICTS}))
        narrate(f"    {result.asset.name}: {found}")
    return report


def _share(vault: Vault, folder: Path, narrate: Callable[[str], None]) -> ShareReport:
    """Clean copies of three photos the scan found ordinary, as ``companion share`` writes them
    (the folder emptied of a previous tour's copies first: a share never overwrites)."""
    if folder.is_dir():
        for old in folder.iterdir():
            if old.is_file():
                old.unlink()
    report = share_ordinary(vault, folder)
    narrate(
        f"    shared {len(report.written)} ordinary photos with no place, date or device in "
        f"them: {folder}"
    )
    return report


def _cleanup(connector: Connector, vault: VaultRef, narrate: Callable[[str], None]) -> Outcome:
    """A dry run of ``companion cleanup`` on the phone: every flagged photo that is verified in
    the vault chosen, nothing recorded, nothing asked, nothing touched."""
    narrate("9/10 Planning the cleanup of those shots (a dry run: the phone is not touched).")
    executor = executor_for(connector, quarantine=None, delete=False, dry_run=True)
    outcome = clean_up(connector, vault, executor, choose_all)
    report = outcome.report
    ready, total = len(outcome.plan.ready()), len(outcome.plan.groups)
    narrate(f"    {ready} of {total} flagged items are verified in the vault and could go")
    for result in report.would_remove if report is not None else ():
        narrate(f"    {result.detail}")
    return outcome


def _checklist(facts: DeviceFacts, workdir: Path, lang: Lang, flagged: int, review: str) -> Path:
    path = workdir / f"photo-checklist-{lang}.pdf"
    paper = choose_paper(None, lang)
    write_checklist(
        facts, lang, "pdf", paper, path, today=date.today(), flagged=flagged, review=review
    )
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

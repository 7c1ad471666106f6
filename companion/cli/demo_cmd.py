"""``companion demo``: the guided tour on a simulated iPhone."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from companion.cli.common import EXIT_STATUS, JsonOpt, byte_bar, count_bar, emit_json, human_bytes
from companion.errors import UsageError


class _TerminalView:
    """The tour's progress bars and step times, on stderr and only on a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()

    @contextmanager
    def bar(self, desc: str, *, in_bytes: bool) -> Iterator[Callable[[int, int], None]]:
        if not in_bytes:
            with count_bar(desc, enabled=self.enabled) as update:
                yield update
            return
        with byte_bar(0, desc, enabled=self.enabled) as bar:

            def update(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            yield update

    def took(self, step: str, seconds: float) -> None:
        if self.enabled:
            typer.echo(f"    done in {_duration(seconds)}", err=True)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {seconds % 60:02.0f} s"


def register(app: typer.Typer) -> None:
    app.command("demo", epilog=EXIT_STATUS)(demo)


def demo(
    workdir: Annotated[
        Path,
        typer.Option(
            "--dir",
            metavar="DIR",
            help="Where the tour keeps the simulated iPhone's files, its vault and the restored "
            "copy. Run it again on the same folder to see an incremental backup.",
        ),
    ] = Path("companion-demo"),
    seed: Annotated[int, typer.Option("--seed", help="Which sample iPhone to simulate.")] = 7,
    icloud: Annotated[
        bool,
        typer.Option(
            "--icloud",
            help="Also the iCloud side: the simulated iPhone keeps a few photos as previews "
            "only (Optimize iPhone Storage), and a simulated iCloud holding their originals "
            "is signed in to and backed up.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Run the whole journey on a simulated iPhone: no phone needed, nothing of yours touched.

    A simulated iPhone starts inside this command and speaks the same USB protocols as a real
    one. The tour pairs with it, backs its camera roll up into a new encrypted vault, backs up
    again (nothing is read the second time), verifies every file by decrypting it, restores
    them and checks that each one comes back byte for byte. Then it scans the vault for private
    shots (the simulated phone has a card screenshot, a 2FA QR code, recovery words and photos
    taken at home), shares three ordinary photos as clean copies (no place, date or device in
    them), and writes the photo-permission checklist for its apps, in English and French.
    With --icloud, a simulated iCloud (a local HTTPS server) is signed in to, with a two-factor
    code, and backed up: the originals the iPhone kept there only arrive in the vault.
    On a terminal, each step shows a progress bar and how long it took.
    """
    existing = next((p for p in (workdir, *workdir.parents) if p.exists()), workdir)
    if not existing.is_dir():
        what = "" if existing == workdir else f" cannot be a folder: {existing}"
        raise UsageError(
            f"--dir {workdir}{what} is a file, not a folder",
            hint="Give --dir a folder (it is made if missing), or leave --dir out to use "
            "./companion-demo.",
        )
    from companion.demo import DEMO_PASSPHRASE, run_demo  # loads Pillow and the USB stack

    say = (lambda _line: None) if as_json else typer.echo
    report = run_demo(
        workdir, say, seed=seed, view=_TerminalView(enabled=not as_json), icloud=icloud
    )
    if as_json:
        emit_json(report)
        return
    first, second = report.first_backup, report.second_backup
    phone = report.phone
    typer.echo("")
    typer.echo(f"  iPhone     {phone.name} ({phone.model}, iOS {phone.os_version}), simulated")
    typer.echo(
        f"  backup     {first.new} new files stored ({human_bytes(first.bytes_read)}), "
        f"{first.skipped} already in the vault, {first.deduplicated} duplicates stored once"
        + (f", {len(first.failed)} not readable on the iPhone" if first.failed else "")
    )
    typer.echo(f"  again      {second.new} new, {second.skipped} unchanged and not read")
    typer.echo(
        f"  verify     {report.verify.objects_checked} files decrypted and re-hashed, "
        f"{len(report.verify.damaged)} damaged"
    )
    typer.echo(f"  restore    {report.identical} files back, byte-identical to the iPhone's")
    typer.echo(
        f"  vault      {report.status.assets} files, {human_bytes(report.status.stored_bytes)} "
        f"encrypted on disk, in {report.vault}"
    )
    flagged = report.scan.flagged()
    typer.echo(
        f"  scan       {len(flagged)} private shots found: "
        + ", ".join(f"{r.asset.name} ({_verdicts(r)})" for r in flagged)
    )
    plan = report.cleanup.plan
    typer.echo(
        f"  cleanup    {len(plan.ready())} of {len(plan.groups)} flagged items verified in the "
        "vault, ready to take off the phone (dry run: nothing touched)"
    )
    if report.shared is not None:
        typer.echo(
            f"  share      {len(report.shared.written)} ordinary photos copied with no place, date "
            f"or device in them, into {report.shared.folder}"
        )
    typer.echo(f"  checklist  {', '.join(str(p) for p in report.checklists)}")
    if report.icloud is not None:
        from_icloud = report.icloud.backup
        typer.echo(
            f"  icloud     {from_icloud.new} new files from {report.icloud.apple_id}'s simulated "
            f"iCloud, {from_icloud.deduplicated} already in the vault from the iPhone (stored "
            "once)"
        )
        for found in report.icloud.previews:
            got = found.from_icloud_by_identifier + found.from_icloud_by_name_and_time
            typer.echo(
                f"  previews   {got} of the {found.recorded} originals the iPhone kept in iCloud "
                f"only are now in the vault, {found.missing} missing"
            )
    typer.echo("")
    typer.echo("Try next:")
    hints = (
        (f"companion ls --vault {report.vault}", f"passphrase: {DEMO_PASSPHRASE!r}"),
        (f"companion scan --vault {report.vault} --explain IMG_0012.PNG", "why it was flagged"),
        (f"companion demo --dir {report.workdir}", "again: an incremental backup"),
        ("companion simulator serve", "a simulated iPhone for every other command"),
        ("companion devices; companion backup", "with your own iPhone on a cable"),
    )
    width = max(len(command) for command, _ in hints) + 2
    for command, why in hints:
        typer.echo(f"  {command:<{width}}({why})")


def _verdicts(result: Any) -> str:
    from companion.sensitivity.base import VERDICTS

    return ", ".join(sorted({f.category for f in result.findings() if f.category in VERDICTS}))

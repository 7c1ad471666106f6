"""``companion verify``: check that the vault still holds every file intact."""

from __future__ import annotations

from typing import Annotated

import typer

from companion.cli import integrity
from companion.cli.common import (
    EXIT_STATUS,
    JobsOpt,
    JsonOpt,
    PassFileOpt,
    VaultOpt,
    byte_bar,
    emit_json,
    fed,
    human_bytes,
    printable,
    vault_ref,
)
from companion.errors import IntegrityError, UsageError
from companion.usecases.check import check
from companion.usecases.repair import repair_vault
from companion.vault.repair import RepairReport
from companion.vault.verify import VerifyMode, VerifyReport


def _plain_fields(report: VerifyReport) -> dict[str, object]:
    return {name: getattr(report, name) for name in report.__dataclass_fields__}


def register(app: typer.Typer) -> None:
    app.command("verify", epilog=EXIT_STATUS)(verify)


def verify(
    vault: VaultOpt = None,
    passphrase_file: PassFileOpt = None,
    full: Annotated[
        bool, typer.Option("--full", help="Decrypt and re-hash every file (reads everything).")
    ] = False,
    sample: Annotated[
        float | None,
        typer.Option(
            "--sample",
            metavar="PCT",
            min=0.01,
            max=100,
            help="Fully check this % of files, at random.",
        ),
    ] = None,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="With --full: first make a damaged catalogue whole again. Damaged segments are "
            "moved to catalogue/damaged/, and every stored file no record names any more comes "
            "back under recovered/ (dated from its EXIF).",
        ),
    ] = False,
    jobs: JobsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check that the vault still holds every file intact.

    Every check first decrypts and authenticates each catalogue segment (the list of what the
    vault holds): a damaged, missing or rolled-back segment is reported (exit 13). Without
    options, a quick check follows: every encrypted file exists with the exact size written.
    --full decrypts everything and compares it with the fingerprint taken at backup, and records
    the result in the vault. Damaged files are named one per line (exit 13).
    """
    if full and sample is not None:
        raise UsageError("--full and --sample exclude each other")
    if repair and not full:
        raise UsageError("--repair needs --full", hint="Run 'companion verify --full --repair'.")
    mode = (
        VerifyMode.FULL if full else VerifyMode.SAMPLE if sample is not None else VerifyMode.QUICK
    )
    ref = vault_ref(vault, passphrase_file)
    repaired = repair_vault(ref) if repair else None
    if repaired is not None:
        integrity.forget()  # what the repair found is mended; the check below sees what is not
    if repaired is not None and not as_json:
        _say_repaired(repaired)
    with byte_bar(0, f"verify ({mode.value})", enabled=not as_json) as bar:
        report = check(ref, mode, sample_pct=sample or 100.0, jobs=jobs, progress=fed(bar))
    _render(report, repaired, as_json)


def _say_repaired(report: RepairReport) -> None:
    typer.echo(
        f"Repaired the catalogue: {len(report.set_aside)} damaged segment(s) moved to "
        f"catalogue/damaged/, {len(report.filled)} missing number(s) filled, "
        f"{len(report.recovered)} file(s) recovered under recovered/."
    )
    for object_id in report.unreadable:
        typer.echo(f"  unreadable, set aside: object {object_id}", err=True)


def _render(report: VerifyReport, repaired: RepairReport | None, as_json: bool) -> None:
    if as_json:
        emit_json({**_plain_fields(report), "repair": repaired})
    else:
        typer.echo(
            f"Checked {report.segments_checked} catalogue segments and "
            f"{report.objects_checked} files ({human_bytes(report.bytes_checked)}, "
            f"{report.mode.value}): {len(report.catalogue)} catalogue problem(s), "
            f"{len(report.damaged)} damaged."
        )
        for problem in report.catalogue:
            typer.echo(f"  CATALOGUE {problem.describe()}", err=True)
        for damage in report.damaged:
            for path in damage.paths:
                typer.echo(f"  DAMAGED {printable(path)}: {damage.reason}", err=True)
    if report.catalogue:
        raise integrity.as_error(list(report.catalogue))
    if not report.damaged:
        return
    count = sum(len(damage.paths) for damage in report.damaged)
    message = f"{count} file{'s' * (count != 1)} damaged in the vault"
    if report.mode is VerifyMode.QUICK:
        raise IntegrityError(message)
    raise IntegrityError(
        message,
        "Each damaged encrypted file was set aside; 'companion backup' from a source that still "
        "has the photos stores them again.",
    )

"""``companion verify``, ``restore``, ``ls`` and ``status``: reading the vault back."""

from __future__ import annotations

import contextlib
import random
import shlex
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from companion.cli.common import (
    EXIT_STATUS,
    JobsOpt,
    JsonOpt,
    PassFileOpt,
    VaultOpt,
    byte_bar,
    emit_json,
    human_bytes,
    parse_day,
    read_passphrase,
    vault_path,
)
from companion.errors import ExitCode, UsageError
from companion.vault import Vault
from companion.vault.pool import WorkerPool, default_workers
from companion.vault.restore import restore as restore_assets
from companion.vault.status import VaultStatus, summarize
from companion.vault.verify import VerifyMode, plan_size
from companion.vault.verify import verify as verify_vault


def register(app: typer.Typer) -> None:
    app.command("verify", epilog=EXIT_STATUS)(verify)
    app.command("restore", epilog=EXIT_STATUS)(restore)
    app.command("ls", epilog=EXIT_STATUS)(ls)
    app.command("status", epilog=EXIT_STATUS)(status)


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
    jobs: JobsOpt = None,
    as_json: JsonOpt = False,
) -> int:
    """Check that the vault still holds every file intact.

    Without options, a quick check: every encrypted file exists with the exact size written.
    --full decrypts everything and compares it with the fingerprint taken at backup, and records
    the result in the vault. Damaged files are named one per line (exit 13).
    """
    if full and sample is not None:
        raise UsageError("--full and --sample exclude each other")
    mode = (
        VerifyMode.FULL if full else VerifyMode.SAMPLE if sample is not None else VerifyMode.QUICK
    )
    root = vault_path(vault)
    passphrase = read_passphrase(passphrase_file)
    workers = jobs or default_workers()
    with contextlib.ExitStack() as stack:
        # Decrypting checks start their workers first: they start while scrypt unlocks the vault.
        pool = None
        if mode is not VerifyMode.QUICK and workers > 1:
            pool = stack.enter_context(WorkerPool.for_vault(root, workers))
        opened = stack.enter_context(
            Vault.open(root, passphrase, write=mode is not VerifyMode.QUICK)
        )
        seed = random.SystemRandom().randrange(2**63)  # the same sample for the bar and the check
        _objects, total = plan_size(opened, mode, sample or 100.0, random.Random(seed))
        with byte_bar(total, f"verify ({mode.value})", enabled=not as_json) as bar:
            report = verify_vault(
                opened,
                mode,
                sample_pct=sample or 100.0,
                rng=random.Random(seed),
                progress=bar.update,
                pool=pool,
            )
    if as_json:
        emit_json(report)
    else:
        typer.echo(
            f"Checked {report.objects_checked} files ({human_bytes(report.bytes_checked)}, "
            f"{mode.value}): {len(report.damaged)} damaged."
        )
        for damage in report.damaged:
            for path in damage.paths:
                typer.echo(f"  DAMAGED {path}: {damage.reason}", err=True)
    return int(ExitCode.INTEGRITY) if report.damaged else 0


def restore(
    to: Annotated[
        Path,
        typer.Option("--to", metavar="DIR", help="Folder to restore into (created if needed)."),
    ],
    vault: VaultOpt = None,
    passphrase_file: PassFileOpt = None,
    since: Annotated[
        str | None,
        typer.Option("--since", metavar="DATE", help="Only files captured on or after YYYY-MM-DD."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until", metavar="DATE", help="Only files captured on or before YYYY-MM-DD."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> int:
    """Decrypt files from the vault into a folder, with their capture dates as file times.

    Nothing is ever overwritten: a different file of the same name makes 'IMG_0001 (2).HEIC'; a
    file already there with the same content is left alone, so restore can be re-run safely.
    """
    start, end = parse_day(since), parse_day(until, end=True)
    with Vault.open(vault_path(vault), read_passphrase(passphrase_file)) as opened:
        total = sum(s.asset.size for s in opened.assets(start, end))
        with byte_bar(total, "restore", enabled=not as_json) as bar:
            report = restore_assets(opened, to, since=start, until=end, progress=bar.update)
    if as_json:
        emit_json(report)
    else:
        typer.echo(
            f"Restored {report.restored} files ({human_bytes(report.bytes)}) into {to}; "
            f"{report.identical} were already there; {report.renamed} renamed to avoid "
            f"overwriting; {len(report.failed)} failed."
        )
        for path, reason in sorted(report.failed.items()):
            typer.echo(f"  failed: {path}: {reason}", err=True)
    if report.damaged:
        return int(ExitCode.INTEGRITY)
    return int(ExitCode.PARTIAL) if report.failed else 0


def ls(
    vault: VaultOpt = None,
    passphrase_file: PassFileOpt = None,
    since: Annotated[
        str | None, typer.Option("--since", metavar="DATE", help="Captured on or after YYYY-MM-DD.")
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", metavar="DATE", help="Captured on or before YYYY-MM-DD."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the files the vault holds, oldest capture first."""
    with Vault.open(vault_path(vault), read_passphrase(passphrase_file)) as opened:
        items = list(opened.assets(parse_day(since), parse_day(until, end=True)))
    if as_json:
        emit_json([{"id": s.asset_id, **_asset_fields(s)} for s in items])
        return
    for s in items:
        when = s.asset.captured_at.isoformat(timespec="minutes") if s.asset.captured_at else "?"
        typer.echo(
            f"{when:25} {s.asset.kind.value:7} {human_bytes(s.asset.size):>9}  {s.asset.path}"
        )


def _asset_fields(s: object) -> dict[str, object]:
    from dataclasses import asdict

    fields = asdict(s)  # type: ignore[call-overload]
    asset = fields.pop("asset")
    return {**asset, **fields}


def status(
    vault: VaultOpt = None, passphrase_file: PassFileOpt = None, as_json: JsonOpt = False
) -> None:
    """Summarise the vault: how many files, how much space, which dates, last backup and check.

    A backup that stopped before its end is shown as interrupted, and sources that hold the same
    files (one folder backed up under two names) are named: those files count, and restore,
    under each.
    """
    root = vault_path(vault)
    with Vault.open(root, read_passphrase(passphrase_file)) as opened:
        summary = summarize(opened)
    if as_json:
        emit_json({"vault": root, **_plain_status(summary)})
        return
    kinds = ", ".join(f"{c.count} {k}" for k, c in summary.by_kind.items() if c.count)
    typer.echo(f"Vault {root}")
    typer.echo(
        f"  files       {summary.assets} ({kinds or 'nothing yet'}), {human_bytes(summary.bytes)}"
    )
    typer.echo(
        f"  on disk     {human_bytes(summary.stored_bytes)} in {summary.objects} encrypted objects"
    )
    if summary.first_capture and summary.last_capture:
        typer.echo(f"  captured    {summary.first_capture.date()} to {summary.last_capture.date()}")
    _backup_lines(summary)
    verified = (
        f"{summary.last_verify:%Y-%m-%d %H:%M} UTC: {summary.verified_ok} files intact, "
        f"{summary.verified_bad} damaged"
        if summary.last_verify
        else "never (run companion verify --full)"
    )
    typer.echo(f"  last verify {verified}")
    typer.echo(f"  passphrases {summary.passphrases}")
    _shared_lines(summary)


def _backup_lines(summary: VaultStatus) -> None:
    last, stopped = summary.last_backup, summary.interrupted
    finished = (
        f"{last.at:%Y-%m-%d %H:%M} UTC from {last.source}: {last.new} new, {last.failed} failed"
        if last
        else None
    )
    if stopped is None:
        typer.echo(f"  last backup {finished or 'never (run companion backup)'}")
        return
    again = "companion backup" + (
        f" --from {shlex.quote(stopped.sources[0])}" if len(stopped.sources) == 1 else ""
    )
    typer.echo(
        f"  last backup interrupted at {stopped.at:%Y-%m-%d %H:%M} UTC "
        f"({', '.join(stopped.sources)}), {stopped.files} file{'s' if stopped.files != 1 else ''}"
        f" stored; run {again} to finish"
    )
    if finished:
        typer.echo(f"  before that {finished}")


def _shared_lines(summary: VaultStatus) -> None:
    for shared in summary.shared[:_SHARED_SHOWN]:
        first, second = shared.sources
        typer.echo(
            f"  same files  {first} and {second} hold {shared.files} of the same files "
            f"({human_bytes(shared.bytes)}): they count and restore under each"
        )
    if len(summary.shared) > _SHARED_SHOWN:
        typer.echo(f"              and {len(summary.shared) - _SHARED_SHOWN} more pairs of sources")
    if summary.shared:
        typer.echo(
            "              (one folder backed up under two names? back it up under one of them "
            "from now on)"
        )


_SHARED_SHOWN = 3


def _plain_status(summary: VaultStatus) -> dict[str, object]:
    return asdict(summary)

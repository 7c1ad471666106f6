"""``companion verify``, ``restore``, ``ls`` and ``status``: reading the vault back."""

from __future__ import annotations

import contextlib
import random
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
from companion.vault.status import summarize
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
    """Summarise the vault: how many files, how much space, which dates, last backup and check."""
    root = vault_path(vault)
    with Vault.open(root, read_passphrase(passphrase_file)) as opened:
        summary = summarize(opened)
    if as_json:
        emit_json({"vault": root, **_plain_status(summary)})
        return
    kinds = ", ".join(f"{n} {k}" for k, n in summary.by_kind) or "nothing yet"
    typer.echo(f"Vault {root}")
    typer.echo(f"  files       {summary.assets} ({kinds}), {human_bytes(summary.bytes)}")
    typer.echo(
        f"  on disk     {human_bytes(summary.stored_bytes)} in {summary.objects} encrypted objects"
    )
    if summary.first_capture and summary.last_capture:
        typer.echo(f"  captured    {summary.first_capture.date()} to {summary.last_capture.date()}")
    if summary.last_backup:
        counts = dict(summary.last_backup.counts)
        typer.echo(
            f"  last backup {summary.last_backup.at:%Y-%m-%d %H:%M} UTC from "
            f"{summary.last_backup.source}: {counts.get('new', 0)} new, "
            f"{counts.get('failed', 0)} failed"
        )
    verified = (
        f"{summary.last_verify:%Y-%m-%d %H:%M} UTC: {summary.verified_ok} files intact, "
        f"{summary.verified_bad} damaged"
        if summary.last_verify
        else "never (run companion verify --full)"
    )
    typer.echo(f"  last verify {verified}")
    typer.echo(f"  passphrases {summary.passphrases}")


def _plain_status(summary: object) -> dict[str, object]:
    from dataclasses import asdict

    return asdict(summary)  # type: ignore[call-overload, no-any-return]

"""``companion demo``: the guided tour on generated photos."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from companion.cli.common import EXIT_STATUS, JsonOpt, emit_json, human_bytes
from companion.errors import UsageError


def register(app: typer.Typer) -> None:
    app.command("demo", epilog=EXIT_STATUS)(demo)


def demo(
    workdir: Annotated[
        Path | None,
        typer.Option(
            "--workdir",
            help="Where to put the sample photos, vault and restored copy "
            "(must not exist yet). Default: a temporary folder, removed at the end.",
        ),
    ] = None,
    keep: Annotated[
        bool, typer.Option("--keep", help="Keep the temporary folder to look around.")
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Which sample camera roll to generate.")] = 7,
    as_json: JsonOpt = False,
) -> None:
    """Run the whole journey on a sample camera roll, with no phone and nothing of yours touched.

    It backs up generated photos into a new encrypted vault, backs up again (nothing is read the
    second time), verifies every file by decrypting it, restores them and checks that each one
    comes back byte for byte.
    """
    from companion.demo import run_demo  # generating images loads Pillow: only when asked

    temporary = workdir is None
    if workdir is not None and workdir.exists():
        raise UsageError(f"{workdir} already exists", hint="Name a new folder for --workdir.")
    root = Path(tempfile.mkdtemp(prefix="companion-demo-")) if workdir is None else workdir
    say = (lambda _line: None) if as_json else typer.echo
    try:
        report = run_demo(root, say, seed=seed)
    finally:
        if temporary and not keep:
            shutil.rmtree(root, ignore_errors=True)
    if as_json:
        emit_json(report)
        return
    first, second = report.first_backup, report.second_backup
    typer.echo("")
    typer.echo(
        f"  backup     {first.new} files stored ({human_bytes(first.bytes_read)}), "
        f"{first.deduplicated} duplicates stored once"
    )
    typer.echo(f"  again      {second.new} new, {second.skipped} unchanged and not read")
    typer.echo(
        f"  verify     {report.verify.objects_checked} files decrypted and re-hashed, "
        f"{len(report.verify.damaged)} damaged"
    )
    typer.echo(f"  restore    {report.identical} files back, byte-identical to the originals")
    typer.echo(
        f"  vault      {report.status.assets} files, {human_bytes(report.status.stored_bytes)} "
        "encrypted on disk"
    )
    if temporary and not keep:
        typer.echo("The demo folder was removed (use --keep or --workdir to look around).")
    else:
        typer.echo(f"Everything is in {root}.")
    typer.echo("Next: companion vault init, then companion backup --from folder:PATH")

"""``companion ls``: list what the vault holds."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from companion.cli.common import (
    EXIT_STATUS,
    JsonOpt,
    PassFileOpt,
    VaultOpt,
    emit_json,
    human_bytes,
    open_vault,
    parse_day,
    printable,
)
from companion.model import StoredAsset


def register(app: typer.Typer) -> None:
    app.command("ls", epilog=EXIT_STATUS)(ls)


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
    with open_vault(vault, passphrase_file) as opened:
        items = list(opened.assets(parse_day(since), parse_day(until, end=True)))
    if as_json:
        emit_json([{"id": s.asset_id, **_asset_fields(s)} for s in items])
        return
    for s in items:
        when = s.asset.captured_at.isoformat(timespec="minutes") if s.asset.captured_at else "?"
        size = human_bytes(s.asset.size)
        typer.echo(f"{when:25} {s.asset.kind.value:7} {size:>9}  {printable(s.asset.path)}")


def _asset_fields(s: StoredAsset) -> dict[str, object]:
    fields = asdict(s)
    asset = fields.pop("asset")
    return {**asset, **fields}

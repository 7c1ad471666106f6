"""``companion scan`` and ``companion places``: find private shots, and the places that make a
photo private."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from companion.cli.common import (
    EXIT_STATUS,
    JobsOpt,
    JsonOpt,
    PassFileOpt,
    UsbmuxOpt,
    VaultOpt,
    closing_connector,
    count_bar,
    emit_json,
    given_options,
    open_vault,
    printable,
    vault_ref,
)
from companion.cli.sources import connect_options
from companion.connectors import source_help
from companion.errors import PartialFailure, UsageError
from companion.model import Finding

if TYPE_CHECKING:
    from companion.sensitivity.explain import Explanation
    from companion.sensitivity.scan import ScanReport

OnlyOpt = Annotated[
    str | None,
    typer.Option(
        "--only",
        metavar="CATEGORIES",
        help="Comma-separated categories to look for (nudity, identity_document, payment_card, "
        "bank_details, credentials, secret_qr, private_place, medical, screenshot, hidden, "
        "faces). Default: all.",
        show_default=False,
    ),
]
places_app = typer.Typer(
    name="places",
    help="Private places (home, a doctor's office...): photos taken there are flagged by "
    "'companion scan'. Stored in the vault, encrypted.",
    epilog=EXIT_STATUS,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)


def register(app: typer.Typer) -> None:
    app.command("scan", epilog=EXIT_STATUS)(scan)
    app.add_typer(places_app, name="places")


def scan(
    vault: VaultOpt = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="SOURCE",
            help=f"Scan a source directly instead of the vault: {source_help()}. Findings are "
            "printed, never stored.",
            show_default=False,
        ),
    ] = None,
    only: OnlyOpt = None,
    explain: Annotated[
        str | None,
        typer.Option(
            "--explain",
            metavar="ASSET",
            help="Show every detector's verdict for one asset (its path or file name).",
            show_default=False,
        ),
    ] = None,
    passphrase_file: PassFileOpt = None,
    jobs: JobsOpt = None,
    usbmux: UsbmuxOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Find the photos you would not want a stranger's cloud to see: nudity, ID documents,
    payment cards, bank details, passwords and recovery phrases, 2FA QR codes, photos taken at
    your private places, medical papers.

    Everything runs on this computer; nothing is uploaded, and the models ship with companion.
    The vault is scanned incrementally (only what the current detectors have not seen) and the
    findings are stored in it, encrypted. --json prints one JSON object per flagged asset, one
    per line. Detectors whose libraries are missing say so, with the install command; the others
    still run. See why one photo was flagged with --explain. Files that cannot be read as
    pictures (empty, an unknown format, cut short) are counted and named (exit 4).
    """
    from companion.usecases import scan as scanning

    wanted = scanning.categories(only)
    if explain is not None:
        if source is not None:
            raise UsageError(
                "--explain reads the asset from the vault, not from --from",
                "Back it up first, or scan the source with --json to see its findings.",
            )
        _explain(scanning.explain(vault_ref(vault, passphrase_file), explain), as_json)
        return
    with count_bar("scanning", enabled=not as_json) as progress:
        if source is not None:
            report = _scan_source(source, wanted, usbmux, progress)
        else:
            ref = vault_ref(vault, passphrase_file)
            report = scanning.scan_stored(ref, only=wanted, jobs=jobs, progress=progress)
    _render(report, wanted, as_json)


def _render(report: ScanReport, wanted: list[str] | None, as_json: bool) -> None:
    for name, why in report.unavailable.items():
        typer.echo(f"warning: the {name} detector cannot run: {why}", err=True)
    if as_json:
        for result in report.flagged():
            typer.echo(json.dumps(_result_json(result, wanted), ensure_ascii=False))
    else:
        _table(report)
    if report.too_large:
        typer.echo(
            f"note: {len(report.too_large)} videos or files too large to scan in memory were "
            "skipped (over 100 MB for a video): check them yourself.",
            err=True,
        )
    for path, why in report.unreadable[:_LISTED]:
        typer.echo(f"not looked at: {printable(path)}: {why}", err=True)
    for path, why in report.failed[:_LISTED]:
        typer.echo(f"failed: {printable(path)}: {why}", err=True)
    missed = len(report.unreadable) + len(report.failed)
    if missed:
        raise PartialFailure(
            f"{missed} file{'s' * (missed != 1)} could not be read (listed above)",
            "Files that are no readable picture stay as they are; failed ones are tried "
            "again by the next scan.",
        )


_LISTED = 20  # files named per problem; the summary counts them all


def _scan_source(
    source: str, categories: list[str] | None, usbmux: str | None, progress: Any
) -> ScanReport:
    from companion.connectors import connect
    from companion.usecases.scan import scan_source

    connector = connect(source, connect_options(usbmux))
    with closing_connector(connector):
        return scan_source(connector, only=categories, progress=progress)


def _finding_json(finding: Finding) -> dict[str, Any]:
    return {
        "category": finding.category,
        "detector": finding.detector,
        "confidence": finding.confidence,
        "explanation": finding.explanation,
    }


def _result_json(result: Any, categories: list[str] | None) -> dict[str, Any]:
    asset = result.asset
    return {
        "asset": {
            "id": result.asset_id,
            "source": asset.source,
            "path": asset.path,
            "name": asset.name,
            "captured_at": asset.captured_at.isoformat() if asset.captured_at else None,
        },
        "findings": [_finding_json(f) for f in result.findings(categories)],
    }


def _table(report: Any) -> None:
    flagged = report.flagged()
    unread = ""
    if report.unreadable or report.failed:
        count = len(report.unreadable) + len(report.failed)
        unread = f"; {count} could not be read and were not looked at (listed below)"
    typer.echo(
        f"Scanned {report.scanned} files ({report.up_to_date} already up to date): "
        f"{len(flagged)} look private{unread}."
    )
    examples: dict[str, list[str]] = {}
    for result in report.results:
        for category in sorted({f.category for f in result.findings(report.only)}):
            examples.setdefault(category, []).append(result.asset.name)
    if not examples:
        return
    width = max(len(c) for c in examples)
    for category, count in report.counts().items():
        names = examples.get(category, [])
        more = f" and {len(names) - 3} more" if len(names) > 3 else ""
        typer.echo(f"  {category:<{width}}  {count:>5}  {', '.join(names[:3])}{more}")


def _explain(explanation: Explanation, as_json: bool) -> None:
    if as_json:
        emit_json(explanation)
        return
    typer.echo(f"{explanation.path}  ({explanation.kind}, object {explanation.object_id[:12]})")
    for line in explanation.lines():
        typer.echo(f"  {line}")


@places_app.command("add", epilog=EXIT_STATUS)
def places_add(
    name: Annotated[str, typer.Argument(help="A short name: home, work, clinic...")],
    lat: Annotated[float, typer.Option("--lat", help="Latitude, decimal degrees (48.8566).")],
    lon: Annotated[float, typer.Option("--lon", help="Longitude, decimal degrees (2.3522).")],
    radius_m: Annotated[
        float, typer.Option("--radius-m", help="How far around it counts, in metres.")
    ] = 150.0,
    vault: VaultOpt = None,
    passphrase_file: PassFileOpt = None,
) -> None:
    """Declare a private place (or move one): the next scan flags photos taken within the radius."""
    from companion.sensitivity.places import check_place

    place = check_place(name, lat, lon, radius_m)
    with open_vault(vault, passphrase_file, write=True) as opened:
        opened.set_place(place)
        opened.flush()
    typer.echo(f"Added {place.name!r}: {place.lat:.5f}, {place.lon:.5f}, {place.radius_m:.0f} m.")


@places_app.command("list", epilog=EXIT_STATUS)
def places_list(
    vault: VaultOpt = None, passphrase_file: PassFileOpt = None, as_json: JsonOpt = False
) -> None:
    """List the private places declared in the vault."""
    with open_vault(vault, passphrase_file) as opened:
        places = opened.places()
    if as_json:
        emit_json(places)
        return
    if not places:
        again = given_options(vault, passphrase_file)
        typer.echo(f"No private place yet: companion places add home --lat ... --lon ...{again}")
    for p in places:
        typer.echo(f"{p.name}  {p.lat:.5f}, {p.lon:.5f}  {p.radius_m:.0f} m")


@places_app.command("remove", epilog=EXIT_STATUS)
def places_remove(
    name: Annotated[str, typer.Argument(help="The place's name, as 'places list' shows it.")],
    vault: VaultOpt = None,
    passphrase_file: PassFileOpt = None,
) -> None:
    """Remove a private place; the next scan stops flagging photos for it."""
    with open_vault(vault, passphrase_file, write=True) as opened:
        if not opened.remove_place(name):
            raise UsageError(f"no place called {name!r}", "See 'companion places list'.")
        opened.flush()
    typer.echo(f"Removed {name!r}.")

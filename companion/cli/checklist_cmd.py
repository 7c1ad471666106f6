"""``companion checklist``: the printable photo-permission checklist, and its check against the
iPhone's App Privacy Report (``companion checklist verify``)."""

from __future__ import annotations

import shlex
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from companion.cli.common import (
    EXIT_STATUS,
    VAULT_ENV,
    JsonOpt,
    PassFileOpt,
    TrustTimeoutOpt,
    UsbmuxOpt,
    emit_json,
    vault_ref,
)
from companion.cli.sources import connect_options
from companion.connectors import source_help

app = typer.Typer(
    name="checklist",
    epilog=EXIT_STATUS,
    invoke_without_command=True,
    add_completion=False,
    rich_markup_mode=None,
)

FromOpt = Annotated[
    str | None,
    typer.Option(
        "--from",
        metavar="SOURCE",
        help="Read the iOS version and the installed apps from the iPhone: "
        f"{source_help(apps=True)}. The default unless --ios is given.",
        show_default=False,
    ),
]
IosOpt = Annotated[
    str | None,
    typer.Option(
        "--ios",
        metavar="VERSION",
        help="Make it without a phone, for this iOS version (Settings > General > About), "
        "e.g. 17.5.",
        show_default=False,
    ),
]
AppsOpt = Annotated[
    str | None,
    typer.Option(
        "--apps",
        metavar="BUNDLE,...",
        help="With --ios: the apps to include, by bundle id, comma-separated "
        "(e.g. com.facebook.Facebook,net.whatsapp.WhatsApp).",
        show_default=False,
    ),
]
LangOpt = Annotated[
    str | None,
    typer.Option(
        "--lang",
        metavar="fr|en",
        help="Language. Default: French if your locale is French, else English.",
        show_default=False,
    ),
]


@app.callback()
def checklist(
    ctx: typer.Context,
    source: FromOpt = None,
    ios: IosOpt = None,
    apps: AppsOpt = None,
    lang: LangOpt = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            metavar="pdf|html|md",
            help="Document format. Default: from the --out file's suffix, else pdf.",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="FILE",
            help="Where to write it; - for standard output. Default: "
            "photo-checklist-LANG.FORMAT in the current folder.",
            show_default=False,
        ),
    ] = None,
    paper: Annotated[
        str | None,
        typer.Option(
            "--paper",
            metavar="a4|letter",
            help="Paper size (PDF and HTML). Default: from your locale's country, else the "
            "language (French: A4).",
            show_default=False,
        ),
    ] = None,
    findings: Annotated[
        Path | None,
        typer.Option(
            "--vault",
            envvar=VAULT_ENV,
            metavar="DIR",
            help="Open the checklist with how many photos the scan flagged in this vault, and "
            "the command to review them (never the photos themselves). Default: "
            "$COMPANION_VAULT; without either, no count (and no passphrase asked).",
            show_default=False,
        ),
    ] = None,
    passphrase_file: PassFileOpt = None,
    usbmux: UsbmuxOpt = None,
    trust_timeout: TrustTimeoutOpt = 120.0,
    as_json: JsonOpt = False,
) -> None:
    """Write your photo-permission checklist: one action per line, with the exact Settings path
    for your iOS version, for the apps actually on your iPhone.

    With the iPhone on a cable it reads the iOS version and the installed apps (what each app's
    Info.plist asks for: reading your photos, or only adding to them). Without a phone, give
    --ios and --apps. Nothing is changed on the phone; the document never leaves this computer.

    \b
    Examples:
      companion checklist --lang fr     (the iPhone on the cable: a French PDF)
      companion checklist --ios 17.5 --apps com.facebook.Facebook --format md --out -

    Then, a week later: 'companion checklist verify --privacy-report FILE'.
    """
    if ctx.invoked_subcommand is not None:
        return
    from companion.usecases.checklist import STDOUT, FactsFrom, Request, make_checklist

    ref = vault_ref(findings, passphrase_file) if findings is not None else None
    request = Request(
        FactsFrom(source, ios, apps),
        lang=lang,
        form=fmt,
        paper=paper,
        out=out,
        vault=ref,
        review=f"companion cleanup --vault {shlex.quote(str(findings))}"
        if findings is not None
        else "",
    )
    made = make_checklist(
        request, connect_options(usbmux, trust_timeout, notify=not as_json), today=date.today()
    )
    if made.target == STDOUT:
        sys.stdout.buffer.write(made.rendered.data)
        sys.stdout.flush()
        return
    steps = made.checklist.steps()
    if as_json:
        emit_json(
            {
                "path": made.target,
                "format": made.form,
                "lang": made.lang,
                "paper": made.paper,
                "pages": made.rendered.pages,
                "ios": made.facts.ios,
                "device": made.facts.device.name if made.facts.device else None,
                "steps": [{"key": s.key, "action": s.action} for s in steps],
            }
        )
        return
    pages = made.rendered.pages
    count = f", {pages} page{'s' * (pages != 1)}" if pages else ""
    typer.echo(
        f"Wrote {made.target}: {len(steps)} lines to tick{count} ({made.lang}, {made.paper})."
    )


@app.command("verify", epilog=EXIT_STATUS)
def verify(
    privacy_report: Annotated[
        Path,
        typer.Option(
            "--privacy-report",
            metavar="FILE",
            help="The App Privacy Report saved from the iPhone (an .ndjson file).",
            show_default=False,
        ),
    ],
    source: FromOpt = None,
    ios: IosOpt = None,
    apps: AppsOpt = None,
    lang: LangOpt = None,
    usbmux: UsbmuxOpt = None,
    trust_timeout: TrustTimeoutOpt = 120.0,
    as_json: JsonOpt = False,
) -> None:
    """Tell, from the iPhone's App Privacy Report, which apps read your photo library and how
    often, and which lines of your checklist that confirms or shows are not done yet.

    Save the report on the iPhone (Settings > Privacy & Security > App Privacy Report, then the
    Share button) and copy it here. With --from usb or --ios/--apps the report is checked against
    that phone's checklist; without them, against the checklist for the apps it names.
    Unreadable lines are skipped and counted. The exit status is 0 whatever the verdicts.
    """
    from companion.usecases.checklist import FactsFrom, check_privacy_report

    options = connect_options(usbmux, trust_timeout, notify=not as_json)
    facts = FactsFrom(source, ios, apps)
    report, result = check_privacy_report(privacy_report, facts, lang, options, today=date.today())
    if as_json:
        emit_json(
            {
                "period": list(report.period) if report.period else None,
                "lines": report.lines,
                "skipped": report.skipped,
                "from_report": result.from_report,
                "findings": [
                    {
                        "bundle_id": v.finding.bundle_id,
                        "name": v.finding.name,
                        "accesses": v.finding.accesses,
                        "verdict": v.finding.verdict,
                        "reason": v.finding.reason,
                        "step": v.finding.step_key,
                        "explanation": v.explanation,
                    }
                    for v in result.verdicts
                ],
                # Apple's own apps read the library as part of the system: listed, no verdict
                "system": [
                    {"bundle_id": a.bundle_id, "accesses": a.accesses} for a in result.system
                ],
            }
        )
        return
    typer.echo(result.summary)
    for note in result.notes:
        typer.echo(note)
    width = max((len(v.verdict) for v in result.verdicts), default=0)
    for v in result.verdicts:
        typer.echo(f"  {v.verdict:<{width}}  {v.finding.name} {v.explanation}")

"""``companion checklist``: the printable photo-permission checklist, and its check against the
iPhone's App Privacy Report (``companion checklist verify``)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from companion.checklist.builder import DeviceFacts
from companion.checklist.model import Lang
from companion.checklist.output import Paper
from companion.cli.common import (
    EXIT_STATUS,
    JsonOpt,
    PassFileOpt,
    TrustTimeoutOpt,
    UsbmuxOpt,
    closing_connector,
    emit_json,
    read_passphrase,
)
from companion.errors import UsageError

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
        help="Read the iOS version and the installed apps from the iPhone: usb (the only one "
        "on a cable) or usb:UDID. The default unless --ios is given.",
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


def _source_facts(
    source: str | None,
    ios: str | None,
    apps: str | None,
    usbmux: str | None,
    trust_timeout: float,
    notify: bool,
) -> DeviceFacts:
    from companion.checklist.builder import facts_from_bundle_ids, facts_from_device

    if ios is not None:
        if source is not None:
            raise UsageError(
                "--from and --ios both say where the facts come from",
                "Use --from usb to read them from the iPhone, or --ios (and --apps) without it.",
            )
        return facts_from_bundle_ids(ios, (apps or "").split(","))
    if apps is not None:
        raise UsageError("--apps needs --ios", "e.g. --ios 17.5 --apps com.facebook.Facebook")
    spec = source or "usb"
    if spec != "usb" and not spec.startswith("usb:"):
        raise UsageError(
            f"a checklist reads its facts from an iPhone, not from {spec!r}",
            "Use --from usb, or --ios VERSION --apps BUNDLE,... without a phone.",
        )
    from companion.connectors import ConnectOptions, connect
    from companion.connectors.base import AppLister

    say = (lambda line: typer.echo(line, err=True)) if notify else None
    options = ConnectOptions(notify=say, usbmux_address=usbmux, trust_timeout=trust_timeout)
    connector = connect(spec, options)
    with closing_connector(connector):
        if not isinstance(connector, AppLister):
            raise UsageError(f"{spec} cannot list installed apps")
        return facts_from_device(connector)


def _lang(value: str | None) -> Lang:
    from companion.checklist.output import default_lang

    if value is None:
        return default_lang()
    if value not in ("en", "fr"):
        raise UsageError(f"no checklist in {value!r}", "Use --lang en or --lang fr.")
    return "fr" if value == "fr" else "en"


def _flagged(vault: Path | None, passphrase_file: Path | None) -> tuple[int | None, str]:
    """How many photos the vault's scans flagged, and the command that reviews them."""
    if vault is None:
        return None, ""
    from companion.sensitivity.scan import flagged_in_vault
    from companion.vault import Vault

    with Vault.open(vault.expanduser(), read_passphrase(passphrase_file)) as opened:
        count = flagged_in_vault(opened)
    return count, f"companion scan --vault {vault}"


def _paper(value: str | None, lang: Lang) -> Paper:
    from companion.checklist.output import default_paper

    if value is None:
        return default_paper(lang)
    if value not in ("a4", "letter"):
        raise UsageError(f"no {value!r} paper", "Use --paper a4 or --paper letter.")
    return "a4" if value == "a4" else "letter"


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
            metavar="DIR",
            help="Open the checklist with how many photos the scan flagged in this vault, and "
            "the command to review them (never the photos themselves).",
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
    from companion.checklist.builder import build_checklist
    from companion.checklist.output import FORMATS, SUFFIXES, render, write_document

    if fmt is None:  # checklist.html means HTML; "-" and unknown suffixes mean PDF
        suffix = out.suffix.lower() if out is not None else ""
        fmt = {".htm": "html", ".markdown": "md"}.get(suffix, suffix.lstrip(".") or "pdf")
        fmt = fmt if fmt in FORMATS else "pdf"
    form = next((f for f in FORMATS if f == fmt), None)
    if form is None:
        raise UsageError(f"no {fmt!r} format", "Use --format pdf, html or md.")
    language = _lang(lang)
    size = _paper(paper, language)
    facts = _source_facts(source, ios, apps, usbmux, trust_timeout, notify=not as_json)
    flagged, review = _flagged(findings, passphrase_file)
    document = build_checklist(
        facts, language, today=date.today(), flagged=flagged, review_command=review
    )
    rendered = render(document, form, paper=size)
    target = out if out is not None else Path(f"photo-checklist-{language}{SUFFIXES[form]}")
    if str(target) == "-":
        sys.stdout.buffer.write(rendered.data)
        sys.stdout.flush()
        return
    write_document(target, rendered.data)
    steps = document.steps()
    if as_json:
        emit_json(
            {
                "path": target,
                "format": form,
                "lang": language,
                "paper": size,
                "pages": rendered.pages,
                "ios": facts.ios,
                "device": facts.device.name if facts.device else None,
                "steps": [{"key": s.key, "action": s.action} for s in steps],
            }
        )
        return
    pages = f", {rendered.pages} page{'s' * (rendered.pages != 1)}" if rendered.pages else ""
    typer.echo(f"Wrote {target}: {len(steps)} lines to tick{pages} ({language}, {size}).")


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
    from companion.checklist.privacy_report import read_privacy_report
    from companion.checklist.verify import verify_report

    language = _lang(lang)
    report = read_privacy_report(privacy_report)
    facts = None
    if source is not None or ios is not None or apps is not None:
        facts = _source_facts(source, ios, apps, usbmux, trust_timeout, notify=not as_json)
    result = verify_report(report, facts, language, today=date.today())
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
            }
        )
        return
    typer.echo(result.summary)
    for note in result.notes:
        typer.echo(note)
    width = max((len(v.verdict) for v in result.verdicts), default=0)
    for v in result.verdicts:
        typer.echo(f"  {v.verdict:<{width}}  {v.finding.name} {v.explanation}")

"""``companion checklist``: the photo-permission checklist for one phone, in the format, language
and paper asked for, opened with how many photos the vault's scans flagged.

The facts come from the phone (any source whose connector lists installed apps) or from what the
person says (``--ios`` and ``--apps``); never both. Nothing here writes but the document itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from companion.checklist.builder import (
    DeviceFacts,
    build_checklist,
    facts_from_bundle_ids,
    facts_from_device,
)
from companion.checklist.model import Checklist, Lang
from companion.checklist.output import (
    FORMATS,
    SUFFIXES,
    Format,
    Paper,
    Rendered,
    default_lang,
    default_paper,
    render,
    write_document,
)
from companion.checklist.privacy_report import PrivacyReport, read_privacy_report
from companion.checklist.verify import VerifyResult, verify_report
from companion.connectors import ConnectOptions, connect, lists_apps
from companion.connectors.base import AppLister
from companion.errors import UsageError
from companion.sensitivity.scan import flagged_in_vault
from companion.vault import VaultRef

STDOUT = Path("-")  # ``--out -``: the document is the command's output


@dataclass(frozen=True, slots=True)
class FactsFrom:
    """Where the facts come from: ``source`` (a phone; ``usb`` when nothing is said), or
    ``ios`` with ``apps`` (bundle ids, comma-separated) when the person says them."""

    source: str | None = None
    ios: str | None = None
    apps: str | None = None


@dataclass(frozen=True, slots=True)
class Made:
    checklist: Checklist
    rendered: Rendered
    facts: DeviceFacts
    form: Format
    lang: Lang
    paper: Paper
    target: Path  # where it was written; ``STDOUT``: not written, the caller prints it


def device_facts(where: FactsFrom, options: ConnectOptions | None = None) -> DeviceFacts:
    """The iOS version and the installed apps, from the phone or from what the person said."""
    if where.ios is not None:
        if where.source is not None:
            raise UsageError(
                "--from and --ios both say where the facts come from",
                "Use --from usb to read them from the iPhone, or --ios (and --apps) without it.",
            )
        return facts_from_bundle_ids(where.ios, (where.apps or "").split(","))
    if where.apps is not None:
        raise UsageError("--apps needs --ios", "e.g. --ios 17.5 --apps com.facebook.Facebook")
    spec = where.source or "usb"
    if not lists_apps(spec):
        raise UsageError(
            f"a checklist reads its facts from an iPhone, not from {spec!r}",
            "Use --from usb, or --ios VERSION --apps BUNDLE,... without a phone.",
        )
    connector = connect(spec, options)
    try:
        if not isinstance(connector, AppLister):
            raise UsageError(f"{spec} cannot list installed apps")
        return facts_from_device(connector)
    finally:
        close = getattr(connector, "close", None)
        if callable(close):
            close()


def choose_lang(value: str | None) -> Lang:
    """``--lang``: en or fr; by default the locale's (French if it is French, else English)."""
    if value is None:
        return default_lang()
    if value not in ("en", "fr"):
        raise UsageError(f"no checklist in {value!r}", "Use --lang en or --lang fr.")
    return "fr" if value == "fr" else "en"


def choose_format(value: str | None, out: Path | None) -> Format:
    """``--format``; by default the ``--out`` file's suffix (checklist.html is HTML), else PDF."""
    if value is None:
        suffix = out.suffix.lower() if out is not None else ""
        value = {".htm": "html", ".markdown": "md"}.get(suffix, suffix.lstrip(".") or "pdf")
        value = value if value in FORMATS else "pdf"
    form = next((f for f in FORMATS if f == value), None)
    if form is None:
        raise UsageError(f"no {value!r} format", "Use --format pdf, html or md.")
    return form


def choose_paper(value: str | None, lang: Lang) -> Paper:
    """``--paper``; by default the locale's country, else the language's (French: A4)."""
    if value is None:
        return default_paper(lang)
    if value not in ("a4", "letter"):
        raise UsageError(f"no {value!r} paper", "Use --paper a4 or --paper letter.")
    return "a4" if value == "a4" else "letter"


def flagged_photos(vault: VaultRef) -> int:
    """How many photos the vault's latest scans flagged (a count, never the photos)."""
    with vault.open() as opened:
        return flagged_in_vault(opened)


@dataclass(frozen=True, slots=True)
class Request:
    """What ``companion checklist`` is asked: ``None`` is the default of each."""

    facts: FactsFrom
    lang: str | None = None
    form: str | None = None
    paper: str | None = None
    out: Path | None = None  # ``STDOUT`` for the standard output
    vault: VaultRef | None = None  # open with the count of flagged photos
    review: str = ""  # the command that reviews them


def make_checklist(request: Request, options: ConnectOptions, *, today: date) -> Made:
    """Read the facts, count the flagged photos, and write the document (``Made.target``)."""
    lang = choose_lang(request.lang)
    form = choose_format(request.form, request.out)
    paper = choose_paper(request.paper, lang)
    facts = device_facts(request.facts, options)
    flagged = flagged_photos(request.vault) if request.vault is not None else None
    target = request.out or Path(f"photo-checklist-{lang}{SUFFIXES[form]}")
    return write_checklist(
        facts, lang, form, paper, target, today=today, flagged=flagged, review=request.review
    )


def write_checklist(
    facts: DeviceFacts,
    lang: Lang,
    form: Format,
    paper: Paper,
    target: Path,
    *,
    today: date,
    flagged: int | None = None,
    review: str = "",
) -> Made:
    """Build and render the checklist, and write it to ``target`` (unless it is ``STDOUT``)."""
    checklist = build_checklist(facts, lang, today=today, flagged=flagged, review_command=review)
    rendered = render(checklist, form, paper=paper)
    if target != STDOUT:
        write_document(target, rendered.data)
    return Made(checklist, rendered, facts, form, lang, paper, target)


def check_privacy_report(
    path: Path,
    where: FactsFrom,
    lang: str | None,
    options: ConnectOptions | None = None,
    *,
    today: date,
) -> tuple[PrivacyReport, VerifyResult]:
    """The App Privacy Report at ``path`` against the checklist: for the phone or the apps
    ``where`` names, else for the apps the report itself names."""
    language = choose_lang(lang)
    report = read_privacy_report(path)
    given = where.source is not None or where.ios is not None or where.apps is not None
    facts = device_facts(where, options) if given else None
    return report, verify_report(report, facts, language, today=today)

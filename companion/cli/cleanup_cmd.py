"""``companion cleanup``: review the flagged photos, then take them off the source, only once
every file of each is verified in the vault."""

from __future__ import annotations

import webbrowser
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from companion.cleanup.plan import Decision, Group, Plan
from companion.cleanup.report import CheckReport, CleanupReport
from companion.cli.cleanup_review import WORD, review_in_terminal
from companion.cli.common import (
    EXIT_STATUS,
    JsonOpt,
    PassFileOpt,
    TrustTimeoutOpt,
    UsbmuxOpt,
    VaultOpt,
    byte_bar,
    closing_connector,
    emit_json,
    fed,
    human_bytes,
    printable,
    vault_ref,
)
from companion.cli.sources import connect_options
from companion.connectors import connect, source_help
from companion.errors import Cancelled
from companion.usecases.cleanup import Outcome, Reviewer, Thumbnails

Describe = Callable[[Group], str]
IDLE_TIMEOUT = 900.0  # seconds the review page waits for the person before giving up


def register(app: typer.Typer) -> None:
    app.command("cleanup", epilog=EXIT_STATUS)(cleanup)


def cleanup(
    source: Annotated[
        str,
        typer.Option("--from", metavar="SOURCE", help=f"Where the photos are: {source_help()}."),
    ] = "usb",
    vault: VaultOpt = None,
    passphrase_file: PassFileOpt = None,
    no_browser: Annotated[
        bool,
        typer.Option(
            "--no-browser",
            help="Review in the terminal instead of a page: answers (numbers, category names, "
            "all, none) are read from standard input, so it can be scripted.",
        ),
    ] = False,
    no_open: Annotated[
        bool,
        typer.Option(
            "--no-open", help="Serve the review page and print its address; open no browser."
        ),
    ] = False,
    quarantine: Annotated[
        Path | None,
        typer.Option(
            "--quarantine",
            metavar="DIR",
            help="For a folder source: move the chosen files here (kept in their folders).",
            show_default=False,
        ),
    ] = None,
    delete: Annotated[
        bool, typer.Option("--delete", help="For a folder source: delete the chosen files.")
    ] = False,
    verify_first: Annotated[
        bool,
        typer.Option(
            "--verify-first",
            help="Fully verify the candidates' files in the vault first, so those that only "
            "lacked a check can go.",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would happen; change and record nothing.")
    ] = False,
    check_only: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Read the phone again and say what became of the photos you were to delete "
            "in Photos: in Recently Deleted (until when), gone, or still there.",
        ),
    ] = False,
    usbmux: UsbmuxOpt = None,
    trust_timeout: TrustTimeoutOpt = 120.0,
    as_json: JsonOpt = False,
) -> None:
    """Review the photos the scan flagged and take the chosen ones off the source: never one
    whose every file (the photo, its Live Photo movie, its edit) is not in the vault, unchanged
    and verified.

    A page on this computer (127.0.0.1, behind a one-time token) shows them by category, blurred
    where they are nudity; you choose, then type the word shown. From a phone on a cable nothing
    is deleted over the cable (it would damage the Photos library): you delete them in the
    Photos app, guided photo by photo, and 'companion cleanup --check' confirms. From a folder
    they are moved to --quarantine DIR (or deleted with --delete). Set COMPANION_YES=1 to skip
    the typed word in the terminal review. Items that cannot go yet are shown with why;
    chosen items refused at the last check are named (exit 14).
    """
    from companion.cleanup.remove import executor_for
    from companion.usecases.cleanup import clean_up, confirm_removals

    options = connect_options(usbmux, trust_timeout, notify=not as_json)
    ref = vault_ref(vault, passphrase_file)
    connector = connect(source, options)
    with closing_connector(connector):
        if check_only:
            _render_check(confirm_removals(connector, ref), as_json)
            return
        executor = executor_for(connector, quarantine=quarantine, delete=delete, dry_run=dry_run)
        review = _in_terminal if no_browser else _in_browser(open_page=not no_open)
        with byte_bar(0, "verify", enabled=verify_first and not as_json) as bar:
            outcome = clean_up(
                connector, ref, executor, review, verify_first=verify_first, progress=fed(bar)
            )
    _render(outcome, as_json)


def _in_terminal(plan: Plan, _pictures: Thumbnails, describe: Describe) -> Decision:
    """The review in the terminal: no pictures there, the items by name, day and finding."""
    return review_in_terminal(plan, describe)


def _in_browser(*, open_page: bool) -> Reviewer:
    def review(plan: Plan, pictures: Thumbnails, describe: Describe) -> Decision:
        from companion.cleanup.review import Review

        if not plan.ready():
            return Decision(frozenset())
        with Review(
            plan, thumbnail=pictures, what_happens=describe, word=WORD, idle_timeout=IDLE_TIMEOUT
        ) as page:
            url = page.start()
            typer.echo(f"Review the photos at {url}", err=True)
            typer.echo(
                f"(this page closes after {IDLE_TIMEOUT / 60:.0f} minutes without you)", err=True
            )
            if open_page:
                webbrowser.open(url)
            decision = page.wait()
        if decision.cancelled and not decision.chosen:
            raise Cancelled(
                "the review was cancelled or left open too long", "Nothing was removed."
            )
        return decision

    return review


def _render(outcome: Outcome, as_json: bool) -> None:
    report = outcome.report
    if as_json:
        emit_json(
            {
                "source": outcome.plan.source,
                "candidates": len(outcome.plan.groups),
                "ready": len(outcome.plan.ready()),
                "chosen": sorted(outcome.decision.chosen),
                "report": report,
            }
        )
    else:
        _render_text(outcome)
    if outcome.decision.cancelled:
        raise Cancelled(
            "the review was cancelled, or left without an answer",
            "Nothing was removed; run 'companion cleanup' again when you are ready.",
        )
    if report is not None and (error := report.error()) is not None:
        raise error


def _render_text(outcome: Outcome) -> None:
    plan, report = outcome.plan, outcome.report
    if report is None:
        waiting = len(plan.groups) - len(plan.ready())
        typer.echo(
            f"Nothing removed. {len(plan.groups)} flagged items on {plan.source}: "
            f"{len(plan.ready())} could go, {waiting} need a backup or a check first."
        )
        return
    if report.dry_run:
        typer.echo("Dry run: nothing was changed or recorded. This is what would happen:")
    for result in (*report.removed, *report.would_remove):
        typer.echo(f"  {printable(result.detail)}")
    for result in report.by_hand:
        typer.echo(f"  delete in Photos: {printable(result.detail)}")
    for result in report.refused:
        typer.echo(f"  refused  {printable(result.name)}: {result.detail}", err=True)
    for result in report.still_present:
        typer.echo(f"  still there  {printable(result.name)}: {result.detail}", err=True)
    verb = "would free" if report.dry_run else "frees"
    typer.echo(f"{_count(report)} {verb} {human_bytes(report.freed_bytes)} on {report.source}.")
    if report.by_hand:
        typer.echo(
            "Delete them in the Photos app, then run 'companion cleanup --check' to confirm. "
            "Recently Deleted keeps them 30 days: empty it to free the space now."
        )
    elif report.removed:
        typer.echo("Next: 'companion checklist' locks the door behind them.")


def _count(report: CleanupReport) -> str:
    done = len(report.removed) + len(report.would_remove) + len(report.by_hand)
    return f"{done} item{'s' * (done != 1)}"


def _render_check(report: CheckReport, as_json: bool) -> None:
    if as_json:
        emit_json(report)
        return
    if not report.groups:
        typer.echo(f"Nothing was planned for deletion on {report.source}.")
        return
    for group in report.groups:
        until = f" until {group.purge_on.isoformat()}" if group.purge_on else ""
        typer.echo(f"  {group.state.value}{until}: {printable(group.where)}")
    typer.echo(
        "Photos in Recently Deleted are gone for good on the day shown, or when you empty it."
    )

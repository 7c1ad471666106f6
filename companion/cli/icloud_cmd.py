"""``companion icloud``: sign in to iCloud for ``--from icloud``, sign out, see the session.

Signing in asks for the Apple ID's password (typed without echo, or read from the system
keyring) and, when iCloud wants one, the two-factor code shown on the person's devices; the
session is then kept in companion's private state folder, so that backups need neither for a
while. Nothing here ever shows a password, a token or a cookie (docs/icloud.md).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from companion.cli.common import EXIT_STATUS, JsonOpt, emit_json
from companion.cli.sources import connect_options
from companion.connectors.icloud.options import IcloudOptions, check_apple_id, known_accounts
from companion.errors import DeviceError, UsageError

if TYPE_CHECKING:
    from companion.connectors.base import ConnectOptions

app = typer.Typer(
    help="Sign in to iCloud (for 'companion backup --from icloud'), sign out, see the session.",
    no_args_is_help=True,
    epilog=EXIT_STATUS,
)

AppleIdArg = Annotated[
    str | None,
    typer.Argument(
        metavar="[APPLE_ID]",
        help="The Apple ID (e-mail address). Default: the one signed in on this computer.",
        show_default=False,
    ),
]


@app.command("login", epilog=EXIT_STATUS)
def login(
    apple_id: AppleIdArg = None,
    code: Annotated[
        str | None,
        typer.Option(
            "--code",
            metavar="CODE",
            help="The two-factor code, if iCloud asks for one (else it is asked on the terminal).",
        ),
    ] = None,
) -> None:
    """Sign in to iCloud and keep the session on this computer (only you can read it).

    Asks for the password (unless the system keyring holds it) and, when iCloud wants one, the
    6-digit code shown on your iPhone, iPad or Mac. A session still good is used as it is.
    """
    from companion.connectors.icloud.connector import IcloudConnector

    options = connect_options(None, icloud_code=code)
    connector = IcloudConnector(apple_id, options)
    connector.info()
    typer.echo(
        f"Signed in to iCloud as {connector.apple_id}. The session is kept in "
        f"{connector.account.folder} (only you can read it); back up with "
        f"'companion backup --from icloud:{connector.apple_id}'."
    )


@app.command("logout", epilog=EXIT_STATUS)
def logout(apple_id: AppleIdArg = None) -> None:
    """Forget the iCloud session on this computer: its files are removed, and the next sign-in
    asks for the password and a code again. The vault is not touched."""
    from companion.connectors.icloud.account import Account

    options = connect_options(None)
    icloud = options.settings(IcloudOptions)
    chosen = _chosen(apple_id, icloud)
    if not chosen:
        named = f" of {check_apple_id(apple_id)}" if apple_id else ""
        typer.echo(f"No iCloud session{named} is kept on this computer.")
        return
    for account_id in chosen:
        Account(account_id, icloud, options, sleep=time.sleep).forget()
        typer.echo(f"Signed out of iCloud as {account_id} on this computer.")


@app.command("status", epilog=EXIT_STATUS)
def status(apple_id: AppleIdArg = None, as_json: JsonOpt = False) -> None:
    """Whether each Apple ID with a session on this computer is still signed in (asks iCloud;
    never shows a token), and where sessions are kept."""
    options = connect_options(None, notify=not as_json)
    icloud = options.settings(IcloudOptions)
    chosen = _chosen(apple_id, icloud)
    if apple_id is not None and not chosen:
        raise UsageError(
            f"no iCloud session of {check_apple_id(apple_id)} is kept on this computer",
            hint=f"Sign in with 'companion icloud login {check_apple_id(apple_id)}'.",
        )
    accounts = [_state(account_id, icloud, options) for account_id in chosen]
    folder = icloud.where()
    if as_json:
        emit_json({"sessions": folder, "accounts": accounts})
        return
    typer.echo(f"iCloud sessions are kept in {folder}")
    if not accounts:
        typer.echo("No Apple ID is signed in. Sign in with 'companion icloud login APPLE_ID'.")
    for account in accounts:
        typer.echo(f"{account['apple_id']}: {account['state']}")


def _state(apple_id: str, icloud: IcloudOptions, options: ConnectOptions) -> dict[str, Any]:
    from companion.connectors.icloud.account import Account

    try:
        signed_in = Account(apple_id, icloud, options, sleep=time.sleep).resume(ready=False)
    except DeviceError as exc:
        return {"apple_id": apple_id, "signed_in": None, "state": f"unknown: {exc.message}"}
    state = (
        "signed in"
        if signed_in
        else f"not signed in (the session ended: run 'companion icloud login {apple_id}')"
    )
    return {"apple_id": apple_id, "signed_in": signed_in, "state": state}


def _chosen(apple_id: str | None, icloud: IcloudOptions) -> list[str]:
    """The Apple ID named if it has a session here, or every one that has."""
    known = known_accounts(icloud)
    if apple_id is None:
        return known
    chosen = check_apple_id(apple_id)
    return [chosen] if chosen in known else []

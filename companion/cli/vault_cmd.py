"""``companion vault``: create a vault."""

from __future__ import annotations

from typing import Annotated

import typer

from companion.cli.common import (
    EXIT_STATUS,
    JsonOpt,
    PassFileOpt,
    VaultOpt,
    emit_json,
    given_options,
    read_passphrase,
    vault_path,
)
from companion.vault import Vault
from companion.vault.crypto import DEFAULT_WORK_FACTOR, MAX_WORK_FACTOR, MIN_WORK_FACTOR
from companion.vault.strength import WEAK_OK_OPTION, check_new_passphrase

app = typer.Typer(help="Create and manage the encrypted vault.", no_args_is_help=True)

WorkFactorOpt = Annotated[
    int,
    typer.Option(
        "--kdf-work-factor",
        min=MIN_WORK_FACTOR,
        max=MAX_WORK_FACTOR,
        help="scrypt cost (log2 N) protecting the passphrase: 17 = 128 MiB, ~0.5 s; each step "
        "doubles both (age -p uses 18). "
        "Lower it only for tests.",
    ),
]

WeakOkOpt = Annotated[
    bool,
    typer.Option(
        WEAK_OK_OPTION,
        help="Accept a passphrase that is easy to guess (under about 10^8 guesses), which is "
        "otherwise refused.",
    ),
]


def new_passphrase_checked(passphrase: str, *, weak_ok: bool) -> str:
    """``passphrase``, once its strength is checked: refused below the floor (unless
    ``weak_ok``), with a one-line warning on stderr below the top score."""
    warning = check_new_passphrase(passphrase, weak_ok=weak_ok)
    if warning:
        typer.echo(warning, err=True)
    return passphrase


@app.command("init", epilog=EXIT_STATUS)
def init(
    vault: VaultOpt = None,
    passphrase_file: PassFileOpt = None,
    work_factor: WorkFactorOpt = DEFAULT_WORK_FACTOR,
    weak_ok: WeakOkOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Create a new, empty vault protected by a passphrase.

    Write the passphrase down: without it (or the recovery key from 'companion key export')
    nobody, including you, can read the vault.
    """
    root = vault_path(vault)
    passphrase = new_passphrase_checked(
        read_passphrase(passphrase_file, confirm=True, prompt="New vault passphrase"),
        weak_ok=weak_ok,
    )
    with Vault.create(root, passphrase, work_factor=work_factor) as created:
        recipient = created.identity.recipient()
    if as_json:
        emit_json({"vault": root, "recipient": recipient})
    else:
        typer.echo(f"Created a vault in {root}")
        again = given_options(vault, passphrase_file)
        typer.echo(
            f"Next: companion backup --from folder:PATH{again}   (see companion backup --help)"
        )

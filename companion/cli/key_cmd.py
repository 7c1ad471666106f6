"""``companion key``: passphrases and the recovery key."""

from __future__ import annotations

import io
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TextIO

import typer

from companion.cli import terminal
from companion.cli.common import EXIT_STATUS, PassFileOpt, VaultOpt, read_passphrase, vault_path
from companion.cli.vault_cmd import WeakOkOpt, WorkFactorOpt, new_passphrase_checked
from companion.errors import Cancelled, UsageError
from companion.portable import private
from companion.vault import keys
from companion.vault.crypto import DEFAULT_WORK_FACTOR

app = typer.Typer(
    help="Passphrases (several may open one vault) and the recovery key.", no_args_is_help=True
)

CONFIRM_WORD = "EXPORT"

NewPassFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--new-passphrase-file",
        metavar="FILE",
        exists=True,
        dir_okay=False,
        help="Read the new passphrase from the first line of this file (else a prompt).",
    ),
]


def _with_new_passphrase(
    change: Callable[[Path, str, str, int], object],
    vault: Path | None,
    passphrase_file: Path | None,
    new_file: Path | None,
    work_factor: int,
    weak_ok: bool,
) -> None:
    """Ask for the current passphrase, then a new one (typed twice, its strength checked), and
    apply ``change``."""
    current = read_passphrase(passphrase_file, prompt="Current passphrase")
    new = read_passphrase(new_file, confirm=True, prompt="New passphrase", use_env=False)
    change(vault_path(vault), current, new_passphrase_checked(new, weak_ok=weak_ok), work_factor)


@app.command("add", epilog=EXIT_STATUS)
def add(
    vault: VaultOpt = None,
    passphrase_file: PassFileOpt = None,
    new_passphrase_file: NewPassFileOpt = None,
    work_factor: WorkFactorOpt = DEFAULT_WORK_FACTOR,
    weak_ok: WeakOkOpt = False,
) -> None:
    """Add another passphrase that opens the vault (e.g. one kept by someone you trust)."""
    _with_new_passphrase(
        keys.add_passphrase, vault, passphrase_file, new_passphrase_file, work_factor, weak_ok
    )
    typer.echo("Added a passphrase. Every passphrase opens the same vault.")


@app.command("passwd", epilog=EXIT_STATUS)
def passwd(
    vault: VaultOpt = None,
    passphrase_file: PassFileOpt = None,
    new_passphrase_file: NewPassFileOpt = None,
    work_factor: WorkFactorOpt = DEFAULT_WORK_FACTOR,
    weak_ok: WeakOkOpt = False,
) -> None:
    """Change a passphrase. Only a small key file is rewritten; no photo is re-encrypted."""
    _with_new_passphrase(
        keys.change_passphrase, vault, passphrase_file, new_passphrase_file, work_factor, weak_ok
    )
    typer.echo("Passphrase changed.")


@app.command("remove", epilog=EXIT_STATUS)
def remove(vault: VaultOpt = None, passphrase_file: PassFileOpt = None) -> None:
    """Remove the passphrase you type (never the last one)."""
    keys.remove_passphrase(vault_path(vault), read_passphrase(passphrase_file))
    typer.echo("Passphrase removed.")


YesOpt = Annotated[
    bool,
    typer.Option("--yes", help=f"Print the key on the screen without asking for {CONFIRM_WORD}."),
]


@app.command("export", epilog=EXIT_STATUS)
def export(
    vault: VaultOpt = None, passphrase_file: PassFileOpt = None, yes: YesOpt = False
) -> None:
    """Print the recovery key, to write on paper and keep somewhere safe.

    WARNING: whoever reads this key can decrypt every photo in the vault, without any passphrase.
    With it and the stock `age` tool, the vault can be opened even without companion (see
    RESTORE.txt in the vault). On a screen it is printed only once you type EXPORT (or with
    --yes); into a file or a pipe, without a question.
    """
    root = vault_path(vault)
    if not yes and _on_screen(sys.stdout):
        _confirm_on_screen()
    secret = keys.export_identity(root, read_passphrase(passphrase_file))
    typer.echo("WARNING: this key opens every photo in the vault, with no passphrase.", err=True)
    typer.echo("Write it on paper, store it safely, never photograph it or send it.", err=True)
    _private_if_a_file(sys.stdout)
    typer.echo(secret)


def _private_if_a_file(stream: TextIO) -> None:
    """``companion key export > key.txt``: the shell made key.txt with the umask's mode (0644
    most often, readable by every user); it becomes 0600 before the key is written to it."""
    try:
        fd = stream.fileno()
        if stat.S_ISREG(os.fstat(fd).st_mode):
            private.make_private(fd)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        pass  # not a file of this system (a pipe, a terminal, a test's capture): nothing to do


def _on_screen(stream: TextIO) -> bool:
    """Whether what is printed lands on a terminal (where anyone nearby, a screen share or the
    scrollback can read it) rather than in a file or a pipe."""
    try:
        return stream.isatty()
    except (ValueError, AttributeError):  # closed, or no stream at all
        return False


def _confirm_on_screen() -> None:
    """Ask for the confirmation word before the key is shown; anything else cancels."""
    if not terminal.has_terminal():
        raise UsageError(
            "the recovery key is shown on a screen only after a confirmation",
            hint="Add --yes, or redirect the key into a file (companion key export > key.txt).",
        )
    terminal.tell("This prints the key that opens everything in the vault, with no passphrase.")
    answer = terminal.ask_visible(f"Type {CONFIRM_WORD} to continue")
    if answer != CONFIRM_WORD:
        raise Cancelled(
            "the recovery key was not printed",
            hint=f"Run it again and type {CONFIRM_WORD}, or redirect it into a file "
            "(companion key export > key.txt).",
        )

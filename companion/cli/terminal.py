"""Asking a person for a passphrase (or a code a source asks for): on their terminal, never on
standard output.

A command's standard output is its result (``companion ls --json > ls.json``, ``companion key
export > key.txt``), so prompts and the messages around them go to the terminal itself: the
controlling terminal (``/dev/tty``) on Linux and macOS, the console on Windows (both through
``getpass``). A person who redirects standard input and output is still asked on their terminal;
a process with no terminal at all (a CI job, a service) is never asked and never waits.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from companion.portable import files

if TYPE_CHECKING:
    from companion.connectors.base import Ask

_TTY = Path("/dev/tty")  # the controlling terminal of this process, whatever stdin and stdout are
_CONSOLE = Path("CONIN$")  # Windows: the console, whatever stdin and stdout are
_CONSOLE_OUT = Path("CONOUT$")


def has_terminal() -> bool:
    """Whether a person can be asked: the controlling terminal (the console on Windows) can be
    opened, or standard input is a terminal. Redirections of stdout and stdin do not matter."""
    try:
        if os.name == "nt":
            with _CONSOLE.open(encoding="utf-8"):
                pass
        else:
            os.close(os.open(_TTY, os.O_RDWR | files.NOCTTY))
    except OSError:  # ENXIO: no controlling terminal (a new session, a daemon, most CI jobs)
        stdin = sys.stdin
        return stdin is not None and stdin.isatty()
    return True


def ask_hidden(prompt: str, *, confirm: bool = False) -> str:
    """A passphrase typed without echo, asked again while empty. With ``confirm`` it is typed
    twice, and asked again (after a one-line error) when the two differ. Ctrl-C or the end of
    input cancels (``typer.Abort``: exit 3)."""
    while True:
        value = _ask(f"{prompt}: ")
        if not value:
            continue
        if not confirm:
            return value
        again = ""
        while not again:
            again = _ask("Repeat for confirmation: ")
        if again == value:
            return value
        tell("error: the two passphrases differ; type the same one twice.")


def ask_visible(prompt: str) -> str:
    """A line typed with echo (a code, an account name), asked again while empty, on the
    terminal as ``ask_hidden``. Ctrl-C or the end of input cancels (``typer.Abort``: exit 3)."""
    while True:
        value = _ask_line(f"{prompt}: ").strip()
        if value:
            return value


def ask(question: str, *, secret: bool = False) -> str:
    """A question a connector asks the person (``connectors.Ask``): without echo if ``secret``."""
    return ask_hidden(question) if secret else ask_visible(question)


def prompter() -> Ask | None:
    """What a command gives connectors as ``ConnectOptions.prompt``: ``ask`` when a person can
    be asked, None without a terminal (a connector that needs an answer then stops at once)."""
    return ask if has_terminal() else None


def tell(line: str) -> None:
    """One line for the person at the terminal, where the prompts are (stderr without one)."""
    if os.name != "nt":
        with contextlib.suppress(OSError), _TTY.open("w", encoding="utf-8") as tty:
            tty.write(line + "\n")
            return
    typer.echo(line, err=True)


def _ask(prompt: str) -> str:
    try:
        # getpass writes the prompt to the terminal it reads from (stderr if it can only read
        # standard input), never to standard output.
        return getpass.getpass(prompt)
    except (KeyboardInterrupt, EOFError):
        tell("")  # getpass leaves the cursor after the prompt
        raise typer.Abort from None


def _ask_line(prompt: str) -> str:
    try:
        line = _read_line(prompt)
    except KeyboardInterrupt:
        line = ""
    if not line:  # Ctrl-C, or the end of input
        tell("")  # the cursor is still after the prompt
        raise typer.Abort from None
    return line


def _read_line(prompt: str) -> str:
    """Show ``prompt`` and read one line on the terminal (standard error and standard input
    without one); what was typed, with its newline, or less at the end of input."""
    shown, typed = (_CONSOLE_OUT, _CONSOLE) if os.name == "nt" else (_TTY, _TTY)
    try:
        with shown.open("w", encoding="utf-8") as out, typed.open(encoding="utf-8") as source:
            out.write(prompt)
            out.flush()
            return source.readline()
    except OSError:  # no terminal to open: ask where getpass would
        sys.stderr.write(prompt)
        sys.stderr.flush()
        return sys.stdin.readline()

"""What commands tell a source when they connect to it: the person's terminal (one line for
them on standard error, questions on the terminal), the USB link's settings from the command's
options and iCloud's (the simulated iCloud named by its variable, a two-factor code). One place,
so that every command reading a source talks to the person alike."""

from __future__ import annotations

import typer

from companion.cli import terminal
from companion.connectors import ConnectOptions
from companion.connectors.icloud.options import from_environment
from companion.connectors.usb.options import TRUST_TIMEOUT, UsbOptions


def connect_options(
    usbmux: str | None,
    trust_timeout: float = TRUST_TIMEOUT,
    *,
    include_trashed: bool = False,
    notify: bool = True,
    icloud_code: str | None = None,
    albums: tuple[str, ...] = (),
) -> ConnectOptions:
    """``ConnectOptions`` from ``--usbmux``, ``--trust-timeout``, ``--include-trashed``,
    ``--code`` (``icloud_code``) and ``--album`` (``albums``, iCloud's). Lines for the person go
    to standard error (none without ``notify``, e.g. with ``--json``); a source asks its
    questions on the terminal, and nobody is asked without one."""
    return ConnectOptions(
        notify=(lambda line: typer.echo(line, err=True)) if notify else None,
        prompt=terminal.prompter(),
        include_trashed=include_trashed,
        per_connector=(
            UsbOptions(usbmux_address=usbmux, trust_timeout=trust_timeout),
            from_environment(icloud_code, albums),
        ),
    )

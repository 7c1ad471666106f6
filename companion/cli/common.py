"""What every command shares: where the vault is, how the passphrase is read, how results and
progress are shown. Nothing here decides anything about backups; it only wires and renders."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from companion.cli import terminal
from companion.errors import UsageError, exit_status

if TYPE_CHECKING:
    from companion.vault import Vault, VaultRef

EXIT_STATUS = exit_status()

PASSPHRASE_ENV = "COMPANION_PASSPHRASE"  # noqa: S105 (a variable name, not a secret)
VAULT_ENV = "COMPANION_VAULT"


def default_vault_path() -> Path:
    """The per-user default vault folder (documented in docs/cli.md)."""
    if sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    elif os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "companion" / "vault"


VaultOpt = Annotated[
    Path | None,
    typer.Option(
        "--vault",
        envvar=VAULT_ENV,
        metavar="DIR",
        help="Vault folder. Default: $COMPANION_VAULT, else ~/.local/share/companion/vault "
        "(macOS: ~/Library/Application Support/companion/vault).",
        show_default=False,
    ),
]
PassFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--passphrase-file",
        metavar="FILE",
        help=f"Read the passphrase from the first line of this file (else ${PASSPHRASE_ENV}, "
        "else a prompt).",
        exists=True,
        dir_okay=False,
    ),
]
JobsOpt = Annotated[
    int | None,
    typer.Option(
        "--jobs",
        metavar="N",
        min=1,
        max=32,
        help="Files processed at once, in worker processes. Default: one per core (at most 4) "
        "when there is enough to do.",
        show_default=False,
    ),
]
UsbmuxOpt = Annotated[
    str | None,
    typer.Option(
        "--usbmux",
        envvar="USBMUXD_SOCKET_ADDRESS",
        metavar="ADDR",
        help="Where usbmuxd listens: a socket path or HOST:PORT (e.g. a simulated iPhone from "
        "'companion simulator serve'). Default: $USBMUXD_SOCKET_ADDRESS, else the system's.",
        show_default=False,
    ),
]
TrustTimeoutOpt = Annotated[
    float,
    typer.Option(
        "--trust-timeout",
        metavar="SECONDS",
        min=1,
        help="How long to wait for you to tap Trust on the iPhone.",
    ),
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print a machine-readable JSON result on stdout.")
]


def vault_path(option: Path | None) -> Path:
    return (option or default_vault_path()).expanduser()


def read_passphrase(
    pass_file: Path | None,
    *,
    confirm: bool = False,
    prompt: str = "Vault passphrase",
    use_env: bool = True,
) -> str:
    """--passphrase-file, then $COMPANION_PASSPHRASE (unless ``use_env`` is off, as for a new
    passphrase), then a hidden prompt on the terminal (never on stdout: see ``terminal``).

    The variable is taken out of the environment as it is read (``taken_from_environment``):
    read it once per command."""
    from_env = taken_from_environment() if use_env else None
    return _text_only(_read_passphrase(pass_file, from_env, confirm=confirm, prompt=prompt))


def taken_from_environment() -> str | None:
    """$COMPANION_PASSPHRASE, removed from the environment: no process the command starts (a
    worker, a browser) inherits it, and on Linux ``/proc/<pid>/environ`` no longer shows it.
    What it held lives on only where the caller keeps it."""
    from companion.vault.hardening import take_from_environment

    return take_from_environment(PASSPHRASE_ENV)


@contextmanager
def passphrase_variable_kept() -> Iterator[None]:
    """Around one command run by a process that goes on after it (``companion.cli.app.run``
    called by the tests or a script): the command takes $COMPANION_PASSPHRASE out of the
    environment (``taken_from_environment``) and, once it is over, the variable is set again,
    so the caller finds the environment it gave."""
    given = os.environ.get(PASSPHRASE_ENV)
    try:
        yield
    finally:
        if given is not None and PASSPHRASE_ENV not in os.environ:
            os.environ[PASSPHRASE_ENV] = given


def _text_only(passphrase: str) -> str:
    """A passphrase is text: bytes that are no UTF-8 (an environment variable set from another
    encoding) come in as lone surrogates, which no key file can hold. Said, never echoed."""
    try:
        passphrase.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(
            "the passphrase is not valid UTF-8 text",
            hint=f"Set {PASSPHRASE_ENV} (or the file) from a UTF-8 terminal, or type it "
            "at the prompt.",
        ) from None
    return passphrase


def _read_passphrase(
    pass_file: Path | None, from_env: str | None, *, confirm: bool, prompt: str
) -> str:
    if pass_file is not None:
        try:
            lines = pass_file.read_text("utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            # Never echo the file's content: the message names the file, not what is in it.
            raise UsageError(
                f"cannot read the passphrase from {pass_file}",
                hint="It must be a readable UTF-8 text file; its first line is the passphrase.",
            ) from exc
        return lines[0] if lines else ""
    if from_env is not None:
        return from_env
    if not terminal.has_terminal():
        raise UsageError(
            "no passphrase given and no terminal to ask for one",
            hint=f"Set {PASSPHRASE_ENV} or use --passphrase-file "
            "(--new-passphrase-file for a new passphrase).",
        )
    return terminal.ask_hidden(prompt, confirm=confirm)


def parse_day(text: str | None, *, end: bool = False) -> datetime | None:
    """YYYY-MM-DD (local midnight; with ``end``, the midnight after) or a full ISO time."""
    if text is None:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text) + timedelta(days=1 if end else 0)
            return datetime.combine(day, time()).astimezone()
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(
            f"{text!r} is not a date", hint="Use YYYY-MM-DD, e.g. 2024-07-14."
        ) from exc
    return parsed if parsed.tzinfo else parsed.astimezone()


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(_plain(v) for v in value)
    if isinstance(value, datetime | date):  # a purge day, a capture time
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return value


def emit_json(value: Any) -> None:
    typer.echo(json.dumps(_plain(value), indent=2, sort_keys=True, ensure_ascii=False))


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


@contextmanager
def byte_bar(total: int, desc: str, *, enabled: bool) -> Iterator[Any]:
    """A tqdm progress bar in bytes with rate and ETA, on stderr; silent for --json or no TTY."""
    from tqdm import tqdm

    bar = tqdm(
        total=total,
        desc=desc,
        unit="B",
        unit_scale=True,
        unit_divisor=1000,
        disable=(not enabled) or None,
        file=sys.stderr,
        dynamic_ncols=True,
        leave=False,
    )
    try:
        yield bar
    finally:
        bar.close()


@contextmanager
def count_bar(desc: str, *, enabled: bool) -> Iterator[Callable[[int, int], None]]:
    """A tqdm progress bar in files, fed by a library's (done, total) callback; on stderr, silent
    for --json or no TTY, like ``byte_bar``."""
    from tqdm import tqdm

    bar = tqdm(
        total=0,
        desc=desc,
        unit="file",
        disable=(not enabled) or None,
        file=sys.stderr,
        dynamic_ncols=True,
        leave=False,
    )

    try:
        yield fed(bar)
    finally:
        bar.close()


def fed(bar: Any) -> Callable[[int, int], None]:
    """A library's (done, total) progress callback drawn on a tqdm bar."""

    def update(done: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
            bar.refresh()
        bar.update(done - bar.n)  # tqdm redraws at most a few times a second

    return update


@contextmanager
def closing_connector(connector: object) -> Iterator[None]:
    """Close a connector that holds a link (a USB session) when the command is done."""
    try:
        yield
    finally:
        close = getattr(connector, "close", None)
        if callable(close):
            close()


def given_options(vault: Path | None, passphrase_file: Path | None = None) -> str:
    """The --vault and --passphrase-file this command was given, to repeat in the commands it
    suggests next (without them, the suggestion would use the default vault): "" or
    " --vault DIR --passphrase-file FILE"."""
    import shlex

    given = (("--vault", vault), ("--passphrase-file", passphrase_file))
    return "".join(f" {name} {shlex.quote(str(value))}" for name, value in given if value)


def vault_ref(option: Path | None, pass_file: Path | None) -> VaultRef:
    """The vault a command was pointed at (``--vault``, else ``$COMPANION_VAULT``, else the
    default) and how its passphrase is had (``read_passphrase``), asked only when it opens.

    $COMPANION_PASSPHRASE is taken out of the environment now, before any worker process
    starts (some start before the vault opens), and kept only by the returned ref: a command
    that opens the vault twice finds it both times."""
    from companion.vault import VaultRef

    from_env = taken_from_environment()

    def passphrase() -> str:
        return _text_only(
            _read_passphrase(pass_file, from_env, confirm=False, prompt="Vault passphrase")
        )

    from companion.cli import integrity

    return VaultRef(vault_path(option), passphrase, integrity.seen)


def open_vault(option: Path | None, pass_file: Path | None, *, write: bool = False) -> Vault:
    """Open the vault a command was pointed at: ``vault_ref(...).open(write=...)``."""
    return vault_ref(option, pass_file).open(write=write)


# Characters a terminal acts on rather than shows: control characters (an escape sequence can
# retitle the window or rewrite the line) and the bidirectional overrides that make a name read
# other than it is (U+202E turns "gpj.exe" around).
_UNSHOWN = {
    *range(0x00, 0x20),
    *range(0x7F, 0xA0),
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
    0x200E,
    0x200F,
    0x061C,
}


def printable(text: str) -> str:
    """``text`` (a name from a device) safe to print on a terminal: what a terminal would act on
    is shown as an escape, ``\\x1b`` or ``\\u202e``. ``--json`` keeps the exact text."""
    if not any(ord(c) in _UNSHOWN for c in text):
        return text
    return "".join(
        (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}") if ord(c) in _UNSHOWN else c
        for c in text
    )

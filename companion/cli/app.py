"""The ``companion`` command: builds the typer app and is the one error boundary.

Every ``CompanionError`` ends here as ``error: ...`` and ``hint: ...`` on stderr and its exit code
(under ``--json``: one JSON object on stderr, ``{"error", "hint", "exit"}``, typer's own usage
errors too); anything else is a bug: exit 1, with the traceback only under ``--debug``. SIGTERM
and SIGHUP stop a command the way Ctrl-C does (exit 3, finished work kept).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import shlex
import signal
import sys
import threading
import traceback
from collections.abc import Iterator
from typing import Annotated, Any

import typer

from companion import __version__
from companion.cli import (
    backup_cmd,
    checklist_cmd,
    cleanup_cmd,
    demo_cmd,
    devices_cmd,
    doctor_cmd,
    icloud_cmd,
    integrity,
    key_cmd,
    ls_cmd,
    restore_cmd,
    scan_cmd,
    share_cmd,
    simulator_cmd,
    status_cmd,
    vault_cmd,
    verify_cmd,
)
from companion.cli.common import EXIT_STATUS, passphrase_variable_kept
from companion.errors import Cancelled, CompanionError, ExitCode

app = typer.Typer(
    name="companion",
    help="Take your iPhone photos back before an app gets the keys to your camera roll: back "
    "them up into an encrypted vault on this computer, check them, and get them back. "
    "New here? Run 'companion demo'.",
    epilog=EXIT_STATUS,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(vault_cmd.app, name="vault")
app.add_typer(key_cmd.app, name="key")
app.add_typer(simulator_cmd.app, name="simulator")
app.add_typer(checklist_cmd.app, name="checklist")
app.add_typer(icloud_cmd.app, name="icloud")
devices_cmd.register(app)
doctor_cmd.register(app)
backup_cmd.register(app)
verify_cmd.register(app)
restore_cmd.register(app)
ls_cmd.register(app)
status_cmd.register(app)
demo_cmd.register(app)
scan_cmd.register(app)
cleanup_cmd.register(app)
share_cmd.register(app)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"companion {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and debug logs.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_LogLines(debug))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    # --debug is about companion: libraries stay at WARNING (Pillow alone logs every TIFF tag).
    logging.getLogger("companion").setLevel(logging.DEBUG if debug else logging.NOTSET)
    if not debug:
        threading.excepthook = _thread_died


class _LogLines(logging.Formatter):
    """One line per log record for a person; tracebacks only under ``--debug``."""

    def __init__(self, debug: bool) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")
        self._debug = debug

    def format(self, record: logging.LogRecord) -> str:
        if not self._debug and record.exc_info:
            exc = record.exc_info[1]
            cause = f" ({type(exc).__name__}: {exc})" if exc is not None else ""
            fields = {**record.__dict__, "exc_info": None, "exc_text": None, "args": None}
            record = logging.makeLogRecord({**fields, "msg": record.getMessage() + cause})
        return super().format(record)


def _thread_died(args: threading.ExceptHookArgs) -> None:
    """A helper thread that died says so in one line (the command itself reports the error)."""
    name = args.thread.name if args.thread is not None else "a thread"
    logging.getLogger("companion").error(
        "%s stopped: %s: %s", name, args.exc_type.__name__, args.exc_value
    )


def _report(message: str, hint: str, code: int, as_json: bool) -> int:
    """An error for a person (``error:`` and ``hint:`` lines) or, under --json, for a script: one
    JSON object, on stderr too, so that stdout never holds anything a script takes for a result."""
    if as_json:
        typer.echo(json.dumps({"error": message, "hint": hint, "exit": code}), err=True)
        return code
    typer.echo(f"error: {message}", err=True)
    if hint:
        typer.echo(f"hint: {hint}", err=True)
    return code


# Outside standalone mode typer catches Ctrl-C itself and returns 130 (128 + SIGINT) as the
# command's result; no companion command returns 130, so it always means an interruption.
_TYPER_INTERRUPTED = 130


def _interrupted() -> Cancelled:
    return Cancelled("interrupted", "Finished work is kept; run the command again to resume.")


def run(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit code (never raises)."""
    args = sys.argv[1:] if argv is None else argv
    with _stop_signals_interrupt(), passphrase_variable_kept():
        return _run(args)


def _run(args: list[str]) -> int:
    debug, as_json = "--debug" in args, "--json" in args
    integrity.forget()
    try:
        try:
            result = app(args=args, prog_name="companion", standalone_mode=False)
        except typer.Abort as exc:  # a declined or abandoned prompt
            raise Cancelled("cancelled", "") from exc
        except KeyboardInterrupt as exc:
            raise _interrupted() from exc
        if result == _TYPER_INTERRUPTED:
            raise _interrupted()
        if problems := integrity.taken():  # the work is done; the catalogue is not whole
            raise integrity.as_error(problems)
    except CompanionError as exc:
        if debug:
            traceback.print_exc()
        hint = _with_given_options(exc.hint, args)
        if (problems := integrity.taken()) and exc.exit_code == ExitCode.PARTIAL:
            exc = integrity.as_error(problems)  # a damaged catalogue outranks a partial run
            hint = _with_given_options(exc.hint, args)
        return _report(exc.message, hint, int(exc.exit_code), as_json)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.TyperException as exc:  # bad options, unknown command: typer's usage errors
        return _usage_error(exc, as_json)
    except Exception as exc:  # the boundary: a bug, not a person's mistake
        if debug:
            traceback.print_exc()
        return _report(
            f"unexpected {type(exc).__name__}: {exc}",
            "This is a bug in companion. Run again with --debug and report the output.",
            int(ExitCode.UNEXPECTED),
            as_json,
        )
    return int(result) if isinstance(result, int) else 0


def _usage_error(exc: typer.TyperException, as_json: bool) -> int:
    ctx = getattr(exc, "ctx", None)
    if not as_json:
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            typer.echo(f"error: {exc.message}", err=True)
        return int(ExitCode.USAGE)
    command = getattr(ctx, "command_path", None) or "companion"
    hint = f"Run '{command} --help' to see what it accepts."
    return _report(exc.format_message(), hint, int(ExitCode.USAGE), as_json)


@contextlib.contextmanager
def _stop_signals_interrupt() -> Iterator[None]:
    """SIGTERM (a shutdown, ``timeout``, ``kill``) and SIGHUP (a closed terminal) stop a command
    as Ctrl-C does: KeyboardInterrupt in the main thread, finished work kept, exit 3. Once one
    came, more are ignored while the command records what it finished. A signal already ignored
    (``nohup``) stays ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    names = ("SIGTERM", "SIGHUP")
    watched = [
        number
        for number in (getattr(signal, name) for name in names if hasattr(signal, name))
        if signal.getsignal(number) is signal.SIG_DFL
    ]

    def interrupt(_number: int, _frame: object) -> None:
        for number in watched:
            signal.signal(number, signal.SIG_IGN)
        raise KeyboardInterrupt

    for number in watched:
        signal.signal(number, interrupt)
    try:
        yield
    finally:
        for number in watched:
            signal.signal(number, signal.SIG_DFL)


_QUOTED_COMMAND = re.compile(r"'(companion [^']*)'")
_REPEATED = ("--vault", "--passphrase-file")


def _with_given_options(hint: str, args: list[str]) -> str:
    """A command a hint suggests ('companion verify --full') repeats the --vault and
    --passphrase-file this one was given, where it takes them: else it would use another vault."""
    given = [(name, value) for name in _REPEATED if (value := _option_value(args, name))]
    if not given or "'companion " not in hint:
        return hint

    def repeat(match: re.Match[str]) -> str:
        command = match.group(1)
        takes = _options_of(command.split()[1:])
        extra = [
            f"{name} {shlex.quote(value)}"
            for name, value in given
            if name in takes and name not in command
        ]
        return "'" + " ".join([command, *extra]) + "'"

    return _QUOTED_COMMAND.sub(repeat, hint)


def _option_value(args: list[str], name: str) -> str | None:
    for index, arg in enumerate(args):
        if arg == name and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def _options_of(words: list[str]) -> set[str]:
    """The option names of the command that ``words`` (``["key", "add", "--x"]``) names."""
    command: Any = typer.main.get_command(app)
    for word in words:
        sub = getattr(command, "commands", {}).get(word)
        if sub is None:
            break
        command = sub
    return {name for param in command.params for name in getattr(param, "opts", ())}


def main() -> None:
    sys.exit(run())

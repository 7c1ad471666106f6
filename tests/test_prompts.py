"""Passphrase prompts go to the person's terminal, never into a command's standard output.

Each command that can ask for a passphrase runs in its own process, as a person runs it from a
terminal with its output redirected (``companion ls --json < /dev/null > ls.json``): standard
input is /dev/null, standard output and error are files, and its controlling terminal is a
pseudo-terminal on which the test reads the prompts and types the answers. The redirected output
must hold the command's output only. Without any terminal, the command stops at once (exit 2).
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer

from companion.backup import VaultStore, run_backup
from companion.cli.app import app
from companion.connectors import connect
from companion.vault import Vault
from tests.support import PASSPHRASE, WORK_FACTOR, cli_env, make_roll, new_vault

pytestmark = pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs pseudo-terminals (POSIX)")

# The child makes the pseudo-terminal it inherits (as a file descriptor, kept open) its
# controlling terminal, as the leader of a new session; then it runs the command line exactly as
# `python -m companion` does.
ADOPT_TERMINAL = (
    "import fcntl, os, runpy, sys, termios\n"
    "fcntl.ioctl(int(sys.argv.pop(1)), termios.TIOCSCTTY, 0)\n"
    "sys.argv[0] = 'companion'\n"
    "runpy.run_module('companion', run_name='__main__', alter_sys=True)\n"
)
PROMPT = re.compile(rb"(?:passphrase|confirmation): ")
SECOND = "a second passphrase"
WF = ("--kdf-work-factor", str(WORK_FACTOR))


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    terminal: str  # everything the command wrote on its terminal


def env_without_passphrase(tmp_path: Path) -> dict[str, str]:
    env = cli_env(HOME=str(tmp_path / "home"), TMPDIR=str(tmp_path))
    del env["COMPANION_PASSPHRASE"]
    return env


def on_terminal(
    tmp_path: Path,
    args: list[str],
    answers: list[str],
    timeout: float = 120,
    *,
    prompt: re.Pattern[bytes] = PROMPT,
    stdout_on_screen: bool = False,
    env: dict[str, str] | None = None,
) -> Run:
    """Run ``companion *args`` with a pseudo-terminal as its terminal, stdin from /dev/null and
    stdout/stderr to files (stdout to the terminal with ``stdout_on_screen``); type ``answers``
    one per ``prompt``, in order."""
    master, slave = os.openpty()
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-c", ADOPT_TERMINAL, str(slave), *args],
            stdin=subprocess.DEVNULL,
            stdout=slave if stdout_on_screen else stdout,
            stderr=stderr,
            env=env or env_without_passphrase(tmp_path),
            start_new_session=True,
            pass_fds=(slave,),
        )
    os.close(slave)
    seen, pending = b"", list(answers)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not select.select([master], [], [], 0.1)[0]:
                if child.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the command closed the terminal (it exited)
                break
            if not chunk:
                break
            seen += chunk
            asked = len(prompt.findall(seen))
            assert asked <= len(answers), f"an unexpected prompt: {seen!r}"
            while len(answers) - len(pending) < asked:
                os.write(master, pending.pop(0).encode() + b"\n")
        code = child.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        os.close(master)
    assert not pending, f"prompts never came for {pending!r}: {seen!r}"
    return Run(code, out.read_text(), err.read_text(), seen.decode(errors="replace"))


def shows_no_prompt(run: Run) -> None:
    """Prompts are on the terminal and nowhere else."""
    assert PROMPT.search(run.terminal.encode()), run.terminal
    for stream in (run.stdout, run.stderr):
        assert not PROMPT.search(stream.encode()), stream
        assert PASSPHRASE not in stream and SECOND not in stream


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    """A small vault, backed up from a folder: the roll is at ``tmp_path / "roll"``."""
    roll = make_roll(tmp_path / "roll", seed=5, count=11)
    with new_vault(tmp_path / "v") as opened:
        run_backup(connect(f"folder:{roll}"), VaultStore(opened))
    return tmp_path / "v"


# Every command that can ask for the vault's passphrase, as a script would run it: --json when
# it has one; --vault comes last. {t} is the test's folder.
READERS = {
    "ls": ["ls", "--json"],
    "status": ["status", "--json"],
    "verify": ["verify", "--full", "--json"],
    "restore": ["restore", "--to", "{t}/out", "--json"],
    "backup": ["backup", "--from", "folder:{t}/roll", "--json"],
    "backup --dry-run": ["backup", "--from", "folder:{t}/roll", "--dry-run", "--json"],
    "places add": ["places", "add", "gym", "--lat", "48.85", "--lon", "2.29"],
    "places list": ["places", "list", "--json"],
    "places remove": ["places", "remove", "home"],
    "scan": ["scan", "--only", "private_place,screenshot", "--json"],
    "scan --explain": ["scan", "--explain", "DCIM/100APPLE/IMG_0003.PNG", "--json"],
    "checklist": ["checklist", "--ios", "17.5", "--format", "md", "--out", "-"],  # + --vault
    "key remove": ["key", "remove"],
    # the passphrase on the terminal; the review reads standard input (here: nothing flagged)
    "cleanup": ["cleanup", "--from", "folder:{t}/roll", "--no-browser", "--delete", "--json"],
    # nothing scanned here: every photo is left out, and said so in the JSON report
    "share": ["share", "--to", "{t}/shared", "--json"],
}


def test_every_command_that_takes_a_passphrase_is_checked_here() -> None:
    root = typer.main.get_command(app)
    prompting = set()
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        for sub_name, sub in [(name, command), *getattr(command, "commands", {}).items()]:
            if any(p.name == "passphrase_file" for p in sub.params):
                prompting.add(name if sub is command else f"{name} {sub_name}")
    checked = {name.split(" --")[0] for name in READERS} | {"vault init", "key add"}
    checked |= {"key passwd", "key export"}
    assert prompting == checked


# `ls` stands for them all in the quick selection (pytest -m "not slow").
@pytest.mark.parametrize(
    "name", [n if n == "ls" else pytest.param(n, marks=pytest.mark.slow) for n in sorted(READERS)]
)
def test_the_passphrase_prompt_never_reaches_stdout(vault: Path, tmp_path: Path, name: str) -> None:
    if name in {"places remove", "scan --explain"}:
        from companion.model import Place

        with Vault.open(vault, PASSPHRASE, write=True) as opened:
            opened.set_place(Place("home", 48.85, 2.29, 150.0))
            opened.flush()
    if name == "key remove":  # never the last passphrase
        from companion.vault import keys

        keys.add_passphrase(vault, PASSPHRASE, SECOND, WORK_FACTOR)
    if name == "scan --explain":
        with Vault.open(vault, PASSPHRASE, write=True) as opened:
            from companion.sensitivity.scan import scan_vault

            scan_vault(opened, only=["private_place"])
    args = [a.format(t=tmp_path) for a in READERS[name]]
    run = on_terminal(tmp_path, [*args, "--vault", str(vault)], [PASSPHRASE])
    assert run.code == 0, run.stderr
    shows_no_prompt(run)
    if "--json" in args and name != "scan":
        json.loads(run.stdout)  # one JSON document and nothing else
    elif name == "scan":
        for line in run.stdout.splitlines():
            json.loads(line)
    elif name == "checklist":
        assert run.stdout.startswith("#"), run.stdout[:200]
    else:
        assert len(run.stdout.splitlines()) == 1, run.stdout


def test_vault_init_asks_twice_and_again_when_the_two_differ(tmp_path: Path) -> None:
    root = tmp_path / "new-vault"
    args = ["vault", "init", "--vault", str(root), *WF, "--json"]
    run = on_terminal(tmp_path, args, [PASSPHRASE, "a typo", "", PASSPHRASE, PASSPHRASE])
    assert run.code == 0, run.stderr
    shows_no_prompt(run)
    assert json.loads(run.stdout)["vault"] == str(root)
    assert run.terminal.count("New vault passphrase: ") == 3  # asked again after the empty one
    assert "error: the two passphrases differ" in run.terminal
    Vault.open(root, PASSPHRASE).close()


@pytest.mark.slow
@pytest.mark.parametrize("command", ["add", "passwd"])
def test_key_add_and_passwd_ask_on_the_terminal(vault: Path, tmp_path: Path, command: str) -> None:
    args = ["key", command, "--vault", str(vault), *WF]
    run = on_terminal(tmp_path, args, [PASSPHRASE, SECOND, SECOND])
    assert run.code == 0, run.stderr
    shows_no_prompt(run)
    assert run.terminal.index("Current passphrase") < run.terminal.index("New passphrase")
    assert len(run.stdout.splitlines()) == 1, run.stdout
    Vault.open(vault, SECOND).close()


def test_key_export_redirected_is_a_key_file_stock_age_accepts(vault: Path, tmp_path: Path) -> None:
    age = shutil.which("age")
    if age is None:
        pytest.skip("the stock age CLI is not installed (apt-get install age)")
    run = on_terminal(tmp_path, ["key", "export", "--vault", str(vault)], [PASSPHRASE])
    assert run.code == 0, run.stderr
    shows_no_prompt(run)
    key = tmp_path / "key.txt"
    key.write_text(run.stdout)  # what `companion key export > key.txt` leaves
    assert run.stdout.startswith("AGE-SECRET-KEY-1") and run.stdout.count("\n") == 1
    segment = sorted((vault / "catalogue").glob("*.age"))[0]
    done = subprocess.run([age, "-d", "-i", str(key), str(segment)], capture_output=True)
    assert done.returncode == 0, done.stderr
    assert b'"t"' in done.stdout  # the catalogue's records, in the clear


@pytest.mark.slow
def test_ctrl_d_at_the_prompt_cancels(vault: Path, tmp_path: Path) -> None:
    run = on_terminal(tmp_path, ["status", "--vault", str(vault)], ["\x04"])
    assert run.code == 3, run.stderr
    assert "cancelled" in run.stderr and run.stdout == ""


@pytest.mark.parametrize(
    "args",
    [["ls", "--json"], ["key", "export"], ["vault", "init", *WF]],
    ids=["ls", "key export", "vault init"],
)
def test_without_a_terminal_or_a_passphrase_it_stops_at_once(
    tmp_path: Path, args: list[str]
) -> None:
    """No controlling terminal (a new session, as in CI) and stdin not a terminal: exit 2."""
    vault = tmp_path / ("new" if args[0] == "vault" else "v")
    if args[0] != "vault":
        new_vault(vault).close()
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "companion", *args, "--vault", str(vault)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env_without_passphrase(tmp_path),
        start_new_session=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "no terminal to ask" in done.stderr and "COMPANION_PASSPHRASE" in done.stderr
    assert "--passphrase-file" in done.stderr
    assert not PROMPT.search(done.stdout.encode() + done.stderr.encode())
    assert time.monotonic() - started < 30  # it did not wait for an answer

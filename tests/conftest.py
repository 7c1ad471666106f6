"""Test-session set-up shared by every test module."""

from __future__ import annotations

import gc
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# onnxruntime writes a device id and a telemetry database under ~/.cache/Microsoft when it is
# imported without this. Set before any test module can import it (some import it directly, at
# collection), and inherited by every child process the tests start.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"

# companion's per-user state folder (pair records, vaults' high-water marks) is a private
# temporary folder for the whole session, inherited by child processes: tests never write into
# the home folder's state. Tests that look at the state itself point it elsewhere.
os.environ["COMPANION_STATE_DIR"] = tempfile.mkdtemp(prefix="companion-test-state-")

_TELEMETRY_BEFORE = pytest.StashKey[dict[str, tuple[int, int]]]()
_TELEMETRY_WRITTEN = pytest.StashKey[list[str]]()


def _telemetry_files() -> dict[str, tuple[int, int]]:
    """onnxruntime's telemetry files (where it writes them) with their size and mtime."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    found = {}
    for path in (cache / "Microsoft").rglob("*"):
        if path.is_file():
            info = path.stat()
            found[str(path)] = (info.st_size, info.st_mtime_ns)
    return found


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_TELEMETRY_BEFORE] = _telemetry_files()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A session that made or touched a telemetry file fails, whatever its tests said."""
    before = session.config.stash.get(_TELEMETRY_BEFORE, None)
    if before is None:
        return
    after = _telemetry_files()
    written = sorted(path for path, stamp in after.items() if before.get(path) != stamp)
    if written:
        session.config.stash[_TELEMETRY_WRITTEN] = written
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    written = terminalreporter.config.stash.get(_TELEMETRY_WRITTEN, [])
    if written:
        terminalreporter.section("onnxruntime telemetry", sep="!", red=True, bold=True)
        terminalreporter.write_line(
            "FAILED: the test session wrote onnxruntime telemetry files (something imported "
            "onnxruntime without ORT_DISABLE_TELEMETRY=1):"
        )
        for path in written:
            terminalreporter.write_line(f"  {path}")


@pytest.fixture(autouse=True)
def _no_terminal_to_ask_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands run in the test process never ask for a passphrase: even under a terminal (or
    with -s), a missing passphrase is the usage error, not a prompt that waits for a person.
    Child processes find no terminal either (``tests.support.companion`` starts a new session);
    tests/test_prompts.py gives its children a pseudo-terminal and answers on it."""
    monkeypatch.setattr("companion.cli.terminal.has_terminal", lambda: False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(call: pytest.CallInfo[None]) -> Iterator[None]:
    # CPython 3.11 before 3.11.8 can fail with "AST constructor recursion depth mismatch" when a
    # garbage collection runs finalizers while pytest parses source for a failure report; a
    # collection first leaves nothing for that one to do. Only when there is a report to write:
    # a full collection after every phase of every test cost minutes over the suite.
    if call.excinfo is not None:
        gc.collect()
    yield

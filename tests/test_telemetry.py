"""Nothing about a scan leaves the computer, not even a telemetry id.

onnxruntime, which runs the nudity models and the OCR engine, writes a random device id and a
telemetry database under ~/.cache/Microsoft when it is imported without ORT_DISABLE_TELEMETRY=1.
The scan turns it off itself: here the variable the test session sets (tests/conftest.py) is
taken out of the command's environment, and a full scan, models and worker processes included,
must leave its home folder empty. (The test session's own check is in tests/conftest.py: a
session that writes such a file fails.)
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from companion.backup import VaultStore, run_backup
from companion.connectors import connect
from tests.support import cli_env, companion, make_roll, new_vault

pytestmark = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("onnxruntime", "nudenet", "rapidocr")),
    reason="the scan's models are not installed (pip install 'companion[scan]')",
)


@pytest.mark.slow
def test_a_full_scan_leaves_nothing_in_a_fresh_home(tmp_path: Path) -> None:
    roll = make_roll(tmp_path / "roll", seed=3)
    with new_vault(tmp_path / "v") as vault:
        run_backup(connect(f"folder:{roll}"), VaultStore(vault))
    home, scratch = tmp_path / "home", tmp_path / "scratch"
    home.mkdir()
    scratch.mkdir()
    env = cli_env(
        HOME=str(home),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_CONFIG_HOME=str(home / ".config"),
        COMPANION_VAULT=str(tmp_path / "v"),
        TMPDIR=str(scratch),
    )
    env.pop("ORT_DISABLE_TELEMETRY", None)  # the scan must turn it off by itself
    done = companion("scan", "--jobs", "2", "--json", env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "cannot run" not in done.stderr, done.stderr  # every detector ran, models included
    # Only companion's own private state: this computer's high-water mark of the vault's
    # catalogue (docs/security.md), never a model's cache or telemetry.
    state = home / ".local" / "state" / "companion"
    written = [p for p in home.rglob("*") if p.is_file()]
    assert [p.relative_to(state).parent.as_posix() for p in written] == ["vaults"], written
    assert sorted(scratch.iterdir()) == []

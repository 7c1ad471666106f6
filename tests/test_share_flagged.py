"""Property: whatever the scan said of each file, a flagged item (or one never scanned) never
reaches the share folder unless the person asked for it and confirmed; every other item does.

Each example starts from a copy of one backed-up, never-scanned vault (tiny pictures, an edited
photo among them), records a random scan state for each stored file, and shares everything."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from companion.backup import VaultStore, run_backup
from companion.connectors import connect
from companion.errors import Cancelled
from companion.model import DetectorRun, Finding, ScanRecord
from companion.share import Filters, Item, Options
from companion.state import STATE_ENV
from companion.usecases.share import share
from companion.vault import Vault, VaultRef
from tests.share_support import dirty_jpeg
from tests.support import PASSPHRASE, new_vault

NAMES = ("IMG_0001.JPG", "IMG_0002.JPG", "IMG_0003.JPG", "IMG_E0003.JPG", "IMG_0004.JPG")
ITEMS = ("IMG_0001.JPG", "IMG_0002.JPG", "IMG_0003.JPG", "IMG_0004.JPG")  # the edit is 0003's
STATES = ("clean", "context", "flagged", "unscanned")
CATEGORIES = ("nudity", "payment_card", "identity_document", "secret_qr", "private_place")


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("flagged")
    roll = root / "roll" / "DCIM"
    roll.mkdir(parents=True)
    for seed, name in enumerate(NAMES):
        dirty_jpeg(roll / name, seed=seed, size=(16, 16))
    with new_vault(root / "vault") as vault:
        run_backup(connect(f"folder:{root / 'roll'}"), VaultStore(vault))
    return root / "vault"


def _record(vault: Path, states: dict[str, tuple[str, str]]) -> None:
    with Vault.open(vault, PASSPHRASE, write=True) as opened:
        for stored in opened.assets():
            state, category = states[stored.asset.name]
            if state == "unscanned":
                continue
            findings = ()
            if state != "clean":
                wanted = "screenshot" if state == "context" else category
                findings = (Finding(wanted, "test", 0.9, "said so"),)
            runs = (DetectorRun("test", "1", findings),)
            opened.record_scan(ScanRecord(stored.object_id, opened.now(), runs))


def _item_state(states: dict[str, tuple[str, str]], item: str) -> str:
    """flagged if any file of the item is; unscanned if the shared file is; else ok."""
    files = [item, "IMG_E0003.JPG"] if item == "IMG_0003.JPG" else [item]
    if any(states[f][0] == "flagged" for f in files):
        return "flagged"
    shared = files[-1]
    return "unscanned" if states[shared][0] == "unscanned" else "ok"


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    states=st.fixed_dictionaries(
        {n: st.tuples(st.sampled_from(STATES), st.sampled_from(CATEGORIES)) for n in NAMES}
    ),
    include=st.booleans(),
    confirmed=st.booleans(),
)
def test_flagged_never_leaves_unless_asked(
    pristine: Path, states: dict[str, tuple[str, str]], include: bool, confirmed: bool
) -> None:
    with tempfile.TemporaryDirectory() as work:
        vault, dest = Path(work) / "vault", Path(work) / "out"
        shutil.copytree(pristine, vault)
        before = os.environ.get(STATE_ENV)
        os.environ[STATE_ENV] = str(Path(work) / "state")  # this copy's own high-water mark
        try:
            _record(vault, states)
            asked: list[str] = []

            def confirm(items: Sequence[Item]) -> bool:
                asked.extend(i.name for i in items)
                return confirmed

            ref = VaultRef(vault, lambda: PASSPHRASE)
            expected = {item: _item_state(states, item) for item in ITEMS}
            risky = {item for item, state in expected.items() if state != "ok"}
            try:
                report = share(
                    ref, dest, Filters(), Options(), include_flagged=include, confirm=confirm
                )
            except Cancelled:
                assert include and risky and not confirmed
                assert not dest.exists() or not any(dest.iterdir())
                return
        finally:
            if before is None:
                os.environ.pop(STATE_ENV, None)
            else:
                os.environ[STATE_ENV] = before
        written = {p.name for p in dest.iterdir()} if dest.exists() else set()
        if include and risky:
            assert set(asked) == risky and written == set(ITEMS)
        else:
            assert written == set(ITEMS) - risky
            assert set(report.flagged) == {i for i in risky if expected[i] == "flagged"}
            assert set(report.not_scanned) == {i for i in risky if expected[i] == "unscanned"}

"""A phone that misbehaves never costs the photos it does serve.

Each named misbehaviour of the simulated iPhone (``companion simulator serve --fault NAME``) is
planted on one file of a phone full of ordinary photos, and a real ``companion backup`` runs
against it in its own process, as a person would: the bad file is named in the summary with its
reason, every ordinary photo is in the vault byte for byte, no traceback is shown, and nothing is
written outside the vault. Then random mixes of faults, drawn by hypothesis, over the connector.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from companion.backup import VaultStore, run_backup
from companion.errors import DeviceDisconnected
from companion.simulator import Faults, Simulator
from companion.simulator.misbehave import NAMED_FAULTS, apply_fault
from companion.simulator.phone import SamplePhone
from companion.vault import Vault
from companion.vault.restore import restore
from tests.support import PASSPHRASE, WORK_FACTOR, cli_env, companion, digests, new_vault
from tests.usb_support import media_files, phone_copy, usb

pytestmark = pytest.mark.slow

# What each fault costs: the file is stored as read (with a warning), or fails alone; the
# dropped link stops the run (exit 10) once the one automatic reconnection is spent.
STORED_WITH_WARNING = {"negative-size", "huge-size", "short-content", "long-content"}
STORED_WITH_TIME_WARNING = {"future-time", "past-time"}
FAILS_ALONE = {"ghost", "io-error", "io-error-mid"}
STOPS_THE_RUN = {"drop-link"}


def _env(tmp_path: Path, address: str) -> dict[str, str]:
    home = tmp_path / "home"
    scratch = tmp_path / "scratch"
    home.mkdir(exist_ok=True)
    scratch.mkdir(exist_ok=True)
    return cli_env(
        HOME=str(home),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CACHE_HOME=str(home / "cache"),
        COMPANION_VAULT=str(tmp_path / "vault"),
        USBMUXD_SOCKET_ADDRESS=address,
        TMPDIR=str(scratch),
    )


def _in_vault(tmp_path: Path) -> dict[str, str]:
    """Path -> SHA-256 of what the vault restores."""
    out = tmp_path / f"restored-{len(list(tmp_path.glob('restored-*')))}"
    with Vault.open(tmp_path / "vault", PASSPHRASE) as vault:
        restore(vault, out)
    return digests(out)


def _on_phone(phone: SamplePhone) -> dict[str, str]:
    import hashlib

    return {p: hashlib.sha256(b).hexdigest() for p, b in media_files(phone.media_root).items()}


def _listed(phone: SamplePhone, tmp_path: Path) -> list[str]:
    """What a backup of the well-behaved phone would store (Recently Deleted left out)."""
    with usb(phone, tmp_path / "listing") as (_, connector):
        return [a.path for a in connector.list_assets()]


def _middle_photo(phone: SamplePhone) -> str:
    """A photo half-way through the backup order, so that files come before it."""
    files = [p for p, b in media_files(phone.media_root).items() if len(b) > 4096]
    return files[len(files) // 2]


def _nothing_outside_the_vault(tmp_path: Path) -> None:
    assert not list((tmp_path / "scratch").iterdir())
    written = [p for p in (tmp_path / "home").rglob("*") if p.is_file()]
    state = tmp_path / "home" / ".local" / "state" / "companion"
    # Only companion's private state (docs/cli.md): the pairing record, what it knows of the vault.
    assert all(p.is_relative_to(state) for p in written), written


def test_every_named_fault_is_covered_here() -> None:
    covered = STORED_WITH_WARNING | STORED_WITH_TIME_WARNING | FAILS_ALONE | STOPS_THE_RUN
    assert set(NAMED_FAULTS) - {"drop-link-once"} == covered


@pytest.mark.parametrize(
    "name", sorted(STORED_WITH_WARNING | STORED_WITH_TIME_WARNING | FAILS_ALONE | STOPS_THE_RUN)
)
def test_one_bad_file_costs_only_itself(tmp_path: Path, name: str) -> None:
    phone = phone_copy(tmp_path / "phone")
    faults = Faults()
    target = _middle_photo(phone) if name in STOPS_THE_RUN else None
    bad = apply_fault(faults, name, phone.media_root, target)
    with Simulator(phone, faults=faults) as simulator:
        env = _env(tmp_path, simulator.address)
        init = companion("vault", "init", "--kdf-work-factor", str(WORK_FACTOR), env=env)
        assert init.returncode == 0, init.stderr
        result = companion("backup", env=env)
    shown = result.stdout + result.stderr
    assert "Traceback" not in shown and "ExceptionGroup" not in shown, shown
    assert result.returncode == (10 if name in STOPS_THE_RUN else 4), shown
    assert bad in result.stderr, shown  # the summary names the file, with its reason
    kept = _on_phone(phone)
    on_phone = {p: kept[p] for p in _listed(phone, tmp_path)}  # Recently Deleted left out
    in_vault = _in_vault(tmp_path)
    if name in STOPS_THE_RUN:
        assert "Reconnect" in result.stderr
        # What was stored before the link dropped is kept, byte for byte, and in order: the
        # files still in flight when it dropped (read ahead, not yet encrypted) come next run.
        assert in_vault and in_vault.items() <= on_phone.items()
        assert all(p in in_vault for p in on_phone if p <= max(in_vault))
        assert bad not in in_vault
    elif name in FAILS_ALONE:
        assert "failed: " + bad in result.stderr
        assert in_vault == {p: d for p, d in on_phone.items() if p != bad}
    else:
        assert "warning: " + bad in result.stderr
        assert in_vault == on_phone  # stored as read: the real bytes, whatever was listed
    _nothing_outside_the_vault(tmp_path)


def test_after_a_dropped_link_the_next_run_finishes(tmp_path: Path) -> None:
    phone = phone_copy(tmp_path / "phone")
    faults = Faults()
    apply_fault(faults, "drop-link", phone.media_root, _middle_photo(phone))
    with Simulator(phone, faults=faults) as simulator:
        env = _env(tmp_path, simulator.address)
        assert companion("vault", "init", "--kdf-work-factor", str(WORK_FACTOR), env=env)
        assert companion("backup", env=env).returncode == 10
        faults.drop_link_at.clear()  # the phone behaves again
        resumed = companion("backup", "--json", env=env)
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads(resumed.stdout)
    assert report["skipped"] > 0 and report["new"] > 0  # kept what was done, fetched the rest
    assert _in_vault(tmp_path).items() <= _on_phone(phone).items()
    assert set(_in_vault(tmp_path)) == set(_listed(phone, tmp_path))


def test_a_link_that_drops_once_is_reopened_and_nothing_is_missing(tmp_path: Path) -> None:
    phone = phone_copy(tmp_path / "phone")
    faults = Faults()
    apply_fault(faults, "drop-link-once", phone.media_root, _middle_photo(phone))
    with Simulator(phone, faults=faults) as simulator:
        env = _env(tmp_path, simulator.address)
        assert companion("vault", "init", "--kdf-work-factor", str(WORK_FACTOR), env=env)
        result = companion("backup", "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["failed"] == {}
    assert faults.drop_link_times == 0  # it did fire
    assert _in_vault(tmp_path).items() <= _on_phone(phone).items()
    assert set(_in_vault(tmp_path)) == set(_listed(phone, tmp_path))


def test_a_pulled_cable_keeps_every_file_read_before_it(tmp_path: Path) -> None:
    phone = phone_copy(tmp_path / "phone")
    sizes = {p: len(b) for p, b in media_files(phone.media_root).items()}
    with Simulator(phone, faults=Faults(cut_after_bytes=sum(sizes.values()) // 2)) as simulator:
        env = _env(tmp_path, simulator.address)
        assert companion("vault", "init", "--kdf-work-factor", str(WORK_FACTOR), env=env)
        result = companion("backup", env=env)  # the cable stays out: no reconnection
    assert result.returncode == 10 and "Traceback" not in result.stderr, result.stderr
    in_vault = _in_vault(tmp_path)
    assert in_vault and in_vault.items() <= _on_phone(phone).items()


# --- random mixes, over the connector -----------------------------------------------------------

_MIXABLE = sorted(set(NAMED_FAULTS) - {"drop-link"})


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(names=st.lists(st.sampled_from(_MIXABLE), min_size=1, max_size=4, unique=True))
def test_random_mixes_of_faults_cost_only_their_files(
    tmp_path_factory: pytest.TempPathFactory, names: list[str]
) -> None:
    where = tmp_path_factory.mktemp("mix")
    phone = phone_copy(where / "phone")
    faults = Faults()
    planted = {name: apply_fault(faults, name, phone.media_root, None) for name in names}
    failing = {path for name, path in planted.items() if name in FAILS_ALONE}
    odd = {path for name, path in planted.items() if name not in FAILS_ALONE}
    with new_vault(where / "vault") as vault, usb(phone, where, faults) as (_, connector):
        with contextlib.suppress(DeviceDisconnected):  # only a link that will not come back
            report = run_backup(connector, VaultStore(vault))
            assert set(report.failed) == failing
            assert set(report.warnings) <= odd
        out = where / "out"
        restore(vault, out)
    on_phone = _on_phone(phone)
    in_vault = digests(out)
    assert in_vault.items() <= on_phone.items()  # never a wrong byte
    assert set(_listed(phone, where)) - failing <= set(in_vault)  # every other file is there

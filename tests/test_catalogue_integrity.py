"""The catalogue is checked like the photos: a damaged, missing or rolled-back segment is found
by every command that reads it, never hides the photos the other segments describe, and
``verify --full --repair`` makes the catalogue whole again from the objects."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from companion.cli.app import run
from companion.vault import Vault
from companion.vault.health import Trouble
from tests.support import PASSPHRASE, WORK_FACTOR, digests, make_roll

SEGMENTS = 3


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, list[Path]]:
    """A vault holding three camera rolls, one backup (and so one segment at least) each."""
    pass_file = tmp_path / "pass"
    pass_file.write_text(PASSPHRASE + "\n")
    vault = tmp_path / "vault"
    monkeypatch.setenv("COMPANION_VAULT", str(vault))
    assert cli(pass_file, "vault", "init", "--kdf-work-factor", str(WORK_FACTOR))[0] == 0
    rolls = []
    for n in range(SEGMENTS):
        roll = make_roll(tmp_path / f"roll{n}", seed=10 + n, count=11)
        assert cli(pass_file, "backup", "--from", f"folder:{roll}")[0] == 0
        rolls.append(roll)
    return vault, pass_file, rolls


def cli(pass_file: Path, *args: str) -> tuple[int, str, str]:
    import io
    from contextlib import redirect_stderr, redirect_stdout

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = run([*args, "--passphrase-file", str(pass_file)])
    return code, out.getvalue(), err.getvalue()


def segments(vault: Path) -> list[Path]:
    return sorted((vault / "catalogue").glob("*.age"))


def flip_one_bit(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def listed(pass_file: Path) -> tuple[int, list[str], str]:
    """``ls --json``: exit code, each file as "source path", stderr."""
    code, out, err = cli(pass_file, "ls", "--json")
    return code, sorted(f"{item['source']} {item['path']}" for item in json.loads(out)), err


def only_in_first(rolls: list[Path]) -> set[str]:
    """Contents of the first roll that no other roll holds (deduplicated objects are shared)."""
    others = {d for roll in rolls[1:] for d in digests(roll).values()}
    return set(digests(rolls[0]).values()) - others


def test_a_flipped_bit_in_a_segment_is_found_by_quick_and_full_verify(
    setup: tuple[Path, Path, list[Path]],
) -> None:
    vault, pass_file, _rolls = setup
    assert len(segments(vault)) >= SEGMENTS
    assert (vault / "cache" / "index.age").exists()  # the cache is valid and still used
    flip_one_bit(segments(vault)[0])
    for mode in ([], ["--full"]):
        on_disk = len(segments(vault))
        code, out, err = cli(pass_file, "verify", *mode, "--json")
        assert code == 13, err
        report = json.loads(out)
        assert [(p["segment"], p["trouble"]) for p in report["catalogue"]] == [
            ("00000001.age", "damaged")
        ]
        assert report["segments_checked"] == on_disk
        assert "repair" in json.loads(err)["hint"]


def test_an_empty_segment_hides_only_its_own_photos_from_ls_and_restore(
    setup: tuple[Path, Path, list[Path]], tmp_path: Path
) -> None:
    vault, pass_file, rolls = setup
    _, before, _ = listed(pass_file)
    segments(vault)[0].write_bytes(b"")  # as a sync tool can leave it
    (vault / "cache" / "index.age").unlink()  # the cache may be deleted at any time
    code, after, err = listed(pass_file)
    assert code == 13
    assert "00000001.age" in err
    assert set(after) == {p for p in before if str(rolls[0]) not in p}
    assert after  # the other segments' photos are still listed
    target = tmp_path / "restored"
    code, _out, err = cli(pass_file, "restore", "--to", str(target))
    assert code == 13, err
    restored = set(digests(target).values())
    others = {d for roll in rolls[1:] for d in digests(roll).values()}
    assert others <= restored
    assert "verify --full --repair" in err


def test_a_deleted_middle_segment_is_a_gap_every_reader_reports(
    setup: tuple[Path, Path, list[Path]], tmp_path: Path
) -> None:
    vault, pass_file, _rolls = setup
    middle = segments(vault)[1]
    middle.unlink()
    code, _paths, err = listed(pass_file)
    assert code == 13
    assert f"{middle.name} missing" in err
    code, out, _ = cli(pass_file, "verify", "--json")
    assert code == 13
    assert ("00000002.age", "missing") in {
        (p["segment"], p["trouble"]) for p in json.loads(out)["catalogue"]
    }
    # The next backup still works (new photos are safe) and still says the vault is damaged.
    roll = make_roll(tmp_path / "later", seed=99, count=11)
    code, _out, err = cli(pass_file, "backup", "--from", f"folder:{roll}")
    assert code == 13
    assert "missing" in err


def test_newest_segments_rolled_back_are_noticed_on_this_computer(
    setup: tuple[Path, Path, list[Path]], tmp_path: Path
) -> None:
    vault, pass_file, _rolls = setup
    newest = segments(vault)[-1]
    newest.unlink()  # no gap: only the high-water mark can tell
    (vault / "cache" / "index.age").unlink(missing_ok=True)
    code, out, _err = cli(pass_file, "verify", "--json")
    assert code == 13
    problems = json.loads(out)["catalogue"]
    assert [p["trouble"] for p in problems] == ["rolled back"]
    assert newest.name in problems[0]["detail"]
    # A copy of the vault in another folder has its own mark: not taken for a rollback.
    copy = tmp_path / "copy"
    shutil.copytree(vault, copy)
    with Vault.open(copy, PASSPHRASE) as opened:
        assert opened.catalogue_problems == ()


def test_a_newest_segment_swapped_for_another_is_noticed(
    setup: tuple[Path, Path, list[Path]], tmp_path: Path
) -> None:
    vault, pass_file, _rolls = setup
    fork = tmp_path / "fork"
    shutil.copytree(vault, fork)  # the same vault, in another folder: a mark of its own
    for root, seed in ((vault, 77), (fork, 78)):
        roll = make_roll(tmp_path / f"more{seed}", seed=seed, count=11)
        code, _out, err = cli(pass_file, "backup", "--from", f"folder:{roll}", "--vault", str(root))
        assert code == 0, err
    newest = segments(vault)[-1]
    # A genuine segment (the owner's key wrote it: its MAC is good) under the same number, but
    # not the one this computer saw in this folder.
    shutil.copyfile(fork / "catalogue" / newest.name, newest)
    (vault / "cache" / "index.age").unlink()
    code, out, _ = cli(pass_file, "verify", "--json")
    assert code == 13
    assert [(p["segment"], p["trouble"]) for p in json.loads(out)["catalogue"]] == [
        (newest.name, "replaced")
    ]


def test_repair_brings_back_a_lost_segments_photos_under_recovered(
    setup: tuple[Path, Path, list[Path]], tmp_path: Path
) -> None:
    vault, pass_file, rolls = setup
    lost = segments(vault)[0]
    flip_one_bit(lost)
    (vault / "cache" / "index.age").unlink()
    code, out, err = cli(pass_file, "verify", "--full", "--repair", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["catalogue"] == []
    assert report["damaged"] == []
    assert report["repair"]["set_aside"] == [lost.name]
    assert report["repair"]["filled"] == [lost.name]  # the number is used again: no gap
    assert (vault / "catalogue" / "damaged" / lost.name).exists()  # kept, never deleted
    recovered = report["repair"]["recovered"]
    assert len(recovered) == len(only_in_first(rolls))
    assert all(path.startswith("recovered/") for path in recovered)
    dated = [p for p in recovered if "/undated/" not in p]
    assert dated, "photos with EXIF are filed under their month"
    # Everything comes back, the lost segment's photos under recovered/.
    target = tmp_path / "restored"
    code, _out, err = cli(pass_file, "restore", "--to", str(target))
    assert code == 0, err
    every = {d for roll in rolls for d in digests(roll).values()}
    assert set(digests(target).values()) == every
    assert cli(pass_file, "verify")[0] == 0
    with Vault.open(vault, PASSPHRASE) as opened:
        kinds = {s.asset.kind.value for s in opened.assets() if s.asset.source == "recovered"}
        assert "photo" in kinds
        assert opened.catalogue_problems == ()


def test_repair_fills_a_gap_and_the_vault_is_clean_again(
    setup: tuple[Path, Path, list[Path]],
) -> None:
    vault, pass_file, rolls = setup
    segments(vault)[1].unlink()
    code, out, err = cli(pass_file, "verify", "--full", "--repair", "--json")
    assert code == 0, err
    report = json.loads(out)["repair"]
    assert report["filled"] == ["00000002.age"]
    assert len(report["recovered"]) == len(only_in_first([rolls[1], rolls[0], rolls[2]]))
    assert cli(pass_file, "ls")[0] == 0


def test_repair_leaves_a_whole_catalogue_alone(
    setup: tuple[Path, Path, list[Path]],
) -> None:
    """Objects no record names in a whole catalogue are an interrupted backup's: the next
    backup records them under their own paths, so a repair must not list them twice."""
    vault, pass_file, _rolls = setup
    with Vault.open(vault, PASSPHRASE, write=True) as opened:  # an orphan, as a crash leaves
        opened.objects.put(io.BytesIO(b"\xff\xd8\xff written, never recorded"), None, "x")
    before = segments(vault)
    code, out, err = cli(pass_file, "verify", "--full", "--repair", "--json")
    assert code == 0, err
    report = json.loads(out)["repair"]
    assert report["recovered"] == [] and report["filled"] == [] and report["set_aside"] == []
    published = [p for p in segments(vault) if p not in before]
    assert len(published) == 1  # the full check's own verified events, no repair segment
    with Vault.open(vault, PASSPHRASE) as opened:
        assert not [s for s in opened.assets() if s.asset.source == "recovered"]


def test_repair_needs_full(setup: tuple[Path, Path, list[Path]]) -> None:
    _vault, pass_file, _rolls = setup
    code, _out, err = cli(pass_file, "verify", "--repair")
    assert code == 2
    assert "--full" in err


def test_the_scan_never_judges_an_object_it_did_not_verify(
    setup: tuple[Path, Path, list[Path]],
) -> None:
    """Anyone can encrypt a file to the vault's public recipient: a substituted object is a
    damaged object, not a scan result, and nothing is recorded for it."""
    from companion.vault import crypto

    vault, pass_file, _rolls = setup
    with Vault.open(vault, PASSPHRASE) as opened:
        victim = next(s for s in opened.assets() if s.asset.kind.value == "photo")
        recipient = opened.objects.recipient
        path = opened.objects.path(victim.object_id)
    substitute = crypto.encrypt_bytes(b"\xff\xd8\xff" + b"another picture" * 100, recipient, "x")
    path.write_bytes(substitute)
    code, out, err = cli(pass_file, "scan", "--json", "--jobs", "1")
    assert code != 0
    assert victim.asset.path in out + err
    with Vault.open(vault, PASSPHRASE) as opened:
        assert victim.object_id not in opened.scans()
    code, out, err = cli(pass_file, "scan", "--json", "--jobs", "2")
    assert victim.asset.path in out + err
    with Vault.open(vault, PASSPHRASE) as opened:
        assert victim.object_id not in opened.scans()


def test_problems_are_kinds_a_person_can_read() -> None:
    assert {t.value for t in Trouble} == {"damaged", "missing", "rolled back", "replaced"}

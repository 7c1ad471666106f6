"""RESTORE.txt followed literally: its command blocks, run as written by bash with the stock
`age`, `jq` and `openssl`, get every photo back, write nothing into the vault, keep what they
decrypt private, and refuse what someone who knows only the vault's public recipient can plant
(a substituted object, a forged, damaged, renamed or missing catalogue segment)."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from companion.backup import VaultStore, run_backup
from companion.connectors import connect
from companion.model import Asset, AssetKind
from companion.vault import Vault, keys
from companion.vault.restore_text import RESTORE_TEXT
from tests.support import PASSPHRASE, digests

MISSING = [tool for tool in ("age", "jq", "openssl") if shutil.which(tool) is None]
pytestmark = [
    pytest.mark.skipif(bool(MISSING), reason=f"needs the stock {', '.join(MISSING)} tool(s)"),
    pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a POSIX shell and terminals"),
]

BASH = shutil.which("bash") or "/bin/bash"
INDENT = " " * 5
CHANGED = "Holiday photos/beach day (1).jpg"  # backed up twice: the second version must win
NAMES = [
    "IMG_0001.JPG",
    CHANGED,
    'Holiday photos/it\'s "fine" & $HOME.jpg',
    "Camera/100APPLE/IMG_0002.HEIC",
    "deep/er/clip.mov",
    "-starts with a dash.png",
    " spaces around .jpg ",
    "back\\slash.png",
    "Ünïcode ✓.heic",
]


def command_blocks(text: str) -> list[str]:
    """The command blocks of ``text``: each starts with a line indented by exactly five spaces
    and runs over the following lines indented by at least five; returned without the indent."""
    blocks: list[list[str]] = []
    inside = False
    for line in text.splitlines():
        starts = line.startswith(INDENT) and not line[len(INDENT)].isspace()
        if inside and line.startswith(INDENT):
            blocks[-1].append(line[len(INDENT) :])
        elif starts:
            blocks.append([line[len(INDENT) :]])
            inside = True
        else:
            inside = False
    return ["\n".join(block) + "\n" for block in blocks]


def block(needle: str) -> str:
    """The one command block that contains ``needle``."""
    found = [b for b in command_blocks(RESTORE_TEXT) if needle in b]
    assert len(found) == 1, f"{len(found)} blocks contain {needle!r}"
    return found[0]


SETUP = block("mktemp -d")
WITH_PASSPHRASE = block('"$vault"/keys/')
WITH_RECOVERY_KEY = block("cat >")
KEY_CHECK = block("age-keygen -y")
CHECK_CATALOGUE = block("catalogue-mac")
LIST = block("| less")
RESTORE_ALL = block('only=""')
FINISH = block('mv "$work/restored"')


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """A folder of files with awkward names, backed up twice (one file changed in between) into
    a vault: (the folder, the vault, its recovery key). Tests work on copies of the vault."""
    root = tmp_path_factory.mktemp("recipe")
    folder = root / "photos"
    for n, name in enumerate(NAMES):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(hashlib.sha256(name.encode()).digest() * (50 + n))
    with Vault.create(root / "v", PASSPHRASE, work_factor=10) as vault:
        run_backup(connect(f"folder:{folder}"), VaultStore(vault))
    (folder / CHANGED).write_bytes(b"the second version " * 300)
    with Vault.open(root / "v", PASSPHRASE, write=True) as vault:
        report = run_backup(connect(f"folder:{folder}"), VaultStore(vault))
    assert report.new == 1
    return folder, root / "v", keys.export_identity(root / "v", PASSPHRASE)


@pytest.fixture
def vault(source: tuple[Path, Path, str], tmp_path: Path) -> Path:
    return Path(shutil.copytree(source[1], tmp_path / "my vault"))


def environment(tmp_path: Path) -> dict[str, str]:
    """HOME and the temporary folder (where `mktemp -d` makes the work folder) in tmp_path."""
    for sub in ("home", "tmp"):
        (tmp_path / sub).mkdir(exist_ok=True)
    return {**os.environ, "HOME": str(tmp_path / "home"), "TMPDIR": str(tmp_path / "tmp")}


def run(vault: Path, tmp_path: Path, blocks: list[str], typed: str) -> str:
    """Run ``blocks`` as one bash script from a terminal opened in ``vault``, ``typed`` on its
    standard input; in a session of its own, so that no `age` can ask on the test's terminal."""
    script = tmp_path / "steps.sh"
    script.write_text("".join(blocks))
    done = subprocess.run(
        [BASH, str(script)],
        cwd=vault,
        input=typed,
        capture_output=True,
        text=True,
        env=environment(tmp_path),
        timeout=300,
        check=False,
        start_new_session=True,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def work_folder(tmp_path: Path) -> Path:
    (work,) = (tmp_path / "tmp").iterdir()
    return work


def snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every entry under ``root`` (folders too) with its mode, size and mtime."""
    found = {}
    for path in [root, *root.rglob("*")]:
        info = path.lstat()
        found[path.relative_to(root).as_posix()] = (info.st_mode, info.st_size, info.st_mtime_ns)
    return found


def assert_private(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        assert path.lstat().st_mode & 0o077 == 0, f"{path} is readable by others"


def recipient(vault: Path) -> str:
    marker = json.loads((vault / "companion-vault.json").read_text())
    return str(marker["recipient"])


def age_encrypt(vault: Path, plaintext: bytes, out: Path) -> None:
    """What anyone can do: encrypt to the recipient that the vault's marker shows."""
    out.unlink(missing_ok=True)
    subprocess.run(["age", "-r", recipient(vault), "-o", str(out)], input=plaintext, check=True)


def latest_records(vault: Path, secret: str, tmp_path: Path) -> dict[str, dict[str, str]]:
    identity = tmp_path / "identity.txt"
    identity.write_text(secret + "\n")
    latest = {}
    for segment in sorted((vault / "catalogue").glob("*.age")):
        plain = subprocess.run(
            ["age", "-d", "-i", str(identity), str(segment)], capture_output=True, check=True
        ).stdout
        for line in plain.decode().splitlines()[1:]:
            record = json.loads(line)
            if record.get("t") == "asset":
                latest[record["path"]] = record
    identity.unlink()
    return latest


def test_the_blocks_are_bash_and_cover_every_step() -> None:
    blocks = command_blocks(RESTORE_TEXT)
    assert len(blocks) >= 7
    for text in blocks:
        done = subprocess.run([BASH, "-n"], input=text, capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"{text}\n{done.stderr}"
        # Pasted into a terminal, `exit` or `set -e` would close it at the first failure.
        assert not re.search(r"\bexit\b|\bset -e", text), text
    for needle in ("umask 077", 'work="$(mktemp -d)"', 'rm -rf "$work"', "sha256sum", "jq -r"):
        assert needle in RESTORE_TEXT


def test_every_photo_comes_back_privately_and_nothing_is_written_in_the_vault(
    source: tuple[Path, Path, str], vault: Path, tmp_path: Path
) -> None:
    folder, _, secret = source
    assert (vault / "RESTORE.txt").read_text() == RESTORE_TEXT  # what every vault carries
    before = snapshot(vault)
    steps = [SETUP, WITH_RECOVERY_KEY, KEY_CHECK, CHECK_CATALOGUE, LIST, RESTORE_ALL, FINISH]
    said = run(vault, tmp_path, steps, typed=secret + "\n")
    assert "Key OK" in said and "The catalogue is complete" in said
    assert "BAD" not in said and "NOT restored" not in said, said
    restored = tmp_path / "home" / "restored-photos"
    assert digests(restored) == digests(folder)
    assert (restored / CHANGED).read_bytes().startswith(b"the second version")
    assert_private(restored)
    assert snapshot(vault) == before
    assert list((tmp_path / "tmp").iterdir()) == []  # the work folder is gone, key and all


def on_terminal(vault: Path, tmp_path: Path, blocks: list[str], passphrase: str) -> str:
    """Run ``blocks`` as one bash script on a pseudo-terminal, as a person in a terminal opened
    in ``vault``, typing ``passphrase`` when age asks for it; what the terminal showed."""
    script = tmp_path / "steps.sh"
    script.write_text("".join(blocks))
    env = environment(tmp_path)
    pid, fd = pty.fork()
    if pid == 0:  # the child: bash in the vault folder, its terminal the pseudo-terminal
        try:
            os.chdir(vault)
            os.execve(BASH, [BASH, str(script)], env)
        finally:
            os._exit(127)
    seen, answered = b"", False
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if not select.select([fd], [], [], 0.2)[0]:
                continue
            try:
                chunk = os.read(fd, 1024)
            except OSError:  # EIO: the terminal closed, bash is done
                break
            if not chunk:
                break
            seen += chunk
            if not answered and b"passphrase" in seen.lower():
                os.write(fd, passphrase.encode() + b"\n")
                answered = True
    finally:
        if os.waitpid(pid, os.WNOHANG) == (0, 0):  # still running at the deadline
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
    return seen.decode(errors="replace")


def test_the_passphrase_route_on_a_terminal(
    source: tuple[Path, Path, str], vault: Path, tmp_path: Path
) -> None:
    steps = [SETUP, WITH_PASSPHRASE, KEY_CHECK, CHECK_CATALOGUE]
    said = on_terminal(vault, tmp_path, steps, PASSPHRASE)
    assert "Key OK" in said and "OK  00000001.age" in said, said
    assert "The catalogue is complete" in said
    work = work_folder(tmp_path)
    assert (work / "vault-key.txt").read_text().strip().splitlines()[-1] == source[2]
    assert_private(work)


def test_a_key_that_is_not_the_vaults_is_stopped_at_once(vault: Path, tmp_path: Path) -> None:
    other = subprocess.run(["age-keygen"], capture_output=True, text=True, check=True).stdout
    steps = [SETUP, WITH_RECOVERY_KEY, KEY_CHECK]
    said = run(vault, tmp_path, steps, typed=other)
    assert "STOP: this is not this vault's key" in said and "Key OK" not in said


def test_a_substituted_object_is_reported_and_not_kept(
    source: tuple[Path, Path, str], vault: Path, tmp_path: Path
) -> None:
    folder, _, secret = source
    victim = "IMG_0001.JPG"
    object_id = latest_records(vault, secret, tmp_path)[victim]["object"]
    age_encrypt(vault, b"not your photo", vault / "objects" / object_id[:2] / object_id)
    before = snapshot(vault)
    steps = [SETUP, WITH_RECOVERY_KEY, KEY_CHECK, CHECK_CATALOGUE, RESTORE_ALL]
    said = run(vault, tmp_path, steps, typed=secret + "\n")
    assert f"BAD (wrong content, not kept): {victim}" in said, said
    restored = work_folder(tmp_path) / "restored"
    expected = {path: sha for path, sha in digests(folder).items() if path != victim}
    assert digests(restored) == expected
    assert not list(work_folder(tmp_path).glob("incoming*"))
    assert_private(work_folder(tmp_path))
    assert snapshot(vault) == before


def forge(vault: Path, name: str) -> None:
    """A well-formed segment, encrypted to the vault, sealed with a key that is not the vault's."""
    record = {"t": "asset", "path": "planted.jpg", "object": "00" * 32, "sha256": "00" * 32}
    body = (json.dumps(record) + "\n").encode()
    mac = hmac.new(b"not the vault key", name.encode() + b"\n" + body, "sha256").hexdigest()
    header = json.dumps({"t": "segment", "format": 1, "mac": mac}).encode()
    age_encrypt(vault, header + b"\n" + body, vault / "catalogue" / name)


def flip(vault: Path, name: str) -> None:
    segment = vault / "catalogue" / name
    data = bytearray(segment.read_bytes())
    data[-20] ^= 0x01
    segment.write_bytes(bytes(data))


def swap(vault: Path, first: str, second: str) -> None:
    a, b = vault / "catalogue" / first, vault / "catalogue" / second
    a.rename(a.with_suffix(".swap"))
    b.rename(a)
    a.with_suffix(".swap").rename(b)


TAMPERING = {
    "a flipped byte": (
        lambda v: flip(v, "00000002.age"),
        "BAD 00000002.age cannot be decrypted",
    ),
    "a forged segment": (
        lambda v: forge(v, "00000003.age"),
        "BAD 00000003.age was not written with your vault key",
    ),
    "swapped segments": (
        lambda v: swap(v, "00000001.age", "00000002.age"),
        "BAD 00000001.age was not written with your vault key",
    ),
    "a missing segment": (
        lambda v: (v / "catalogue" / "00000001.age").unlink(),
        "BAD 00000001.age is missing",
    ),
}


@pytest.mark.parametrize("tampering", sorted(TAMPERING))
def test_a_bad_catalogue_segment_stops_the_recipe(
    source: tuple[Path, Path, str], vault: Path, tmp_path: Path, tampering: str
) -> None:
    change, complaint = TAMPERING[tampering]
    change(vault)
    steps = [SETUP, WITH_RECOVERY_KEY, KEY_CHECK, CHECK_CATALOGUE, RESTORE_ALL]
    said = run(vault, tmp_path, steps, typed=source[2] + "\n")
    assert complaint in said, said
    after = said.split(complaint, 1)[1]
    assert "OK  0" not in after, said  # it stopped at the first bad segment
    assert "The catalogue is complete" not in said
    work = work_folder(tmp_path)
    assert not (work / "catalogue.jsonl").exists()
    assert not list((work / "restored").rglob("*"))


def test_unsafe_paths_are_refused_and_nothing_is_replaced(vault: Path, tmp_path: Path) -> None:
    """Names that a source could give, sealed in the catalogue by companion itself."""
    hostile = {"../escape.jpg": b"up", "/etc/absolute.jpg": b"root", "tab\there.jpg": b"tab"}
    with Vault.open(vault, PASSPHRASE, write=True) as opened:
        for path, data in hostile.items():
            asset = Asset(
                source="usb:hostile",
                path=path,
                size=len(data),
                mtime_ns=10**18,
                kind=AssetKind.PHOTO,
            )
            opened.put(asset, io.BytesIO(data))
    secret = keys.export_identity(vault, PASSPHRASE)
    steps = [SETUP, WITH_RECOVERY_KEY, KEY_CHECK, CHECK_CATALOGUE, RESTORE_ALL, RESTORE_ALL]
    said = run(vault, tmp_path, steps, typed=secret + "\n")
    work = work_folder(tmp_path)
    assert "REFUSED (unsafe name): ../escape.jpg" in said
    assert "REFUSED (unsafe name): /etc/absolute.jpg" in said
    assert (work / "restored" / "tab_here.jpg").read_bytes() == b"tab"
    assert not (work / "escape.jpg").exists() and not (tmp_path / "tmp" / "escape.jpg").exists()
    assert [p.name for p in work.iterdir() if p.name.endswith(".jpg")] == []
    # The second run of step 5 finds every file there already and replaces none of them.
    assert "NOT REPLACED (already there): IMG_0001.JPG" in said
    assert said.count("OK   IMG_0001.JPG") == 1

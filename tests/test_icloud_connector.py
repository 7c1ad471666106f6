"""The iCloud connector against the simulated iCloud: the shared contract, signing in, and what
iCloud does to long runs. Nothing of ours is mocked: the connector talks HTTPS on 127.0.0.1 to
a real server through the unmodified pyicloud (for signing in and listing) and requests (for
downloads). Waits are handed to a recorder instead of ``time.sleep``, so no test waits out a
``Retry-After``.
"""

from __future__ import annotations

import hashlib
import http.cookiejar
import json
import logging
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import certifi
import keyring
import pytest
from keyrings.alt.file import PlaintextKeyring

from companion.backup import VaultStore, run_backup
from companion.connectors import ConnectOptions, connect
from companion.connectors.icloud import IcloudOptions
from companion.connectors.icloud.connector import IcloudConnector
from companion.connectors.icloud.keychain import SERVICE, is_safe
from companion.connectors.icloud.options import SIMULATOR_ENV, from_environment
from companion.errors import DeviceError, SourceUnavailable, UsageError
from companion.model import AssetKind
from companion.simulator.icloud import Faults, SimulatedICloud
from tests import icloud_support
from tests.connector_contract import ConnectorContract, Source, drain
from tests.icloud_support import (
    MemoryKeyring,
    Person,
    Sleeps,
    camera_roll,
    cloud_files,
    connector,
    expected_bytes,
    settings,
)
from tests.support import cli_env, companion, digests, new_vault
from tests.test_prompts import on_terminal

LIVE = "DCIM/100APPLE/IMG_0005.HEIC"
EDITED = "DCIM/100APPLE/IMG_0007.JPG"
VIDEO = "DCIM/100APPLE/IMG_0004.MOV"
PHOTO = "DCIM/100APPLE/IMG_0001.JPG"


@pytest.fixture
def icloud() -> Iterator[SimulatedICloud]:
    with SimulatedICloud(camera_roll(), two_factor=False) as server:
        yield server


@pytest.fixture
def keyring_backend() -> Iterator[MemoryKeyring]:
    """A safe system keyring for the test, the previous one put back afterwards."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


class TestIcloudContract(ConnectorContract):
    @pytest.fixture(autouse=True)
    def _stop(self) -> Iterator[None]:
        yield
        if hasattr(self, "connector"):
            self.connector.close()
            self.icloud.stop()

    def make_connector(self, tmp_path: Path) -> Source:
        self.icloud = SimulatedICloud(camera_roll(), two_factor=False).start()
        self.connector = connector(self.icloud, tmp_path / "sessions", Person(self.icloud.password))
        listed = list(self.connector.list_assets())
        self.files = cloud_files(self.icloud, listed)
        return self.connector, expected_bytes(self.icloud, listed)

    def rewrite(self, path: str, data: bytes) -> None:
        record, role = self.files[path]
        icloud_support.rewrite(self.icloud, record, role, data)

    def remove(self, path: str) -> None:
        icloud_support.expunge(self.icloud, self.files[path][0])


# Listing


def test_the_library_as_files_of_groups_with_record_names(tmp_path: Path) -> None:
    hidden, favourite = "DCIM/100APPLE/IMG_0006.JPG", "DCIM/101APPLE/IMG_0004.JPG"
    with SimulatedICloud(
        camera_roll(), two_factor=False, hidden=[hidden], favorites=[favourite], deleted=[PHOTO]
    ) as icloud:
        found = connector(icloud, tmp_path, Person(icloud.password))
        assets = {a.path: a for a in found.list_assets()}
        first_queries = icloud.stats.requests["records/query"]
        with_trash = {
            a.path for a in connector(icloud, tmp_path, include_trashed=True).list_assets()
        }
        queries = icloud.stats.requests["records/query"]
        by_path = {a.path: a for a in icloud.assets}
    record = {path: a.asset_name for path, a in by_path.items()}
    originals = {a.uid: a for a in assets.values() if a.uid is not None}
    assert set(originals) == {r for p, r in record.items() if p != PHOTO}
    deleted_tag = "".join(c for c in record[PHOTO] if c.isalnum())[:8]
    trashed = with_trash - set(assets)
    assert trashed and all(deleted_tag in path for path in trashed)
    live = originals[record[LIVE]]
    movie = next(a for a in assets.values() if a.live_group == live.live_group and a is not live)
    assert live.live_group and movie.kind is AssetKind.VIDEO and movie.uid is None
    assert (live.original_name, movie.original_name) == ("IMG_0005.HEIC", "IMG_0005.MOV")
    edited = originals[record[EDITED]]
    render = next(a for a in assets.values() if a.edited_of == edited.path)
    assert render.original_name == "IMG_E0007.JPG" and render.kind is AssetKind.PHOTO
    assert render.size == len(by_path[EDITED].render.data)  # type: ignore[union-attr]
    assert originals[record[hidden]].hidden and originals[record[favourite]].favourite
    assert originals[record["DCIM/100APPLE/IMG_0003.PNG"]].screenshot
    assert not originals[record["DCIM/100APPLE/IMG_0002.HEIC"]].screenshot
    assert originals[record[VIDEO]].kind is AssetKind.VIDEO
    for picture in originals.values():
        taken = picture.captured_at
        assert taken is not None and taken.utcoffset() is not None
        assert picture.path.startswith(f"{taken.year:04d}/{taken.month:02d}/")
        assert picture.mtime_ns == round(taken.timestamp() * 1000) * 10**6
        assert picture.source == "icloud:owner@example.com"
    # The indexing check, the album list, then the library and the Hidden album each to its
    # empty page (one page of 100 pictures each here); with Recently Deleted, its two pages more.
    assert (first_queries, queries - first_queries) == (6, 8)


def test_paths_stay_put_when_a_namesake_arrives(tmp_path: Path) -> None:
    with SimulatedICloud(camera_roll(), two_factor=False) as icloud:
        found = connector(icloud, tmp_path, Person(icloud.password))
        first = {a.uid: a.path for a in found.list_assets() if a.uid}
        with icloud.lock:  # another IMG_0001.JPG, taken the same month
            twin = next(a for a in icloud.assets if a.path == PHOTO)
            other = next(a for a in icloud.assets if a.path == "DCIM/100APPLE/IMG_0002.HEIC")
            other.filename = twin.filename
        again = {a.uid: a.path for a in connector(icloud, tmp_path).list_assets() if a.uid}
    assert again[twin.asset_name] == first[twin.asset_name]
    assert len(set(again.values())) == len(again)


# Signing in


def test_two_factor_sign_in_asks_password_then_code_and_the_session_is_kept_private(
    tmp_path: Path,
) -> None:
    with SimulatedICloud(camera_roll(), code="246810") as icloud:
        person = Person(icloud.password, codes=["246810"])
        first = connector(icloud, tmp_path, person)
        info = first.info()
        again = connector(icloud, tmp_path)  # nobody to ask: the kept session is enough
        assert again.info().source == "icloud:owner@example.com"
        list(again.list_assets())
        stats = icloud.stats
    assert info.name == "iCloud Photos of owner@example.com"
    assert person.asked == [
        ("Password for the Apple ID owner@example.com", True),
        ("Enter the 6-digit code shown on your iPhone or Mac", False),
    ]
    assert (stats.signins, stats.codes_sent) == (1, 1)
    folder = tmp_path / "owner@example.com"
    assert_private(folder)
    session = json.loads((folder / "ownerexamplecom.session").read_text())
    assert session["trust_token"] and session["session_token"]


def test_a_code_sent_by_text_message_is_asked_for_as_such(tmp_path: Path) -> None:
    with SimulatedICloud(camera_roll(), code_by_sms=True) as icloud:
        person = Person(icloud.password, codes=[icloud.code])
        connector(icloud, tmp_path, person).info()
        texted = icloud.stats.requests["verify/phone"]
    assert person.asked[1] == ("Enter the 6-digit code sent by text message to your phone", False)
    assert texted == 1


def test_sign_in_without_two_factor_asks_the_password_only(
    icloud: SimulatedICloud, tmp_path: Path
) -> None:
    person = Person(icloud.password)
    connector(icloud, tmp_path, person).info()
    assert person.asked == [("Password for the Apple ID owner@example.com", True)]
    assert_private(tmp_path / "owner@example.com")


def test_a_wrong_password_is_refused_once_with_a_hint(
    icloud: SimulatedICloud, tmp_path: Path
) -> None:
    with pytest.raises(DeviceError) as refused:
        connector(icloud, tmp_path, Person("not the password")).info()
    assert refused.value.exit_code == 10
    assert "refused the password" in refused.value.message
    assert "companion icloud login owner@example.com" in refused.value.hint
    assert icloud.stats.failed_signins == 1


def test_nobody_to_ask_for_the_password_is_a_usage_error(
    icloud: SimulatedICloud, tmp_path: Path
) -> None:
    with pytest.raises(UsageError) as refused:
        connector(icloud, tmp_path).info()
    assert refused.value.exit_code == 2
    assert "companion icloud login owner@example.com" in refused.value.hint


def test_two_factor_with_nobody_to_ask_says_how_to_give_the_code(
    tmp_path: Path, keyring_backend: MemoryKeyring
) -> None:
    with SimulatedICloud(camera_roll()) as icloud:
        keyring_backend.set_password(SERVICE, icloud.apple_id, icloud.password)
        with pytest.raises(UsageError) as refused:
            connector(icloud, tmp_path).info()  # the password from the keyring, no terminal
        assert icloud.stats.signins == 1
        connector(icloud, tmp_path, code=icloud.code).info()  # --code, as a script gives it
    assert refused.value.exit_code == 2
    assert "--code" in refused.value.hint


def test_a_plaintext_keyring_is_never_read(
    icloud: SimulatedICloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    plaintext = PlaintextKeyring()
    plaintext.set_password(SERVICE, icloud.apple_id, icloud.password)
    previous = keyring.get_keyring()
    keyring.set_keyring(plaintext)
    try:
        assert not is_safe(plaintext) and is_safe(MemoryKeyring())
        with pytest.raises(UsageError):  # as if it held nothing: the password must be asked
            connector(icloud, tmp_path / "sessions").info()
    finally:
        keyring.set_keyring(previous)
    assert icloud.stats.signins == 0


def test_wrong_codes(tmp_path: Path) -> None:
    with SimulatedICloud(camera_roll()) as icloud:
        with pytest.raises(DeviceError) as given:
            connector(icloud, tmp_path / "a", Person(icloud.password), code="000000").info()
        person = Person(icloud.password, codes=["111111", "222222", "333333"])
        with pytest.raises(DeviceError) as typed:
            connector(icloud, tmp_path / "b", person).info()
        retyped = Person(icloud.password, codes=["111111", icloud.code])
        connector(icloud, tmp_path / "c", retyped).info()
    assert "refused the two-factor code" in given.value.message
    assert "newest code" in typed.value.hint and len(person.asked) == 4
    assert len(retyped.asked) == 3


def test_the_system_ca_variables_cannot_replace_the_simulated_authority(
    icloud: SimulatedICloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.setenv(name, certifi.where())
    found = connector(icloud, tmp_path, Person(icloud.password))
    asset = next(iter(found.list_assets()))
    with found.open(asset) as stream:
        assert len(drain(stream)) == asset.size


# What iCloud does to long runs


def test_throttling_is_waited_out_then_a_clear_error(
    icloud: SimulatedICloud, tmp_path: Path
) -> None:
    sleeps = Sleeps()
    icloud.faults.throttle = {"auth": 1, "query": 2, "download": 2}
    found = connector(icloud, tmp_path, Person(icloud.password), sleep=sleeps)
    assets = list(found.list_assets())
    with found.open(assets[0]) as stream:
        assert len(drain(stream)) == assets[0].size
    assert sleeps.waits == [1.0] * 5
    icloud.faults.throttle = {"query": 20}
    with pytest.raises(DeviceError) as stopped:
        list(found.list_assets())
    assert "slow down" in stopped.value.message and "1 s" in stopped.value.hint
    icloud.faults.throttle = {"download": 20}
    with pytest.raises(SourceUnavailable), found.open(assets[0]) as stream:
        drain(stream)


def test_a_cut_download_is_resumed_from_where_it_stopped(
    icloud: SimulatedICloud, tmp_path: Path
) -> None:
    record = next(a.asset_name for a in icloud.assets if a.path == VIDEO)
    icloud_support.rewrite(icloud, record, "original", bytes(range(256)) * (5 * 4096))
    found = connector(icloud, tmp_path, Person(icloud.password))
    assets = list(found.list_assets())
    expected = expected_bytes(icloud, assets)
    video = next(a for a in assets if a.uid == record)
    assert video.size == 5 << 20  # larger than a read: some arrives before the cut
    icloud.faults.cut_downloads = 1
    before = icloud.stats
    with found.open(video) as stream:
        data = drain(stream)
    after = icloud.stats
    assert data == expected[video.path]
    assert after.requests["download"] - before.requests["download"] == 2
    # Half was sent before the cut; the resumed answer sent only what was still missing.
    assert after.download_bytes - before.download_bytes < 1.25 * video.size
    icloud.faults.cut_downloads = 10
    with pytest.raises(SourceUnavailable) as broken, found.open(video) as stream:
        drain(stream)
    assert "broke off" in broken.value.message


def test_an_expired_link_is_renewed_from_the_record(
    icloud: SimulatedICloud, tmp_path: Path
) -> None:
    found = connector(icloud, tmp_path, Person(icloud.password))
    assets = list(found.list_assets())
    expected = expected_bytes(icloud, assets)
    icloud_support.expire_links(icloud)  # a long backup: the listing's links are an hour old
    lookups = icloud.stats.requests["records/lookup"]
    for asset in assets[:3]:
        with found.open(asset) as stream:
            assert drain(stream) == expected[asset.path]
    # one lookup renewed the links of the files listed after the first too
    assert icloud.stats.requests["records/lookup"] - lookups == 1
    downloads = icloud.stats.requests["download"]
    with new_vault(tmp_path / "vault") as vault:
        report = run_backup(found, VaultStore(vault, jobs=1))
    assert not report.failed and report.new == len(assets)
    # the rest: refused once each at most (the files read ahead with the old links), and
    # their links renewed in as many lookups as 100 record names need
    assert icloud.stats.requests["records/lookup"] - lookups <= 1 + -(-2 * len(assets) // 100)
    assert icloud.stats.requests["download"] - downloads < 2 * len(assets)


def test_a_short_file_from_icloud_is_not_stored(icloud: SimulatedICloud, tmp_path: Path) -> None:
    icloud.faults.size_mismatch = frozenset({EDITED})
    found = connector(icloud, tmp_path / "sessions", Person(icloud.password))
    with new_vault(tmp_path / "vault") as vault:
        report = run_backup(found, VaultStore(vault, jobs=1))
        held = {s.asset.path for s in vault.assets()}
    short = next(path for path in report.failed)
    assert list(report.failed) == [short] and "record says" in report.failed[short]
    assert short not in held and len(held) == report.new + report.deduplicated


def test_web_access_off_says_where_to_turn_it_on(icloud: SimulatedICloud, tmp_path: Path) -> None:
    icloud.faults.web_access_off = True
    with pytest.raises(DeviceError) as refused:
        connector(icloud, tmp_path, Person(icloud.password)).info()
    assert "Advanced Data Protection" in refused.value.message
    assert "Access iCloud Data on the Web" in refused.value.hint


def test_a_library_still_indexed_says_to_try_later(icloud: SimulatedICloud, tmp_path: Path) -> None:
    icloud.faults.indexing = True
    with pytest.raises(DeviceError) as refused:
        connector(icloud, tmp_path, Person(icloud.password)).info()
    assert "indexed" in refused.value.message and "try again" in refused.value.hint


class _AlwaysExpiring(Faults):
    """The web session expires at every CloudKit request, renewed or not."""

    def take_expiry(self) -> bool:
        return self.expire_session


def test_an_expired_session_is_renewed_once_then_a_clear_error(tmp_path: Path) -> None:
    with SimulatedICloud(camera_roll(), two_factor=False) as icloud:
        found = connector(icloud, tmp_path / "sessions", Person(icloud.password))
        found.info()
        icloud.faults.expire_session = True
        with new_vault(tmp_path / "vault") as vault:
            report = run_backup(found, VaultStore(vault, jobs=1))
        stats = icloud.stats
    assert not report.failed and report.new
    assert (stats.signins, stats.requests["accountLogin"]) == (1, 2)  # no password again
    with SimulatedICloud(camera_roll(), two_factor=False, faults=_AlwaysExpiring()) as icloud:
        found = connector(icloud, tmp_path / "other", Person(icloud.password))
        found.info()
        icloud.faults.expire_session = True
        with pytest.raises(DeviceError) as stopped:
            list(found.list_assets())
    assert "expired" in stopped.value.message
    assert "companion icloud login owner@example.com" in stopped.value.hint


# Privacy


def test_no_password_token_or_cookie_reaches_a_log_or_the_output(
    icloud: SimulatedICloud,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    icloud.faults.cut_downloads = 1
    icloud.faults.throttle = {"query": 1}
    found = connector(icloud, tmp_path / "sessions", Person(icloud.password))
    with new_vault(tmp_path / "vault") as vault:
        run_backup(found, VaultStore(vault, jobs=1))
    with pytest.raises(DeviceError):
        connector(icloud, tmp_path / "other", Person("wrong " + icloud.password)).info()
    folder = tmp_path / "sessions" / "owner@example.com"
    assert_private(folder)
    secrets = secrets_in(folder) | {icloud.password}
    out = capsys.readouterr()
    seen = caplog.text + out.out + out.err
    assert len(secrets) >= 4 and not [s for s in secrets if s in seen]


def test_connect_registers_the_scheme_and_a_bare_icloud_is_the_one_signed_in(
    icloud: SimulatedICloud, tmp_path: Path
) -> None:
    connector(icloud, tmp_path, Person(icloud.password)).info()
    options = ConnectOptions(per_connector=(settings(icloud, tmp_path),))
    bare = connect("icloud", options)
    assert isinstance(bare, IcloudConnector) and bare.source == "icloud:owner@example.com"
    assert [a.path for a in bare.list_assets()]
    with pytest.raises(UsageError):
        connect("icloud:not an apple id", options)


def assert_private(folder: Path) -> None:
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = [path for path in folder.iterdir() if path.is_file()]
    assert files and all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in files), [
        (path.name, oct(path.stat().st_mode)) for path in files
    ]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def secrets_in(folder: Path) -> set[str]:
    """The tokens pyicloud keeps (session and trust tokens, cookie values)."""
    session = json.loads(next(folder.glob("*.session")).read_text())
    kinds = ("session_token", "trust_token", "scnt", "session_id")
    found = {str(session[key]) for key in kinds if session.get(key)}
    jar = http.cookiejar.LWPCookieJar(str(next(folder.glob("*.cookiejar"))))
    jar.load(ignore_discard=True, ignore_expires=True)
    found |= {cookie.value for cookie in jar if cookie.value and len(cookie.value) > 16}
    return found


def test_prepare_signs_in_early_with_the_kept_session_and_asks_nobody(
    icloud: SimulatedICloud, tmp_path: Path
) -> None:
    person = Person(icloud.password)
    fresh = connector(icloud, tmp_path, person)
    fresh.prepare()  # no session kept yet: the password waits for the first real use
    fresh.info()
    kept = connector(icloud, tmp_path)  # nobody to ask: the kept session is enough
    kept.prepare()
    kept.info()
    assert len(person.asked) == 1 and icloud.stats.signins == 1
    assert icloud.stats.requests["validate"] == 1


# The command line, end to end


@pytest.mark.slow
def test_login_backup_verify_restore_and_logout_from_the_command_line(tmp_path: Path) -> None:
    state = tmp_path / "state"
    new_vault(tmp_path / "vault").close()
    with SimulatedICloud(camera_roll()) as icloud:
        env = cli_env(
            COMPANION_STATE_DIR=str(state),
            COMPANION_ICLOUD_SIMULATOR=json.dumps(icloud.connection_info()),
        )
        vault = ("--vault", str(tmp_path / "vault"))
        nobody = companion("icloud", "login", "owner@example.com", env=env)
        login = on_terminal(
            tmp_path,
            ["icloud", "login"],
            [icloud.apple_id, icloud.password, icloud.code],
            prompt=re.compile(rb"(?:sign in to iCloud with\)|owner@example\.com|or Mac): "),
            env=env,
        )
        folder = state / "icloud" / "owner@example.com"
        assert_private(folder)
        status = companion("icloud", "status", env=env)
        first = companion("backup", "--from", "icloud", *vault, env=env)
        downloads = icloud.stats.requests["download"]
        again = companion("backup", "--from", "icloud:Owner@example.com", *vault, env=env)
        assert icloud.stats.requests["download"] == downloads  # nothing downloaded twice
        assert_private(folder)
        secrets = secrets_in(folder) | {icloud.password}
        listed = list(connector(icloud, state / "icloud").list_assets())
        expected = expected_bytes(icloud, listed)
        verified = companion("verify", "--full", *vault, env=env)
        restored = companion("restore", "--to", str(tmp_path / "restored"), *vault, env=env)
        logout = companion("icloud", "logout", env=env)
        after = companion("icloud", "status", env=env)
    assert nobody.returncode == 2 and "companion icloud login" in nobody.stderr
    assert login.code == 0 and "Signed in to iCloud as owner@example.com" in login.stdout
    assert "owner@example.com: signed in" in status.stdout, status.stderr
    assert first.returncode == 0 and f"Backed up {len(listed)} new files" in first.stdout
    assert again.returncode == 0 and "Backed up 0 new files" in again.stdout, again.stderr
    assert verified.returncode == 0, verified.stderr
    assert restored.returncode == 0, restored.stderr
    by_restored_path = {
        f"{asset.path.rsplit('/', 1)[0]}/{asset.name}": hashlib.sha256(
            expected[asset.path]
        ).hexdigest()
        for asset in listed
    }
    assert digests(tmp_path / "restored") == by_restored_path
    assert logout.returncode == 0 and not folder.exists()
    assert "No Apple ID is signed in" in after.stdout
    shown = login.terminal + login.stdout + login.stderr + nobody.stderr + status.stdout
    for run in (first, again, verified, restored, logout):
        shown += run.stdout + run.stderr
    assert not [s for s in secrets if s in shown]


def test_the_simulated_icloud_is_named_by_one_variable_and_must_be_local(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = {
        "idmsa_endpoint": "https://127.0.0.1:4443",
        "auth_endpoint": "https://127.0.0.1:4443/appleauth/auth",
        "home_endpoint": "https://localhost:4443",
        "setup_endpoint": "https://[::1]:4443/setup/ws/1",
        "ca_path": str(tmp_path / "ca.pem"),
    }
    monkeypatch.delenv(SIMULATOR_ENV, raising=False)
    assert from_environment("123456") == IcloudOptions(code="123456")  # Apple's iCloud
    (tmp_path / "simulated.json").write_text(json.dumps(info))
    monkeypatch.setenv(SIMULATOR_ENV, str(tmp_path / "simulated.json"))
    given = from_environment()
    assert given.endpoints is not None and given.endpoints.setup == info["setup_endpoint"]
    assert given.ca_path == tmp_path / "ca.pem"
    for bad in ("https://icloud.example.com/setup/ws/1", "http://127.0.0.1:4443/setup/ws/1"):
        monkeypatch.setenv(SIMULATOR_ENV, json.dumps({**info, "setup_endpoint": bad}))
        with pytest.raises(UsageError) as refused:
            from_environment()
        assert SIMULATOR_ENV in refused.value.hint

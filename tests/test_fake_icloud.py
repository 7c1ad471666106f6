"""The simulated iCloud as the unmodified pyicloud sees it, over real HTTPS on 127.0.0.1.

Every test drives the real client (``PyiCloudService`` with only its endpoints pointed at the
server) or a plain HTTP client for the download faults; nothing of either side is patched.
"""

from __future__ import annotations

import base64
import json
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import pytest
import requests
from pyicloud import PyiCloudService
from pyicloud.exceptions import (
    PyiCloudAPIResponseException,
    PyiCloudFailedLoginException,
    PyiCloudServiceNotActivatedException,
    PyiCloudServiceUnavailable,
)

from companion.simulator.icloud import Faults, SimulatedICloud
from companion.simulator.media import MediaItem, generate_camera_roll

LIVE = "DCIM/100APPLE/IMG_0005.HEIC"
LIVE_MOVIE = "DCIM/100APPLE/IMG_0005.MOV"
EDITED = "DCIM/100APPLE/IMG_0007.JPG"
RENDER = "DCIM/100APPLE/IMG_E0007.JPG"
VIDEO = "DCIM/100APPLE/IMG_0004.MOV"
SCREENSHOT = "DCIM/100APPLE/IMG_0003.PNG"
PHOTO = "DCIM/100APPLE/IMG_0001.JPG"


@pytest.fixture(scope="module")
def roll() -> list[MediaItem]:
    return generate_camera_roll(7, 24)


@pytest.fixture(autouse=True)
def _no_ca_bundle_override(monkeypatch: pytest.MonkeyPatch) -> None:
    # requests lets these variables override a session's own ``verify``.
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


@pytest.fixture
def icloud(roll: list[MediaItem]) -> Iterator[SimulatedICloud]:
    with SimulatedICloud(roll, two_factor=False) as server:
        yield server


def connect(icloud: SimulatedICloud, cookies: Path, password: str | None = None) -> PyiCloudService:
    """The real client, pointed at the simulated iCloud and trusting its CA (nothing else)."""

    class PointedService(PyiCloudService):
        def _setup_endpoints(self) -> None:
            self._idmsa_endpoint = icloud.idmsa_endpoint
            self._auth_endpoint = icloud.auth_endpoint
            self._home_endpoint = icloud.home_endpoint
            self._setup_endpoint = icloud.setup_endpoint

    return PointedService(
        icloud.apple_id,
        icloud.password if password is None else password,
        cookie_directory=str(cookies),
        verify=str(icloud.ca_path),  # type: ignore[arg-type]  # requests takes a CA path
    )


def originals(roll: list[MediaItem]) -> dict[str, MediaItem]:
    """The items iCloud keeps as assets (no render, no Live Photo movie, no .AAE)."""
    return {
        item.path: item
        for item in roll
        if item.kind != "sidecar"
        and not item.edited_of
        and not (item.live_group and item.kind == "video")
    }


def by_path(roll: list[MediaItem]) -> dict[str, MediaItem]:
    return {item.path: item for item in roll}


def asset_of(icloud: SimulatedICloud, path: str) -> str:
    return next(asset.asset_name for asset in icloud.assets if asset.path == path)


# Signing in


def test_the_right_password_signs_in_and_a_wrong_one_is_refused(
    icloud: SimulatedICloud, tmp_path: Path
) -> None:
    with pytest.raises(PyiCloudFailedLoginException):
        connect(icloud, tmp_path / "wrong", password="not the password")
    api = connect(icloud, tmp_path / "right")
    assert not api.requires_2fa
    assert api.is_trusted_session
    stats = icloud.stats
    assert (stats.signins, stats.failed_signins) == (1, 1)


def test_two_factor_code_from_a_trusted_device(roll: list[MediaItem], tmp_path: Path) -> None:
    with SimulatedICloud(roll, code="246810") as icloud:
        api = connect(icloud, tmp_path)
        assert api.requires_2fa
        assert not api.is_trusted_session
        assert icloud.stats.codes_sent == 1
        assert api.validate_2fa_code("135790") is False
        assert api.requires_2fa
        assert api.validate_2fa_code("246810") is True
        assert api.trust_session() is True  # again, explicitly: still accepted
        assert api.is_trusted_session
        assert not api.requires_2fa
        assert len(api.photos.all) == 21
        requests_made = icloud.stats.requests
    assert requests_made["verify/trusteddevice/securitycode"] == 2
    assert requests_made["verify/phone"] == 0
    session = json.loads((tmp_path / "ownerexamplecom.session").read_text())
    assert session["trust_token"] and session["session_token"]


def test_two_factor_code_by_text_message(roll: list[MediaItem], tmp_path: Path) -> None:
    with SimulatedICloud(roll, code_by_sms=True) as icloud:
        api = connect(icloud, tmp_path)
        assert api.requires_2fa
        assert api.two_factor_delivery_method == "sms"
        assert api.validate_2fa_code("000000") is False
        assert api.validate_2fa_code(icloud.code) is True
        assert api.is_trusted_session
        requests_made = icloud.stats.requests
    assert requests_made["verify/phone"] == 1
    assert requests_made["verify/phone/securitycode"] == 2


def test_a_second_client_with_the_same_cookies_does_not_sign_in_again(
    roll: list[MediaItem], tmp_path: Path
) -> None:
    with SimulatedICloud(roll) as icloud:
        first = connect(icloud, tmp_path)
        assert first.validate_2fa_code(icloud.code)
        before = icloud.stats
        second = connect(icloud, tmp_path, password="a password it never gets to use")
        after = icloud.stats
        assert second.is_trusted_session and not second.requires_2fa
        assert after.requests["signin/init"] == before.requests["signin/init"] == 1
        assert after.requests["validate"] == before.requests["validate"] + 1
        assert after.requests["accountLogin"] == before.requests["accountLogin"]
        assert len(second.photos.all) == 21


def test_the_trust_token_spares_the_code_when_the_web_session_is_gone(
    roll: list[MediaItem], tmp_path: Path
) -> None:
    with SimulatedICloud(roll) as icloud:
        assert connect(icloud, tmp_path).validate_2fa_code(icloud.code)
        # Months later: cookies and session token gone, the trust token kept.
        (tmp_path / "ownerexamplecom.cookiejar").unlink()
        session_file = tmp_path / "ownerexamplecom.session"
        session = json.loads(session_file.read_text())
        del session["session_token"]
        session_file.write_text(json.dumps(session))
        api = connect(icloud, tmp_path)
        assert not api.requires_2fa and api.is_trusted_session
        stats = icloud.stats
    assert stats.signins == 2
    assert stats.codes_sent == 1


def test_a_client_that_does_not_trust_the_ca_is_refused(icloud: SimulatedICloud) -> None:
    assert icloud.ca_path.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(icloud.home_endpoint, timeout=10)
    assert requests.get(icloud.home_endpoint, verify=str(icloud.ca_path), timeout=10).ok


def test_stopping_removes_the_ca_and_closes_the_port(roll: list[MediaItem]) -> None:
    icloud = SimulatedICloud(roll).start()
    ca, url = icloud.ca_path, icloud.home_endpoint
    info = icloud.connection_info()
    assert info["setup_endpoint"] == f"{url}/setup/ws/1"
    assert (info["ca_path"], info["code"]) == (str(ca), icloud.code)
    icloud.stop()
    assert not ca.exists()
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(url, verify=False, timeout=5)


# The library


def test_all_photos_lists_every_asset_with_its_name_size_and_date(
    icloud: SimulatedICloud, roll: list[MediaItem], tmp_path: Path
) -> None:
    photos = list(connect(icloud, tmp_path).photos.all)
    expected = originals(roll)
    assert Counter(photo.filename for photo in photos) == Counter(
        Path(path).name for path in expected
    )
    assert len({photo.id for photo in photos}) == len(expected) == 21
    listed = {photo.id: photo for photo in photos}
    for path, item in expected.items():
        photo = listed[asset_of(icloud, path)]
        assert photo.size == len(item.data)
        assert photo.created == item.captured_at.astimezone(UTC)
        assert photo.item_type == ("movie" if item.kind == "video" else "image")
    dates = [photo.created for photo in photos]
    assert dates == sorted(dates, reverse=True)  # newest first, as iCloud lists "Library"


def test_live_photo_edit_and_item_types_are_in_the_records(
    icloud: SimulatedICloud, roll: list[MediaItem], tmp_path: Path
) -> None:
    files = by_path(roll)
    listed = {photo.id: photo for photo in connect(icloud, tmp_path).photos.all}
    live = listed[asset_of(icloud, LIVE)]
    assert live.is_live_photo
    assert live.master_record.fields.get_value("itemType") == "public.heic"
    assert live.versions["original_video"]["size"] == len(files[LIVE_MOVIE].data)
    assert live.versions["original_video"]["filename"] == "IMG_0005.MOV"
    assert live.download("original_video") == files[LIVE_MOVIE].data

    edited = listed[asset_of(icloud, EDITED)]
    fields = edited.asset_record.fields
    assert fields.get_value("adjustmentType") == "com.apple.photo"
    render = fields.get_value("resJPEGFullRes")
    assert render.size == len(files[RENDER].data)
    assert edited.download() == files[EDITED].data  # the original stays untouched
    assert requests.get(render.downloadURL, verify=str(icloud.ca_path), timeout=10).content == (
        files[RENDER].data
    )

    video = listed[asset_of(icloud, VIDEO)]
    assert video.master_record.fields.get_value("itemType") == "com.apple.quicktime-movie"
    assert video.asset_record.fields.get_value("duration") > 0
    screenshot = listed[asset_of(icloud, SCREENSHOT)]
    assert screenshot.master_record.fields.get_value("itemType") == "public.png"
    name = base64.b64encode(b"IMG_0003.PNG")
    assert base64.b64encode(screenshot.master_record.fields.get_value("filenameEnc")) == name


def test_downloads_are_byte_identical_and_ranges_answer_206(
    icloud: SimulatedICloud, roll: list[MediaItem], tmp_path: Path
) -> None:
    files = by_path(roll)
    photos = list(connect(icloud, tmp_path).photos.all)
    for photo in photos:
        assert photo.download() == files[_path_of(icloud, photo.id)].data
    photo = photos[0]
    data = files[_path_of(icloud, photo.id)].data
    url, ca = photo.download_url(), str(icloud.ca_path)
    assert url is not None
    middle = requests.get(url, headers={"Range": "bytes=100-1099"}, verify=ca, timeout=10)
    assert middle.status_code == 206
    assert middle.headers["Content-Range"] == f"bytes 100-1099/{len(data)}"
    assert middle.headers["Content-Length"] == "1000"
    assert middle.content == data[100:1100]
    tail = requests.get(url, headers={"Range": "bytes=-10"}, verify=ca, timeout=10)
    assert (tail.status_code, tail.content) == (206, data[-10:])
    rest = requests.get(url, headers={"Range": "bytes=0-"}, verify=ca, timeout=10)
    assert (rest.status_code, rest.content) == (206, data)
    whole = requests.get(url, verify=ca, timeout=10)
    assert (whole.status_code, whole.headers["Content-Length"]) == (200, str(len(data)))
    past = requests.get(url, headers={"Range": f"bytes={len(data)}-"}, verify=ca, timeout=10)
    assert past.status_code == 416
    forged = url.replace("&s=", "&s=0")
    assert requests.get(forged, verify=ca, timeout=10).status_code == 403
    assert icloud.stats.download_bytes >= sum(photo.size or 0 for photo in photos)


def test_delete_moves_the_asset_to_recently_deleted(
    icloud: SimulatedICloud, tmp_path: Path
) -> None:
    api = connect(icloud, tmp_path)
    photo = next(p for p in api.photos.all if p.id == asset_of(icloud, PHOTO))
    before = time.time()
    assert photo.delete()
    library = api.photos.albums["Library"]
    assert photo.id not in {p.id for p in library}
    assert len(library) == 20
    deleted = api.photos.albums["Recently Deleted"]
    assert len(deleted) == 1
    (again,) = list(deleted)
    assert again.id == photo.id
    assert again.asset_record.fields.get_value("isDeleted") == 1
    expunged = again.asset_record.fields.get_value("dateExpunged").timestamp()
    assert before + 29.9 * 86400 < expunged < time.time() + 30.1 * 86400
    assert again.download() == photo.download()  # still there for 30 days
    with pytest.raises(PyiCloudAPIResponseException, match="CONFLICT"):
        photo.delete()  # the record changed since this copy was read


def test_hidden_favourites_and_albums(roll: list[MediaItem], tmp_path: Path) -> None:
    with SimulatedICloud(
        roll,
        two_factor=False,
        hidden=[SCREENSHOT],
        favorites=[LIVE, VIDEO],
        deleted=[PHOTO],
        albums={"Summer": [EDITED, LIVE]},
    ) as icloud:
        albums = connect(icloud, tmp_path).photos.albums
        assert len(albums["Library"]) == 19
        assert {p.id for p in albums["Hidden"]} == {asset_of(icloud, SCREENSHOT)}
        assert {p.id for p in albums["Recently Deleted"]} == {asset_of(icloud, PHOTO)}
        assert {p.id for p in albums["Favorites"]} == {
            asset_of(icloud, LIVE),
            asset_of(icloud, VIDEO),
        }
        assert {p.id for p in albums["Live"]} == {asset_of(icloud, LIVE)}
        videos = [item for item in originals(roll).values() if item.kind == "video"]
        assert len(albums["Videos"]) == len(videos) == 4
        summer = albums["Summer"]
        assert len(summer) == 2
        assert [p.filename for p in summer] == ["IMG_0005.HEIC", "IMG_0007.JPG"]


# Faults


def test_throttled_listing_answers_503_then_recovers(
    icloud: SimulatedICloud, tmp_path: Path
) -> None:
    photos = connect(icloud, tmp_path).photos
    icloud.faults.throttle["query"] = 1
    with pytest.raises(PyiCloudAPIResponseException) as refused:
        list(photos.all)
    assert refused.value.code == 503
    assert refused.value.response is not None
    assert refused.value.response.headers["Retry-After"] == "1"
    assert len(list(photos.all)) == 21


def test_a_download_cut_halfway_resumes_with_range(
    icloud: SimulatedICloud, roll: list[MediaItem], tmp_path: Path
) -> None:
    photo = next(iter(connect(icloud, tmp_path).photos.all))
    data = by_path(roll)[_path_of(icloud, photo.id)].data
    url, ca = photo.download_url(), str(icloud.ca_path)
    assert url is not None
    icloud.faults.cut_downloads = 1
    sent_before = icloud.stats.download_bytes
    received = bytearray()
    answer = requests.get(url, stream=True, verify=ca, timeout=10)
    assert answer.headers["Content-Length"] == str(len(data))
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        for chunk in answer.iter_content(4096):
            received += chunk
    assert icloud.stats.download_bytes - sent_before == len(data) // 2
    # The client keeps what it read whole (its last, short read is lost with the connection).
    assert 0 < len(received) <= len(data) // 2
    rest = requests.get(url, headers={"Range": f"bytes={len(received)}-"}, verify=ca, timeout=10)
    assert rest.status_code == 206
    assert bytes(received) + rest.content == data
    assert icloud.faults.cut_downloads == 0


def test_a_size_mismatch_between_record_and_bytes(roll: list[MediaItem], tmp_path: Path) -> None:
    faults = Faults(size_mismatch=frozenset({PHOTO}))
    with SimulatedICloud(roll, two_factor=False, faults=faults) as icloud:
        photo = next(
            p for p in connect(icloud, tmp_path).photos.all if p.id == asset_of(icloud, PHOTO)
        )
        answer = requests.get(photo.download_url() or "", verify=str(icloud.ca_path), timeout=10)
    assert photo.size == len(by_path(roll)[PHOTO].data)
    assert answer.headers["Content-Length"] == str(len(answer.content))
    assert len(answer.content) != photo.size


def test_web_access_off_refuses_photos(roll: list[MediaItem], tmp_path: Path) -> None:
    faults = Faults(web_access_off=True)
    with SimulatedICloud(roll, two_factor=False, faults=faults) as icloud:
        api = connect(icloud, tmp_path)
        started = time.monotonic()
        with pytest.raises(PyiCloudAPIResponseException, match="PCS access"):
            api.photos  # noqa: B018 - the property makes the requests
        assert time.monotonic() - started < 5  # refused at once, no consent polling
        query = (
            f"{icloud.home_endpoint}/database/1/com.apple.photos.cloud/production/private/"
            f"records/query"
        )
        with pytest.raises(PyiCloudAPIResponseException) as denied:
            api.session.post(query, params=api.params, json={"query": {"recordType": "x"}})
    assert denied.value.code == 403
    assert "private db access disabled" in str(denied.value)


def test_a_library_still_indexing_is_not_activated(roll: list[MediaItem], tmp_path: Path) -> None:
    faults = Faults(indexing=True)
    with SimulatedICloud(roll, two_factor=False, faults=faults) as icloud:
        api = connect(icloud, tmp_path)
        with pytest.raises(PyiCloudServiceUnavailable) as refused:
            api.photos  # noqa: B018 - the property makes the requests
        assert isinstance(refused.value.__cause__, PyiCloudServiceNotActivatedException)
        icloud.faults.indexing = False
        assert len(api.photos.all) == 21


def test_an_expired_session_answers_421_once_and_a_token_login_recovers(
    roll: list[MediaItem], tmp_path: Path
) -> None:
    with SimulatedICloud(roll) as icloud:
        api = connect(icloud, tmp_path)
        assert api.validate_2fa_code(icloud.code)
        photos = api.photos
        icloud.faults.expire_session = True
        with pytest.raises(PyiCloudAPIResponseException) as expired:
            list(photos.all)
        assert expired.value.code == 421
        assert not icloud.faults.expire_session
        api.authenticate()  # validate says 421 too; accountLogin with the session token
        assert api.is_trusted_session
        assert len(list(api.photos.all)) == 21
        stats = icloud.stats
    assert (stats.signins, stats.codes_sent) == (1, 1)
    assert stats.requests["validate"] == 1
    assert stats.requests["accountLogin"] == 2


def test_downloads_are_paced_per_connection_and_in_total(
    roll: list[MediaItem], tmp_path: Path
) -> None:
    with SimulatedICloud(
        roll, two_factor=False, pace_bytes_per_s=200_000, pace_total_bytes_per_s=250_000
    ) as icloud:
        photos = [p for p in connect(icloud, tmp_path).photos.all if p.item_type == "image"]
        urls = [(p.download_url() or "", p.size or 0) for p in photos[:2]]
        ca = str(icloud.ca_path)
        started = time.monotonic()
        requests.get(urls[0][0], verify=ca, timeout=30)
        alone = time.monotonic() - started
        threads = [
            threading.Thread(target=requests.get, args=(url,), kwargs={"verify": ca, "timeout": 30})
            for url, _ in urls
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        together = time.monotonic() - started
    assert alone >= urls[0][1] / 200_000 * 0.9
    assert together >= sum(size for _, size in urls) / 250_000 * 0.9


def _path_of(icloud: SimulatedICloud, asset_name: str) -> str:
    return next(asset.path for asset in icloud.assets if asset.asset_name == asset_name)


# Reached by Apple's host names (a hosts file points icloudpd here)

CLOUDKIT_NAME = "https://p01-ckdatabasews.icloud.com"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _handshake(port: int, context: ssl.SSLContext, name: str) -> None:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=name),
    ):
        pass


def test_it_listens_on_the_port_chosen_and_its_certificate_names_the_hosts_given(
    roll: list[MediaItem],
) -> None:
    port = _free_port()
    names = ("idmsa.apple.com", "setup.icloud.com")
    with SimulatedICloud(roll, two_factor=False, port=port, host_names=names) as icloud:
        assert icloud.base_url == f"https://127.0.0.1:{port}"
        context = ssl.create_default_context(cafile=str(icloud.ca_path))
        for name in (*names, "localhost"):
            _handshake(port, context, name)
        with pytest.raises(ssl.SSLCertVerificationError):
            _handshake(port, context, "www.icloud.com")


def test_asked_as_setup_icloud_com_the_web_session_cookies_cover_the_domain(
    roll: list[MediaItem], tmp_path: Path
) -> None:
    with SimulatedICloud(roll, two_factor=False, service_url=CLOUDKIT_NAME) as icloud:
        api = connect(icloud, tmp_path)
        assert api.data["webservices"]["ckdatabasews"]["url"] == CLOUDKIT_NAME
        login = f"{icloud.setup_endpoint}/accountLogin"
        body = {"dsWebAuthToken": api.session.data["session_token"]}
        ca = str(icloud.ca_path)
        by_address = requests.post(login, json=body, verify=ca, timeout=10)
        by_name = requests.post(
            login, json=body, headers={"Host": "setup.icloud.com"}, verify=ca, timeout=10
        )
    assert by_address.ok and by_name.ok
    assert "Domain=" not in by_address.headers["Set-Cookie"]
    assert by_name.headers["Set-Cookie"].count("Domain=.icloud.com;") >= 4


def test_zones_are_listed_without_a_dsid_but_not_without_the_web_session(
    icloud: SimulatedICloud, tmp_path: Path
) -> None:
    api = connect(icloud, tmp_path)
    zones = f"{icloud.base_url}/database/1/com.apple.photos.cloud/production/private/zones/list"
    ca = str(icloud.ca_path)
    cookies = {cookie.name: str(cookie.value) for cookie in api.session.cookies}
    listed = requests.post(zones, json={}, cookies=cookies, verify=ca, timeout=10)
    assert listed.status_code == 200
    assert [z["zoneID"]["zoneName"] for z in listed.json()["zones"]] == ["PrimarySync"]
    wrong = requests.post(
        zones, params={"dsid": "1"}, json={}, cookies=cookies, verify=ca, timeout=10
    )
    assert wrong.status_code == 401
    assert requests.post(zones, json={}, verify=ca, timeout=10).status_code == 401

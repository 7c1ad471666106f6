"""Several iCloud downloads at once: a backup from the simulated iCloud, paced per connection,
is faster with ``downloads=4`` than with one, stores every file byte for byte, never holds more
connections than the bound, and still resumes a download cut in the middle of the run."""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import pytest

from companion.backup import VaultStore, run_backup
from companion.connectors import ConnectOptions, ReadAhead
from companion.connectors.icloud.connector import IcloudConnector
from companion.model import BackupReport
from companion.simulator.icloud import SimulatedICloud
from companion.simulator.media import MediaItem
from companion.simulator.quicktime import make_quicktime
from tests.icloud_support import Person, Sleeps, expected_bytes, settings
from tests.support import new_vault

FILES = 20
PAYLOAD = 256 * 1024
PACE = 2_000_000  # bytes per second and connection: some 0.13 s per file


def _roll() -> list[MediaItem]:
    rng = random.Random(15)
    start = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
    items = []
    for n in range(1, FILES + 1):
        when = start + timedelta(minutes=n)
        data = make_quicktime(when, rng.randbytes(PAYLOAD))
        items.append(MediaItem(f"DCIM/100APPLE/IMG_{n:04d}.MOV", data, when, "video"))
    return items


@pytest.fixture
def icloud() -> Iterator[SimulatedICloud]:
    with SimulatedICloud(_roll(), two_factor=False, pace_bytes_per_s=PACE) as server:
        yield server


class Connections:
    """The peak number of connections the server holds open, sampled every few milliseconds
    (server side: sockets whose local port is the server's)."""

    def __init__(self, icloud: SimulatedICloud) -> None:
        port = urlsplit(icloud.home_endpoint).port
        self._port = port
        self._stop = threading.Event()
        self.peak = 0
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def now(self) -> int:
        return sum(
            1
            for c in psutil.Process().net_connections(kind="tcp")
            if c.laddr and c.laddr.port == self._port and c.status == psutil.CONN_ESTABLISHED
        )

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.now())
            time.sleep(0.005)

    def __enter__(self) -> Connections:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _connector(icloud: SimulatedICloud, tmp_path: Path, downloads: int) -> IcloudConnector:
    options = dataclasses.replace(settings(icloud, tmp_path / "sessions"), downloads=downloads)
    connect = ConnectOptions(prompt=Person(icloud.password), per_connector=(options,))
    return IcloudConnector(icloud.apple_id, connect, sleep=Sleeps())


def _backup(
    icloud: SimulatedICloud, tmp_path: Path, downloads: int
) -> tuple[float, int, BackupReport]:
    """Seconds a backup took, the connections it added at most, and its report; checks every
    file stored byte for byte."""
    folder = tmp_path / f"downloads-{downloads}"
    with _connector(icloud, folder, downloads) as found, new_vault(folder / "vault") as vault:
        found.info()  # signed in before the clock starts
        with Connections(icloud) as connections:
            before = connections.now()
            start = time.perf_counter()
            report = run_backup(found, VaultStore(vault, jobs=1))
            seconds = time.perf_counter() - start
        expected = expected_bytes(icloud, found.list_assets())
        stored = {s.asset.path: vault.plaintext(s) for s in vault.assets()}
    assert stored == expected and len(stored) == FILES
    return seconds, connections.peak - before, report


def test_the_connector_offers_read_ahead(icloud: SimulatedICloud, tmp_path: Path) -> None:
    with _connector(icloud, tmp_path, 4) as found:
        assert isinstance(found, ReadAhead)


def test_four_downloads_at_once_are_faster_within_the_bound(
    icloud: SimulatedICloud, tmp_path: Path
) -> None:
    one, one_peak, _ = _backup(icloud, tmp_path, 1)
    four, four_peak, report = _backup(icloud, tmp_path, 4)
    assert report.new == FILES and not report.failed
    assert one >= 2 * four, f"1 download: {one:.2f} s, 4 at once: {four:.2f} s"
    assert one_peak <= 1
    assert 2 <= four_peak <= 4


def test_a_download_cut_in_a_parallel_run_is_resumed(
    icloud: SimulatedICloud, tmp_path: Path
) -> None:
    icloud.faults.cut_downloads = 3
    downloads = icloud.stats.requests["download"]
    _, peak, report = _backup(icloud, tmp_path, 4)
    assert report.new == FILES and not report.failed
    assert icloud.faults.cut_downloads == 0
    assert icloud.stats.requests["download"] - downloads == FILES + 3
    assert peak <= 4


def test_a_file_opened_out_of_order_drops_what_was_read_ahead(
    icloud: SimulatedICloud, tmp_path: Path
) -> None:
    with _connector(icloud, tmp_path, 4) as found:
        assets = list(found.list_assets())
        expected = expected_bytes(icloud, assets)
        found.read_ahead(assets)
        with found.open(assets[2]) as stream:  # skips the first two
            assert stream.read() == expected[assets[2].path]
        with found.open(assets[0]) as stream:  # already passed: downloaded again, alone
            assert stream.read() == expected[assets[0].path]
        with found.open(assets[3]) as stream:
            assert stream.read() == expected[assets[3].path]

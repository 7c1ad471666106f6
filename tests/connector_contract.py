"""The test suite every connector passes: the contract of ``companion.connectors.base``.

After restic's ``internal/backend/test/suite.go``: one set of tests, run against each connector
through a small subclass. In a ``test_*.py`` module::

    class TestFolderContract(ConnectorContract):
        def make_connector(self, tmp_path): ...   # the connector, and path -> expected bytes
        def rewrite(self, path, data): ...        # change one file in that source
        def remove(self, path): ...               # delete one file from that source

pytest makes a fresh instance for each test, so ``make_connector`` may keep what ``rewrite`` and
``remove`` need on ``self``. The source must hold at least two assets and one photo.

"Listing reads no file contents" cannot be observed from outside every connector in the same way;
each connector's own tests check it (the folder connector's watch the files with inotify).
Changes made while a stream is half read are also connector-specific. For changes made between
listing and reading, the contract promises the file's bytes as they are now, to their real end:
whether they add up to the listing is the consumer's check (the vault raises ``SizeMismatch``,
and a backup then stores the file as read, with a warning).
"""

from __future__ import annotations

import abc
import dataclasses
import io
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import pytest

from companion.connectors.base import Connector, Prober
from companion.errors import CompanionError, SizeMismatch, SourceUnavailable
from companion.model import Asset, AssetKind
from companion.vault.crypto import Identity, keyed_name
from companion.vault.objects import ObjectStore

Source = tuple[Connector, dict[str, bytes]]
RECIPIENT = Identity.generate().recipient()
KEY = bytes(32)


def drain(stream: BinaryIO, chunk: int = 64 * 1024) -> bytes:
    """Everything a stream yields, read the way a backup reads it: in chunks until empty."""
    parts = []
    while part := stream.read(chunk):
        parts.append(part)
    return b"".join(parts)


class ConnectorContract(abc.ABC):
    """Tests for ``Connector`` (and ``Prober`` when the connector is one). Subclass, don't run."""

    @abc.abstractmethod
    def make_connector(self, tmp_path: Path) -> Source:
        """A connector over a fresh source, and the exact bytes each listed path must yield."""

    @abc.abstractmethod
    def rewrite(self, path: str, data: bytes) -> None:
        """Replace the bytes of ``path`` in the source made by ``make_connector``."""

    @abc.abstractmethod
    def remove(self, path: str) -> None:
        """Delete ``path`` from the source made by ``make_connector``."""

    @pytest.fixture
    def source(self, tmp_path: Path) -> Source:
        connector, expected = self.make_connector(tmp_path)
        assert len(expected) >= 2, "the contract needs a source with at least two assets"
        return connector, expected

    def first_asset(self, connector: Connector, kind: AssetKind | None = None) -> Asset:
        return next(a for a in connector.list_assets() if kind is None or a.kind is kind)

    def test_is_a_connector(self, source: Source) -> None:
        connector, _ = source
        assert isinstance(connector, Connector)

    def test_info_names_the_same_source(self, source: Source) -> None:
        connector, _ = source
        assert connector.info().source == connector.source

    def test_lists_every_asset_exactly_once(self, source: Source) -> None:
        connector, expected = source
        paths = [asset.path for asset in connector.list_assets()]
        assert len(paths) == len(set(paths))
        assert sorted(paths) == sorted(expected)

    def test_assets_carry_source_size_and_kind(self, source: Source) -> None:
        connector, expected = source
        for asset in connector.list_assets():
            assert asset.source == connector.source
            assert asset.size == len(expected[asset.path]), asset.path
            assert isinstance(asset.kind, AssetKind)
            assert isinstance(asset.mtime_ns, int)

    def test_listing_is_stable(self, source: Source) -> None:
        connector, _ = source
        assert list(connector.list_assets()) == list(connector.list_assets())

    def test_listing_sees_a_rewrite(self, source: Source) -> None:
        connector, expected = source
        asset = self.first_asset(connector)
        self.rewrite(asset.path, expected[asset.path] + b"appended")
        relisted = {a.path: a for a in connector.list_assets()}
        assert relisted[asset.path].size == asset.size + len(b"appended")

    def test_open_yields_exactly_the_bytes(self, source: Source) -> None:
        connector, expected = source
        for asset in connector.list_assets():
            with connector.open(asset) as stream:
                assert stream.read() == expected[asset.path], asset.path

    @pytest.mark.parametrize("chunk", [7, 64 * 1024, 4 * 1024 * 1024])
    def test_readinto_in_any_chunk_size(self, source: Source, chunk: int) -> None:
        connector, expected = source
        buffer = bytearray(chunk)
        for asset in connector.list_assets():
            got = bytearray()
            with connector.open(asset) as stream:
                # typing.BinaryIO has no readinto; the io base classes, which consumers rely on
                # for copying without extra allocations, do.
                assert isinstance(stream, io.RawIOBase | io.BufferedIOBase)
                while count := stream.readinto(buffer):
                    got += buffer[:count]
            assert got == expected[asset.path], asset.path

    def test_each_open_is_a_fresh_stream_at_zero(self, source: Source) -> None:
        connector, expected = source
        asset = self.first_asset(connector)
        with connector.open(asset) as first, connector.open(asset) as second:
            assert first.read(1) == expected[asset.path][:1]
            assert drain(second) == expected[asset.path]
            assert first.read(1) == expected[asset.path][1:2]

    def test_grown_after_listing_yields_every_byte_to_the_real_end(self, source: Source) -> None:
        connector, expected = source
        asset = self.first_asset(connector)
        self.rewrite(asset.path, expected[asset.path] + b"grown")
        with connector.open(asset) as stream:
            assert drain(stream) == expected[asset.path] + b"grown"  # never cut at the listing

    def test_shrunk_after_listing_yields_what_is_left(self, source: Source) -> None:
        connector, expected = source
        asset = self.first_asset(connector)
        self.rewrite(asset.path, expected[asset.path][: asset.size // 2])
        with connector.open(asset) as stream:
            assert drain(stream) == expected[asset.path][: asset.size // 2]

    def test_a_vault_refuses_a_length_other_than_the_listing(
        self, source: Source, tmp_path: Path
    ) -> None:
        connector, expected = source
        asset = self.first_asset(connector)
        self.rewrite(asset.path, expected[asset.path] + b"grown")
        for folder in ("objects", "tmp"):
            (tmp_path / folder).mkdir()
        store = ObjectStore(tmp_path / "objects", tmp_path / "tmp", RECIPIENT, keyed_name(KEY))
        with pytest.raises(SizeMismatch) as refused, connector.open(asset) as stream:
            store.put(stream, asset.size, asset.path)
        assert (refused.value.listed, refused.value.read) == (asset.size, asset.size + 5)
        assert not list((tmp_path / "tmp").iterdir())  # nothing half-stored

    def test_removed_after_listing_raises_source_unavailable(self, source: Source) -> None:
        connector, _ = source
        asset = self.first_asset(connector)
        self.remove(asset.path)
        with pytest.raises(SourceUnavailable), connector.open(asset) as stream:
            drain(stream)

    def test_unknown_asset_raises_source_unavailable(self, source: Source) -> None:
        connector, _ = source
        asset = self.first_asset(connector)
        ghost = dataclasses.replace(asset, path=f"{asset.path}.missing")
        with pytest.raises(SourceUnavailable), connector.open(ghost) as stream:
            drain(stream)

    @pytest.mark.parametrize("path", ["../outside.jpg", "/etc/hostname", "DCIM/../../x", "", "."])
    def test_hostile_paths_raise_companion_errors(self, source: Source, path: str) -> None:
        connector, _ = source
        hostile = dataclasses.replace(self.first_asset(connector), path=path)
        with pytest.raises(CompanionError), connector.open(hostile) as stream:
            drain(stream)

    def test_probe_keeps_identity_and_gives_aware_times(self, source: Source) -> None:
        connector, _ = source
        if not isinstance(connector, Prober):
            pytest.skip("this connector does not probe")
        for asset in connector.list_assets():
            probed = connector.probe(asset)
            assert _identity(probed) == _identity(asset), asset.path
            assert probed.captured_at is None or _is_aware(probed.captured_at), asset.path

    def test_probe_of_a_removed_photo_raises_source_unavailable(self, source: Source) -> None:
        connector, _ = source
        if not isinstance(connector, Prober):
            pytest.skip("this connector does not probe")
        photo = self.first_asset(connector, AssetKind.PHOTO)
        self.remove(photo.path)
        with pytest.raises(SourceUnavailable):
            connector.probe(photo)


def _identity(asset: Asset) -> tuple[object, ...]:
    """The fields a probe must not change: everything the listing said."""
    return (
        asset.source,
        asset.path,
        asset.size,
        asset.mtime_ns,
        asset.kind,
        asset.live_group,
        asset.edited_of,
        asset.sidecar_of,
    )


def _is_aware(value: datetime) -> bool:
    return value.tzinfo is not None and value.utcoffset() is not None

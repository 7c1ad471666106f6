"""``companion scan``: the vault's photos through the sensitivity filter (findings stored in the
vault, encrypted), or a source's read directly (findings only returned, nothing stored)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from companion.connectors import Connector
from companion.model import Asset
from companion.sensitivity.detectors import select
from companion.sensitivity.explain import Explanation, explain_asset
from companion.sensitivity.scan import Progress, ScanReport, scan_assets, scan_vault
from companion.vault import VaultRef


def categories(text: str | None) -> list[str] | None:
    """``--only``'s comma-separated categories (None: all). An unknown one is a usage error,
    raised before anything is opened or asked."""
    if text is None:
        return None
    wanted = [c.strip() for c in text.split(",") if c.strip()]
    select(wanted)
    return wanted


def scan_stored(
    vault: VaultRef,
    *,
    only: list[str] | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> ScanReport:
    """Scan what the vault holds that the current detectors have not seen; record the findings."""
    with vault.open(write=True) as opened:
        return scan_vault(opened, only=only, jobs=jobs, progress=progress)


def scan_source(
    connector: Connector, *, only: list[str] | None = None, progress: Progress | None = None
) -> ScanReport:
    """Scan a source's photos and videos as they are read from it, in this process; nothing is
    stored, nothing is written."""
    assets = list(connector.list_assets())
    return scan_assets(_readers(connector, assets), only=only, progress=progress, total=len(assets))


def _readers(
    connector: Connector, assets: list[Asset]
) -> Iterator[tuple[Asset, Callable[[], bytes]]]:
    for asset in assets:

        def read(asset: Asset = asset) -> bytes:
            with connector.open(asset) as stream:
                data: bytes = stream.read()
            return data

        yield asset, read


def explain(vault: VaultRef, wanted: str) -> Explanation:
    """Every detector's verdict on one stored asset, named by its path or file name."""
    with vault.open() as opened:
        return explain_asset(opened, wanted)
